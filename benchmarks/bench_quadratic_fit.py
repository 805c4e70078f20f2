"""Speed and memory of the quadratic-model solvers against the BLAS floor (docs/theory.md §7).

Measures, at d = 100 and n = sample_ratio·d² (default 4, n = 40 000):

* the floor: two BLAS passes of n·d², timed as 2 × ``X @ S`` (n×d times d×d) in the same run;
* the marginal cost of one iteration of ``fit_psd_convex`` (forward + adjoint + prox) and of
  ``fit_quadratic_network`` (line search + gradient), as the time difference between fits
  capped at two iteration counts, and the bare network gradient (``factored_loss_grad``);
* full fits at λ = 1 and λ = 0.01, each in its own process, with wall time, iterations and
  peak memory (``ru_maxrss`` of the process and the ``tracemalloc`` peak of the fit).

Run with one BLAS thread so that the ratios compare like with like::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_quadratic_fit.py
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings

import numpy as np

from shallowscaling.data import draw_quadratic_data
from shallowscaling.estimators._psd_operators import factored_loss_grad
from shallowscaling.estimators.psd_convex import fit_psd_convex
from shallowscaling.estimators.quadratic_network import fit_quadratic_network
from shallowscaling.seeding import make_rng
from shallowscaling.targets import draw_quadratic_teacher, target_matrix

SEED = 0
FIT_LAMS = (1.0, 0.01)


def quadratic_problem(d: int, sample_ratio: float):
    """(x, y, S*) of the benchmark: γ = 1, Δ = 0.5, n = sample_ratio·d², fixed seeds."""
    s, basis = draw_quadratic_teacher(d, 1.0, make_rng(SEED, "bench-teacher", d))
    s_star = target_matrix(s, basis)
    n = round(sample_ratio * d**2)
    x, y = draw_quadratic_data(s_star, n, 0.5, make_rng(SEED, "bench-data", d, n))
    return x, y, s_star


def best_time(func, repeats: int) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call."""
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def iteration_costs(
    x: np.ndarray, y: np.ndarray, repeats: int, timer=best_time, device: str | None = None
) -> dict[str, float]:
    """Seconds of the floor and of one iteration of each quadratic solver on (x, y).

    ``floor`` is two BLAS passes of n·d² (2 × ``X @ S``); ``convex_iteration`` and
    ``network_iteration`` are marginal costs (time difference of fits capped at 40 and 10
    iterations, divided by 30); ``network_gradient`` is one ``factored_loss_grad`` at p = d.
    ``timer(func, repeats)`` returns the seconds of one call of ``func``; ``device`` selects the
    solvers' array backend (the floor and the gradient are always NumPy).
    """
    d = x.shape[1]
    rng = make_rng(SEED, "bench-speed")
    s = rng.standard_normal((d, d))
    s = s + s.T

    def capped(fit, iterations: int) -> float:
        # The tolerance is unreachable, so the fit stops at its iteration cap (and warns).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return timer(lambda: fit(iterations), repeats)

    def convex(cap: int) -> None:
        fit_psd_convex(x, y, 1.0, tol=1e-300, max_iter=cap, device=device)

    def network(cap: int) -> None:
        fit_quadratic_network(x, y, 1.0, make_rng(SEED, "bench-init"), gtol=1e-300, max_iter=cap, device=device)

    low, high = 10, 40
    b = rng.standard_normal((d, d)) / np.sqrt(d)
    return {
        "floor": 2.0 * timer(lambda: x @ s, repeats),
        "convex_iteration": (capped(convex, high) - capped(convex, low)) / (high - low),
        "network_iteration": (capped(network, high) - capped(network, low)) / (high - low),
        "network_gradient": timer(lambda: factored_loss_grad(x, y, b, 1.0), repeats),
    }


def _speed(d: int, sample_ratio: float, repeats: int) -> None:
    x, y, _ = quadratic_problem(d, sample_ratio)
    n = x.shape[0]
    costs = iteration_costs(x, y, repeats)
    floor = costs["floor"]
    print(f"d = {d}, n = {n}: floor (2 × X@S, n·d² each) = {1e3 * floor:.1f} ms")
    for key, label in [
        ("convex_iteration", "convex FISTA iteration  "),
        ("network_iteration", "network L-BFGS iteration"),
        ("network_gradient", "network loss + gradient "),
    ]:
        print(f"  {label} {1e3 * costs[key]:7.1f} ms  = {costs[key] / floor:.2f} × floor")


def _one_fit(solver: str, d: int, sample_ratio: float, lam: float) -> dict:
    x, y, s_star = quadratic_problem(d, sample_ratio)
    tracemalloc.start()
    start = time.perf_counter()
    if solver == "convex":
        result = fit_psd_convex(x, y, lam)
    else:
        result = fit_quadratic_network(x, y, lam, make_rng(SEED, "bench-init"))
    seconds = time.perf_counter() - start
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "solver": solver,
        "lam": lam,
        "seconds": seconds,
        "iterations": result.iterations,
        "converged": result.converged,
        "rank": result.rank,
        "objective": result.objective,
        "matrix_mse": float(np.sum((result.s - s_star) ** 2) / d),
        "fit_peak_mb": traced_peak / 2**20,
        # Linux reports ru_maxrss in KiB: the whole process, interpreter and design included. A
        # child can inherit its parent's high-water mark across fork/exec, so this is an upper
        # bound; `/usr/bin/time -v python bench_quadratic_fit.py --one-fit network` is exact.
        "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10,
    }


def _fits(d: int, sample_ratio: float) -> None:
    print(f"full fits at d = {d}, sample_ratio = {sample_ratio} (each in a fresh process):")
    for lam in FIT_LAMS:
        for solver in ("convex", "network"):
            command = [
                sys.executable,
                __file__,
                "--one-fit",
                solver,
                "--d",
                str(d),
                "--sample-ratio",
                str(sample_ratio),
                "--lam",
                str(lam),
            ]
            out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            r = json.loads(out)
            print(
                f"  {r['solver']:7s} λ = {r['lam']:<5g} {r['seconds']:7.2f} s  {r['iterations']:5d} it  "
                f"converged {r['converged']!s:5s} rank {r['rank']:3d}  matrix_mse {r['matrix_mse']:.6f}  "
                f"objective {r['objective']:.12g}  fit peak {r['fit_peak_mb']:.0f} MB  "
                f"process peak {r['process_peak_mb']:.0f} MB"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=100)
    parser.add_argument("--sample-ratio", type=float, default=4.0, help="n/d²")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-fits", action="store_true", help="only the per-iteration timings")
    parser.add_argument("--one-fit", choices=("convex", "network"), help=argparse.SUPPRESS)
    parser.add_argument("--lam", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one_fit:
        print(json.dumps(_one_fit(args.one_fit, args.d, args.sample_ratio, args.lam)))
        return
    _speed(args.d, args.sample_ratio, args.repeats)
    if not args.skip_fits:
        _fits(args.d, args.sample_ratio)


if __name__ == "__main__":
    main()
