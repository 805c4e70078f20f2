"""The ``predict`` job: state-evolution predictions at the points of a sweep.

ERM predictions (``method="erm"``) use the same finite-d teacher as the simulation: the sampled
θ* of each replicate (diagonal), or the d eigenvalues s_i of S* (quadratic; the SE depends on
S* only through its spectrum, so one prediction serves every replicate and ``replicate`` is 0).
``method="bayes"`` gives the Bayes-optimal error of the same teacher prior: by default the
empirical law of the teacher's values, or, with ``teacher_law="exact"``, the family's exact
law (the d → ∞ law of the ``wishart`` teacher, :func:`~shallowscaling.targets.wishart_law`); the
table then says which in a ``teacher_law`` column (the CLI writes it for quadratic Bayes-optimal
predictions on teachers other than the study's power law, whose tables keep their columns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int, check_real
from ..config import n_eff_value
from ..errors import InputError
from ..targets import diagonal_variances, power_law_spectrum, wishart_law
from .problem import TeacherSpec, draw_teacher, se_rng, teacher_values
from .teacher import teacher_from_table

__all__ = [
    "LAM_BOUNDS",
    "METHODS",
    "PREDICT_COLUMNS",
    "ROUTES",
    "TEACHER_LAWS",
    "default_target",
    "exact_law_target",
    "predict_point",
    "predict_sweep",
    "targets_from_teacher",
]

METHODS = ("erm", "bayes")
#: Which spectral law of the teacher the Bayes-optimal route uses (the ``teacher_law`` column).
TEACHER_LAWS = ("empirical", "exact")
ROUTES = ("mc", "deterministic")
PREDICT_COLUMNS = (
    "model",
    "method",
    "route",
    "d",
    "gamma",
    "noise",
    "n",
    "n_eff",
    "lam",
    "width",
    "seed",
    "replicate",
    "optimal_lam",
    "excess_risk",
    "matrix_mse",
    "mc_standard_error",
    "n_draws",
    "delta",
    "epsilon",
    "threshold",
    "nonzero_fraction",
    "converged",
    "status",
    "message",
    "iterations",
    "fixed_point_residual",
)
# Search interval of the optimal weight decay, in λ; wide enough to contain √(n_eff/d) (the
# optimum of Corollary 1) at every size of the study.
LAM_BOUNDS = (1e-6, 1e6)


def _solve_erm(model, target, n, lam, noise, *, route, n_draws, mc_rtol, max_draws, width, rng, initial):
    if model == "diagonal":
        from ..state_evolution.diagonal import solve_diagonal_se

        return solve_diagonal_se(target, n, lam, noise)
    if route == "mc":
        from ..state_evolution.quadratic_mc import solve_quadratic_se_mc

        return solve_quadratic_se_mc(
            target, n, lam, noise, n_draws=n_draws, rng=rng, width=width, initial=initial, mc_rtol=mc_rtol,
            max_draws=max_draws,
        )  # fmt: skip
    from ..state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic

    return solve_quadratic_se_deterministic(target, n, lam, noise)


def _solve_bayes(model, target, n, noise, d, target_weights):
    if model == "diagonal":
        from ..state_evolution.diagonal_bayes import solve_diagonal_bayes_se

        return solve_diagonal_bayes_se(target, n, noise)
    from ..state_evolution.quadratic_bayes import solve_quadratic_bayes_se

    if target_weights is None:
        return solve_quadratic_bayes_se(target, n, noise)
    return solve_quadratic_bayes_se(target, n, noise, weights=target_weights, d=d)


def predict_point(
    model: str,
    d: int,
    gamma: float,
    noise: float,
    n: int,
    lam: float | str | None,
    seed: int = 0,
    replicate: int = 0,
    *,
    method: str = "erm",
    route: str = "mc",
    n_draws: int = 3,
    mc_rtol: float | None = None,
    max_draws: int | None = None,
    width: int | None = None,
    normalization: str = "unit",
    target: np.ndarray | None = None,
    target_weights: np.ndarray | None = None,
    initial: object = None,
) -> tuple[dict, object]:
    """One prediction; returns ``(record, result)`` (the result is the solver's own object).

    ``lam="optimal"`` minimises the ERM SE risk over λ (the record's ``lam`` is then λ_opt).
    ``target`` overrides the teacher: θ* (diagonal ERM), the prior variances (diagonal Bayes) or
    the eigenvalues of S* (quadratic); with ``target_weights`` (quadratic Bayes only) it is a
    spectral law as weighted atoms (:func:`exact_law_target`). ``n_draws``, ``mc_rtol`` and ``max_draws`` are those of
    :func:`shallowscaling.state_evolution.quadratic_mc.solve_quadratic_se_mc` (route "mc"):
    K starts at ``n_draws`` and, with ``mc_rtol``, grows until the Monte-Carlo standard error of
    ``matrix_mse`` is at most ``mc_rtol`` times it. With ``lam="optimal"`` the search over λ
    keeps K = ``n_draws`` (the same draws at every λ make the risk a smooth function of λ) and
    only the solve at λ_opt adapts K.
    """
    check_choice(model, "model", ("diagonal", "quadratic"))
    check_choice(method, "method", METHODS)
    check_choice(route, "route", ROUTES)
    d = check_int(d, "d", "input dimension d", lower=2)
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    if target is None:
        target = default_target(model, method, d, gamma, seed, replicate, normalization)
    if target_weights is not None and (model, method) != ("quadratic", "bayes"):
        raise InputError(f"a teacher law as weighted atoms is for the quadratic --method bayes; got {model} {method}")
    rng = se_rng(d, seed) if model == "quadratic" else None
    options = {
        "route": route, "n_draws": n_draws, "mc_rtol": mc_rtol, "max_draws": max_draws, "width": width, "rng": rng,
        "initial": initial,
    }  # fmt: skip
    if method == "bayes":
        result = _solve_bayes(model, target, n, noise, d, target_weights)
        lam_value = math.nan
    elif lam == "optimal":
        from ..state_evolution.optimal import minimize_se_risk_over_lam

        def solve(value: float):
            fixed_k = {**options, "mc_rtol": None, "rng": se_rng(d, seed) if model == "quadratic" else None}
            return _solve_erm(model, target, n, value, noise, **fixed_k)

        best = minimize_se_risk_over_lam(solve, LAM_BOUNDS)
        result, lam_value = best.result, float(best.lam)
        if model == "quadratic" and route == "mc" and mc_rtol is not None:
            adaptive = {**options, "rng": se_rng(d, seed), "initial": result}
            result = _solve_erm(model, target, n, lam_value, noise, **adaptive)
    else:
        lam_value = check_real(lam, "lam", "weight decay λ", lower=0.0, lower_inclusive=False)
        result = _solve_erm(model, target, n, lam_value, noise, **options)
    record = {
        "model": model,
        "method": method,
        "route": route if model == "quadratic" else "closed_form",
        "d": d,
        "gamma": float(gamma),
        "noise": noise,
        "n": n,
        "n_eff": n_eff_value(model, d, n),
        "lam": lam_value,
        "optimal_lam": lam == "optimal" and method == "erm",
        "width": int(width if width is not None else d),
        "seed": int(seed),
        "replicate": int(replicate),
        "excess_risk": float(result.excess_risk),
        "matrix_mse": float(getattr(result, "matrix_mse", math.nan)),
        "mc_standard_error": float(getattr(result, "mc_standard_error", math.nan)),
        "n_draws": int(getattr(result, "n_draws", 0)),
        "delta": float(result.delta),
        "epsilon": float(getattr(result, "epsilon", math.nan)),
        "threshold": float(getattr(result, "threshold", math.nan)),
        "nonzero_fraction": float(getattr(result, "nonzero_fraction", math.nan)),
        "converged": bool(result.converged),
        "status": str(result.status),
        "message": str(result.message),
        "iterations": int(result.iterations),
        "fixed_point_residual": float(result.fixed_point_residual),
    }
    return record, result


def default_target(
    model: str,
    method: str,
    d: int,
    gamma: float,
    seed: int,
    replicate: int,
    normalization: str | None = "unit",
    teacher: TeacherSpec | None = None,
) -> np.ndarray:
    """The teacher the SE is evaluated on: θ* of the replicate (diagonal ERM), the prior variances
    (diagonal Bayes) or the eigenvalues of S* (quadratic). ``teacher`` (a named family or file
    values, :class:`~shallowscaling.tasks.problem.TeacherSpec`) replaces the power law; the
    diagonal Bayes-optimal error needs the Gaussian prior of the power law and refuses it."""
    if teacher is not None and not teacher.is_power_law:
        if model == "diagonal" and method == "bayes":
            raise InputError(
                "--method bayes for the diagonal model needs the power-law Gaussian prior; "
                "got a --teacher-file or a --teacher-family other than power_law"
            )
        return teacher_values(teacher, model, d, gamma, seed, replicate, normalization)[0]
    if model == "quadratic":
        return power_law_spectrum(d, gamma, normalization)
    if method == "bayes":
        return diagonal_variances(d, gamma, normalization)
    return draw_teacher(model, d, gamma, seed, replicate, normalization)["theta_star"]


def exact_law_target(teacher: TeacherSpec, normalization: str | None = "unit") -> tuple[np.ndarray, np.ndarray]:
    """The family's exact spectral law of S* as (positions, weights), for the Bayes-optimal route.

    Only the ``wishart`` family has a law other than its values (the sampled eigenvalues
    fluctuate around the d → ∞ Marchenko–Pastur law); the deterministic families are their own
    law and a file has none, so they are refused.
    """
    if teacher.values is not None or teacher.family != "wishart":
        name = "--teacher-file" if teacher.values is not None else f"--teacher-family {teacher.family}"
        raise InputError(
            f"--teacher-law exact: {name} has no exact law other than its values; allowed with "
            "--teacher-family wishart (use --teacher-law empirical otherwise)"
        )
    return wishart_law(teacher.width_ratio, normalization=normalization or "unit")


def targets_from_teacher(table: pd.DataFrame, model: str, method: str) -> list[np.ndarray]:
    """The teachers of a workflow teacher table the SE is evaluated on: θ* of every replicate
    (diagonal ERM), or one target, the prior variances (diagonal Bayes) or the eigenvalues of S*
    (quadratic), of replicate 0."""
    if model == "diagonal" and method == "erm":
        return [teacher_from_table(table, r, "theta_star") for r in sorted(table["replicate"].unique())]
    return [teacher_from_table(table, 0, "variance" if model == "diagonal" else "eigenvalue")]


def predict_sweep(
    model: str,
    d: int,
    gamma: float,
    noise: float,
    n_values: Sequence[int],
    lam: float | str | None,
    seed: int,
    targets: Sequence[np.ndarray],
    *,
    teacher_law: str | None = None,
    **options,
) -> pd.DataFrame:
    """Predictions for every n and every target (one per replicate), warm-started along n.

    ``teacher_law`` (one of :data:`TEACHER_LAWS`), when given, is recorded in a last column
    ``teacher_law``; the study's power-law tables are written without it.
    """
    if teacher_law is not None:
        check_choice(teacher_law, "teacher_law", TEACHER_LAWS)
    records = []
    for replicate, target in enumerate(targets):
        previous = None
        for n in n_values:
            record, previous = predict_point(
                model, d, gamma, noise, int(n), lam, seed, replicate, target=target, initial=previous, **options
            )
            records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(PREDICT_COLUMNS))
    if teacher_law is not None:
        frame["teacher_law"] = teacher_law
    return frame
