"""Today's convex PSD solver against the pre-change FISTA, same process, same data, same tolerance.

The reference is the frozen copy in ``_reference_fista.py`` (two n·d² GEMM passes per FISTA
iteration). Each row solves one replicate-0 problem of the study (γ = 1, Δ = 0.5, the study's
seed) with the reference and with ``fit_psd_convex(method=...)``, both to the relative KKT
tolerance ``--tol`` (the default study's 1e-7), and prints the time ratio reference/new, the
relative objective difference, both certificates and the rank. Sections:

* ``named``: the points of the acceptance list (near the interpolation peak at λ = 1/d, low rank
  at λ = √d and λ = 4 with n = d², λ = 1/d at n = d^2.2, the high-rank λ = 1, n = d²/2);
* ``grid``: every (d, n, λ) of the default study's quadratic sweep and tail sweep (``config.yaml``),
  for the "never slower" check.

Run with one BLAS thread::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_psd_solvers.py named --json named.json
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_psd_solvers.py grid
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _reference_fista import fit_reference_fista

from shallowscaling.config import lam_value, load_config, n_grid
from shallowscaling.estimators.psd_convex import fit_psd_convex
from shallowscaling.tasks.problem import draw_problem

SEED = 20250929
NAMED = (
    # (label, d, n, λ)
    ("peak d=120", 120, round(0.12 * 120**2), 1 / 120),
    ("peak d=160", 160, round(0.1 * 160**2), 1 / 160),
    ("peak d=200", 200, round(0.08 * 200**2), 1 / 200),
    ("low rank λ=√d", 300, 300**2, 300**0.5),
    ("low rank λ=4", 300, 300**2, 4.0),
    ("λ=1/d, n=d^2.2", 200, round(200**2.2), 1 / 200),
    ("high rank λ=1", 300, 300**2 // 2, 1.0),
)


def run_point(d: int, n: int, lam: float, method: str, tol: float, max_iter: int) -> dict:
    """Reference and new solver on one problem: times, objectives, certificates."""
    problem = draw_problem("quadratic", d, 1.0, 0.5, n, SEED, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.process_time()
        ref = fit_reference_fista(problem.x, problem.y, lam, tol, max_iter)
        ref_time = time.process_time() - start
        start = time.process_time()
        new = fit_psd_convex(problem.x, problem.y, lam, tol=tol, max_iter=max_iter, method=method)
        new_time = time.process_time() - start
    return {
        "d": d,
        "n": n,
        "sample_ratio": n / d**2,
        "lam": lam,
        "reference_s": ref_time,
        "new_s": new_time,
        "speedup": ref_time / new_time,
        "objective_reference": ref["objective"],
        "objective_new": new.objective,
        "objective_rel_diff": (new.objective - ref["objective"]) / abs(ref["objective"]),
        "kkt_reference": ref["kkt_residual"],
        "kkt_new": new.kkt_residual,
        "gap_reference": ref["duality_gap"],
        "gap_new": new.duality_gap,
        "rank": new.rank,
        "iterations_reference": ref["iterations"],
        "iterations_new": new.iterations,
        "converged": bool(new.converged and ref["status"] == "converged"),
        "route": "factored" if "factored" in new.message else "fista+ssnal" if "SSNAL" in new.message else "fista",
    }


def grid_points(config_path: Path) -> list[tuple[int, int, float]]:
    """(d, n, λ) of the default study's quadratic fits (main sweep and tail sweep)."""
    config = load_config(config_path)
    section = config["quadratic"]
    points = []
    for d in section["d"]:
        for lam_exponent in section["lam_exponent"]:
            points += [(d, n, lam_value(d, lam_exponent)) for n in n_grid("quadratic", d, section["n_eff_exponent"])]
    tail = config["spectra"]["tail"]
    for d in tail["d"]:
        for lam_exponent in tail["lam_exponent"]:
            points += [(d, n, lam_value(d, lam_exponent)) for n in n_grid("quadratic", d, tail["n_eff_exponent"])]
    return points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("section", choices=("named", "grid"))
    parser.add_argument("--method", default="auto", choices=("auto", "fista", "factored", "ssnal"))
    parser.add_argument("--tol", type=float, default=1e-7)
    parser.add_argument("--max-iter", type=int, default=20000)
    parser.add_argument("--config", type=Path, default=Path(__file__).resolve().parents[1] / "config.yaml")
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    parser.add_argument("--d", type=int, nargs="*", help="only these d (grid section)")
    args = parser.parse_args()
    if args.section == "named":
        points = [(label, d, n, lam) for label, d, n, lam in NAMED]
    else:
        points = [
            (f"d={d} n={n} λ={lam:.4g}", d, n, lam)
            for d, n, lam in grid_points(args.config)
            if not args.d or d in args.d
        ]
    rows = []
    header = f"{'point':<18} {'d':>4} {'n':>7} {'n/d²':>6} {'λ':>8} {'ref s':>8} {'new s':>8} {'×':>6}"
    print(header + "  rel Δobj    kkt ref/new        rank  its ref/new  route")
    for label, d, n, lam in points:
        row = run_point(d, n, lam, args.method, args.tol, args.max_iter)
        row["point"] = label
        rows.append(row)
        print(
            f"{label:<18} {d:>4} {n:>7} {row['sample_ratio']:>6.3f} {lam:>8.4g} {row['reference_s']:>8.3f} "
            f"{row['new_s']:>8.3f} {row['speedup']:>6.2f}  {row['objective_rel_diff']:>+9.1e}  "
            f"{row['kkt_reference']:.1e}/{row['kkt_new']:.1e}  {row['rank']:>4}  "
            f"{row['iterations_reference']:>5}/{row['iterations_new']:<5}  {row['route']}",
            flush=True,
        )
    speedups = np.array([row["speedup"] for row in rows])
    diffs = np.array([abs(row["objective_rel_diff"]) for row in rows])
    print(
        f"{len(rows)} points: speed-up min {speedups.min():.2f}, median {np.median(speedups):.2f}, "
        f"max {speedups.max():.2f}; max |relative objective difference| {diffs.max():.1e}; "
        f"all converged: {all(row['converged'] for row in rows)}"
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
