"""The ``prune`` job (docs/theory.md §5, Corollary 2): pruning the trained weights at the bulk edge.

:func:`prune_sweep` — the ``prune`` job of a weak-λ sweep, :func:`prune_point` for every n of
it in one process (:func:`prune_point`: one point, n): the risk of the trained weights before and after pruning at
the SE bulk edge and at an edge estimated from the spectrum alone, against the SE risk at the
optimal λ and the Bayes-optimal risk.

Units: ``excess_risk`` is the excess risk R (= 2 mse_S for the quadratic model, docs/theory.md §1.1) in
every column whose name contains it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int
from ..design import DEFAULT_DESIGN_MEMORY_GB, check_design_memory
from ..errors import InputError
from ..spectra.bulk import (
    estimate_bulk_edge,
    estimate_noise_edge,
    estimate_noise_from_residuals,
    free_convolution_edge,
    predicted_noise_edge,
)
from ..spectra.decomposition import (
    cleaned_quadratic_error,
    decompose_quadratic_error,
    draw_goe,
    tune_diagonal_threshold,
    tune_quadratic_threshold,
)
from ..spectra.pruning import clean_spectrum, prune_coefficients, prune_spectrum, sure_edge
from ..targets import target_matrix
from .fit import estimator_module
from .predict import predict_point
from .problem import Problem, draw_problem, draw_teacher, init_rng, se_rng
from .solution import eigenpairs_from_table
from .spectral_point import POINT_COLUMNS, point_record, rate_phase, replicate_rows
from .teacher import teacher_from_table

__all__ = [
    "PRUNING_COLUMNS",
    "prune_point",
    "prune_sweep",
]

PRUNING_COLUMNS = (
    *POINT_COLUMNS,
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
    "se_converged",
    "optimal_converged",
    "bayes_converged",
)


# --- the `prune` job ------------------------------------------------------------------------------


def _refit_quadratic(estimator: str, problem: Problem, lam: float, tol: float, max_iter: int, width, rng):
    """The ``fit`` job's solve of one quadratic replicate (same solver, options and initialisation).

    The estimator module is loaded by name (:func:`.fit.estimator_module`), so that a diagonal
    ``prune`` job's code hash holds no quadratic estimator; the network's ``gtol`` follows
    ``tol`` as in the ``fit`` job.
    """
    module = estimator_module("quadratic", estimator)
    if estimator == "convex":
        return module.fit_psd_convex(problem.x, problem.y, lam, tol=tol, max_iter=max_iter)
    gtol = tol * module.GTOL_PER_TOL
    return module.fit_quadratic_network(problem.x, problem.y, lam, rng, width=width, gtol=gtol, max_iter=max_iter)


def _optimal_reference(
    model, d, gamma, noise, n, seed, target, normalization, n_draws, width
) -> tuple[float, float, bool]:
    """(λ_opt, ERM SE risk at λ_opt, the search's converged) of one teacher (``predict --lam optimal``)."""
    options = {"target": target, "n_draws": n_draws, "width": width, "normalization": normalization}
    record, _ = predict_point(model, d, gamma, noise, n, "optimal", seed, **options)
    return record["lam"], record["excess_risk"], bool(record["converged"])


def _bayes_reference(model, d, gamma, noise, n, seed, target, normalization) -> tuple[float, bool]:
    """(Bayes-optimal SE risk, converged) of the teacher prior: ``target`` the eigenvalues of S*
    (quadratic) or None (diagonal: the power law's Gaussian prior). Either is the same for every
    replicate of a point, so it is solved once per point."""
    bayes, _ = predict_point(
        model, d, gamma, noise, n, None, seed, method="bayes", target=target, normalization=normalization
    )
    return bayes["excess_risk"], bool(bayes["converged"])


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
    design_memory: float = DEFAULT_DESIGN_MEMORY_GB,
) -> pd.DataFrame:
    """Risk of the trained weights before and after pruning at the bulk edge (docs/theory.md §5, Corollary 2).

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
        at the cost of one fit job. Diagonal: ``fits`` alone gives ``converged`` (without it the
        column is True: θ̂ is read from ``weights`` and no solver runs here).
    design_memory : float, default DEFAULT_DESIGN_MEMORY_GB
        GB of design X held in memory where one is redrawn, as the ``fit`` job's budget (a larger
        X is streamed: same values, so the table does not depend on it). Diagonal: every
        replicate's design, for the residual estimate of δ̂ (one pass). Quadratic: the refit's
        design (without ``solution``); with ``solution`` no design is drawn and it does nothing.

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
    # Checked here, not only where a design is drawn: a quadratic prune from stored eigenpairs
    # draws none, and a bad budget must not pass silently there.
    design_memory = check_design_memory(design_memory)
    if model == "quadratic" and (solution is None) != (fits is None):
        raise InputError(
            "`solution` and `fits` go together (the stored eigenpairs and the fit's `converged` flag); "
            f"got only `{'solution' if fits is None else 'fits'}`"
        )
    if solution is not None and model != "quadratic":
        raise InputError(
            "`solution` (stored eigenpairs of Ŝ) applies to the quadratic model only; the diagonal prune "
            f"reads θ̂ from `weights`. Drop it; got model {model!r}"
        )
    point = point_record(model, estimator, d, gamma, noise, lam_exponent, n, seed)
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
        optimal_lam, optimal_risk, optimal_ok = _optimal_reference(
            model, d, gamma, noise, n, seed, s, normalization, n_draws, width
        )
    # One teacher prior per point: every replicate shares its Bayes-optimal risk.
    bayes_risk, bayes_ok = _bayes_reference(
        model, d, gamma, noise, n, seed, s if model == "quadratic" else None, normalization
    )
    for replicate in replicates:
        rows = replicate_rows(weights, replicate)
        stored = rows["eigenvalue"].to_numpy(dtype=float)
        if model == "quadratic":
            if solution is None:
                problem = draw_problem(
                    model, d, gamma, noise, n, seed, replicate, normalization, design_memory=design_memory
                )
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
                "se_converged": bool(se["converged"]),
                "optimal_converged": optimal_ok,
                "bayes_converged": bayes_ok,
            }
        else:
            problem = draw_problem(
                model, d, gamma, noise, n, seed, replicate, normalization, design_memory=design_memory
            )
            row = _prune_diagonal(problem, rows, point, replicate, normalization)
            row["bayes_excess_risk"], row["bayes_converged"] = bayes_risk, bayes_ok
            # The fit job's flag when its table is given (the workflow gives it); else unknown, True.
            row["converged"] = True if fits is None else _stored_converged(fits, point, replicate)
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
    the fit job's did), so the table equals the points' tables stacked in n order. The workflow
    runs one ``prune`` job per sweep (this function), reading every n's stored solution: the
    interpreter start-up and imports (~0.8 CPU s) are paid once per sweep, not once per n.
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
    optimal_lam, optimal_risk, optimal_ok = _optimal_reference(
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
        "se_converged": bool(se["converged"]),
        "optimal_converged": optimal_ok,
    }
