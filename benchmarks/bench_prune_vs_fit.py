"""Pruning cost against fitting cost in a finished run: total fit and prune seconds and their ratio.

Run: ``python benchmarks/bench_prune_vs_fit.py RESULTS_DIR`` where RESULTS_DIR is a Snakemake
working directory (or its ``benchmarks/`` folder) after a run. Reads the ``benchmark:`` files of
the ``fit`` (``benchmarks/rules/fit/...``) and ``prune`` (``benchmarks/rules/pruning/...``) rules
with :func:`shallowscaling.workflow.calibration.read_benchmarks` (the same rule patterns and dedicated-core
seconds as the cost-model calibration) and prints, per model and in total, the number of jobs,
the seconds of each rule and prune/fit, and the same for the jobs' CPU seconds (Snakemake's
``cpu_time``, a sampled lower bound). Since the prune job reads the fit job's stored solution
instead of refitting, the target is prune < 10 % of the fits at the default study. The fits
counted are every fit of the run, not only those of the pruned (weak-λ) sweeps. On the tiny test
study the fits take milliseconds and each prune job is its start-up and SE references (seconds),
so the ratio is above 1 there; it is meaningful at the default or paper study.

``--rerun`` times the run's prune jobs again, here and now: each stored point of
``results/pruning/points/`` is pruned again by the rule's command (flags from the run's
``config.yaml``) in a fresh interpreter, its CPU seconds (user + system, of that process alone)
and wall seconds measured, and its table compared byte for byte with the stored one. ``--src
LABEL=DIR`` (repeatable) runs the same jobs with each source tree on ``PYTHONPATH``,
interleaved point by point so that every tree sees the same machine load: the before/after
comparison of a change. The start-up floor (interpreter plus the prune job's imports, no work)
is timed per tree too. The estimated study total is the mean CPU seconds per job times the
run's number of prune jobs of that model, against the run's fit CPU seconds. ``--batched`` also
times one process per sweep (``prune --n`` with every n of the sweep, as the CLI allows): what
the start-up costs when it is paid once per sweep instead of once per point.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd
import yaml

from shallowscaling.workflow.calibration import read_benchmarks

#: The target of the stored-solution prune job: its total time below this fraction of the fits'.
TARGET_RATIO = 0.10
#: A stored prune point table: results/pruning/points/{model}/{estimator}/{stem}_n{n}.parquet.
POINT = re.compile(
    r"(?P<model>diagonal|quadratic)/(?P<estimator>\w+)/d(?P<d>\d+)_gamma(?P<gamma>[^_]+)_noise(?P<noise>[^_]+)"
    r"_lexp(?P<lam_exponent>[^_]+)_n(?P<n>\d+)\.parquet$"
)
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
    _, _, fit_s, _, prune_s = rows[-1]
    print(f"target: prune < {TARGET_RATIO:.0%} of fits; {'met' if prune_s < TARGET_RATIO * fit_s else 'not met'}")


# --- --rerun: the prune jobs timed again ---------------------------------------------------------


def _prune_command(run: Path, config: dict, point: dict, output: Path) -> list[str]:
    """The ``prune`` rule's command of one stored point (workflow/rules/spectra.smk)."""
    model, estimator = point["model"], point["estimator"]
    stem = f"d{point['d']}_gamma{point['gamma']}_noise{point['noise']}_lexp{point['lam_exponent']}_n{point['n']}"
    results = run / "results"
    command = [
        sys.executable, "-m", "shallowscaling", "prune", model, "--estimator", estimator, "--d", point["d"],
        "--gamma", point["gamma"], "--noise", point["noise"], "--lam-exponent", point["lam_exponent"],
        "--n", point["n"], "--weights", str(results / "weights" / model / estimator / f"{stem}.parquet"),
    ]  # fmt: skip
    if model == "quadratic":
        command += ["--solution", str(results / "solutions" / model / estimator / f"{stem}.parquet")]
    command += [
        "--fits", str(results / "fits" / model / estimator / f"{stem}.parquet"),
        "--teacher", str(results / "teachers" / model / f"d{point['d']}_gamma{point['gamma']}.parquet"),
        "--seed", str(config["seed"]), "--normalization", config["normalization"],
        "--n-draws", str(config["quadratic"]["se"]["n_draws"]),
    ]  # fmt: skip
    if model == "quadratic" and config["quadratic"].get("width") is not None:
        command += ["--width", str(config["quadratic"]["width"])]
    return [*command, "--output", str(output)]


