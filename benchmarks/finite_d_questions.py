"""The finite-d questions of docs/science.md (items 8, 13, 14), read from a finished study's tables.

    python benchmarks/finite_d_questions.py results            # the default study
    python benchmarks/finite_d_questions.py /path/to/results   # e.g. a configs/paper_d400.yaml run

Reads ``tables/spectra_quadratic.parquet`` (one row per fit: the trained spectrum's summary next to
the SE of the same teacher) and prints, per d of the quadratic sweep:

* item 8 — the simulated excess risk over the SE one at weak λ (the smallest ℓ of the table) and
  small sample ratio n/d² ≤ 0.3, replicate mean ± standard error: does the gap shrink with d?
* item 13 — the HT-SR tail exponent α̂ (continuous MLE, KS-chosen x_min) at λ = 1 (ℓ = 0) for
  κ = log_d n_eff in [0.45, 0.95], against 1 + 1/γ;
* item 14 — the SE bulk edge over the estimated edge of the trained spectrum, minus one, at weak λ
  and κ near ½, 0.8 and 1.

Nothing is refitted: the numbers are those the figures show. Add ``--json`` for one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def _mean_se(values: pd.Series) -> tuple[float, float]:
    v = values.to_numpy(dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size)) if v.size > 1 else math.nan


def _kappa(row: pd.Series) -> float:
    return math.log(row["n_eff"]) / math.log(row["d"])


def risk_gap(table: pd.DataFrame) -> list[dict]:
    """Item 8: simulated / SE excess risk at the weakest λ and n/d² ≤ 0.3."""
    weak = table[table["lam_exponent"] == table["lam_exponent"].min()]
    weak = weak[weak["n"] / weak["d"] ** 2 <= 0.3]
    rows = []
    for (d, n), group in weak.groupby(["d", "n"]):
        ratio = group["excess_risk"] / group["se_excess_risk"]
        mean, se = _mean_se(ratio)
        rows.append(
            {
                "d": int(d),
                "n": int(n),
                "alpha": n / d**2,
                "ratio": mean,
                "ratio_se": se,
                "replicates": len(group),
                "converged": bool(group["converged"].all()),
            }
        )
    return rows


def tail_exponents(table: pd.DataFrame) -> list[dict]:
    """Item 13: α̂ at λ = 1 and κ in [0.45, 0.95]."""
    strong = table[table["lam_exponent"] == 0.0].copy()
    strong["kappa"] = strong.apply(_kappa, axis=1)
    strong = strong[(strong["kappa"] >= 0.45) & (strong["kappa"] <= 0.95)]
    rows = []
    for (d, n), group in strong.groupby(["d", "n"]):
        mean, se = _mean_se(group["tail_exponent"])
        rows.append(
            {
                "d": int(d),
                "n": int(n),
                "kappa": float(group["kappa"].iloc[0]),
                "gamma": float(group["gamma"].iloc[0]),
                "alpha_hat": mean,
                "alpha_hat_se": se,
                "n_tail": float(group["n_tail"].mean()),
                "replicates": len(group),
            }
        )
    return rows


def bulk_edges(table: pd.DataFrame) -> list[dict]:
    """Item 14: SE edge / estimated edge − 1 at weak λ, per replicate, at the κ nearest ½, 0.8, 1."""
    weak = table[table["lam_exponent"] == table["lam_exponent"].min()].copy()
    weak["kappa"] = weak.apply(_kappa, axis=1)
    rows = []
    for d, per_d in weak.groupby("d"):
        for target in (0.5, 0.8, 1.0):
            kappas = np.unique(per_d["kappa"])
            nearest = kappas[np.argmin(np.abs(kappas - target))]
            if abs(nearest - target) > 0.15:
                continue
            group = per_d[per_d["kappa"] == nearest]
            edge = group["bulk_edge"].to_numpy(dtype=float)
            rel = group["predicted_bulk_edge"].to_numpy(dtype=float) / np.where(edge > 0, edge, np.nan) - 1.0
            rel = rel[np.isfinite(rel)]
            rows.append(
                {
                    "d": int(d),
                    "kappa": float(nearest),
                    "n": int(group["n"].iloc[0]),
                    "relative_difference": [round(float(r), 4) for r in rel],
                    "within_5_percent": int(np.sum(np.abs(rel) <= 0.05)),
                    "replicates": int(rel.size),
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a finished study's results folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    path = args.results / "tables" / "spectra_quadratic.parquet"
    if not path.is_file():
        print(f"finite_d_questions: {path}: no such file; run the study first", file=sys.stderr)
        return 2
    table = pd.read_parquet(path)
    report = {"risk_gap": risk_gap(table), "tail_exponents": tail_exponents(table), "bulk_edges": bulk_edges(table)}
    if args.json:
        print(json.dumps(report, indent=1, default=float).replace("NaN", "null"))
        return 0
    print("item 8: simulated / SE excess risk, weak λ, n/d² <= 0.3 (replicate mean ± s.e.)")
    for r in report["risk_gap"]:
        print(
            f"  d={r['d']:4d} n={r['n']:7d} n/d²={r['alpha']:.3f}  {r['ratio']:.3f} ± {r['ratio_se']:.3f}"
            f"  ({r['replicates']} replicates{'' if r['converged'] else ', NOT CONVERGED'})"
        )
    print("item 13: tail exponent α̂ at λ = 1 (1 + 1/γ is the large-d value)")
    for r in report["tail_exponents"]:
        print(
            f"  d={r['d']:4d} κ={r['kappa']:.2f} n={r['n']:7d}  α̂ = {r['alpha_hat']:.3f} ± {r['alpha_hat_se']:.3f}"
            f"  (1 + 1/γ = {1 + 1 / r['gamma']:.2f}; {r['n_tail']:.0f} tail eigenvalues)"
        )
    print("item 14: SE bulk edge / estimated edge − 1, weak λ, per replicate")
    for r in report["bulk_edges"]:
        values = ", ".join(f"{v:+.1%}" for v in r["relative_difference"])
        within = f"{r['within_5_percent']} of {r['replicates']} within 5 %"
        print(f"  d={r['d']:4d} κ={r['kappa']:.2f} n={r['n']:7d}  {values}  ({within})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
