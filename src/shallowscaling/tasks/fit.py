"""The ``fit`` job: train one estimator on every replicate of one (model, d, γ, Δ, λ, n) point.

Output rows follow :data:`FIT_COLUMNS`; non-applicable certificates are ``NaN`` (a LASSO fit has
a duality gap but no gradient norm, a network the reverse). ``rank`` is the number of non-zero
learned weights: rank(Ŝ) for the quadratic model, the support size of θ̂ for the diagonal one
(the rank of WᵀW at the balanced optimum).
"""

from __future__ import annotations

import importlib
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int, check_real
from ..config import diagonal_fit_bytes, n_eff_value, quadratic_fit_bytes
from ..design import DEFAULT_DESIGN_MEMORY_GB, StreamedDesign
from ..errors import InputError
from .problem import Problem, TeacherSpec, draw_problem, init_rng
from .solution import Eigenpairs, nonzero_eigenpairs, solution_table

__all__ = [
    "ESTIMATORS",
    "ESTIMATOR_MODULES",
    "FIT_COLUMNS",
    "FitOutcome",
    "FitTables",
    "estimator_module",
    "fit_bytes",
    "fit_point",
    "fit_replicates",
]

ESTIMATORS = {"diagonal": ("lasso", "network"), "quadratic": ("convex", "network")}
#: The module that fits each (model, estimator): what :func:`estimator_module` imports, and the
#: second entry module of a ``fit`` job's code hash (the first is this module).
ESTIMATOR_MODULES = {
    ("diagonal", "lasso"): "shallowscaling.estimators.lasso",
    ("diagonal", "network"): "shallowscaling.estimators.diagonal_network",
    ("quadratic", "convex"): "shallowscaling.estimators.psd_convex",
    ("quadratic", "network"): "shallowscaling.estimators.quadratic_network",
}
FIT_COLUMNS = (
    "model",
    "estimator",
    "d",
    "gamma",
    "noise",
    "n",
    "n_eff",
    "lam",
    "width",
    "seed",
    "replicate",
    "excess_risk",
    "matrix_mse",
    "train_loss",
    "objective",
    "rank",
    "converged",
    "status",
    "message",
    "iterations",
    "duality_gap",
    "kkt_residual",
    "grad_norm",
)


@dataclass(frozen=True)
class FitOutcome:
    """One fitted replicate: the flat record, the learned spectrum and the solution.

    ``weights`` holds θ̂ (diagonal, shape (d,)) or the eigenvalues of Ŝ (quadratic, descending).
    ``solution`` holds the non-zero eigenpairs of Ŝ (quadratic) or None (diagonal: θ̂ is the
    whole solution).
    """

    record: dict
    weights: np.ndarray
    solution: Eigenpairs | None = None


@dataclass(frozen=True)
class FitTables:
    """Output of :func:`fit_replicates`: the fit table (:data:`FIT_COLUMNS`), the learned-weights
    table and the solution table (:data:`~shallowscaling.tasks.solution.SOLUTION_COLUMNS`; no rows
    for the diagonal model)."""

    fits: pd.DataFrame
    weights: pd.DataFrame
    solution: pd.DataFrame


def estimator_module(model: str, estimator: str):
    """The estimator module of (model, estimator), imported by its name in :data:`ESTIMATOR_MODULES`.

    Loaded by name, not by an import statement, so that this module's import closure (the code
    hash of a ``fit`` job, :mod:`shallowscaling.workflow.code_hash`) holds no estimator: the job's
    hash adds the one module it runs, named by the same table.
    """
    return importlib.import_module(ESTIMATOR_MODULES[(model, estimator)])


def _solve(
    model: str,
    estimator: str,
    problem: Problem,
    lam: float,
    tol: float,
    max_iter: int,
    width: int | None,
    rng: np.random.Generator,
    device: str | None,
    method: str,
    block_size: int | None,
):
    module = estimator_module(model, estimator)
    if model == "diagonal":
        if estimator == "lasso":
            return module.fit_lasso(problem.x, problem.y, lam, tol=tol, max_iter=max_iter)
        gtol = tol * module.GTOL_PER_TOL
        # The network's gradient passes need X itself at every step: a streamed design is drawn
        # whole (the same numbers), and its memory is counted in full (fit_bytes).
        x = problem.x.materialize() if isinstance(problem.x, StreamedDesign) else problem.x
        return module.fit_diagonal_network(x, problem.y, lam, rng, gtol=gtol, max_iter=max_iter)
    if estimator == "convex":
        return module.fit_psd_convex(
            problem.x, problem.y, lam, tol=tol, max_iter=max_iter, device=device, method=method, block_size=block_size
        )
    gtol = tol * module.GTOL_PER_TOL
    return module.fit_quadratic_network(
        problem.x, problem.y, lam, rng, width=width, gtol=gtol, max_iter=max_iter, device=device, block_size=block_size
    )


