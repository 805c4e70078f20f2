"""The `spectra` and `prune` jobs: learned spectra vs SE predictions, and pruning lowers the risk."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from shallowscaling.cli import main
from shallowscaling.design import StreamedDesign
from shallowscaling.errors import InputError
from shallowscaling.io.parquet import read_table, write_table
from shallowscaling.spectra import analyse_spectrum, estimate_noise_edge, free_convolution_edge
from shallowscaling.spectra.pruning import prune_coefficients
from shallowscaling.state_evolution.diagonal import soft_threshold_active_probability
from shallowscaling.tasks import pruning
from shallowscaling.tasks.fit import fit_replicates
from shallowscaling.tasks.predict import predict_point
from shallowscaling.tasks.problem import draw_problem
from shallowscaling.tasks.pruning import PRUNING_COLUMNS, prune_point, prune_sweep
from shallowscaling.tasks.spectra import SPECTRA_COLUMNS, spectra_sweep
from shallowscaling.tasks.spectral_point import rate_phase
from shallowscaling.tasks.teacher import teacher_table

SEED = 11


def _sweep(model: str, estimator: str, d: int, lam_exponent: float, n_values: list[int], replicates: int):
    """Fit tables and weight tables of a small sweep, as the `fit` jobs write them."""
    fits, weights = [], []
    for n in n_values:
        tables = fit_replicates(model, estimator, d, 1.0, 0.5, n, d**lam_exponent, SEED, replicates, tol=1e-7)
        fits.append(tables.fits)
        weights.append(tables.weights)
    return fits, weights, teacher_table(model, d, 1.0, SEED, replicates)


@pytest.fixture(scope="module")
def quadratic_tables():
    d, n_values = 24, [144, 576]  # α = 0.25 (phase IV) and 1 (the interpolation peak), λ = 1/d
    fits, weights, teacher = _sweep("quadratic", "convex", d, -1.0, n_values, 1)
    tables = spectra_sweep(
        "quadratic", "convex", d, 1.0, 0.5, -1.0, n_values, weights, fits, teacher, seed=SEED, n_draws=3
    )
    return tables, weights, teacher


@pytest.mark.slow
def test_quadratic_summary_is_the_learned_spectrum_next_to_its_prediction(quadratic_tables) -> None:
    tables, weights, teacher = quadratic_tables
    summary = tables.summary
    assert list(summary.columns) == list(SPECTRA_COLUMNS)
    assert list(summary["n"]) == [144, 576] and list(summary["rate_phase"]) == ["IV", "peak"]
    s = teacher[teacher["replicate"] == 0]["eigenvalue"].to_numpy()
    for row, weight in zip(summary.itertuples(), weights, strict=True):
        direct = analyse_spectrum(weight["eigenvalue"].to_numpy())
        assert (row.tail_exponent, row.n_outliers, row.phase) == (direct.tail_exponent, direct.n_outliers, direct.phase)
        # The predicted edge is the free-convolution edge of the actual target, shifted by −t.
        assert row.predicted_bulk_edge == pytest.approx(free_convolution_edge(s, row.delta) - row.threshold, rel=1e-12)
        assert row.predicted_bulk_edge_2delta == pytest.approx(2 * row.delta - row.threshold, rel=1e-12)
        assert row.predicted_n_outliers == len(row.predicted_outliers)
        # Decomposition: the four parts add up to the SE risk of the same row (1e-6 relative).
        parts = row.overfitting + row.underfitting + row.approximation + row.cross
        assert parts == pytest.approx(row.se_excess_risk, rel=1e-6)


def test_quadratic_density_is_normalised_per_unit_of_d(quadratic_tables) -> None:
    tables, _, _ = quadratic_tables
    for n, rows in tables.density.groupby("n"):
        curve = rows[rows["kind"] == "se_density"].sort_values("x")
        mass = float(np.trapezoid(curve["density"], curve["x"]))
        predicted_zero = tables.summary[tables.summary["n"] == n]["predicted_fraction_zero"].iloc[0]
        # Deterministic μ_δ vs the Monte-Carlo SE's non-zero fraction (K = 3 draws at d = 24):
        # eigenvalue counts above t fluctuate by ~1 per draw, i.e. ~1/(d√K) ≈ 0.025; plus the grid
        # and the Cauchy smoothing (< 0.01). 0.06 fails for a density normalised per non-zero
        # eigenvalue instead of per unit of d (off by the factor 1 − fraction_zero ≈ 0.5).
        assert mass == pytest.approx(1.0 - predicted_zero, abs=0.06)
        assert (rows["kind"] == "eigenvalue").sum() == 24


def test_diagonal_sweep_noise_edges() -> None:
    d, n_values = 60, [30, 120]
    fits, weights, teacher = _sweep("diagonal", "lasso", d, -1.0, n_values, 2)
    tables = spectra_sweep("diagonal", "lasso", d, 1.0, 0.5, -1.0, n_values, weights, fits, teacher, seed=SEED)
    summary = tables.summary
    assert len(summary) == 4 and summary["predicted_bulk_edge"].isna().all()
    for row in summary.itertuples():
        rows = weights[n_values.index(row.n)]
        theta_hat = rows[rows["replicate"] == row.replicate].sort_values("index")["theta"].to_numpy()
        assert row.noise_edge == pytest.approx(estimate_noise_edge(theta_hat).noise_edge, rel=1e-12)
        theta_star = teacher[teacher["replicate"] == row.replicate]["theta_star"].to_numpy()
        noise_edge = row.delta * math.sqrt(2 * math.log(d)) - row.threshold
        assert row.predicted_noise_edge == pytest.approx(noise_edge, rel=1e-12)
        expected = soft_threshold_active_probability(theta_star, row.delta, max(noise_edge, 0) + row.threshold).sum()
        assert row.predicted_n_above_noise_edge == pytest.approx(expected, rel=1e-12)
        assert row.overfitting + row.underfitting + row.approximation + row.cross == pytest.approx(
            row.se_excess_risk, rel=1e-6
        )


@pytest.mark.slow
def test_pruning_lowers_the_risk_in_an_overfitting_phase() -> None:
    # d = 30 at the interpolation peak (n_eff = d, λ = 1/d): the learned noise bulk inflates the
    # error (docs/theory.md §3), the regime of Corollary 2.
    d, n = 30, 900
    assert rate_phase("quadratic", d, n, 1.0 / d, 1.0, 0.5) == "peak"
    fits, weights, teacher = _sweep("quadratic", "convex", d, -1.0, [n], 2)
    table = prune_point("quadratic", "convex", d, 1.0, 0.5, -1.0, n, weights[0], teacher, seed=SEED, tol=1e-7)
    assert list(table.columns) == list(PRUNING_COLUMNS) and len(table) == 2
    # The refit reproduces the fit job (same solver, same draw): its spectrum and its risk.
    assert (table["refit_eigenvalue_gap"] < 1e-9).all()
    np.testing.assert_allclose(table["excess_risk"], fits[0]["excess_risk"], rtol=1e-9)
    # Pruning at the SE-tuned cut lowers the risk of every replicate by a factor ≥ 1.2 (observed
    # 1.30): pruning at 0 (a no-op) or comparing with the wrong S* fails this.
    assert (table["pruned_tuned_excess_risk"] < table["excess_risk"] / 1.2).all()
    # The simulated pruned risk follows its SE prediction (observed 5 % apart; K = 3 draws and
    # two replicates at d = 30 fluctuate by ~10 %).
    assert table["pruned_tuned_excess_risk"].mean() == pytest.approx(
        table["se_tuned_pruned_excess_risk"].iloc[0], rel=0.2
    )
    # At d = 30 the SE bulk edge sits far above 2δ (sub-BBP target eigenvalues smear into the
    # bulk) and pruning there shrinks the learned outliers too much: it raises the risk, as its
    # SE prediction says. The columns must record that, not hide it.
    assert (table["se_edge"] > table["edge_2delta"] * 1.3).all()
    assert (table["pruned_se_excess_risk"] > table["excess_risk"]).all()
    assert table["pruned_se_excess_risk"].mean() == pytest.approx(table["se_pruned_excess_risk"].iloc[0], rel=0.2)
    # Cleaning (the RIE) removes the bulk and debiases the outliers: with the SE δ it beats the
    # unpruned weights by a factor ≥ 1.4 (observed 1.7) and follows its own SE prediction (observed
    # within 10 %); with δ̂ read from the spectrum (7–25 % above δ at d = 30–80) it stays within
    # 30 % of the SE-δ variant (observed 13 %).
    assert (table["cleaned_se_excess_risk"] < table["excess_risk"] / 1.4).all()
    assert table["cleaned_se_excess_risk"].mean() == pytest.approx(table["se_cleaned_excess_risk"].iloc[0], rel=0.2)
    assert (table["cleaned_empirical_excess_risk"] < table["cleaned_se_excess_risk"] * 1.3).all()


@pytest.mark.slow
def test_diagonal_pruning_uses_the_stored_weights() -> None:
    d, n = 80, 80
    _, weights, teacher = _sweep("diagonal", "lasso", d, -1.0, [n], 1)
    table = prune_point("diagonal", "lasso", d, 1.0, 0.5, -1.0, n, weights[0], teacher, seed=SEED)
    row = table.iloc[0]
    theta_hat = weights[0].sort_values("index")["theta"].to_numpy()
    theta_star = draw_problem("diagonal", d, 1.0, 0.5, n, SEED, 0).theta_star
    expected = float(np.sum((prune_coefficients(theta_hat, row["se_edge"]) - theta_star) ** 2) / d)
    assert row["pruned_se_excess_risk"] == pytest.approx(expected, rel=1e-12)
    assert row["pruned_se_excess_risk"] < row["excess_risk"]
    # n = d at λ = 1/d: the LASSO nearly interpolates, the residuals carry no estimate of δ.
    assert row["empirical_delta_source"] == "spectrum"
    assert row["empirical_delta"] == pytest.approx(estimate_noise_edge(theta_hat).noise_scale, rel=1e-12)


@pytest.mark.slow
def test_diagonal_sure_cut_beats_the_noise_edge_in_phase_via() -> None:
    # d = 80, n = 400 (VIa at λ = 1/d): the noise edge δ√(2 log d) shrinks the learned coordinates
    # by ~3δ and barely helps (0.119 from 0.124 and 0.093 from 0.100 on replicates 0, 1); the SURE
    # cut with the SE δ lands near the SE-tuned one: 0.071, 0.051 (1.2 × and 0.9 × the optimal-λ
    # ERM SE risk). Bounds: SURE below 0.75 × the noise-edge risk and below 1.5 × the optimal.
    d, n = 80, 400
    _, weights, teacher = _sweep("diagonal", "lasso", d, -1.0, [n], 2)
    table = prune_point("diagonal", "lasso", d, 1.0, 0.5, -1.0, n, weights[0], teacher, seed=SEED)
    assert (table["rate_phase"] == "VIa").all()
    assert (table["cleaned_se_excess_risk"] < 0.75 * table["pruned_se_excess_risk"]).all()
    assert (table["cleaned_se_excess_risk"] < 1.5 * table["optimal_excess_risk"]).all()
    # n − ‖θ̂‖₀ = 320: δ̂, t̂ come from the residuals, within 10 % and 2 % of the SE's (‖r‖ over 320
    # degrees of freedom fluctuates by ~4 %); the SURE cut with them meets the same bounds
    # (observed 0.061, 0.051: at d = 80 the cut itself fluctuates more than δ̂ moves it).
    assert (table["empirical_delta_source"] == "residuals").all()
    np.testing.assert_allclose(table["empirical_delta"], table["delta"], rtol=0.1)
    np.testing.assert_allclose(table["empirical_threshold"], table["threshold"], rtol=0.02)
    assert (table["cleaned_empirical_excess_risk"] < 0.75 * table["pruned_se_excess_risk"]).all()
    assert (table["cleaned_empirical_excess_risk"] < 1.5 * table["optimal_excess_risk"]).all()
    # The Bayes-optimal reference is of the teacher prior, solved once per point: every replicate
    # carries the value `predict --method bayes` gives (0.0511), below each replicate's optimal-λ
    # ERM risk (0.0587, 0.0559).
    bayes, _ = predict_point("diagonal", d, 1.0, 0.5, n, None, SEED, method="bayes")
    assert (table["bayes_excess_risk"] == bayes["excess_risk"]).all() and table["bayes_converged"].all()
    assert (table["bayes_excess_risk"] < table["optimal_excess_risk"]).all()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model", "estimator", "d", "n_values"),
    [("quadratic", "convex", 8, [8, 24, 64]), ("diagonal", "lasso", 20, [10, 20, 60])],
)
def test_point_jobs_stacked_by_collect_are_the_sweep_job(tmp_path, model, estimator, d, n_values) -> None:
    # The workflow runs `prune --n N1 N2 N3` once per sweep; before, it ran `prune --n N` per point
    # and `collect` per sweep. Same rows, same order, same bits: no state passes between n.
    _, weights, teacher = _sweep(model, estimator, d, -1.0, n_values, 2)
    write_table(teacher, tmp_path / "teacher.parquet")
    weight_files = []
    for n, table in zip(n_values, weights, strict=True):
        weight_files.append(str(tmp_path / f"weights_n{n}.parquet"))
        write_table(table, weight_files[-1])
    common = [model, "--estimator", estimator, "--d", str(d), "--gamma", "1", "--noise", "0.5",
              "--lam-exponent", "-1", "--seed", str(SEED), "--teacher", str(tmp_path / "teacher.parquet"),
              "--tol", "1e-7", "--n-draws", "2"]  # fmt: skip
    # The sweep job gets its points in reverse: it stacks them in n order all the same.
    sweep = str(tmp_path / "sweep.parquet")
    assert main(["prune", *common, "--n", *map(str, n_values[::-1]), "--weights", *weight_files[::-1],
                 "--output", sweep]) == 0  # fmt: skip
    points = []
    for n, path in zip(n_values, weight_files, strict=True):
        points.append(str(tmp_path / f"point_n{n}.parquet"))
        assert main(["prune", *common, "--n", str(n), "--weights", path, "--output", points[-1]]) == 0
    collected = str(tmp_path / "collected.parquet")
    assert main(["collect", "--inputs", *points, "--output", collected]) == 0
    expected = read_table(sweep)
    # The data tell a shuffled or repeated point apart: one row per (n, replicate), in n order,
    # and the risks of different points differ.
    assert list(expected.columns) == list(PRUNING_COLUMNS)
    pairs = list(zip(expected["n"], expected["replicate"], strict=True))
    assert pairs == [(n, r) for n in n_values for r in (0, 1)]
    assert expected["excess_risk"].nunique() == len(expected)
    pd.testing.assert_frame_equal(read_table(collected), expected, check_exact=True)


def test_mismatched_inputs_are_refused() -> None:
    with pytest.raises(InputError, match="one entry per n"):
        spectra_sweep("diagonal", "lasso", 10, 1.0, 0.5, -1.0, [5, 10], [pd.DataFrame()], [], pd.DataFrame(), seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["convex", "network"])
def test_prune_with_the_stored_solution_equals_prune_with_the_refit(tmp_path, estimator) -> None:
    # d = 16 at the interpolation peak (λ = 1/d), two replicates. The refit reproduces the fit job
    # bit for bit, so the stored eigenpairs must give the same numbers up to the rounding of the
    # dropped null directions and of U diag(s) Uᵀ (observed ≤ 1e-14 relative; bound 1e-10).
    d, n = 16, 256
    teacher = teacher_table("quadratic", d, 1.0, SEED, 2)
    tables = fit_replicates("quadratic", estimator, d, 1.0, 0.5, n, 1.0 / d, SEED, 2, tol=1e-7)
    options = {"seed": SEED, "tol": 1e-7, "n_draws": 2}
    refit = prune_point("quadratic", estimator, d, 1.0, 0.5, -1.0, n, tables.weights, teacher, **options)
    for frame, path in ((tables.solution, "solution"), (tables.fits, "fits")):
        write_table(frame, tmp_path / f"{path}.parquet")
    solution, fits = read_table(tmp_path / "solution.parquet"), read_table(tmp_path / "fits.parquet")
    stored = prune_point(
        "quadratic", estimator, d, 1.0, 0.5, -1.0, n, tables.weights, teacher, solution=solution, fits=fits, **options
    )
    numeric = [c for c in PRUNING_COLUMNS if refit[c].dtype.kind == "f"]
    assert numeric and (refit["excess_risk"] > 0).all()
    assert (stored["refit_eigenvalue_gap"] < 1e-12).all() and (refit["refit_eigenvalue_gap"] < 1e-12).all()
    relative = (stored[numeric] - refit[numeric]).abs() / refit[numeric].abs().clip(lower=1e-300)
    assert float(np.nanmax(relative.drop(columns="refit_eigenvalue_gap").to_numpy())) < 1e-10
    non_numeric = [c for c in PRUNING_COLUMNS if c not in numeric]
    pd.testing.assert_frame_equal(stored[non_numeric], refit[non_numeric])
    # The data can tell a wrong solution apart: replicate 1's eigenpairs under replicate 0's label
    # leave a visible eigenvalue gap and another risk.
    swapped = solution.assign(replicate=1 - solution["replicate"])
    wrong = prune_point(
        "quadratic", estimator, d, 1.0, 0.5, -1.0, n, tables.weights, teacher, solution=swapped, fits=fits, **options
    )
    assert (wrong["refit_eigenvalue_gap"] > 1e-3).all()
    with pytest.raises(InputError, match="go together"):
        prune_point("quadratic", estimator, d, 1.0, 0.5, -1.0, n, tables.weights, teacher, solution=solution, **options)


def test_prune_tables_do_not_depend_on_the_design_budget(monkeypatch) -> None:
    # The budget decides how a redrawn design is held, never its values. Diagonal, d = 20: at
    # 1e-6 GB the n = 60 design (9600 bytes, n > d) is streamed for the residual estimate of δ̂
    # (its rows use it: n − ‖θ̂‖₀ ≥ n/10), n = 10 is held (n ≤ d); the tables equal bit for bit.
    d, n_values = 20, [10, 60]
    _, weights, teacher = _sweep("diagonal", "lasso", d, -1.0, n_values, 2)
    streamed = []

    def spy(*args, **kwargs):
        problem = draw_problem(*args, **kwargs)
        streamed.append(isinstance(problem.x, StreamedDesign))
        return problem

    monkeypatch.setattr(pruning, "draw_problem", spy)
    tables = {}
    for budget in (1.0, 1e-6):
        streamed.clear()
        tables[budget] = prune_sweep(
            "diagonal", "lasso", d, 1.0, 0.5, -1.0, n_values, weights, teacher, seed=SEED, design_memory=budget
        )
        # One draw per (n, replicate), in n order: the budget reached them.
        assert streamed == ([False] * 4 if budget == 1.0 else [False, False, True, True])
    assert (tables[1e-6].loc[tables[1e-6]["n"] == 60, "empirical_delta_source"] == "residuals").all()
    pd.testing.assert_frame_equal(tables[1e-6], tables[1.0], check_exact=True)


def test_a_quadratic_refit_under_a_streaming_budget_agrees_to_rounding() -> None:
    # Quadratic without stored eigenpairs: the refit draws its design under the budget. Streamed
    # (d = 8, n = 64: 4096 bytes > 1e-6 GB) the solver sees the same X, summed in another order:
    # the risks agree to rounding (observed ≤ 3e-14 relative; bound 1e-10), and both refits
    # reproduce the fit job's spectrum (the gap is itself rounding: 6e-16 and 2e-15).
    d, n = 8, 64
    _, weights, teacher = _sweep("quadratic", "convex", d, -1.0, [n], 1)
    options = {"seed": SEED, "tol": 1e-7, "n_draws": 2}
    held = prune_point("quadratic", "convex", d, 1.0, 0.5, -1.0, n, weights[0], teacher, **options)
    streamed = prune_point(
        "quadratic", "convex", d, 1.0, 0.5, -1.0, n, weights[0], teacher, design_memory=1e-6, **options
    )
    assert held["converged"].all() and streamed["converged"].all() and (held["excess_risk"] > 0).all()
    gap = "refit_eigenvalue_gap"
    assert (held[gap] < 1e-12).all() and (streamed[gap] < 1e-12).all()
    pd.testing.assert_frame_equal(streamed.drop(columns=gap), held.drop(columns=gap), rtol=1e-10, atol=0.0)


def test_a_bad_design_budget_is_refused_even_where_no_design_is_drawn() -> None:
    # Quadratic with stored eigenpairs draws no design; a budget of 0 must still not pass silently.
    with pytest.raises(InputError, match=r"`design_memory`.*> 0.*got 0"):
        prune_point(
            "quadratic", "convex", 8, 1.0, 0.5, -1.0, 64, pd.DataFrame({"replicate": [0]}), pd.DataFrame(),
            seed=SEED, solution=pd.DataFrame(), fits=pd.DataFrame(), design_memory=0.0,
        )  # fmt: skip
