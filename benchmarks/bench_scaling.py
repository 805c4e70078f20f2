"""Acceptance numbers of the scaling stage at sizes beyond the default study (docs/theory.md §3).

Runs the SE of one model on a fine (κ, ℓ) grid and the config's fitting windows at several d,
then prints (1) the fraction of grid points farther than the margin from a boundary whose
exponent r = −Δlog R/Δlog d is within the tolerance of the theory, per phase, and (2) the window
exponents at the largest d against their predictions. Minutes of CPU at d = 10⁵ (diagonal) or
10⁴ (quadratic); the default study's numbers come from `snakemake` (results/tables/heatmap.parquet
and exponents.csv).

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scaling.py diagonal --d 1000 10000 100000 --step 0.1
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_scaling.py quadratic --d 100 1000 10000 --step 0.2 --noise 0
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import pandas as pd

from shallowscaling.config import load_config
from shallowscaling.tasks.exponents import exponent_table, heatmap_agreement, heatmap_table, scaling_se_table

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=("diagonal", "quadratic"))
    parser.add_argument("--d", type=int, nargs="+", required=True, help="dimensions (two or more)")
    parser.add_argument("--noise", type=float, help="Δ (default: scaling.noise of config.yaml; 0 = noiseless)")
    parser.add_argument("--step", type=float, default=0.1, help="grid step in κ and ℓ (default 0.1)")
    parser.add_argument("--output", help="write the SE rows to this Parquet file")
    args = parser.parse_args()
    config = load_config(ROOT / "config.yaml")["scaling"]
    noise = config["noise"] if args.noise is None else args.noise
    windows = config["windows"][args.model]["noiseless" if noise == 0 else "noisy"]
    grid = {
        "kappa": {"start": -0.5, "stop": 3.0, "num": round(3.5 / args.step) + 1},
        "lam_exponent": {"start": -1.5, "stop": 2.5, "num": round(4.0 / args.step) + 1},
    }
    tables = []
    for d in args.d:
        start = time.process_time()
        tables.append(
            scaling_se_table(
                args.model, d, config["gamma"], noise, grid=grid, windows=windows,
                window_points=config["window_points"], peak_bracket=tuple(config["peak_bracket"]),
            )
        )  # fmt: skip
        print(f"d = {d}: {len(tables[-1])} SE points in {time.process_time() - start:.0f} s CPU", flush=True)
    se = pd.concat(tables, ignore_index=True)
    if args.output:
        se.to_parquet(args.output)
    heat = heatmap_table(se, margin=config["margin"], tol=config["tol"])
    for row in heatmap_agreement(heat):
        print(
            f"heat map {row['model']}, Δ = {row['noise']:g}: {row['agreement']:.1%} of {row['scored']} scored points "
            f"within {row['tol']:g} (extrapolated: {row['agreement_extrapolated']:.1%}), d = {row['d_high']}"
        )
    scored = heat[heat["scored"]]
    for phase, group in scored.groupby("phase"):
        print(f"  {phase:5s} {group['agrees'].mean():6.1%} of {len(group):4d}, median r − theory "
              f"{(group['se_exponent'] - group['predicted']).median():+.3f}")  # fmt: skip
    table = exponent_table(se, pd.DataFrame(), seed=0)
    print("window exponents at d =", max(args.d))
    for row in table.itertuples():
        miss = row.se_exponent - row.predicted
        flag = "" if math.isfinite(miss) and abs(miss) <= config["tol"] else "  <-- outside tol"
        print(f"  {row.phase:5s} predicted {row.predicted:.3f}  SE {row.se_exponent:.3f}  "
              f"extrapolated {row.se_exponent_extrapolated:.3f}  r {row.se_r:.3f} (theory {row.predicted_r:.3f})"
              f"  [{row.window}]{flag}")  # fmt: skip


if __name__ == "__main__":
    main()
