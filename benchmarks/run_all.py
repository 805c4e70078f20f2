"""Performance harness: the project's solvers against the tools a user would otherwise pick.

One process, one run, one Markdown table on stdout (optionally JSON). Every comparison is a
ratio measured in the same run:

* **floor**: two BLAS passes of n·d² (2 × ``X @ S``, n×d times d×d) at d = 100, n = 4·10⁴, the
  cost of one first-order iteration of the quadratic model (forward + adjoint);
* **hot paths**: one iteration of ``fit_psd_convex`` (FISTA) and of ``fit_quadratic_network``
  (L-BFGS), one network loss + gradient, and the same with the PyTorch CPU backend, as multiples
  of the floor (reuses ``bench_quadratic_fit.iteration_costs``), plus a PyTorch autograd
  loss + gradient of the same network;
* **convex PSD solver vs cvxpy** (SCS and Clarabel) at equal objective accuracy: each solver
  runs at the loosest of a ladder of tolerances whose objective (evaluated on the PSD projection
  of its answer) is within 1e-6 relative of the optimum F*; d ∈ {10, 20, 30}, n = 2d², λ = 0.1;
* **network fit vs PyTorch** ``torch.optim.LBFGS`` (strong Wolfe, autograd, float64, CPU, the
  paper's protocol) to the same 1e-6 relative objective accuracy;
* **LASSO stage vs scikit-learn**: ``fit_lasso`` on every (n, λ) point of the default diagonal
  grid at one d (as the ``fit`` rule calls it) vs a plain loop of ``Lasso`` per point (no warm
  start, no Gram matrix), at scikit-learn's default tolerance and at a tight one;
* **state evolution**: seconds per point of the diagonal SE at d = 10⁵, the quadratic
  Monte-Carlo SE at d = 400 (K = 3) and the deterministic SE at d = 10⁴;
* ``--study``: wall time and peak memory of the whole default study (``snakemake --cores 2`` in
  a temporary directory under ``/usr/bin/time -v``) and its split across rules from the
  Snakemake benchmark files ``benchmarks/rules/**.tsv``;
* ``--device cuda``: the PyTorch backend on an accelerator at d = 400, n = 1.6·10⁵ (wall time),
  against the device's own floor and one CPU core.

Times are medians over ``--repeats`` runs of the **process CPU time** of single-threaded code
(BLAS, OpenMP and torch are limited to one thread here), which equals the wall time on an idle
machine and is far less sensitive to other jobs on a shared one (the study and device sections
report wall time). The JSON keeps every row, the machine and the load averages. Run::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/run_all.py [--quick] [--json out.json] [--study]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import bench_diagonal_se
import numpy as np
from bench_quadratic_fit import iteration_costs, quadratic_problem
from threadpoolctl import threadpool_info, threadpool_limits

from shallowscaling import data, seeding, targets
from shallowscaling.config import n_grid
from shallowscaling.estimators._psd_operators import factored_loss_grad, prox_psd_trace
from shallowscaling.estimators.lasso import fit_lasso, fit_lasso_path
from shallowscaling.estimators.psd_convex import fit_psd_convex, psd_objective
from shallowscaling.estimators.quadratic_network import fit_quadratic_network

REPO = Path(__file__).resolve().parents[1]
SEED = 0
#: Relative objective accuracy at which solvers are compared (|F − F*| ≤ ACCURACY · F*).
ACCURACY = 1e-6
#: Hot-path size of the acceptance targets: d = 100, n = 4·10⁴ (sample ratio n/d² = 4).
FLOOR_D, FLOOR_SAMPLE_RATIO = 100, 4.0
#: The convex-vs-cvxpy problems: n = 2d², λ = 0.1 (rank of Ŝ below d, so the PSD constraint binds).
CVX_SAMPLE_RATIO, CVX_LAM = 2.0, 0.1
#: Iteration caps are searched up to this value (doubling, then bisection).
MAX_CAP = 1 << 16
#: The network problem of the PyTorch comparison: n = 4d², λ = 0.1, width p = d.
NETWORK_SAMPLE_RATIO, NETWORK_LAM = 4.0, 0.1
#: Cap on loss/gradient evaluations of the PyTorch L-BFGS reference.
TORCH_MAX_EVALUATIONS = 20_000


@dataclass
class Timing:
    """Median process-CPU and wall seconds of repeated calls, and the last call's value."""

    cpu: float
    wall: float
    value: object = None


def measure(func, repeats: int) -> Timing:
    cpu, wall, value = [], [], None
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        value = func()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return Timing(statistics.median(cpu), statistics.median(wall), value)


