"""The spectral-analysis jobs (spec §4–6): spectrum tables, SE-predicted spectra, pruning, diagnostics.

Three kinds of work live here:

* :func:`spectra_sweep` — the ``spectra`` job of one sweep (model, estimator, d, γ, Δ, ℓ): for
  every fitted replicate, the summary of its learned spectrum (tail exponent, bulk edge,
  outliers, mass at zero, Martin–Mahoney phase) next to the SE prediction at the same point
  (bulk edge with the free-convolution edge, BBP outliers, mass at zero) and the SE error
  decomposition; plus the data of the spectrum figures (eigenvalues and SE densities);
* :func:`prune_point` — the ``prune`` job of one point (n) of a weak-λ sweep (:func:`prune_sweep`:
  every n of a sweep in one call): the risk of the trained weights before and after pruning at
  the SE bulk edge and at an edge estimated from the spectrum alone, against the SE risk at the
  optimal λ and the Bayes-optimal risk;
* :func:`analyse_spectrum_file` — ``shallowscaling spectrum FILE``: any weight matrix or
  spectrum on disk.

Units: ``excess_risk`` is the excess risk R (= 2 mse_S for the quadratic model, spec §1.1) in
every column whose name contains it; decomposition parts are in the same units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int, check_real
from ..config import n_eff_value
from ..errors import InputError
from ..rates import classify_phase
from ..results import scalar_fields
from ..spectra.bulk import (
    estimate_bulk_edge,
    estimate_noise_edge,
    estimate_noise_from_residuals,
    free_convolution_edge,
    predict_spectrum,
    predicted_noise_edge,
)
from ..spectra.decomposition import (
    cleaned_quadratic_error,
    decompose_diagonal_error,
    decompose_quadratic_error,
    draw_goe,
    tune_diagonal_threshold,
    tune_quadratic_threshold,
)
from ..spectra.pruning import clean_spectrum, prune_coefficients, prune_spectrum, sure_edge
from ..spectra.summary import SpectrumSummary, analyse_spectrum, weight_matrix_spectrum
from ..spectra.tail import DEFAULT_RELATIVE_CUT, PowerLawTailFit, fit_power_law_tail
from ..targets import target_matrix
from .predict import predict_point
from .problem import Problem, draw_problem, draw_teacher, init_rng, se_rng
from .solution import eigenpairs_from_table
from .teacher import teacher_from_table

__all__ = [
    "DENSITY_COLUMNS",
    "DENSITY_GRID_POINTS",
    "DENSITY_KINDS",
    "MATRIX_SCALES",
    "PRUNING_COLUMNS",
    "SPECTRA_COLUMNS",
    "SpectraTables",
    "SpectrumReport",
    "analyse_spectrum_file",
    "prune_point",
    "prune_sweep",
    "rate_phase",
    "spectra_sweep",
]

#: Points of the x grid on which the SE density of the learned spectrum is tabulated: enough to
#: resolve the outlier components at d ≤ 10³ (each ~δ/√d wide) on a range of a few δ.
DENSITY_GRID_POINTS = 600
#: Height of the Stieltjes evaluation above the real axis, in units of δ: the density is smoothed
#: by a Cauchy kernel of this width, far below the grid step (~δ/100).
_DENSITY_HEIGHT = 1e-3

MATRIX_SCALES = ("none", "paper")

_POINT_COLUMNS = ("model", "estimator", "d", "gamma", "noise", "lam", "lam_exponent", "n", "n_eff", "seed")
_SUMMARY_FIELDS = tuple(SpectrumSummary.__dataclass_fields__)
SPECTRA_COLUMNS = (
    *_POINT_COLUMNS,
    "replicate",
    "rate_phase",
    "excess_risk",
    "matrix_mse",
    "converged",
    *(f for f in _SUMMARY_FIELDS if f != "d"),
    "noise_edge",
    "n_above_noise_edge",
    "se_excess_risk",
    "se_matrix_mse",
    "delta",
    "epsilon",
    "threshold",
    "se_converged",
    "fixed_point_residual",
    "predicted_bulk_edge",
    "predicted_bulk_edge_2delta",
    "predicted_noise_edge",
    "predicted_n_outliers",
    "predicted_n_above_noise_edge",
    "predicted_fraction_zero",
    "predicted_outliers",
    "overfitting",
    "underfitting",
    "approximation",
    "cross",
    "n_learned",
)
DENSITY_COLUMNS = (*_POINT_COLUMNS, "rate_phase", "replicate", "kind", "x", "density")
#: ``kind`` values of the density table: eigenvalues of the trained weights (one row each,
#: zeros included), the SE density of the non-zero part on a grid, the SE outlier positions, and
#: the SE / empirical bulk (diagonal: noise) edges.
DENSITY_KINDS = ("eigenvalue", "se_density", "se_outlier", "se_edge", "empirical_edge")
PRUNING_COLUMNS = (
    *_POINT_COLUMNS,
    "replicate",
    "rate_phase",
    "converged",
    "refit_eigenvalue_gap",
    "excess_risk",
    "se_edge",
    "empirical_edge",
    "edge_2delta",
    "tuned_edge",
    "pruned_se_excess_risk",
    "pruned_empirical_excess_risk",
    "pruned_2delta_excess_risk",
    "pruned_tuned_excess_risk",
    "empirical_delta",
    "empirical_threshold",
    "empirical_delta_source",
    "cleaned_se_excess_risk",
    "cleaned_empirical_excess_risk",
    "se_excess_risk",
    "se_pruned_excess_risk",
    "se_tuned_pruned_excess_risk",
    "se_cleaned_excess_risk",
    "delta",
    "threshold",
    "optimal_lam",
    "optimal_excess_risk",
    "bayes_excess_risk",
)


def rate_phase(model: str, d: int, n: int, lam: float, gamma: float, noise: float) -> str:
    """Paper phase (Result 1, :func:`shallowscaling.rates.classify_phase`) of one point."""
    kappa = math.log(n_eff_value(model, d, n)) / math.log(d)
    return classify_phase(kappa, math.log(lam) / math.log(d), gamma, noiseless=noise == 0)


def _point(model, estimator, d, gamma, noise, lam_exponent, n, seed) -> dict:
    lam = float(d) ** lam_exponent
    return {
        "model": model,
        "estimator": estimator,
        "d": d,
        "gamma": float(gamma),
        "noise": float(noise),
        "lam": lam,
        "lam_exponent": float(lam_exponent),
        "n": int(n),
        "n_eff": n_eff_value(model, d, n),
        "seed": int(seed),
    }


# --- the `spectra` job ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpectraTables:
    """Output of :func:`spectra_sweep`: ``summary`` (:data:`SPECTRA_COLUMNS`, one row per (n,
    replicate)) and ``density`` (:data:`DENSITY_COLUMNS`, the data of the spectrum figures)."""

    summary: pd.DataFrame
    density: pd.DataFrame


def _replicate_rows(weights: pd.DataFrame, replicate: int) -> pd.DataFrame:
    rows = weights[weights["replicate"] == replicate].sort_values("index", kind="stable")
    if rows.empty:
        raise InputError(f"the weights table has no replicate {replicate}")
    return rows


def _quadratic_density(s: np.ndarray, delta: float, threshold: float, x: np.ndarray) -> np.ndarray:
    """SE density of the non-zero eigenvalues of Ŝ: μ_δ(x + t), x > 0 (spec §4), per unit of d."""
    from ..state_evolution.free_convolution import spectral_atoms, stieltjes_transform

    positions, weights = spectral_atoms(s)
    g = stieltjes_transform(positions, weights, delta, x + threshold + 1j * _DENSITY_HEIGHT * delta)
    return np.maximum(-g.imag / math.pi, 0.0)


def _diagonal_density(theta_star: np.ndarray, delta: float, threshold: float, x: np.ndarray) -> np.ndarray:
    """SE density of |θ̂| = |η(θ* + δz; t)| at x > 0: (1/d) Σ_i [φ((x + t − θ_i)/δ) + φ((x + t + θ_i)/δ)]/δ."""
    shifted = (x[:, None] + threshold) / delta
    scaled = theta_star[None, :] / delta
    pdf = np.exp(-0.5 * (shifted - scaled) ** 2) + np.exp(-0.5 * (shifted + scaled) ** 2)
    return pdf.mean(axis=1) / (delta * math.sqrt(2.0 * math.pi))


def _density_rows(point: dict, phase: str, kind: str, x: np.ndarray, density=None, replicate: int = -1) -> pd.DataFrame:
    frame = pd.DataFrame({"x": np.asarray(x, dtype=float)})
    frame["density"] = np.nan if density is None else np.asarray(density, dtype=float)
    frame["kind"] = kind
    frame["replicate"] = replicate
    frame["rate_phase"] = phase
    for key, value in point.items():
        frame[key] = value
    return frame


def spectra_sweep(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    lam_exponent: float,
    n_values: Sequence[int],
    weights: Sequence[pd.DataFrame],
    fits: Sequence[pd.DataFrame],
    teacher: pd.DataFrame,
    *,
    seed: int,
    n_draws: int = 3,
    width: int | None = None,
) -> SpectraTables:
    """Learned spectra of one sweep against their SE predictions (spec §4).

    Parameters
    ----------
    model, estimator : str
        As in :func:`shallowscaling.tasks.fit.fit_point`.
    d : int
        Input dimension.
    gamma, noise, lam_exponent : float
        Teacher exponent γ, label-noise variance Δ, and ℓ with λ = d^ℓ.
    n_values : sequence of int
        The sample sizes of the sweep; ``weights[i]`` and ``fits[i]`` belong to ``n_values[i]``.
    weights, fits : sequences of DataFrame
        The ``fit`` job's learned-weights and fit tables (docs/data.md).
    teacher : DataFrame
        The ``teacher`` job's table of the sweep.
    seed : int
        Base seed (the SE's GOE draws derive from it, as in the ``predict`` job).
    n_draws : int, default 3
        K, GOE draws of the quadratic SE. The quadratic SE here always uses the Monte-Carlo
        route: the error decomposition needs its draws (:func:`~shallowscaling.spectra.
        decomposition.decompose_quadratic_error`), and the decomposition then sums exactly to
        the SE risk of the same row.
    width : int, optional
        Quadratic network width p (default d).

    Returns
    -------
    SpectraTables

    Notes
    -----
    Quadratic predictions: bulk edge = free_convolution_edge(s, δ) − t (the edge of μ_δ at the
    actual finite-d target; ``predicted_bulk_edge_2delta`` = 2δ − t is its d → ∞ limit, off by up
    to 50 % at d ≤ 400), outliers s_i + δ²/s_i − t above it, mass at zero 1 − (nonzero fraction
    of the SE estimator). Diagonal: the noise edge δ√(2 log d) − t and the expected number of
    coordinates above it, Σ_i P(|θ*_i + δz| > δ√(2 log d)); the empirical ``noise_edge`` is
    :func:`~shallowscaling.spectra.bulk.estimate_noise_edge` of θ̂. The spectrum summary of
    |θ̂| (its ``bulk_edge``, ``n_outliers``) reads it as a semicircle bulk, which the diagonal
    network does not have; it is kept because it is what ``shallowscaling spectrum`` reports.
    """
    check_choice(model, "model", ("diagonal", "quadratic"))
    d = check_int(d, "d", "input dimension d", lower=2)
    lam_exponent = check_real(lam_exponent, "lam_exponent", "ℓ, λ = d^ℓ")
    if not len(n_values) == len(weights) == len(fits):
        raise InputError(
            f"`n_values`, `weights` and `fits` must have one entry per n; got {len(n_values)}, "
            f"{len(weights)} and {len(fits)}"
        )
    quadratic = model == "quadratic"
    if quadratic:
        s = teacher_from_table(teacher, 0, "eigenvalue")
        goe = draw_goe(d, n_draws, se_rng(d, seed))
    records, density_frames = [], []
    previous = None
    for n, weight_table, fit_table in sorted(zip(n_values, weights, fits, strict=True), key=lambda item: item[0]):
        n = check_int(n, "n", "number of samples n", lower=1)
        point = _point(model, estimator, d, gamma, noise, lam_exponent, n, seed)
        phase = rate_phase(model, d, n, point["lam"], float(gamma), float(noise))
        replicates = sorted(int(r) for r in pd.unique(fit_table["replicate"]))
        predictions = {}
        if quadratic:
            record, previous = predict_point(
                model, d, gamma, noise, n, point["lam"], seed, target=s, n_draws=n_draws, width=width,
                initial=previous,
            )  # fmt: skip
            predictions = dict.fromkeys(replicates, (record, previous, s))
        else:
            for replicate in replicates:
                theta_star = teacher_from_table(teacher, replicate, "theta_star")
                record, result = predict_point(
                    model, d, gamma, noise, n, point["lam"], seed, replicate, target=theta_star
                )
                predictions[replicate] = (record, result, theta_star)
        empirical_top = 0.0
        for replicate in replicates:
            rows = _replicate_rows(weight_table, replicate)
            fit_row = fit_table[fit_table["replicate"] == replicate].iloc[0]
            record, result, target = predictions[replicate]
            eigenvalues = rows["eigenvalue"].to_numpy(dtype=float)
            empirical_top = max(empirical_top, float(eigenvalues.max(initial=0.0)))
            summary = analyse_spectrum(eigenvalues)
            row = {
                **point,
                "replicate": replicate,
                "rate_phase": phase,
                "excess_risk": float(fit_row["excess_risk"]),
                "matrix_mse": float(fit_row["matrix_mse"]),
                "converged": bool(fit_row["converged"]),
                **{k: v for k, v in scalar_fields(summary).items() if k != "d"},
                **_se_columns(record),
            }
            row.update(
                _predicted_columns(model, d, target, result, eigenvalues, rows, goe if quadratic else None, width)
            )
            records.append(row)
            density_frames.append(_density_rows(point, phase, "eigenvalue", eigenvalues, replicate=replicate))
            edge = row["bulk_edge"] if quadratic else row["noise_edge"]
            density_frames.append(_density_rows(point, phase, "empirical_edge", [edge], replicate=replicate))
        density_frames.extend(_se_density_frames(model, point, phase, predictions, empirical_top))
    summary_table = pd.DataFrame.from_records(records, columns=list(SPECTRA_COLUMNS))
    density_table = pd.concat(density_frames, ignore_index=True)[list(DENSITY_COLUMNS)]
    return SpectraTables(summary=summary_table, density=density_table)


def _se_columns(record: dict) -> dict:
    return {
        "se_excess_risk": record["excess_risk"],
        "se_matrix_mse": record["matrix_mse"],
        "delta": record["delta"],
        "epsilon": record["epsilon"],
        "threshold": record["threshold"],
        "se_converged": record["converged"],
        "fixed_point_residual": record["fixed_point_residual"],
    }


def _predicted_columns(model, d, target, result, eigenvalues, rows, goe, width) -> dict:
    delta, threshold = float(result.delta), float(result.threshold)
    nan = math.nan
    if model == "quadratic":
        edge = free_convolution_edge(target, delta)
        predicted = predict_spectrum(target, delta, threshold, edge)
        parts = decompose_quadratic_error(target, delta, threshold, goe, width=width)
        scale = 2.0  # excess risk = 2 mse_S (spec §1.1)
        return {
            "noise_edge": nan,
            "n_above_noise_edge": nan,
            "predicted_bulk_edge": predicted.bulk_edge,
            "predicted_bulk_edge_2delta": 2.0 * delta - threshold,
            "predicted_noise_edge": nan,
            "predicted_n_outliers": float(predicted.n_outliers),
            "predicted_n_above_noise_edge": nan,
            "predicted_fraction_zero": 1.0 - float(result.nonzero_fraction),
            "predicted_outliers": predicted.outliers.tolist(),
            "overfitting": scale * parts.overfitting,
            "underfitting": scale * parts.underfitting,
            "approximation": scale * parts.approximation,
            "cross": scale * parts.cross,
            "n_learned": parts.n_learned,
        }
    from ..state_evolution.diagonal import soft_threshold_active_probability

    theta_hat = rows["theta"].to_numpy(dtype=float)
    estimate = estimate_noise_edge(theta_hat)
    noise_edge = predicted_noise_edge(d, delta, threshold)
    parts = decompose_diagonal_error(target, delta, threshold)
    return {
        "noise_edge": estimate.noise_edge,
        "n_above_noise_edge": float(estimate.n_above),
        "predicted_bulk_edge": nan,
        "predicted_bulk_edge_2delta": nan,
        "predicted_noise_edge": noise_edge,
        "predicted_n_outliers": nan,
        "predicted_n_above_noise_edge": float(
            np.sum(soft_threshold_active_probability(target, delta, max(noise_edge, 0.0) + threshold))
        ),
        "predicted_fraction_zero": 1.0 - float(result.nonzero_fraction),
        "predicted_outliers": [],
        "overfitting": parts.overfitting,
        "underfitting": parts.underfitting,
        "approximation": parts.approximation,
        "cross": parts.cross,
        "n_learned": parts.n_learned,
    }


def _se_density_frames(model, point, phase, predictions, empirical_top) -> list[pd.DataFrame]:
    """SE density, outliers and edge of one n (diagonal: averaged over the replicates' teachers)."""
    unique = {id(result): (result, target) for _, result, target in predictions.values()}
    values = list(unique.values())
    d = point["d"]
    frames = []
    if model == "quadratic":
        result, s = values[0]
        delta, threshold = float(result.delta), float(result.threshold)
        predicted = predict_spectrum(s, delta, threshold, free_convolution_edge(s, delta))
        # The grid covers the last outlier's whole component (a few δ/√d wide) with room to spare.
        top = max(empirical_top, float(predicted.outliers.max(initial=0.0)) + delta, predicted.bulk_edge, 1e-12)
        x = np.linspace(0.0, 1.05 * top, DENSITY_GRID_POINTS + 1)[1:]
        frames.append(_density_rows(point, phase, "se_density", x, _quadratic_density(s, delta, threshold, x)))
        frames.append(_density_rows(point, phase, "se_outlier", predicted.outliers))
        frames.append(_density_rows(point, phase, "se_edge", [predicted.bulk_edge]))
        return frames
    top = max(empirical_top, 1e-12)
    x = np.linspace(0.0, 1.05 * top, DENSITY_GRID_POINTS + 1)[1:]
    density = np.mean([_diagonal_density(t, r.delta, r.threshold, x) for r, t in values], axis=0)
    edge = float(np.mean([predicted_noise_edge(d, r.delta, r.threshold) for r, _ in values]))
    frames.append(_density_rows(point, phase, "se_density", x, density))
    frames.append(_density_rows(point, phase, "se_edge", [edge]))
    return frames


# --- the `prune` job ------------------------------------------------------------------------------


def _refit_quadratic(estimator: str, problem: Problem, lam: float, tol: float, max_iter: int, width, rng):
    """The ``fit`` job's solve of one quadratic replicate (same solver, options and initialisation)."""
    if estimator == "convex":
        from ..estimators.psd_convex import fit_psd_convex

        return fit_psd_convex(problem.x, problem.y, lam, tol=tol, max_iter=max_iter)
    from ..estimators.quadratic_network import fit_quadratic_network

    return fit_quadratic_network(problem.x, problem.y, lam, rng, width=width, max_iter=max_iter)


def _reference_risks(
    model, d, gamma, noise, n, seed, target, normalization, n_draws, width
) -> tuple[float, float, float]:
    """(λ_opt, ERM SE risk at λ_opt, Bayes-optimal SE risk) of one teacher."""
    options = {"target": target, "n_draws": n_draws, "width": width, "normalization": normalization}
    record, _ = predict_point(model, d, gamma, noise, n, "optimal", seed, **options)
    bayes_target = None if model == "diagonal" else target
    bayes, _ = predict_point(
        model, d, gamma, noise, n, None, seed, method="bayes", target=bayes_target, normalization=normalization
    )
    return record["lam"], record["excess_risk"], bayes["excess_risk"]


def prune_point(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    lam_exponent: float,
    n: int,
    weights: pd.DataFrame,
    teacher: pd.DataFrame,
    *,
    seed: int,
    normalization: str = "unit",
    tol: float = 1e-8,
    max_iter: int = 100_000,
    width: int | None = None,
    n_draws: int = 3,
    solution: pd.DataFrame | None = None,
    fits: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Risk of the trained weights before and after pruning at the bulk edge (spec §5, Corollary 2).

    Parameters
    ----------
    model, estimator, d, gamma, noise, n, seed, normalization, width
        Identify the fit, as in :func:`shallowscaling.tasks.fit.fit_point` (the same values as
        the ``fit`` job).
    tol, max_iter
        The fit job's solver options, used only by the refit (without ``solution``), so that it
        reproduces the fit.
    lam_exponent : float
        ℓ with λ = d^ℓ (Corollary 2 is about weak λ: ℓ = −1 in the study).
    weights : DataFrame
        The ``fit`` job's learned-weights table of this point (θ̂ is read from it for the
        diagonal model; for the quadratic one it is compared with the eigenvalues pruned).
    teacher : DataFrame
        The ``teacher`` job's table.
    n_draws : int, default 3
        K, GOE draws of the quadratic SE.
    solution, fits : DataFrame, optional
        Quadratic only, together: the ``fit`` job's solution table
        (:func:`~shallowscaling.tasks.solution.solution_table`, the non-zero eigenpairs of Ŝ) and
        fit table of this point (its ``converged``). Without them Ŝ is refitted: the same numbers
        at the cost of one fit job.

    Returns
    -------
    DataFrame
        :data:`PRUNING_COLUMNS`, one row per replicate of ``weights``.

    Notes
    -----
    Quadratic: Ŝ = U diag(λ) Uᵀ is read from the fit job's stored eigenpairs (``solution``; only
    S* is redrawn, no design and no solver call) or, without them, refitted; then its eigenvalues
    λ_i are replaced by (λ_i − e)₊ for four edges e: the SE
    bulk edge free_convolution_edge(s, δ) − t (``se_edge``), the bulk edge estimated from the
    spectrum alone (``empirical_edge``, :func:`~shallowscaling.spectra.bulk.estimate_bulk_edge`),
    Corollary 2's 2δ − t (``edge_2delta``, the d → ∞ edge of the noise bulk) and the SE-tuned
    τ* − t (``tuned_edge``, :func:`~shallowscaling.spectra.decomposition.tune_quadratic_threshold`:
    the cut with the smallest SE risk, known to SE like the optimal λ is); each risk is
    2‖Ŝ_pruned − S*‖²_F/d. ``refit_eigenvalue_gap`` is max_i |λ_i − λ_i(weights)| divided by
    max λ(weights), λ_i the eigenvalues pruned (the solution's, zeros filled in to d, or the
    refit's) and λ_i(weights) those of the weights table: ~1e-15 (the two LAPACK drivers round
    differently) when both come from the same fit; a larger value flags a solution or refit that
    does not belong to these weights. ``se_pruned_excess_risk`` and
    ``se_tuned_pruned_excess_risk`` are the SE risks of the estimator pruned at the SE edge and at
    the tuned one: soft thresholds of S* + δZ at the corresponding level, on the SE's own draws.
    ``cleaned_se_excess_risk`` is the risk of the cleaned Ŝ,
    :func:`~shallowscaling.spectra.pruning.clean_matrix` with the SE (δ, t), and
    ``cleaned_empirical_excess_risk`` that with (δ̂, t̂) read from the spectrum alone
    (``empirical_delta``, ``empirical_threshold``: the noise scale and the shift, floored at 0, of
    :func:`~shallowscaling.spectra.bulk.estimate_bulk_edge`); ``se_cleaned_excess_risk`` is the SE
    risk of the cleaned estimator on the SE's draws
    (:func:`~shallowscaling.spectra.decomposition.cleaned_quadratic_error`).

    At finite d the SE bulk edge lies well above 2δ: the target eigenvalues below the BBP
    threshold smear into the noise bulk and shift it (1.5–3 δ at d = 80–200, γ = 1). Pruning at
    it then also shrinks the learned outliers by that much, which costs more than the noise it
    removes except deep in the overfitting phase (n_eff ≲ d^0.9); the tuned cut (0.5–1 δ) is
    what reaches the optimal-λ risk there (docs/data.md).

    Diagonal [our extension]: θ̂ is re-thresholded at the noise edge δ√(2 log d) − t (SE), at the
    one estimated from θ̂ (:func:`~shallowscaling.spectra.bulk.estimate_noise_edge`) or at the
    SE-tuned τ* − t (:func:`~shallowscaling.spectra.decomposition.tune_diagonal_threshold`);
    ``se_pruned_excess_risk`` = (1/d) Σ_i E(η(θ*_i + δz; δ√(2 log d)) − θ*_i)². Its "cleaning" is
    the re-threshold chosen by SURE (:func:`~shallowscaling.spectra.pruning.sure_edge`) with the SE
    (δ, t) and with an empirical (δ̂, t̂): from the training residuals
    (:func:`~shallowscaling.spectra.bulk.estimate_noise_from_residuals`) where n − ‖θ̂‖₀ ≥ n/10,
    else from θ̂ alone (``estimate_noise_edge``); ``empirical_delta_source`` says which.
    ``se_cleaned_excess_risk`` is then the SE risk at the tuned cut, the d → ∞ limit of the SURE
    cut.

    ``optimal_excess_risk`` is the ERM SE risk at the λ that minimises it (``predict --lam
    optimal``) and ``bayes_excess_risk`` the Bayes-optimal SE risk of the same teacher.
    """
    check_choice(model, "model", ("diagonal", "quadratic"))
    d = check_int(d, "d", "input dimension d", lower=2)
    n = check_int(n, "n", "number of samples n", lower=1)
    if (solution is None) != (fits is None):
        raise InputError(
            "`solution` and `fits` go together (the stored eigenpairs and the fit's `converged` flag); "
            f"got only `{'solution' if fits is None else 'fits'}`"
        )
    if solution is not None and model != "quadratic":
        raise InputError(
            "`solution` (stored eigenpairs of Ŝ) applies to the quadratic model only; the diagonal prune "
            f"reads θ̂ from `weights`. Drop it; got model {model!r}"
        )
    point = _point(model, estimator, d, gamma, noise, lam_exponent, n, seed)
    lam = point["lam"]
    phase = rate_phase(model, d, n, lam, float(gamma), float(noise))
    replicates = sorted(int(r) for r in pd.unique(weights["replicate"]))
    records = []
    if model == "quadratic":
        s = teacher_from_table(teacher, 0, "eigenvalue")
        se, result = predict_point(model, d, gamma, noise, n, lam, seed, target=s, n_draws=n_draws, width=width)
        delta, threshold = float(result.delta), float(result.threshold)
        se_edge = free_convolution_edge(s, delta) - threshold
        goe = draw_goe(d, n_draws, se_rng(d, seed))
        se_pruned = (
            2.0 * decompose_quadratic_error(s, delta, max(se_edge + threshold, threshold), goe, width=width).total
        )
        tuned = tune_quadratic_threshold(s, delta, threshold, goe)
        se_cleaned = 2.0 * cleaned_quadratic_error(s, delta, threshold, goe)
        optimal_lam, optimal_risk, bayes_risk = _reference_risks(
            model, d, gamma, noise, n, seed, s, normalization, n_draws, width
        )
    for replicate in replicates:
        rows = _replicate_rows(weights, replicate)
        stored = rows["eigenvalue"].to_numpy(dtype=float)
        if model == "quadratic":
            if solution is None:
                problem = draw_problem(model, d, gamma, noise, n, seed, replicate, normalization)
                s_star = problem.s_star
                fit = _refit_quadratic(
                    estimator, problem, lam, tol, max_iter, width, init_rng(model, d, gamma, noise, n, seed, replicate)
                )
                converged = bool(fit.converged)
                s_hat = np.asarray(fit.s)
                ascending, vectors = np.linalg.eigh(0.5 * (s_hat + s_hat.T))
            else:
                drawn = draw_teacher(model, d, gamma, seed, replicate, normalization)
                s_star = target_matrix(drawn["eigenvalues"], drawn["basis"])
                converged = _stored_converged(fits, point, replicate)
                pairs = eigenpairs_from_table(solution, replicate, d)
                s_hat = pairs.matrix()
                # The zero eigenvalues' eigenvectors are not stored and not needed: every spectral
                # map below (pruning, cleaning, identity) sends 0 to 0.
                ascending = np.concatenate([np.zeros(d - pairs.eigenvalues.size), pairs.eigenvalues[::-1]])
                vectors = np.concatenate([np.zeros((d, d - pairs.eigenvalues.size)), pairs.eigenvectors[:, ::-1]], 1)
            # One eigendecomposition serves every variant: a spectral map f of Ŝ = U diag(λ) Uᵀ
            # has ‖U diag(f) Uᵀ − S*‖²_F = ‖f‖² − 2 Σ_i f_i u_iᵀS*u_i + ‖S*‖²_F.
            overlaps = np.einsum("ij,ij->j", vectors, s_star @ vectors)
            target_energy = float(np.sum(s_star**2))
            eigenvalues = ascending[::-1]
            scale = max(float(stored.max(initial=0.0)), np.finfo(float).tiny)
            gap = float(np.max(np.abs(eigenvalues - stored))) / scale if stored.size == d else math.inf
            estimate = estimate_bulk_edge(eigenvalues)
            empirical_edge = estimate.bulk_edge
            edge_2delta = 2.0 * delta - threshold
            # The spectrum's own δ̂ and t̂: the semicircle fit from the zero boundary,
            # λ = δ̂ y − T, read with the noise bulk centred at 0 (t̂ = T; T < 0 means no visible shift).
            empirical_delta = float(estimate.noise_scale)
            empirical_threshold = (
                max(float(estimate.threshold_shift), 0.0) if math.isfinite(empirical_delta) else math.nan
            )

            def spectral_risk(f: np.ndarray, overlaps=overlaps, target_energy=target_energy) -> float:
                return 2.0 * (float(f @ f) - 2.0 * float(f @ overlaps) + target_energy) / d

            def risk(edge: float, ascending=ascending) -> float:
                return spectral_risk(prune_spectrum(ascending, edge))

            def cleaned_risk(delta_: float, threshold_: float, ascending=ascending) -> float:
                if not (math.isfinite(delta_) and delta_ > 0.0):
                    return math.nan
                return spectral_risk(clean_spectrum(ascending, delta_, threshold_))

            row = {
                "converged": converged,
                "refit_eigenvalue_gap": gap,
                "excess_risk": 2.0 * float(np.sum((s_hat - s_star) ** 2)) / d,
                "se_edge": se_edge,
                "empirical_edge": empirical_edge,
                "edge_2delta": edge_2delta,
                "pruned_se_excess_risk": risk(se_edge),
                "pruned_empirical_excess_risk": risk(empirical_edge),
                "tuned_edge": tuned.edge,
                "pruned_2delta_excess_risk": risk(edge_2delta),
                "pruned_tuned_excess_risk": risk(tuned.edge),
                "empirical_delta": empirical_delta,
                "empirical_threshold": empirical_threshold,
                "empirical_delta_source": "spectrum",
                "cleaned_se_excess_risk": cleaned_risk(delta, threshold),
                "cleaned_empirical_excess_risk": cleaned_risk(empirical_delta, empirical_threshold),
                "se_excess_risk": se["excess_risk"],
                "se_pruned_excess_risk": se_pruned,
                "se_tuned_pruned_excess_risk": 2.0 * tuned.error,
                "se_cleaned_excess_risk": se_cleaned,
                "delta": delta,
                "threshold": threshold,
                "optimal_lam": optimal_lam,
                "optimal_excess_risk": optimal_risk,
                "bayes_excess_risk": bayes_risk,
            }
        else:
            problem = draw_problem(model, d, gamma, noise, n, seed, replicate, normalization)
            row = _prune_diagonal(problem, rows, point, replicate, normalization)
        records.append({**point, "replicate": replicate, "rate_phase": phase, **row})
    return pd.DataFrame.from_records(records, columns=list(PRUNING_COLUMNS))


def prune_sweep(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    lam_exponent: float,
    n_values: Sequence[int],
    weights: Sequence[pd.DataFrame],
    teacher: pd.DataFrame,
    *,
    solutions: Sequence[pd.DataFrame] | None = None,
    fits: Sequence[pd.DataFrame] | None = None,
    **options,
) -> pd.DataFrame:
    """:func:`prune_point` for every n of a sweep (``weights[i]``, ``solutions[i]`` and
    ``fits[i]`` belong to ``n_values[i]``), in n order.

    No state passes from one n to the next (each point's SE solves start cold, a refit starts as
    the fit job's did), so the table equals the points' tables stacked in n order: the workflow
    runs one ``prune`` job per point, each reading its fit job's stored solution, and stacks them
    with ``collect``.
    """
    for name, tables in (("weights", weights), ("solutions", solutions), ("fits", fits)):
        if tables is not None and len(tables) != len(n_values):
            raise InputError(
                f"`n_values` and `{name}` must have one entry per n; got {len(n_values)} and {len(tables)}"
            )
    stored = [None] * len(n_values) if solutions is None else list(solutions)
    records = [None] * len(n_values) if fits is None else list(fits)
    points = sorted(zip(n_values, weights, stored, records, strict=True), key=lambda item: item[0])
    frames = [
        prune_point(
            model, estimator, d, gamma, noise, lam_exponent, n, table, teacher, solution=solution, fits=fit, **options
        )
        for n, table, solution, fit in points
    ]
    return pd.concat(frames, ignore_index=True)


def _stored_converged(fits: pd.DataFrame, point: dict, replicate: int) -> bool:
    """The fit job's ``converged`` of one replicate, after checking the fit table is of this point."""
    rows = fits[fits["replicate"] == replicate]
    if len(rows) != 1:
        raise InputError(f"the fit table must have one row of replicate {replicate}; got {len(rows)}")
    row = rows.iloc[0]
    for key in ("model", "estimator", "d", "n", "seed"):
        if row[key] != point[key]:
            raise InputError(
                f"the fit table is not of this point: its `{key}` is {row[key]!r}, the prune point's {point[key]!r}"
            )
    return bool(row["converged"])


def _prune_diagonal(problem: Problem, rows: pd.DataFrame, point: dict, replicate: int, normalization: str) -> dict:
    from ..state_evolution.diagonal import expected_soft_threshold_mse

    d, n, seed = point["d"], point["n"], point["seed"]
    theta_star = problem.theta_star
    theta_hat = rows["theta"].to_numpy(dtype=float)
    se, result = predict_point(
        "diagonal", d, point["gamma"], point["noise"], n, point["lam"], seed, replicate, target=theta_star
    )
    delta, threshold = float(result.delta), float(result.threshold)
    se_edge = predicted_noise_edge(d, delta, threshold)
    estimate = estimate_noise_edge(theta_hat)
    empirical_edge = estimate.noise_edge
    # The SURE cut's (δ̂, t̂): from the training residuals where n − ‖θ̂‖₀ leaves enough degrees of
    # freedom (the θ̂-only fit over-estimates δ when most coordinates carry signal, n ≳ d), else
    # from θ̂ alone (near interpolation, where the residuals carry no information).
    residual = estimate_noise_from_residuals(problem.x, problem.y, theta_hat, point["lam"])
    source, chosen = ("residuals", residual) if math.isfinite(residual.noise_scale) else ("spectrum", estimate)
    empirical_delta, empirical_threshold = float(chosen.noise_scale), max(float(chosen.threshold_shift), 0.0)
    tuned = tune_diagonal_threshold(theta_star, delta, threshold)
    optimal_lam, optimal_risk, bayes_risk = _reference_risks(
        "diagonal", d, point["gamma"], point["noise"], n, seed, theta_star, normalization, 1, None
    )

    def risk(edge: float) -> float:
        if not math.isfinite(edge):
            return math.nan
        return float(np.sum((prune_coefficients(theta_hat, edge) - theta_star) ** 2)) / d

    return {
        "converged": True,
        "refit_eigenvalue_gap": 0.0,
        "excess_risk": float(np.sum((theta_hat - theta_star) ** 2)) / d,
        "se_edge": se_edge,
        "empirical_edge": empirical_edge,
        "edge_2delta": math.nan,
        "pruned_se_excess_risk": risk(se_edge),
        "pruned_empirical_excess_risk": risk(empirical_edge),
        "tuned_edge": tuned.edge,
        "pruned_2delta_excess_risk": math.nan,
        "pruned_tuned_excess_risk": risk(tuned.edge),
        "empirical_delta": empirical_delta,
        "empirical_threshold": empirical_threshold,
        "empirical_delta_source": source,
        "cleaned_se_excess_risk": risk(sure_edge(theta_hat, delta, threshold)),
        "cleaned_empirical_excess_risk": (
            risk(sure_edge(theta_hat, empirical_delta, empirical_threshold))
            if math.isfinite(empirical_delta) and empirical_delta > 0.0
            else math.nan
        ),
        "se_excess_risk": se["excess_risk"],
        "se_pruned_excess_risk": float(
            np.mean(expected_soft_threshold_mse(theta_star, delta, max(se_edge, 0.0) + threshold))
        ),
        "se_tuned_pruned_excess_risk": tuned.error,
        # SURE is an unbiased estimate of the SE risk of every cut: as d → ∞ its minimiser is the
        # SE-tuned one, whose SE risk this is.
        "se_cleaned_excess_risk": tuned.error,
        "delta": delta,
        "threshold": threshold,
        "optimal_lam": optimal_lam,
        "optimal_excess_risk": optimal_risk,
        "bayes_excess_risk": bayes_risk,
    }


# --- `shallowscaling spectrum FILE` ---------------------------------------------------------------


@dataclass(frozen=True)
class SpectrumReport:
    """What ``shallowscaling spectrum FILE`` reports.

    Attributes
    ----------
    record : dict
        The JSON object: file, format, source, kind (``weight_matrix`` or ``spectrum``), shape,
        replicate, matrix_scale, the :class:`~shallowscaling.spectra.summary.SpectrumSummary`
        fields (tail_exponent, tail_exponent_se, xmin, ks_distance, n_tail, bulk_edge,
        n_outliers, phase, ...) and ``outliers`` (the eigenvalues above the bulk edge, decreasing).
    eigenvalues : ndarray, shape (d,)
        The analysed spectrum, decreasing.
    summary : SpectrumSummary
    tail : PowerLawTailFit
    """

    record: dict
    eigenvalues: np.ndarray
    summary: SpectrumSummary
    tail: PowerLawTailFit


def analyse_spectrum_file(
    path: str | Path, *, key: str | None = None, replicate: int | None = None, matrix_scale: str = "none"
) -> SpectrumReport:
    """Tail exponent, bulk edge, outliers and phase of the weights stored in ``path`` (spec §4).

    Parameters
    ----------
    path : str or Path
        A .npy / .npz array or a Parquet table (:func:`shallowscaling.io.weights.read_array_file`).
        A 2-D array is a weight matrix W (p × d, one row per hidden unit) whose eigenvalues of WᵀW
        are analysed, as HT-SR does; a 1-D array or a table's ``eigenvalue`` column is the spectrum.
    key, replicate
        Select an array of an .npz archive / a replicate of a table.
    matrix_scale : {"none", "paper"}, default "none"
        For a weight matrix: eigenvalues of WᵀW (``"none"``, WeightWatcher's convention) or of
        WᵀW/√(pd) (``"paper"``, the matrix S of spec §1.1). Exponent and phase do not depend on it.

    Returns
    -------
    SpectrumReport

    Raises
    ------
    InputError
        ``"<path>: <problem>"``, including spectra with negative eigenvalues (below
        −DEFAULT_RELATIVE_CUT · max: a spectrum of WᵀW is ≥ 0; pass |θ̂| for diagonal weights).
    """
    from ..io.weights import read_array_file

    check_choice(matrix_scale, "matrix_scale", MATRIX_SCALES)
    loaded = read_array_file(path, key=key, replicate=replicate)
    values = loaded.values
    if values.ndim == 2:
        kind = "weight_matrix"
        eigenvalues = weight_matrix_spectrum(values, matrix_scale)
    else:
        kind = "spectrum"
        top = float(np.max(np.abs(values)))
        lowest = float(values.min())
        if lowest < -DEFAULT_RELATIVE_CUT * top:
            raise InputError(
                f"{path}: {loaded.source} has negative entries (min {lowest:.6g}); a spectrum of WᵀW is >= 0 "
                "(pass |θ̂| for diagonal-network coefficients, or the weight matrix W itself)"
            )
        eigenvalues = np.sort(np.maximum(values, 0.0))[::-1]
    summary = analyse_spectrum(eigenvalues)
    tail = fit_power_law_tail(eigenvalues)
    record = {
        "file": str(path),
        "format": loaded.file_format,
        "source": loaded.source,
        "kind": kind,
        "shape": list(values.shape),
        "replicate": loaded.replicate,
        "matrix_scale": matrix_scale if kind == "weight_matrix" else None,
        **scalar_fields(summary),
        "outliers": eigenvalues[: summary.n_outliers].tolist(),
    }
    return SpectrumReport(record=record, eigenvalues=eigenvalues, summary=summary, tail=tail)
