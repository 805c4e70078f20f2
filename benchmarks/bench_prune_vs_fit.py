"""Pruning cost against fitting cost in a finished run: total fit and prune seconds and their ratio.

Run: ``python benchmarks/bench_prune_vs_fit.py RESULTS_DIR`` where RESULTS_DIR is a Snakemake
working directory (or its ``benchmarks/`` folder) after a run. Reads the ``benchmark:`` files of
the ``fit`` (``benchmarks/rules/fit/...``) and ``prune`` (``benchmarks/rules/pruning/...``) rules
with :func:`shallowscaling.workflow.calibration.read_benchmarks` (the same rule patterns and dedicated-core
seconds as the cost-model calibration) and prints, per model and in total, the number of jobs,
the seconds of each rule and prune/fit. Since the prune job reads the fit job's stored solution
instead of refitting, the target is prune < 10 % of the fits at the default study. The fits
counted are every fit of the run, not only those of the pruned (weak-λ) sweeps. On the tiny test
study the fits take milliseconds and each prune job is its start-up and SE references (seconds),
so the ratio is above 1 there; it is meaningful at the default or paper study.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from shallowscaling.workflow.calibration import read_benchmarks

#: The target of the stored-solution prune job: its total time below this fraction of the fits'.
TARGET_RATIO = 0.10


def _totals(folder: Path) -> list[tuple[str, int, float, int, float]]:
    table = read_benchmarks(folder)
    table = table[table["rule"].isin(("fit", "prune"))]
    if table.empty:
        raise SystemExit(f"{folder}: no benchmark file of the `fit` or `prune` rule under it")
    table = table.assign(model=[w.get("model", "") for w in table["wildcards"]])
    rows = []
    for model in [*sorted(table["model"].unique()), "total"]:
        mine = table if model == "total" else table[table["model"] == model]
        fit, prune = mine[mine["rule"] == "fit"], mine[mine["rule"] == "prune"]
        rows.append((model, len(fit), float(fit["seconds"].sum()), len(prune), float(prune["seconds"].sum())))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's working directory or its benchmarks/ folder")
    args = parser.parse_args(argv)
    folder = args.results / "benchmarks" if (args.results / "benchmarks").is_dir() else args.results
    print(f"{'model':<10} {'fit jobs':>8} {'fit s':>10} {'prune jobs':>10} {'prune s':>10} {'prune/fit':>9}")
    rows = _totals(folder)
    for model, n_fit, fit_s, n_prune, prune_s in rows:
        ratio = f"{prune_s / fit_s:9.3f}" if fit_s > 0 else f"{'n/a':>9}"
        print(f"{model:<10} {n_fit:>8} {fit_s:>10.1f} {n_prune:>10} {prune_s:>10.1f} {ratio}")
    _, _, fit_s, _, prune_s = rows[-1]
    print(f"target: prune < {TARGET_RATIO:.0%} of fits; {'met' if prune_s < TARGET_RATIO * fit_s else 'not met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