def cpu_timer(func, repeats: int) -> float:
    """The ``timer`` of ``iteration_costs``: median CPU seconds after one warm-up call."""
    func()
    return measure(func, repeats).cpu


@dataclass
class Row:
    """One line of the table. Times in seconds; ``ratio`` = reference time / our time."""

    section: str
    case: str
    ours: float | None = None
    reference: str = ""
    reference_time: float | None = None
    gflops: float | None = None
    floor_ratio: float | None = None
    target: str = ""
    notes: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.ours and self.reference_time:
            return self.reference_time / self.ours
        return None


# Machine -----------------------------------------------------------------------------------


def machine() -> dict:
    model = platform.processor()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        found = re.search(r"^Model name:\s*(.+)$", lscpu, re.MULTILINE)
        model = found.group(1).strip() if found else model
    blas = [
        f"{info.get('internal_api')} {info.get('version')} ({info.get('architecture', '-')}, "
        f"{info.get('num_threads')} thread(s), {Path(info.get('filepath', '')).name})"
        for info in threadpool_info()
    ]
    torch = _torch()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__ if torch else "not installed",
        "blas": blas,
        "env": {key: os.environ.get(key, "unset") for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
    }


def _torch():
    try:
        return importlib.import_module("torch")
    except ImportError:
        return None


# Floor and hot paths -------------------------------------------------------------------------


def hot_paths(repeats: int) -> list[Row]:
    x, y, _ = quadratic_problem(FLOOR_D, FLOOR_SAMPLE_RATIO)
    n, d = x.shape
    case = f"d = {d}, n = {n}"
    pass_flops = 2.0 * n * d * d  # one multiply-add per entry of X @ S: 2·n·d² flops
    costs = iteration_costs(x, y, repeats, timer=cpu_timer)
    floor = costs["floor"]
    rows = [
        Row("floor", f"2 × X@S, {case}", floor, gflops=2 * pass_flops / floor / 1e9, floor_ratio=1.0),
        Row(
            "hot path",
            f"convex FISTA iteration, {case}",
            costs["convex_iteration"],
            gflops=2 * pass_flops / costs["convex_iteration"] / 1e9,
            floor_ratio=costs["convex_iteration"] / floor,
            target="≤ 1.5 × floor",
            notes="forward + adjoint + d×d eigh; marginal cost between 10- and 40-iteration fits",
        ),
        Row(
            "hot path",
            f"network L-BFGS iteration, {case}, p = d",
            costs["network_iteration"],
            gflops=2 * pass_flops / costs["network_iteration"] / 1e9,
            floor_ratio=costs["network_iteration"] / floor,
            notes="line-search pass X P + gradient pass Xᵀ diag(r) X B",
        ),
    ]
    gradient_row = Row(
        "hot path",
        f"network loss + gradient, {case}, p = d",
        costs["network_gradient"],
        gflops=2 * pass_flops / costs["network_gradient"] / 1e9,
        floor_ratio=costs["network_gradient"] / floor,
        target="≤ 1.5 × floor",
    )
    rows.append(gradient_row)
    torch = _torch()
    if torch is None:
        gradient_row.notes = "PyTorch reference: not installed"
        return rows
    torch_costs = iteration_costs(x, y, repeats, timer=cpu_timer, device="cpu")
    gradient_row.reference = "PyTorch autograd (CPU, float64)"
    gradient_row.reference_time, max_difference = _torch_gradient_time(x, y, repeats)
    gradient_row.notes = f"max relative gradient difference {max_difference:.1e}"
    labels = {"convex_iteration": "convex FISTA iteration", "network_iteration": "network L-BFGS iteration"}
    for key, label in labels.items():
        rows.append(
            Row(
                "hot path",
                f"{label}, torch backend device='cpu', {case}",
                torch_costs[key],
                gflops=2 * pass_flops / torch_costs[key] / 1e9,
                floor_ratio=torch_costs[key] / floor,
                notes="same solver, PyTorch operators (unblocked products)",
            )
        )
    return rows


def _torch_gradient_time(x: np.ndarray, y: np.ndarray, repeats: int) -> tuple[float, float]:
    """Median CPU time of an autograd loss + gradient of the network, and its max relative error."""
    torch = _torch()
    d = x.shape[1]
    rng = seeding.make_rng(SEED, "bench-speed-gradient")
    b = rng.standard_normal((d, d)) / np.sqrt(d)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    bt = torch.tensor(b, requires_grad=True)

    def step():
        bt.grad = None
        loss = _torch_loss(xt, yt, bt, 1.0)
        loss.backward()
        return bt.grad

    step()
    timing = measure(step, repeats)
    _, grad, _ = factored_loss_grad(x, y, b, 1.0)
    difference = float(np.max(np.abs(timing.value.numpy() - grad)) / np.max(np.abs(grad)))
    return timing.cpu, difference


