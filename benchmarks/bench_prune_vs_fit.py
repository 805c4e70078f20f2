"""Pruning cost against fitting cost in a finished run: total fit and prune seconds and their ratio.

Run: ``python benchmarks/bench_prune_vs_fit.py RESULTS_DIR`` where RESULTS_DIR is a Snakemake
working directory (or its ``benchmarks/`` folder) after a run. Reads the ``benchmark:`` files of
the ``fit`` (``benchmarks/rules/fit/...``) and ``prune`` (``benchmarks/rules/pruning/...``, one per
sweep) rules with :func:`shallowscaling.workflow.calibration.read_benchmarks` (the same rule
patterns and dedicated-core seconds as the cost-model calibration) and prints, per model and in
total, the number of jobs, the seconds of each rule and prune/fit, and the same for the jobs' CPU
seconds (Snakemake's ``cpu_time``, a sampled lower bound). The prune job reads the fit jobs'
stored solutions instead of refitting, and runs once per sweep; the target is prune < 10 % of
the fits at the default study. The fits counted are every fit of the run, not only those of the
pruned (weak-λ) sweeps. On the tiny test study the fits take milliseconds and each prune job is
its start-up and SE references (seconds), so the ratio is above 1 there; it is meaningful at the
default or paper study.

``--rerun`` times the run's prune jobs again, here and now: each sweep's ``prune`` job, its
command built as the rule builds it (inputs from :func:`shallowscaling.workflow.study.rule_inputs`,
flags from the run's ``config.yaml``), in a fresh interpreter, its CPU seconds (user + system,
of that process alone), wall seconds and peak RSS measured. Its table is compared with the run's
sweep table (``results/pruning/``): the content (columns, types, values) and the bytes, which
differ only by the provenance in the metadata where that table was written by another verb (the
per-point layout's ``collect``); the model's collected table (``results/tables/pruning_*``) is
then collected again from the new sweep tables and compared byte for byte. ``--src LABEL=DIR``
(repeatable) runs the same jobs with each source tree on ``PYTHONPATH``, interleaved sweep by
sweep so that every tree sees the same machine load: the before/after comparison of a change.
``--per-point`` also times one process per n (``prune --n N``, the layout before one job per
sweep). The start-up floor (interpreter plus the prune job's imports, no work) is timed per tree.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from shallowscaling.config import load_config
from shallowscaling.sweeps import format_float
from shallowscaling.workflow import dag, study
from shallowscaling.workflow.calibration import read_benchmarks
from shallowscaling.workflow.teachers import tag_gamma

#: The target of the stored-solution prune job: its total time below this fraction of the fits'.
TARGET_RATIO = 0.10
#: One BLAS thread, as the rule's ``threads: 1`` gives the job.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _cpu_time(path: str) -> float:
    """Snakemake's sampled CPU seconds of one benchmark file (median over its repeats; 0 when unsampled)."""
    values = pd.to_numeric(pd.read_csv(path, sep="\t")["cpu_time"], errors="coerce")
    return float(values.median()) if values.notna().any() else 0.0


def _benchmarks(folder: Path) -> pd.DataFrame:
    table = read_benchmarks(folder)
    table = table[table["rule"].isin(("fit", "prune"))]
    if table.empty:
        raise SystemExit(f"{folder}: no benchmark file of the `fit` or `prune` rule under it")
    return table.assign(
        model=[w.get("model", "") for w in table["wildcards"]], cpu=[_cpu_time(p) for p in table["path"]]
    )


def _totals(table: pd.DataFrame, column: str) -> list[tuple[str, int, float, int, float]]:
    rows = []
    for model in [*sorted(table["model"].unique()), "total"]:
        mine = table if model == "total" else table[table["model"] == model]
        fit, prune = mine[mine["rule"] == "fit"], mine[mine["rule"] == "prune"]
        rows.append((model, len(fit), float(fit[column].sum()), len(prune), float(prune[column].sum())))
    return rows


