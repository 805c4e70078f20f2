"""Scan the diagonal SE on the default heat-map grid and count the converged points.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_diagonal_heatmap.py [--noise 0 0.5]
[--d 1000 10000 100000] [--csv PATH]``. Uses the heat map's own teacher, sample sizes and
tolerance (``tasks.scaling_se``) on the grid of config.yaml ``scaling.grid``; prints, per (Δ, d),
the converged count, the largest fixed-point residual and the slowest solve, then the points that
did not converge. ``--csv`` writes every point's δ, t, risk and residual as exact float reprs, so
two runs (before and after a solver change) can be compared bit for bit. About 3 minutes on one
core for the default arguments.
"""

from __future__ import annotations

import argparse
import csv
import time
import warnings
from pathlib import Path

import yaml

from shallowscaling.state_evolution.diagonal import solve_diagonal_se
from shallowscaling.tasks.scaling_se import SE_TOL, _grid_values, _sample_size, se_teacher

CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"
FIELDS = ["noise", "d", "kappa", "ell", "n", "lam", "delta", "threshold", "risk", "residual", "converged", "seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noise", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--d", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--csv", type=Path, default=None)
    args = parser.parse_args()
    scaling = yaml.safe_load(CONFIG.read_text())["scaling"]
    kappas, ells = _grid_values(scaling["grid"]["kappa"]), _grid_values(scaling["grid"]["lam_exponent"])
    rows = []
    # Non-converged points warn; they are listed at the end instead.
    warnings.simplefilter("ignore")
    for noise in args.noise:
        for d in args.d:
            teacher = se_teacher("diagonal", d, float(scaling["gamma"]))
            block = []
            for kappa in kappas:
                for ell in ells:
                    n, lam = _sample_size("diagonal", d, float(d) ** kappa), float(d) ** ell
                    start = time.perf_counter()
                    result = solve_diagonal_se(teacher, n, lam, noise, tol=SE_TOL)
                    seconds = time.perf_counter() - start
                    floats = (result.delta, result.threshold, result.excess_risk, result.fixed_point_residual)
                    block.append([noise, d, kappa, ell, n, lam, *map(repr, floats), result.converged, seconds])
            converged = [row for row in block if row[10]]
            worst = max(float(row[9]) for row in converged) if converged else float("nan")
            slowest = max(row[11] for row in block)
            print(f"Δ={noise:g} d={d}: {len(converged)}/{len(block)} converged, max residual {worst:.1e}, "
                  f"slowest {slowest:.2f} s")  # fmt: skip
            rows += block
    for row in rows:
        if not row[10]:
            print(f"not converged: Δ={row[0]:g} d={row[1]} κ={row[2]:g} ℓ={row[3]:g} n={row[4]} residual {row[9]}")
    if args.csv is not None:
        with args.csv.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(FIELDS)
            writer.writerows(rows)


if __name__ == "__main__":
    main()