def _torch_loss(xt, yt, bt, lam: float):
    """The network loss (1/d²) Σ (ŷ − y)² + (λ/d)‖B‖_F², ŷ = (‖Bᵀx‖² − ‖B‖_F²)/√d, as autograd sees it."""
    d = xt.shape[1]
    frob2 = (bt * bt).sum()
    y_hat = (((xt @ bt) ** 2).sum(dim=1) - frob2) / math.sqrt(d)
    return ((y_hat - yt) ** 2).sum() / d**2 + lam / d * frob2


# Convex PSD solver vs cvxpy ------------------------------------------------------------------


def _psd_projection(s: np.ndarray) -> np.ndarray:
    return prox_psd_trace(s, 0.0)[0]


def _relative_error(value: float, optimum: float) -> float:
    return (value - optimum) / abs(optimum)


def _minimal_cap(run, optimum: float) -> tuple[int | None, float]:
    """Smallest iteration cap whose result is within ACCURACY of ``optimum``: (cap, objective).

    Every solver is compared at the same stopping rule, "the first iterate whose objective is
    within 1e-6 relative of F*", whatever its own convergence test: ``run(cap)`` runs the solver
    with an iteration cap and an unreachable tolerance and returns the objective of its answer.
    The cap doubles until the target is met, then bisection finds the smallest one (solvers
    whose objective is not monotone in the cap may stop a little later than necessary).
    Returns (None, best objective) if the target is not met by MAX_CAP.
    """

    def accurate(objective: float) -> bool:
        return abs(_relative_error(objective, optimum)) <= ACCURACY

    cap, best = 1, math.inf
    while True:
        objective = run(cap)
        best = min(best, objective)
        if accurate(objective):
            break
        if cap >= MAX_CAP:
            return None, best
        cap *= 2
    low, high, found = cap // 2, cap, objective
    while high - low > 1:
        middle = (low + high) // 2
        objective = run(middle)
        if accurate(objective):
            high, found = middle, objective
        else:
            low = middle
    return high, found


def _cvxpy_solve(x: np.ndarray, y: np.ndarray, lam: float, solver: str, options: dict, solve_twice: bool):
    """Build and solve the problem as a cvxpy user would.

    Returns (PSD projection of Ŝ or None, build + compile + solve CPU s, solve-only CPU s or None).
    """
    import cvxpy as cp

    start = time.process_time()
    n, d = x.shape
    # Rows vec(Z_μ) of the explicit n×d² sensing matrix: what the modelling language needs.
    sensing = (np.einsum("ni,nj->nij", x, x) - np.eye(d)).reshape(n, d * d) / np.sqrt(d)
    s = cp.Variable((d, d), PSD=True)
    objective = cp.sum_squares(sensing @ cp.vec(s, order="C") - y) / d**2 + lam / d * cp.trace(s)
    problem = cp.Problem(cp.Minimize(objective))
    problem.solve(solver=solver, warm_start=False, **options)
    total = time.process_time() - start
    if s.value is None:
        return None, total, None
    estimate = _psd_projection(0.5 * (s.value + s.value.T))
    if not solve_twice:
        return estimate, total, None
    # A second solve of the same Problem reuses cvxpy's cached compilation: the solver's own time.
    start = time.process_time()
    problem.solve(solver=solver, warm_start=False, **options)
    return estimate, total, time.process_time() - start


def convex_vs_cvxpy(dims: tuple[int, ...], repeats: int) -> list[Row]:
    try:
        importlib.import_module("cvxpy")
    except ImportError:
        return [Row("convex vs cvxpy", "-", notes="cvxpy not installed")]
    rows = []
    for d in dims:
        rows += _convex_case(d, repeats)
    return rows