def fit_bytes(
    model: str,
    d: int,
    n: int,
    design_memory: float | None = None,
    width: int | None = None,
    estimator: str | None = None,
) -> float:
    """Estimated peak memory (bytes) of one fit (``design_memory``: GB of design X held, default
    :data:`~shallowscaling.design.DEFAULT_DESIGN_MEMORY_GB`; the diagonal ``network`` estimator
    holds the whole design whatever the budget)."""
    memory = DEFAULT_DESIGN_MEMORY_GB if design_memory is None else design_memory
    if model == "diagonal":
        return diagonal_fit_bytes(d, n, None if estimator == "network" else memory)
    return quadratic_fit_bytes(d, n, memory, width)


def fit_point(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    n: int,
    lam: float,
    seed: int,
    replicate: int = 0,
    *,
    normalization: str | None = "unit",
    teacher_spec: TeacherSpec | None = None,
    tol: float = 1e-8,
    max_iter: int = 100_000,
    width: int | None = None,
    problem: Problem | None = None,
    device: str | None = None,
    method: str = "auto",
    block_size: int | None = None,
    design_memory: float = DEFAULT_DESIGN_MEMORY_GB,
) -> FitOutcome:
    """Draw (or take) the problem of one replicate and fit it.

    Parameters
    ----------
    model : {"diagonal", "quadratic"}
    estimator : {"lasso", "network"} for diagonal, {"convex", "network"} for quadratic
    d, n : int
        Input dimension and number of samples.
    gamma, noise, lam : float
        Teacher exponent γ > 1/2, label-noise variance Δ >= 0, weight decay λ > 0.
    seed, replicate : int
        Identify the draw (see :mod:`shallowscaling.tasks.problem`).
    normalization, teacher_spec : str or None, TeacherSpec, optional
        The teacher's scale and, when not the power law, its family or file values
        (:func:`~shallowscaling.tasks.problem.draw_teacher`).
    tol, max_iter : float, int
        Solver tolerance and iteration cap (config ``solver.tol`` and ``max_iter``). LASSO and the
        convex solver bound their duality gap by ``tol``; the networks stop at a gradient norm
        ``gtol = tol·GTOL_PER_TOL`` (1e-2: see their modules).
    width : int, optional
        Quadratic network width p (default d).
    device : str, optional
        Array backend of the quadratic fits: None or "numpy" (default), or a PyTorch device
        ("cpu", "cuda"; needs the ``torch`` extra). The diagonal estimators run on NumPy only.
    design_memory : float, default 1
        GB of design X held in memory; a larger X is streamed (:func:`~.problem.draw_problem`):
        the quadratic solvers redraw it at every pass, the LASSO reads it twice (sufficient
        statistics, then the final certificate), the diagonal network draws it whole.
    """
    check_choice(model, "model", tuple(ESTIMATORS))
    check_choice(estimator, "estimator", ESTIMATORS[model])
    d = check_int(d, "d", "input dimension d", lower=2)
    n = check_int(n, "n", "number of samples n", lower=1)
    lam = check_real(lam, "lam", "weight decay λ", lower=0.0, lower_inclusive=False)
    if width is not None:
        width = check_int(width, "width", "network width p", lower=1)
    if model == "diagonal" and device not in (None, "numpy"):
        raise InputError(
            f"`device` (array backend) applies to the quadratic fits only; the diagonal estimators run on NumPy. "
            f"Drop --device or use a quadratic model; got {device!r}"
        )
    if problem is None:
        problem = draw_problem(
            model, d, gamma, noise, n, seed, replicate, normalization, design_memory=design_memory, teacher=teacher_spec
        )
    rng = init_rng(model, d, gamma, noise, n, seed, replicate)
    result = _solve(model, estimator, problem, lam, tol, max_iter, width, rng, device, method, block_size)
    if model == "diagonal":
        weights = np.asarray(result.theta)
        excess_risk = float(np.sum((weights - problem.theta_star) ** 2) / d)
        matrix_mse = math.nan
        solution = None
    else:
        s_hat = np.asarray(result.s)
        matrix_mse = float(np.sum((s_hat - problem.s_star) ** 2) / d)
        excess_risk = 2.0 * matrix_mse  # Wick: E_x (f − f*)² = 2‖Ŝ − S*‖²_F / d (docs/theory.md §1.1)
        weights = np.sort(np.linalg.eigvalsh(s_hat))[::-1]
        # A second O(d³) decomposition, negligible next to the solve: `eigh`'s eigenvalues differ
        # from `eigvalsh`'s by rounding, and the stored spectrum must stay what it was.
        solution = nonzero_eigenpairs(s_hat)
    record = {
        "model": model,
        "estimator": estimator,
        "d": d,
        "gamma": float(gamma),
        "noise": float(noise),
        "n": n,
        "n_eff": n_eff_value(model, d, n),
        "lam": lam,
        "width": int(width if width is not None else d) if model == "quadratic" else d,
        "seed": int(seed),
        "replicate": int(replicate),
        "excess_risk": excess_risk,
        "matrix_mse": matrix_mse,
        "train_loss": float(result.train_loss),
        "objective": float(result.objective),
        "rank": int(np.count_nonzero(weights)) if model == "diagonal" else int(result.rank),
        "converged": bool(result.converged),
        "status": str(result.status),
        "message": str(result.message),
        "iterations": int(result.iterations),
        "duality_gap": float(getattr(result, "duality_gap", math.nan)),
        "kkt_residual": float(getattr(result, "kkt_residual", math.nan)),
        "grad_norm": float(getattr(result, "grad_norm", math.nan)),
    }
    return FitOutcome(record=record, weights=weights, solution=solution)


