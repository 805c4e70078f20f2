"""Speed and memory of the quadratic-model solvers against the BLAS floor (spec §7).

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


def _problem(d: int, sample_ratio: float):
    s, basis = draw_quadratic_teacher(d, 1.0, make_rng(SEED, "bench-teacher", d))
    s_star = target_matrix(s, basis)
    n = round(sample_ratio * d**2)
    x, y = draw_quadratic_data(s_star, n, 0.5, make_rng(SEED, "bench-data", d, n))
    return x, y, s_star


def _best_time(func, repeats: int) -> float:
    func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def _capped_fit_time(fit, iterations: int, repeats: int) -> float:
    """Best wall time of a fit stopped by its iteration cap (tolerance unreachable)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _best_time(lambda: fit(iterations), repeats)


def _speed(d: int, sample_ratio: float, repeats: int) -> None:
    x, y, _ = _problem(d, sample_ratio)
    n = x.shape[0]
    rng = make_rng(SEED, "bench-speed")
    s = rng.standard_normal((d, d))
    s = s + s.T
    floor = 2.0 * _best_time(lambda: x @ s, repeats)
    print(f"d = {d}, n = {n}: floor (2 × X@S, n·d² each) = {1e3 * floor:.1f} ms")

    def convex(cap: int) -> None:
        fit_psd_convex(x, y, 1.0, tol=1e-300, max_iter=cap)

    def network(cap: int) -> None:
        fit_quadratic_network(x, y, 1.0, make_rng(SEED, "bench-init"), gtol=1e-300, max_iter=cap)

    low, high = 10, 40
    per_convex = (_capped_fit_time(convex, high, repeats) - _capped_fit_time(convex, low, repeats)) / (high - low)
    per_network = (_capped_fit_time(network, high, repeats) - _capped_fit_time(network, low, repeats)) / (high - low)
    b = rng.standard_normal((d, d)) / np.sqrt(d)
    gradient = _best_time(lambda: factored_loss_grad(x, y, b, 1.0), repeats)
    print(f"  convex FISTA iteration   {1e3 * per_convex:7.1f} ms  = {per_convex / floor:.2f} × floor")
    print(f"  network L-BFGS iteration {1e3 * per_network:7.1f} ms  = {per_network / floor:.2f} × floor")
    print(f"  network loss + gradient  {1e3 * gradient:7.1f} ms  = {gradient / floor:.2f} × floor")


def _one_fit(solver: str, d: int, sample_ratio: float, lam: float) -> dict:
    x, y, s_star = _problem(d, sample_ratio)
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