def _convex_case(d: int, repeats: int) -> list[Row]:
    x, y, _ = quadratic_problem(d, CVX_SAMPLE_RATIO)
    n = x.shape[0]
    lam = CVX_LAM
    case = f"d = {d}, n = {n}, λ = {lam:g}"
    reference_fit = fit_psd_convex(x, y, lam, tol=1e-12, max_iter=200_000)
    optimum = reference_fit.objective

    def ours(cap: int):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fit_psd_convex(x, y, lam, tol=1e-300, max_iter=cap)

    cap, objective = _minimal_cap(lambda cap: ours(cap).objective, optimum)
    ours(cap)  # warm-up
    our_time = measure(lambda: ours(cap), repeats).cpu
    flops = 2 * 2.0 * n * d * d * cap
    rows = []
    for solver in ("SCS", "CLARABEL"):

        def reference(cap: int, solver=solver) -> float:
            estimate, _, _ = _cvxpy_quiet(x, y, lam, solver, cap, solve_twice=False)
            return math.inf if estimate is None else psd_objective(x, y, estimate, lam)

        ref_cap, ref_objective = _minimal_cap(reference, optimum)
        row = Row("convex vs cvxpy", case, our_time, reference=f"cvxpy + {solver}", gflops=flops / our_time / 1e9)
        if solver == "SCS" and d == 20:
            row.target = "ratio ≥ 20"
        if ref_cap is None:
            error = _relative_error(ref_objective, optimum)
            row.notes = f"{solver} never reached {ACCURACY:g} (best rel. error {error:.1e})"
            rows.append(row)
            continue
        totals, solves = [], []
        for _ in range(repeats):
            _, total, solve_only = _cvxpy_quiet(x, y, lam, solver, ref_cap, solve_twice=True)
            totals.append(total)
            solves.append(solve_only)
        row.reference_time = statistics.median(totals)
        solve_only = statistics.median(solves)
        row.notes = (
            f"ours {cap} it (rel. err {_relative_error(objective, optimum):.0e}); "
            f"{solver} {ref_cap} it (rel. err {_relative_error(ref_objective, optimum):.0e}); "
            f"solver-only ratio {solve_only / our_time:.1f}; F* certified gap {reference_fit.duality_gap:.0e}"
        )
        row.extra = {"solver_only": solve_only, "ours_iterations": cap, "reference_iterations": ref_cap}
        rows.append(row)
    return rows


def _cvxpy_quiet(x, y, lam, solver: str, cap: int, solve_twice: bool):
    # Unreachable tolerances: the iteration cap alone stops the solver (see _minimal_cap).
    if solver == "SCS":
        options = {"eps_abs": 1e-15, "eps_rel": 1e-15, "max_iters": cap}
    else:
        options = {"tol_gap_abs": 1e-15, "tol_gap_rel": 1e-15, "tol_feas": 1e-15, "max_iter": cap}
    from cvxpy.error import SolverError

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return _cvxpy_solve(x, y, lam, solver, options, solve_twice)
        except SolverError:
            # A solver that gives up at a small cap counts as not accurate.
            return None, math.nan, None


# Network fit vs PyTorch L-BFGS ---------------------------------------------------------------


class _Reached(Exception):
    """Raised inside the PyTorch closure at the first evaluation that meets the target."""


def network_vs_torch(d: int, repeats: int) -> list[Row]:
    x, y, _ = quadratic_problem(d, NETWORK_SAMPLE_RATIO)
    n = x.shape[0]
    lam = NETWORK_LAM
    case = f"d = {d}, n = {n}, λ = {lam:g}, p = d"
    optimum = fit_psd_convex(x, y, lam, tol=1e-12, max_iter=200_000).objective
    cap, objective = _minimal_cap(lambda cap: _network_fit(x, y, lam, cap).objective, optimum)
    row = Row("network vs PyTorch", case, reference="torch.optim.LBFGS (strong Wolfe, autograd, CPU)")
    if cap is None:
        row.notes = f"our fit never reached {ACCURACY:g}"
        return [row]
    row.ours = measure(lambda: _network_fit(x, y, lam, cap), repeats).cpu
    row.gflops = 2 * 2.0 * n * d * d * cap / row.ours / 1e9
    row.notes = f"ours {cap} L-BFGS it (rel. err {_relative_error(objective, optimum):.0e})"
    if _torch() is None:
        row.notes += "; PyTorch not installed"
        return [row]
    target = optimum * (1 + ACCURACY)
    # The first run pays PyTorch's one-off start-up (thread pools, autograd); it is not timed.
    _torch_lbfgs(x, y, lam, target)
    torch_runs = [_torch_lbfgs(x, y, lam, target) for _ in range(repeats)]
    reached = [run for run in torch_runs if run[0]]
    row.notes += f"; PyTorch {torch_runs[-1][2]} loss+grad evaluations"
    if reached:
        row.reference_time = statistics.median(run[1] for run in reached)
    else:
        row.notes += f", did not reach {ACCURACY:g}"
    return [row]


