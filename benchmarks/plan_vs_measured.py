"""A finished (or running) study's measured job times next to what `shallowscaling plan` predicted.

    python benchmarks/plan_vs_measured.py RUN_DIR [--configfile OVERLAY ...] [--top 10] [--json]

RUN_DIR is the folder `snakemake` ran in (it holds ``benchmarks/rules/``); the overlays are the
ones that run used. Every job of the study model is matched to its benchmark file (Snakemake's
``benchmark:`` TSV, column ``s`` = wall seconds); jobs without one have not finished. Prints, per
rule, the jobs finished, the predicted and measured seconds of those jobs and their ratio, then
the longest finished jobs with their predictions. Wall seconds on a shared machine include the
waits for a core, CPU seconds (column ``cpu_time``) do not; the cost model was fitted to wall
seconds of jobs that had their core: the run's load (column ``mean_load``) is summarised so that the reader can
judge the ratio (``mean_load`` is the job's mean CPU use in per cent: far below 100 means it waited).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from shallowscaling.workflow import plan
from shallowscaling.workflow.paths import BENCHMARKS, fill_template


def _wildcards(text: str) -> dict[str, str]:
    return dict(item.strip().split("=", 1) for item in text.split(",") if "=" in item) if text else {}


def compare(run_dir: Path, configfiles: list[str]) -> pd.DataFrame:
    """One row per planned job: rule, wildcards, predicted and measured seconds (NaN: not finished)."""
    config = plan.study_config(configfiles)
    estimate = plan.estimate_plan(plan.dry_run_jobs(configfiles), config, plan.load_cost_model())
    rows = []
    for job in estimate.jobs.itertuples(index=False):
        measured, cpu, load = math.nan, math.nan, math.nan
        template = BENCHMARKS.get(job.rule)
        if template is not None:
            path = run_dir / fill_template(template, _wildcards(job.wildcards))
            if path.is_file():
                table = pd.read_csv(path, sep="\t")
                measured = float(table["s"].iloc[0])
                cpu = float(table["cpu_time"].iloc[0]) if "cpu_time" in table else math.nan
                load = float(table["mean_load"].iloc[0]) if "mean_load" in table else math.nan
        rows.append({"rule": job.rule, "wildcards": job.wildcards, "predicted_s": float(job.seconds),
                     "measured_s": measured, "cpu_s": cpu, "mean_load": load})  # fmt: skip
    return pd.DataFrame(rows)


def per_rule(table: pd.DataFrame) -> pd.DataFrame:
    done = table[np.isfinite(table["measured_s"])]
    summary = done.groupby("rule").agg(
        finished=("measured_s", "size"),
        predicted_s=("predicted_s", "sum"),
        measured_s=("measured_s", "sum"),
        cpu_s=("cpu_s", "sum"),
    )
    summary["jobs"] = table.groupby("rule").size()
    summary["ratio"] = summary["measured_s"] / summary["predicted_s"]
    summary["cpu_ratio"] = summary["cpu_s"] / summary["predicted_s"]
    return summary.sort_values("measured_s", ascending=False).reset_index()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="the folder snakemake ran in")
    parser.add_argument("--configfile", nargs="*", default=[], help="the overlays that run used")
    parser.add_argument("--top", type=int, default=10, help="longest finished jobs to list")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not (args.run_dir / "benchmarks" / "rules").is_dir():
        print(
            f"plan_vs_measured: {args.run_dir}: no benchmarks/rules folder; run snakemake there first", file=sys.stderr
        )
        return 2
    table = compare(args.run_dir, args.configfile)
    rules = per_rule(table)
    done = table[np.isfinite(table["measured_s"])]
    longest = done.sort_values("measured_s", ascending=False).head(args.top)
    totals = {
        "jobs": len(table),
        "finished": len(done),
        "predicted_core_hours_all": table["predicted_s"].sum() / 3600,
        "predicted_core_hours_finished": done["predicted_s"].sum() / 3600,
        "measured_hours_finished": done["measured_s"].sum() / 3600,
        "cpu_hours_finished": done["cpu_s"].sum() / 3600,
        "median_load": float(done["mean_load"].median()) if len(done) else math.nan,
    }
    if args.json:
        out = {"totals": totals, "rules": rules.to_dict(orient="records"), "longest": longest.to_dict(orient="records")}
        print(json.dumps(out, indent=1, default=float).replace("NaN", "null"))
        return 0
    print(f"{totals['finished']} of {totals['jobs']} jobs finished; predicted {totals['predicted_core_hours_all']:.2f}"
          f" core-hours in all, {totals['predicted_core_hours_finished']:.2f} for the finished ones, which took"
          f" {totals['measured_hours_finished']:.2f} h of wall time ({totals['cpu_hours_finished']:.2f} h of CPU;"
          f" median CPU use of a job {totals['median_load']:.0f} %)")  # fmt: skip
    print(f"{'rule':<24}{'finished':>9}{'of':>5}{'predicted s':>13}{'wall s':>9}{'ratio':>7}{'CPU s':>9}{'ratio':>7}")
    for row in rules.itertuples(index=False):
        print(f"{row.rule:<24}{row.finished:>9}{row.jobs:>5}{row.predicted_s:>13.0f}{row.measured_s:>9.0f}"
              f"{row.ratio:>7.2f}{row.cpu_s:>9.0f}{row.cpu_ratio:>7.2f}")  # fmt: skip
    print(f"longest {len(longest)} finished jobs (predicted → wall, CPU seconds):")
    for row in longest.itertuples(index=False):
        print(
            f"  {row.rule:<10} {row.wildcards:<70} {row.predicted_s:>8.0f} → {row.measured_s:>8.0f}, {row.cpu_s:>8.0f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