def _run_child(command: list[str], src: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one child process alone (user + system, from its rusage)."""
    env = {**os.environ, **ONE_THREAD, "PYTHONPATH": str(src)}
    start = os.times().elapsed
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # wait4 reaps this child alone and returns its own rusage (other children do not count).
    _, status, usage = os.wait4(process.pid, 0)
    wall = os.times().elapsed - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"failed ({code}): {' '.join(command)}")
    return usage.ru_utime + usage.ru_stime, wall


def _rerun(run: Path, sources: dict[str, Path], every: int, fit_cpu: dict[str, float]) -> None:
    config = yaml.safe_load((run / "config.yaml").read_text())
    stored = sorted((run / "results" / "pruning" / "points").rglob("*.parquet"))
    points = [(path, m.groupdict()) for path in stored if (m := POINT.search(path.as_posix()))]
    if not points:
        raise SystemExit(f"{run}: no stored prune point under results/pruning/points/")
    jobs = {model: sum(p["model"] == model for _, p in points) for model in ("diagonal", "quadratic")}
    floor_command = [sys.executable, "-c", "import shallowscaling.cli, shallowscaling.tasks.pruning"]
    floor = {label: min(_run_child(floor_command, src)[0] for _ in range(3)) for label, src in sources.items()}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for index, (path, point) in enumerate(points[::every]):
            for label, src in sources.items():
                output = Path(scratch) / f"{label}_{index}.parquet"
                cpu, wall = _run_child(_prune_command(run, config, point, output), src)
                same = output.read_bytes() == path.read_bytes()
                rows.append({"src": label, "model": point["model"], "cpu": cpu, "wall": wall, "identical": same})
    table = pd.DataFrame(rows)
    print(f"\nre-run of every {every}th prune job of {run} (fresh interpreter each, one BLAS thread):")
    header = f"{'src':<8} {'model':<10} {'timed':>5} {'identical':>9} {'cpu s/job':>9} {'wall s/job':>10}"
    print(f"{header} {'floor s':>7} {'jobs':>5} {'est. cpu s':>10} {'fit cpu s':>9} {'prune/fit':>9}")
    for label in sources:
        total_prune = total_fit = 0.0
        for model in ("diagonal", "quadratic"):
            mine = table[(table["src"] == label) & (table["model"] == model)]
            if mine.empty:
                continue
            estimate = float(mine["cpu"].mean()) * jobs[model]
            total_prune, total_fit = total_prune + estimate, total_fit + fit_cpu.get(model, 0.0)
            ratio = estimate / fit_cpu[model] if fit_cpu.get(model, 0.0) > 0 else float("nan")
            print(
                f"{label:<8} {model:<10} {len(mine):>5} {int(mine['identical'].sum()):>9} {mine['cpu'].mean():>9.2f} "
                f"{mine['wall'].mean():>10.2f} {floor[label]:>7.2f} {jobs[model]:>5} {estimate:>10.1f} "
                f"{fit_cpu.get(model, 0.0):>9.1f} {ratio:>9.3f}"
            )
        if total_fit > 0:
            verdict = "met" if total_prune < TARGET_RATIO * total_fit else "not met"
            print(f"{label:<8} total: est. prune {total_prune:.1f} CPU s / fits {total_fit:.1f} = "
                  f"{total_prune / total_fit:.3f}; target < {TARGET_RATIO:.0%}: {verdict}")  # fmt: skip


def _batched(run: Path, sources: dict[str, Path], fit_cpu: dict[str, float]) -> None:
    """One process per sweep (``prune --n N1 N2 ...``, every n of the sweep): the per-job start-up
    paid once per sweep instead of once per point. Its table is compared with the run's collected
    sweep table (``results/pruning/``, the points stacked in n order)."""
    config = yaml.safe_load((run / "config.yaml").read_text())
    sweeps: dict[tuple, list[dict]] = {}
    for path in sorted((run / "results" / "pruning" / "points").rglob("*.parquet")):
        if match := POINT.search(path.as_posix()):
            point = match.groupdict()
            key = tuple(point[k] for k in ("model", "estimator", "d", "gamma", "noise", "lam_exponent"))
            sweeps.setdefault(key, []).append(point)
    print(f"\none process per sweep of {run} (every n in one `prune` call):")
    print(f"{'src':<8} {'sweep':<34} {'points':>6} {'equal':>5} {'cpu s':>7} {'cpu s/point':>11}")
    for label, src in sources.items():
        totals: dict[str, float] = {}
        with tempfile.TemporaryDirectory() as scratch:
            output = Path(scratch) / "sweep.parquet"
            for key, points in sweeps.items():
                points.sort(key=lambda p: int(p["n"]))
                commands = [_prune_command(run, config, p, output) for p in points]
                command = list(commands[0])
                for flag in ("--n", "--weights", "--solution", "--fits"):
                    if flag in command:
                        at = command.index(flag)
                        command[at + 1 : at + 2] = [c[c.index(flag) + 1] for c in commands]
                cpu, _ = _run_child(command, src)
                model, estimator, d, gamma, noise, ell = key
                stacked = (
                    run
                    / "results"
                    / "pruning"
                    / model
                    / estimator
                    / f"d{d}_gamma{gamma}_noise{noise}_lexp{ell}.parquet"
                )
                equal = stacked.exists() and pd.read_parquet(output).equals(pd.read_parquet(stacked))
                totals[model] = totals.get(model, 0.0) + cpu
                name = f"{model}/{estimator} d{d} lexp{ell}"
                print(f"{label:<8} {name:<34} {len(points):>6} {equal!s:>5} {cpu:>7.2f} {cpu / len(points):>11.2f}")
        prune, fits = sum(totals.values()), sum(fit_cpu.get(model, 0.0) for model in totals)
        if fits > 0:
            verdict = "met" if prune < TARGET_RATIO * fits else "not met"
            print(f"{label:<8} total: prune {prune:.1f} CPU s / fits {fits:.1f} = {prune / fits:.3f}; "
                  f"target < {TARGET_RATIO:.0%}: {verdict}")  # fmt: skip


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
        "--batched", action="store_true", help="--rerun: also time one process per sweep (every n in one call)"
    )
    parser.add_argument("--every", type=int, default=1, help="--rerun: every k-th stored prune point (default 1: all)")
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
        if args.every < 1:
            raise SystemExit(f"--every must be a positive integer; got {args.every}")
        fits = table[table["rule"] == "fit"]
        fit_cpu = {model: float(fits[fits["model"] == model]["cpu"].sum()) for model in fits["model"].unique()}
        sources = dict(args.src or [("here", Path(__file__).resolve().parents[1] / "src")])
        _rerun(args.results, sources, args.every, fit_cpu)
        if args.batched:
            _batched(args.results, sources, fit_cpu)
    return 0


if __name__ == "__main__":
    sys.exit(main())