def _network_fit(x, y, lam: float, cap: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_quadratic_network(x, y, lam, seeding.make_rng(SEED, "bench-network-init"), gtol=1e-300, max_iter=cap)


def _torch_lbfgs(x: np.ndarray, y: np.ndarray, lam: float, target: float) -> tuple[bool, float, int]:
    """PyTorch L-BFGS from the same B₀ until the loss first drops to ``target``.

    Returns (reached, CPU seconds, loss/gradient evaluations).
    """
    torch = _torch()
    d = x.shape[1]
    b0 = seeding.make_rng(SEED, "bench-network-init").standard_normal((d, d)) / np.sqrt(d)
    start = time.process_time()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    bt = torch.tensor(b0, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [bt],
        lr=1.0,
        max_iter=TORCH_MAX_EVALUATIONS,
        max_eval=TORCH_MAX_EVALUATIONS,
        history_size=30,
        tolerance_grad=1e-300,
        tolerance_change=0.0,
        line_search_fn="strong_wolfe",
    )
    evaluations = 0

    def closure():
        nonlocal evaluations
        optimizer.zero_grad()
        loss = _torch_loss(xt, yt, bt, lam)
        loss.backward()
        evaluations += 1
        # Stop at the first evaluated point that meets the target: the most favourable rule.
        if float(loss.detach()) <= target:
            raise _Reached
        return loss

    try:
        optimizer.step(closure)
        reached = False
    except _Reached:
        reached = True
    return reached, time.process_time() - start, evaluations


# LASSO stage vs scikit-learn -----------------------------------------------------------------


def lasso_vs_sklearn(d: int, num: int, repeats: int) -> list[Row]:
    from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
    from sklearn.linear_model import Lasso

    theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(SEED, "bench-lasso-teacher", d))
    # The default diagonal grid (config.yaml): n = d^κ, κ ∈ [0.5, 1.8]; λ ∈ {1/d, 1, √d}.
    ns = n_grid("diagonal", d, {"start": 0.5, "stop": 1.8, "num": num})
    lams = [d**-1.0, 1.0, d**0.5]
    problems = []
    for n in ns:
        x, y = data.draw_diagonal_data(theta_star, n, 0.5, seeding.make_rng(SEED, "bench-lasso-data", d, n))
        problems.extend((x, y, lam) for lam in lams)

    def ours():
        return [fit_lasso(x, y, lam, tol=1e-8, max_iter=100_000) for x, y, lam in problems]

    def ours_path():
        # One warm-started path per dataset: the Gram matrix (n > d) is shared by the three λ.
        return [
            result
            for start in range(0, len(problems), len(lams))
            for result in fit_lasso_path(*problems[start][:2], lams, tol=1e-8, max_iter=100_000)
        ]

    ours_timing = measure(ours, repeats)
    optima = [result.objective for result in ours_timing.value]
    not_converged = sum(not result.converged for result in ours_timing.value)
    path_timing = measure(ours_path, repeats)
    path_errors = [
        _relative_error(result.objective, optimum) for result, optimum in zip(path_timing.value, optima, strict=True)
    ]
    rows = []
    for label, tol, max_iter in [("default tol 1e-4", 1e-4, 1000), ("tol 1e-8", 1e-8, 100_000)]:

        def reference(tol=tol, max_iter=max_iter):
            objectives, capped = [], 0
            for x, y, lam in problems:
                n = x.shape[0]
                design = x / np.sqrt(d)
                model = Lasso(
                    alpha=lam / n,  # sklearn_alpha = λ/n: its objective is P(θ)/n (docs/theory.md §1.2)
                    fit_intercept=False,
                    precompute=False,
                    warm_start=False,
                    tol=tol,
                    max_iter=max_iter,
                )
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", SklearnConvergenceWarning)
                    model.fit(design, y)
                capped += model.n_iter_ >= max_iter
                residual = y - design @ model.coef_
                objectives.append(0.5 * float(residual @ residual) + lam * float(np.abs(model.coef_).sum()))
            return objectives, capped

        timing = measure(reference, repeats)
        objectives, capped = timing.value
        errors = [_relative_error(value, optimum) for value, optimum in zip(objectives, optima, strict=True)]
        inaccurate = sum(error > ACCURACY for error in errors)
        rows.append(
            Row(
                "LASSO stage vs sklearn",
                f"d = {d}, {len(problems)} points (n = {ns[0]}…{ns[-1]}, λ ∈ {{1/d, 1, √d}})",
                ours_timing.cpu,
                reference=f"sklearn Lasso loop, {label}",
                reference_time=timing.cpu,
                notes=(
                    f"ours: fit_lasso tol 1e-8 (certified gap), {not_converged} not converged; sklearn: "
                    f"{inaccurate}/{len(problems)} points above {ACCURACY:g} rel. objective error "
                    f"(max {max(errors):.0e}), {capped} hit max_iter {max_iter}"
                ),
            )
        )
    rows.append(
        Row(
            "LASSO stage vs sklearn",
            rows[-1].case,
            path_timing.cpu,
            reference=rows[-1].reference,
            reference_time=rows[-1].reference_time,
            notes=(
                f"ours: fit_lasso_path over the 3 λ of each dataset (Gram shared), "
                f"{sum(not r.converged for r in path_timing.value)} not converged, max rel. objective "
                f"difference to the per-point fits {max(abs(e) for e in path_errors):.0e}"
            ),
        )
    )
    return rows