def _print_totals(rows: list[tuple[str, int, float, int, float]], unit: str) -> None:
    print(
        f"{'model':<10} {'fit jobs':>8} {'fit ' + unit:>10} {'prune jobs':>10} {'prune ' + unit:>10} {'prune/fit':>9}"
    )
    for model, n_fit, fit_s, n_prune, prune_s in rows:
        ratio = f"{prune_s / fit_s:9.3f}" if fit_s > 0 else f"{'n/a':>9}"
        print(f"{model:<10} {n_fit:>8} {fit_s:>10.1f} {n_prune:>10} {prune_s:>10.1f} {ratio}")
    _, _, fit_s, n_prune, prune_s = rows[-1]
    if n_prune == 0:
        # A run of the per-point layout: its prune benchmarks (..._n{n}.tsv) are not the rule's now.
        print("no benchmark file of a per-sweep prune job: time them with --rerun")
        return
    print(f"target: prune < {TARGET_RATIO:.0%} of fits; {'met' if prune_s < TARGET_RATIO * fit_s else 'not met'}")


# --- --rerun: the prune jobs timed again ---------------------------------------------------------


def _prune_command(config: dict, wildcards: dict, n_values: list[int], output: Path) -> list[str]:
    """The ``prune`` rule's command of one sweep (workflow/rules/spectra.smk), restricted to
    ``n_values`` (all of the sweep's n, or one); paths relative to the run's folder."""
    inputs = study.rule_inputs(config, "prune", wildcards)
    at = [study.sweep_n(config, wildcards).index(n) for n in n_values]
    model = wildcards["model"]
    command = [
        sys.executable, "-m", "shallowscaling", "prune", model, "--estimator", wildcards["estimator"],
        "--d", wildcards["d"], "--gamma", format_float(tag_gamma(wildcards["teacher"])),
        "--noise", wildcards["noise"], "--lam-exponent", wildcards["lam_exponent"],
        "--n", *map(str, n_values), "--weights", *[inputs["weights"][i] for i in at],
    ]  # fmt: skip
    if inputs["solution"]:
        command += ["--solution", *[inputs["solution"][i] for i in at]]
    command += [
        "--fits", *[inputs["fits"][i] for i in at], "--teacher", *inputs["teacher"],
        "--seed", str(config["seed"]), "--normalization", config["normalization"],
        "--n-draws", str(config["quadratic"]["se"]["n_draws"]),
    ]  # fmt: skip
    if model == "quadratic" and config["quadratic"].get("width") is not None:
        command += ["--width", str(config["quadratic"]["width"])]
    return [*command, "--output", str(output)]


def _run_child(command: list[str], src: Path, cwd: Path) -> tuple[float, float, float]:
    """(CPU seconds, wall seconds, peak RSS in MB) of one child process alone (from its rusage)."""
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(src)}
    start = os.times().elapsed
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4 reaps this child alone and returns its own rusage (other children do not count).
    _, status, usage = os.wait4(process.pid, 0)
    wall = os.times().elapsed - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(command)}")
    return usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024.0


def _same_content(a: Path, b: Path) -> bool:
    return pq.read_table(a).equals(pq.read_table(b))