def fit_replicates(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    n: int,
    lam: float,
    seed: int,
    replicates: int,
    teacher: pd.DataFrame | None = None,
    workers: int = 1,
    **options,
) -> FitTables:
    """Fit every replicate; return the fit, learned-weights and solution tables.

    When ``teacher`` (the ``teacher`` job's table) is given, each replicate's drawn teacher is
    checked against it, so a stale teacher file cannot silently pair with new data.

    ``workers`` > 1 solves that many replicates at once in threads (NumPy releases the GIL in its
    BLAS and LAPACK calls, which carry the cost). Each replicate draws from its own generator and
    runs the same arithmetic as alone, and the rows are stacked in replicate order, so the tables
    are bit-identical to ``workers=1`` whatever the number of workers; only the quadratic model
    takes more than one (the LASSO path changes the global warning filters while it runs).
    """
    check_int(workers, "workers", "replicates solved in parallel", lower=1)
    if workers > 1 and model != "quadratic":
        raise InputError(f"`workers` > 1 applies to the quadratic fits only; got {workers} for the {model} model")

    def one(replicate: int):
        return _fit_replicate(model, estimator, d, gamma, noise, n, lam, seed, replicate, teacher, options)

    if workers == 1:
        results = [one(replicate) for replicate in range(replicates)]
    else:
        with ThreadPoolExecutor(max_workers=min(workers, replicates)) as pool:
            results = list(pool.map(one, range(replicates)))
    records = [record for record, _, _ in results]
    solutions = [solution for _, solution, _ in results]
    weight_frames = [frame for _, _, frame in results]
    fits = pd.DataFrame.from_records(records, columns=list(FIT_COLUMNS))
    return FitTables(fits=fits, weights=pd.concat(weight_frames, ignore_index=True), solution=solution_table(solutions))


def _fit_replicate(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    n: int,
    lam: float,
    seed: int,
    replicate: int,
    teacher: pd.DataFrame | None,
    options: dict,
) -> tuple[dict, Eigenpairs | None, pd.DataFrame]:
    """One replicate of :func:`fit_replicates`: its fit record, its solution and its weights rows."""
    problem = draw_problem(
        model,
        d,
        gamma,
        noise,
        n,
        seed,
        replicate,
        options.get("normalization", "unit"),
        design_memory=options.get("design_memory", DEFAULT_DESIGN_MEMORY_GB),
        teacher=options.get("teacher_spec"),
    )
    if teacher is not None:
        _check_teacher(problem, teacher, replicate)
    outcome = fit_point(model, estimator, d, gamma, noise, n, lam, seed, replicate, problem=problem, **options)
    frame = pd.DataFrame(
        {
            "replicate": np.full(outcome.weights.shape[0], replicate, dtype=np.int64),
            "index": np.arange(1, outcome.weights.shape[0] + 1),
        }
    )
    if model == "diagonal":
        frame["theta"] = outcome.weights
        frame["eigenvalue"] = np.abs(outcome.weights)
    else:
        frame["eigenvalue"] = outcome.weights
    return outcome.record, outcome.solution, frame


def _check_teacher(problem: Problem, teacher: pd.DataFrame, replicate: int) -> None:
    from .teacher import teacher_from_table

    if problem.model == "diagonal":
        stored, drawn = teacher_from_table(teacher, replicate, "theta_star"), problem.theta_star
    else:
        stored, drawn = teacher_from_table(teacher, replicate, "eigenvalue"), problem.eigenvalues_star
    if not np.array_equal(stored, drawn):
        raise ValueError(
            f"the teacher file does not match the teacher drawn for replicate {replicate}: it was written "
            "with another seed, normalisation or code version; rerun the `teacher` rule"
        )
