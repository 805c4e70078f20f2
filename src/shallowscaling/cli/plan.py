"""Verb ``plan``: jobs, core-hours and peak memory of a study before it is submitted."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import InputError
from ..results import json_safe
from ._common import emit


def add_plan_verb(verbs) -> None:
    plan = verbs.add_parser(
        "plan",
        help="before submitting: jobs, core-hours and peak memory per rule of a study (study model + cost models)",
        description="List every job of the study from the study model (config.yaml plus the --configfile "
        "overlays; the jobs `snakemake` runs into an empty results folder) and predict each job's run time and "
        "peak memory from the cost models in src/shallowscaling/resources/cost_model.json, fitted to the benchmark "
        "files of "
        "earlier runs. Prints jobs, core-hours and peak memory per rule with 1σ factors. --calibrate refits the "
        "cost models from your own runs' benchmarks/ folders (docs/cluster.md).",
    )
    plan.add_argument(
        "--configfile", nargs="+", default=[], metavar="OVERLAY",
        help="overlays of config.yaml, as Snakemake's --configfile (e.g. configs/paper.yaml)",
    )  # fmt: skip
    plan.add_argument("--cost-model", help="cost-model JSON (default: src/shallowscaling/resources/cost_model.json)")
    plan.add_argument(
        "--resources", action="store_true",
        help="print the SLURM profile's set-resources (YAML) sized for this study instead of the table",
    )  # fmt: skip
    plan.add_argument(
        "--calibrate", nargs="+", action="append", metavar=("BENCHMARKS", "OVERLAY"),
        help="refit the cost models from a run's benchmarks/ folder and the --configfile overlays that run "
        "used; repeat for several runs. Writes --output (default: --cost-model)",
    )  # fmt: skip
    plan.add_argument("--output", help="with --calibrate: the cost-model JSON to write")
    plan.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run_plan(args: argparse.Namespace) -> None:
    from ..workflow import plan

    model_path = args.cost_model or plan.COST_MODEL_PATH
    if args.cost_model is not None:
        _check_cost_model(args.cost_model)
    if args.calibrate:
        if args.configfile or args.resources:
            raise InputError(
                "`--calibrate` takes each run's overlays after its folder (--calibrate BENCHMARKS OVERLAY ...); "
                "it cannot be combined with --configfile or --resources"
            )
        previous = plan.load_cost_model(model_path) if Path(model_path).is_file() else None
        model = plan.calibrate_cost_model([(c[0], c[1:]) for c in args.calibrate], previous)
        plan.write_cost_model(model, args.output or model_path)
        summary = [
            {"class": key, "jobs": entry.get("jobs", 0), "source": entry["source"],
             "seconds_rms_log_residual": entry["seconds"]["rms_log_residual"]}
            for key, entry in model["classes"].items()
        ]  # fmt: skip
        for row in summary:
            print(f"{row['class']:<45} {row['jobs']:>5} jobs  rms log residual {row['seconds_rms_log_residual']:.2f}"
                  f"  ({row['source']})", file=sys.stderr)  # fmt: skip
        if args.json:
            emit({"output": str(args.output or model_path), "classes": summary})
        return
    if args.output:
        raise InputError("`--output` is the cost-model file written by --calibrate; give --calibrate too")
    config = plan.study_config(args.configfile)
    model = plan.load_cost_model(model_path)
    estimate = plan.estimate_plan(plan.dry_run_jobs(args.configfile), config, model)
    if args.resources:
        print(plan.slurm_resources(estimate, model), end="")
        return
    if args.json:
        emit(
            {
                "configfiles": ["config.yaml", *args.configfile],
                "jobs": estimate.total_jobs,
                "core_hours": estimate.total_core_hours,
                "gpu_jobs": estimate.total_gpu_jobs,
                "gpu_hours_upper_bound": estimate.total_gpu_hours,
                "rules": [{k: json_safe(v) for k, v in row.items()} for row in estimate.rules.to_dict("records")],
            }
        )
        return
    _print_plan(estimate, ["config.yaml", *args.configfile])


#: A job predicted past this (hours) may not fit a partition's time limit.
LONG_JOB_HOURS = 24.0


def _check_cost_model(path: str) -> None:
    """A --cost-model that is not a cost-model JSON object is one line naming the file."""
    target = Path(path)
    if not target.is_file():
        what = "is a folder" if target.is_dir() else "no such file"
        raise InputError(f"`--cost-model` {path!r}: {what}; allowed: a cost-model JSON file")
    try:
        model = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"`--cost-model` {path!r}: is not JSON ({error}); allowed: a cost-model JSON file") from None
    if not isinstance(model, dict) or not isinstance(model.get("classes"), dict):
        raise InputError(
            f"`--cost-model` {path!r}: is not a cost model (no `classes` object); allowed: a file written by "
            "`shallowscaling plan --calibrate`"
        )


def _print_plan(estimate, configs: list[str]) -> None:
    rules = estimate.rules
    print(f"{' + '.join(configs)}: {estimate.total_jobs} jobs (as snakemake would run them)")
    header = f"{'rule':<24} {'jobs':>5} {'core-hours':>11} {'(×/÷)':>6} {'longest job':>12} {'peak MB':>8} {'(×/÷)':>6}"
    print(header)
    print("-" * len(header))
    for row in rules.itertuples():
        print(
            f"{row.rule:<24} {row.jobs:>5} {_significant(row.core_hours):>11} {row.core_hours_factor:>6.2f} "
            f"{_duration(row.longest_job_hours):>12} {row.peak_mem_mb:>8.0f} {row.peak_mem_factor:>6.2f}"
        )
    print("-" * len(header))
    print(f"{'total':<24} {estimate.total_jobs:>5} {_significant(estimate.total_core_hours):>11}")
    if estimate.total_gpu_jobs:
        counts = ", ".join(f"{row.rule} {row.gpu_jobs}" for row in rules.itertuples() if row.gpu_jobs)
        print(
            f"GPU jobs: {estimate.total_gpu_jobs} ({counts}; quadratic.device), one GPU each, not in the core-hours "
            f"above: at most {_significant(estimate.total_gpu_hours)} GPU-hours (their CPU prediction: an upper "
            "bound where a GPU beats one core, as expected at d >= 400; no GPU run has calibrated the cost model)."
        )
    long_jobs = estimate.jobs[estimate.jobs["seconds"] > LONG_JOB_HOURS * 3600.0]
    if len(long_jobs):
        counts = ", ".join(f"{rule} {count}" for rule, count in long_jobs["rule"].value_counts(sort=False).items())
        print(f"{len(long_jobs)} job(s) predicted over {LONG_JOB_HOURS:g} h ({counts}): check your time limit.")
    print(
        "One core per CPU job. (×/÷): 1σ multiplicative uncertainty, from the cost models' parameters (it grows "
        "with the extrapolation beyond the calibrated sizes) and the job-to-job scatter."
    )


def _significant(value: float) -> str:
    return f"{value:.3g}" if value >= 0.01 else f"{value:.1e}"


def _duration(hours: float) -> str:
    if hours >= 1.0:
        return f"{hours:.1f} h"
    if hours * 60.0 >= 1.0:
        return f"{hours * 60.0:.1f} min"
    return f"{hours * 3600.0:.0f} s"