# State evolution -----------------------------------------------------------------------------


def _optional(module: str, name: str):
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def state_evolution(quick: bool, repeats: int) -> list[Row]:
    rows = []
    solve = _optional("shallowscaling.state_evolution.diagonal", "solve_diagonal_se")
    d = bench_diagonal_se.D
    case = f"d = {d}, {{points}} (n, λ) points, γ = 1, Δ = 0.5"
    if solve is None:
        rows.append(Row("state evolution", "diagonal", notes="not available"))
    else:
        theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(SEED, "bench-se-teacher", d))
        points = bench_diagonal_se.POINTS
        rows.append(
            _se_row(
                "diagonal SE",
                case.format(points=len(points)),
                "< 0.1 s per point",
                [lambda n=n, lam=lam: solve(theta_star, n, lam, 0.5) for n, lam in points],
                repeats,
            )
        )
    ratios = (0.25, 1.0, 4.0) if not quick else (1.0,)
    for name, module, function, d, extra in [
        ("quadratic MC SE, K = 3", "shallowscaling.state_evolution.quadratic_mc", "solve_quadratic_se_mc", 400, True),
        (
            "quadratic deterministic SE",
            "shallowscaling.state_evolution.quadratic_deterministic",
            "solve_quadratic_se_deterministic",
            10_000,
            False,
        ),
    ]:
        solve = _optional(module, function)
        if solve is None:
            rows.append(Row("state evolution", name, notes="not available"))
            continue
        s = targets.power_law_spectrum(d, 1.0)
        calls = []
        for sample_ratio in ratios:
            for lam in (1.0 / d, 1.0, math.sqrt(d)):
                n = round(sample_ratio * d * d)
                if extra:
                    calls.append(
                        lambda n=n, lam=lam, s=s, solve=solve: solve(
                            s, n, lam, 0.5, n_draws=3, rng=seeding.make_rng(SEED, "bench-se-goe", len(s))
                        )
                    )
                else:
                    calls.append(lambda n=n, lam=lam, s=s, solve=solve: solve(s, n, lam, 0.5))
        case = f"d = {d}, {len(calls)} points (n/d² ∈ {{{', '.join(f'{r:g}' for r in ratios)}}}, λ ∈ {{1/d, 1, √d}})"
        rows.append(_se_row(name, case, "≤ 2 s per point", calls, repeats))
    return rows


def _se_row(name: str, case: str, target: str, calls, repeats: int) -> Row:
    times, walls, unconverged = [], [], 0
    for call in calls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            timing = measure(call, repeats)
        times.append(timing.cpu)
        walls.append(timing.wall)
        unconverged += not timing.value.converged
    return Row(
        "state evolution",
        f"{name}: {case}",
        statistics.median(times),
        target=target,
        notes=f"median per point; max {max(times):.3f} s; {unconverged} not converged",
        extra={"per_point_cpu": times, "per_point_wall": walls},
    )


# Accelerator (PyTorch backend on a device) --------------------------------------------------

#: Size of the accelerator measurement: d = 400, n = 1.6·10⁵ (n/d² = 1), λ = 1.
DEVICE_D, DEVICE_SAMPLE_RATIO, DEVICE_LAM = 400, 1.0, 1.0