def _rerun(run: Path, sources: dict[str, Path], per_point: bool, fit_cpu: dict[str, float]) -> None:
    config = load_config(run / "config.yaml")
    sweeps = [job.wildcards for job in dag.jobs(config) if job.rule == "prune"]
    if not sweeps:
        raise SystemExit(f"{run}: its config has no prune job (no weak-λ sweep)")
    floor_command = [sys.executable, "-c", "import shallowscaling.cli, shallowscaling.tasks.pruning"]
    floor = {label: min(_run_child(floor_command, src, run)[0] for _ in range(3)) for label, src in sources.items()}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, wildcards in enumerate(sweeps):
            stored = run / study.fill_template(study.PATHS["pruning"], wildcards)
            n_values = study.sweep_n(config, wildcards)
            for label, src in sources.items():
                output = Path(scratch) / label / stored.relative_to(run / "results")
                output.parent.mkdir(parents=True, exist_ok=True)
                cpu, wall, rss = _run_child(_prune_command(config, wildcards, n_values, output), src, run)
                row = {"src": label, "model": wildcards["model"], "d": wildcards["d"], "points": len(n_values),
                       "cpu": cpu, "wall": wall, "rss_mb": rss, "content": _same_content(output, stored),
                       "bytes": output.read_bytes() == stored.read_bytes()}  # fmt: skip
                if per_point:
                    point = Path(scratch) / f"point_{index}.parquet"
                    runs = [_run_child(_prune_command(config, wildcards, [n], point), src, run) for n in n_values]
                    row["per_point_cpu"] = sum(r[0] for r in runs)
                rows.append(row)
        table = pd.DataFrame(rows)
        print(f"\nre-run of the prune jobs of {run} (one process per sweep, fresh interpreter, one BLAS thread):")
        print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        for label in sources:
            mine = table[table["src"] == label]
            prune, fits = float(mine["cpu"].sum()), sum(fit_cpu.get(m, 0.0) for m in mine["model"].unique())
            print(f"{label:<8} floor {floor[label]:.2f} CPU s per process")
            if fits > 0:
                verdict = "met" if prune < TARGET_RATIO * fits else "not met"
                print(f"{label:<8} total: prune {prune:.1f} CPU s / fits {fits:.1f} = {prune / fits:.3f}; "
                      f"target < {TARGET_RATIO:.0%}: {verdict}")  # fmt: skip
                if per_point:
                    each = float(mine["per_point_cpu"].sum())
                    print(f"{label:<8} one process per n: prune {each:.1f} CPU s = {each / fits:.3f} of the fits")
            _compare_collected(run, config, Path(scratch) / label)


def _compare_collected(run: Path, config: dict, folder: Path) -> None:
    """The models' pruning tables collected again from the re-run sweep tables, against the run's, bytes."""
    for model in ("diagonal", "quadratic"):
        stored = run / study.fill_template(study.PATHS["table"], {"table": "pruning", "model": model})
        inputs = study.rule_inputs(config, "collect_spectral_table", {"table": "pruning", "model": model})["inputs"]
        if not inputs or not stored.exists():
            continue
        output = folder / stored.name
        tables = [str(folder / Path(p).relative_to("results")) for p in inputs]
        command = [sys.executable, "-m", "shallowscaling", "collect", "--inputs", *tables, "--output", str(output)]
        subprocess.run(command, check=True, env={**os.environ, **ONE_THREAD}, stderr=subprocess.DEVNULL)
        same = output.read_bytes() == stored.read_bytes()
        print(f"  {stored.relative_to(run)} collected again: {'byte-identical' if same else 'DIFFERENT bytes'}")


def _source(text: str) -> tuple[str, Path]:
    label, sep, folder = text.partition("=")
    if not sep or not label or not Path(folder).is_dir():
        raise argparse.ArgumentTypeError(f"--src takes LABEL=DIR with DIR a source folder; got {text!r}")
    return label, Path(folder).resolve()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="a finished run's working directory or its benchmarks/ folder")
    parser.add_argument("--rerun", action="store_true", help="time the run's prune jobs again (needs the working dir)")
    parser.add_argument(
        "--per-point", action="store_true", help="--rerun: also time one process per n (the layout before)"
    )
    parser.add_argument(
        "--src", type=_source, action="append", help="--rerun: LABEL=DIR, a source tree to time (repeatable; "
        "default: this checkout's src/)"
    )  # fmt: skip
    args = parser.parse_args(argv)
    folder = args.results / "benchmarks" if (args.results / "benchmarks").is_dir() else args.results
    table = _benchmarks(folder)
    print("dedicated-core seconds (calibration):")
    _print_totals(_totals(table, "seconds"), "s")
    print("\nCPU seconds (Snakemake's cpu_time):")
    _print_totals(_totals(table, "cpu"), "cpu")
    if args.rerun:
        fits = table[table["rule"] == "fit"]
        fit_cpu = {model: float(fits[fits["model"] == model]["cpu"].sum()) for model in fits["model"].unique()}
        sources = dict(args.src or [("here", Path(__file__).resolve().parents[1] / "src")])
        _rerun(args.results, sources, args.per_point, fit_cpu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