def device_section(device: str, d: int, repeats: int) -> list[Row]:
    """Per-iteration and full-fit wall times of the PyTorch backend on ``device``.

    Wall time (not CPU time): the host mostly waits for the device. The NumPy floor and
    gradient of ``iteration_costs`` are measured on one CPU core for comparison; the device
    floor is 2 × X@S on the device, synchronised.
    """
    torch = _torch()
    if torch is None:
        return [Row("device", device, notes="PyTorch not installed")]
    x, y, s_star = quadratic_problem(d, DEVICE_SAMPLE_RATIO)
    n = x.shape[0]
    case = f"d = {d}, n = {n}, device {device}"
    pass_flops = 2.0 * n * d * d

    def synchronise() -> None:
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()

    def wall_timer(func, repeats: int) -> float:
        func()
        synchronise()

        def call():
            func()
            synchronise()

        return measure(call, repeats).wall

    xt = torch.as_tensor(x, device=device)
    st = torch.as_tensor(s_star, device=device)
    device_floor = 2.0 * wall_timer(lambda: xt @ st, repeats)
    costs = iteration_costs(x, y, repeats, timer=wall_timer, device=device)
    rows = [
        Row("device", f"floor 2 × X@S on the device, {case}", device_floor, gflops=2 * pass_flops / device_floor / 1e9),
        Row(
            "device",
            f"CPU floor (NumPy, 1 core), d = {d}, n = {n}",
            costs["floor"],
            gflops=2 * pass_flops / costs["floor"] / 1e9,
        ),
    ]
    labels = {"convex_iteration": "convex FISTA iteration", "network_iteration": "network L-BFGS iteration"}
    for key, label in labels.items():
        rows.append(
            Row(
                "device",
                f"{label}, {case}",
                costs[key],
                reference="CPU floor (1 core)",
                reference_time=costs["floor"],
                gflops=2 * pass_flops / costs[key] / 1e9,
                floor_ratio=costs[key] / device_floor,
                notes="× floor = multiple of the device floor",
            )
        )
    fits = {
        "convex fit": lambda: fit_psd_convex(x, y, DEVICE_LAM, device=device),
        "network fit": lambda: fit_quadratic_network(
            x, y, DEVICE_LAM, seeding.make_rng(SEED, "bench-init"), device=device
        ),
    }
    for label, fit in fits.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit()
        seconds = time.perf_counter() - start
        rows.append(
            Row(
                "device",
                f"{label} λ = {DEVICE_LAM:g}, {case}",
                seconds,
                notes=f"{result.iterations} it, converged {result.converged}, objective {result.objective:.10g}",
            )
        )
    return rows


# Whole study --------------------------------------------------------------------------------


def study(config: str | None) -> list[Row]:
    """Run the study in a fresh directory under /usr/bin/time -v; split its time across rules."""
    snakemake = shutil.which("snakemake", path=os.path.dirname(sys.executable)) or shutil.which("snakemake")
    if snakemake is None or not Path("/usr/bin/time").exists():
        return [Row("study", "-", notes="snakemake or /usr/bin/time not found")]
    with tempfile.TemporaryDirectory(prefix="shallowscaling-study-") as workdir:
        command = ["/usr/bin/time", "-v", snakemake, "--cores", "2", "--snakefile", str(REPO / "Snakefile")]
        command += ["--directory", workdir, "--quiet", "all"]
        if config:
            command += ["--configfile", str(Path(config).resolve())]
        env = dict(os.environ, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        wall = _time_field(done.stderr, r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)")
        peak_kb = _time_field(done.stderr, r"Maximum resident set size \(kbytes\): (\d+)")
        label = f"config {Path(config).name if config else 'config.yaml (default)'}"
        if done.returncode != 0:
            return [Row("study", label, notes=f"snakemake failed (exit {done.returncode}): {done.stderr[-400:]}")]
        seconds = _clock_seconds(wall)
        cpu = float(_time_field(done.stderr, r"User time \(seconds\): (\S+)"))
        cpu += float(_time_field(done.stderr, r"System time \(seconds\): (\S+)"))
        rows = [
            Row(
                "study",
                f"whole study, {label}, snakemake --cores 2",
                seconds,
                notes=(
                    f"wall time; CPU (user + system, all processes) {cpu:.0f} s; "
                    f"peak RSS of the largest process {int(peak_kb) / 1024:.0f} MB"
                ),
                extra={"cpu": cpu, "peak_rss_mb": int(peak_kb) / 1024},
            )
        ]
        rows.extend(_rule_split(Path(workdir) / "benchmarks" / "rules", seconds))
    return rows


def _time_field(text: str, pattern: str) -> str:
    found = re.search(pattern, text)
    return found.group(1) if found else "0"


def _clock_seconds(clock: str) -> float:
    seconds = 0.0
    for part in clock.split(":"):
        seconds = 60.0 * seconds + float(part)
    return seconds


def _rule_split(folder: Path, wall: float) -> list[Row]:
    """Sum the Snakemake benchmark files (s, max_rss, cpu_time) per rule/model/estimator."""
    groups: dict[str, dict[str, float]] = {}
    for path in sorted(folder.rglob("*.tsv")):
        header, values = path.read_text().splitlines()[:2]
        record = dict(zip(header.split("\t"), values.split("\t"), strict=True))
        key = "/".join(path.relative_to(folder).parts[:-1])
        group = groups.setdefault(key, {"jobs": 0, "s": 0.0, "cpu_time": 0.0, "max_rss": 0.0})
        group["jobs"] += 1
        group["s"] += float(record["s"])
        group["cpu_time"] += _float(record.get("cpu_time"))
        group["max_rss"] = max(group["max_rss"], _float(record.get("max_rss")))
    total = sum(group["s"] for group in groups.values())
    rows = []
    for key, group in sorted(groups.items(), key=lambda item: -item[1]["s"]):
        rows.append(
            Row(
                "study rules",
                f"{key}: {group['jobs']} jobs",
                group["s"],
                notes=(
                    f"{100 * group['s'] / total:.0f}% of benchmarked job time; CPU {group['cpu_time']:.0f} s; "
                    f"max RSS {group['max_rss']:.0f} MB"
                ),
            )
        )
    rows.append(
        Row(
            "study rules",
            "all jobs with a benchmark file",
            total,
            notes=f"= {total / wall:.2f} × the study's wall time (2 cores; jobs without a benchmark file not counted)",
        )
    )
    return rows


def _float(text: str | None) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return 0.0


# Output -------------------------------------------------------------------------------------


def _format(value: float | None, digits: int = 3) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}g}"


def markdown(rows: list[Row]) -> str:
    lines = [
        "| section | case | ours [s] | reference | reference [s] | ratio ref/ours | GFLOP/s | × floor | target "
        "| notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.section} | {row.case} | {_format(row.ours)} | {row.reference or '—'} | "
            f"{_format(row.reference_time)} | {_format(row.ratio)} | {_format(row.gflops)} | "
            f"{_format(row.floor_ratio)} | {row.target or '—'} | {row.notes} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grids and fewer repeats (a few minutes)")
    parser.add_argument("--repeats", type=int, help="repeats per measurement (default 3, quick 1)")
    parser.add_argument("--json", help="also write the rows, machine and load to this JSON file")
    parser.add_argument("--study", action="store_true", help="also run the whole study with snakemake --cores 2")
    parser.add_argument("--study-config", help="config overlay for --study (default: the default study)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("hot", "cvxpy", "torch", "lasso", "se", "study", "device"),
        help="run only these sections (default: all but study and device; --study and --device add them)",
    )
    parser.add_argument("--device", help="also measure the PyTorch backend on this device (e.g. cuda)")
    parser.add_argument(
        "--device-d", type=int, default=DEVICE_D, help=f"d of the device measurement (default {DEVICE_D}; n = d²)"
    )
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 3)
    sections = set(args.only or ("hot", "cvxpy", "torch", "lasso", "se"))
    if args.study:
        sections.add("study")
    if args.device:
        sections.add("device")
    elif "device" in sections:
        parser.error("--only device needs --device DEVICE")
    load_start = os.getloadavg()
    rows: list[Row] = []
    torch = _torch()
    if torch is not None:
        torch.set_num_threads(1)
    with threadpool_limits(limits=1):
        if "hot" in sections:
            rows += hot_paths(repeats)
        if "cvxpy" in sections:
            rows += convex_vs_cvxpy((10, 20) if args.quick else (10, 20, 30), repeats)
        if "torch" in sections:
            rows += network_vs_torch(20 if args.quick else 40, repeats)
        if "lasso" in sections:
            rows += lasso_vs_sklearn(100 if args.quick else 200, 6 if args.quick else 12, repeats)
        if "se" in sections:
            rows += state_evolution(args.quick, repeats)
        if "device" in sections:
            rows += device_section(args.device, args.device_d, repeats)
    if "study" in sections:
        rows += study(args.study_config)
    load_end = os.getloadavg()
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores; BLAS: {'; '.join(info['blas'])}")
    print(f"numpy {info['numpy']}, torch {info['torch']}, Python {info['python']}")
    print(f"Load average (1, 5, 15 min): start {load_start}, end {load_end}; repeats {repeats}")
    print()
    print(markdown(rows))
    if args.json:
        payload = {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "machine": info,
            "load_start": load_start,
            "load_end": load_end,
            "repeats": repeats,
            "rows": [dict(vars(row), ratio=row.ratio) for row in rows],
        }
        Path(args.json).write_text(json.dumps(payload, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
