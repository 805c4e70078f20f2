"""Plan a study before submitting it: jobs per rule, core-hours and peak memory (``shallowscaling plan``).

The jobs are Snakemake's own: ``snakemake --dry-run`` of the study (``config.yaml`` plus the
overlays) into an empty folder, so that every job counts, parsed for each job's rule and
wildcards. Each job's run time and peak memory come from the cost models of
:mod:`shallowscaling.cost_model`, one per cost class (rule, model, estimator and, for the quadratic
state evolution, the route), stored in ``workflow/resources/cost_model.json``.
:func:`calibrate_cost_model` refits them from the ``benchmark:`` files (``s``, ``max_rss``) of
finished runs (``shallowscaling plan --calibrate BENCHMARKS``).

A job's inner points (:func:`job_points`) are what it loops over, read from the config exactly as
the rules do: a fit job solves its point once per replicate; a state-evolution job solves every n
of the SE grid (per replicate for the diagonal ERM, whose teacher differs per replicate); a
spectra job handles every n of its sweep and replicate; a prune job its point (n), once per
replicate, reading the fit job's stored solution (no solve). So a model calibrated
at 3 replicates and 30 SE points predicts a study with 5 and 40.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import load_config, n_grid, parse_float, se_n_grid, uses_cuda
from ..cost_model import CostFit, ProfileFit, fit_cost_model, fit_log_profile, predict_cost, predict_log_profile
from ..errors import InputError
from .exponents import check_scaling_config

__all__ = [
    "COST_MODEL_PATH",
    "DEFAULT_CONFIG",
    "SNAKEFILE",
    "Plan",
    "PlannedJob",
    "benchmark_patterns",
    "calibrate_cost_model",
    "cost_class",
    "dry_run_jobs",
    "estimate_plan",
    "job_points",
    "load_cost_model",
    "parse_dry_run",
    "read_benchmarks",
    "slurm_resources",
    "study_config",
    "write_cost_model",
]

REPO_ROOT = Path(__file__).resolve().parents[3]
SNAKEFILE = REPO_ROOT / "Snakefile"
DEFAULT_CONFIG = REPO_ROOT / "config.yaml"
RULES_DIR = REPO_ROOT / "workflow" / "rules"
COST_MODEL_PATH = REPO_ROOT / "workflow" / "resources" / "cost_model.json"

#: Rules that only name the study's targets: Snakemake runs nothing for them.
TARGET_RULES = ("all",)
#: A benchmark ``max_rss`` below this (MB) is the shell seen before Python started (the sampler
#: missed a short job: 0–11 MB in the default study, against >= 100 MB for any job importing
#: NumPy); such rows keep their time but not their memory.
MIN_RSS_MB = 50.0
#: Snakemake's benchmark samples CPU time every second for this long, then every this many seconds.
BENCHMARK_DENSE_S = 30.0
#: The dry run of the paper-scale study takes ~3 s; past this Snakemake is stuck.
DRY_RUN_TIMEOUT_S = 300
#: An exponent is fitted only when the jobs span at least this many distinct values of its
#: variable over at least this ratio; otherwise it stays at the algorithm's complexity.
MIN_DISTINCT, MIN_SPAN = 3, 4.0
#: Jobs needed beyond the number of parameters before an exponent is fitted rather than fixed.
MIN_EXTRA_JOBS = 3
#: The work term must reach this fraction of the largest job's measured memory for the data to
#: resolve the memory coefficient; below it (small designs next to the interpreter's ~150 MB)
#: the coefficient of the `like` class is used.
MIN_RESOLVED_FRACTION = 0.2
#: 1σ (log units, a factor e) added where a class has no more jobs than fitted parameters.
UNDERDETERMINED_LOG_SD = 1.0
#: Rules whose cost depends on λ = d^ℓ beyond the job's size (solver iterations): one
#: coefficient (or iteration profile) per ℓ.
LEVEL_RULES = ("fit", "state_evolution", "spectra", "prune")
#: Work levels of a solve: one solver iteration, and drawing the data and setting up (once).
WORK_LEVELS = ("iteration", "setup")
#: Nodes of an iteration profile along κ: the default study has 10–12 κ per ℓ.
PROFILE_NODES = 8
COST_MODEL_DESCRIPTION = (
    "Cost models of the workflow's jobs (shallowscaling.cost_model, docs/cluster.md). seconds and max_rss_mb: "
    "base + coef[level] * W, W = sum (max for memory) over the job's inner points of mult * d**d_exponent * "
    "n**n_exponent; levels are the lam_exponent wildcard where a class has them. Fit classes have two levels: "
    "`iteration` (mult = replicates * iterations) and `setup` (mult = replicates), iterations from the profile "
    "log(iterations + 1) = P_l(kappa) + d_slope_l * log d, piecewise linear in kappa = log_d n_eff through "
    "nodes/values; classes with iterations_from (the quadratic pruning, which refits its point) use that "
    "class's profile and coefficients. "
    "Regenerate: python -m shallowscaling plan --calibrate BENCHMARKS [OVERLAY ...]."
)

# Complexity priors per cost-class prefix (longest prefix wins): d and n exponents of the run
# time, which of them the data may refit (where they span MIN_SPAN with MIN_DISTINCT values and
# MIN_EXTRA_JOBS more jobs than parameters), the memory exponents (None: constant memory) and a
# class whose fitted coefficients stand in where this one's data cannot resolve them.
_PRIORS: dict[str, dict[str, Any]] = {
    # FISTA (convex) or L-BFGS (network): forward + adjoint passes, O(n d²) per iteration; the
    # n × d design is held in memory.
    "fit/quadratic": {"time": (2.0, 1.0), "free": (), "memory": (1.0, 1.0)},
    # Coordinate descent (LASSO) or proximal gradient (network): O(n d) per sweep.
    "fit/diagonal": {"time": (1.0, 1.0), "free": (), "memory": (1.0, 1.0)},
    # The quadratic pruning reads the fit job's stored eigenpairs of Ŝ (no solve, no design): the
    # SE, optimal-λ and Bayes references of its n, as a spectra job per point (d exponent fitted),
    # plus O(d³) per replicate (S*, overlaps; ~0.1 s at d = 800), and constant memory (the R·d²
    # solution is ~80 MB at d = 800, R = 5). Until prune benchmarks at large d exist, the shipped
    # cost model's prune/quadratic entry is this prior with the spectra class's coefficients.
    "prune/quadratic": {"time": (2.0, 0.0), "free": ("d",), "memory": None},
    # Diagonal pruning re-thresholds stored θ̂; SE, optimal-λ and Bayes SE per point, O(d).
    "prune/diagonal": {"time": (1.0, 0.0), "free": (), "memory": None},
    # Spectra: the mc SE of every point works on K d×d GOE draws, O(K d²) per fixed-point step
    # plus O(K d³) diagonalisations, in proportions that change with d: the exponent is fitted
    # (calibrated between d = 20 and 200–400). Diagonal: O(d).
    "spectra/quadratic": {"time": (2.0, 0.0), "free": ("d",), "memory": None},
    "spectra/diagonal": {"time": (1.0, 0.0), "free": (), "memory": None},
    # Quadratic SE: the mc route as above; the deterministic route and the Bayes-optimal SE
    # (free convolution on a grid) O(d) per step. Diagonal SE: O(d).
    "state_evolution/quadratic/mc": {"time": (2.0, 0.0), "free": ("d",), "memory": None},
    "state_evolution/quadratic/deterministic": {"time": (1.0, 0.0), "free": (), "memory": None},
    "state_evolution/diagonal": {"time": (1.0, 0.0), "free": (), "memory": None},
    "optimal_lam/quadratic/mc": {"time": (2.0, 0.0), "free": ("d",), "memory": None},
    "optimal_lam/quadratic/deterministic": {"time": (1.0, 0.0), "free": (), "memory": None},
    "optimal_lam/diagonal": {"time": (1.0, 0.0), "free": (), "memory": None},
    "bayes_optimal": {"time": (1.0, 0.0), "free": (), "memory": None},
    # Deterministic SE over the heat map, d from 10 to 10⁵: the d exponent is measured.
    "scaling_se": {"time": (1.0, 0.0), "free": ("d",), "memory": None},
}
# Rules whose jobs cost the same whatever their size (tables, figures, teachers).
_CONSTANT = {"time": None, "free": (), "memory": None}

#: Rules without a `benchmark:`: (seconds, MB) of one `/usr/bin/time` run of the job's command
#: on the reference machine (2 cores shared, load ~6): teachers at d = 800 with 5 replicates,
#: the diagonal aggregate_fig3 of the default study (156 fits, 27 SE tables), collect over 9
#: spectra tables, collect over the 3 point tables of a pruning sweep, figures drawn from the
#: default study's tables. Seconds to load packages.
MANUAL_COSTS = {
    "teacher": (2.7, 160.0),
    "aggregate_fig3": (3.3, 145.0),
    "aggregate_fig5": (3.3, 145.0),
    "collect_pruning": (1.6, 131.0),
    "collect_spectral_table": (2.7, 135.0),
    "figure_fig1": (13.0, 260.0),
    "figure_fig3": (13.0, 260.0),
    "figure_fig4": (13.0, 260.0),
    "figure_fig5": (13.0, 260.0),
    "figure_spectral": (13.0, 260.0),
}
MANUAL_COSTS_SOURCE = "manual: one /usr/bin/time run of the job's command (MANUAL_COSTS in tasks/plan.py)"
#: 1σ of the log of a hand-measured cost: a single run on a loaded machine (a factor 1.65).
MANUAL_LOG_SD = 0.5


@dataclass(frozen=True)
class PlannedJob:
    """One job of the dry run: its rule and wildcards (as strings, exactly as in the paths)."""

    rule: str
    wildcards: Mapping[str, str]


@dataclass(frozen=True)
class Plan:
    """Result of :func:`estimate_plan`.

    Attributes
    ----------
    jobs : DataFrame
        One row per job: ``rule``, ``cost_class``, ``calibration`` (the class whose model was
        used, and how), ``seconds``, ``seconds_log_sd``, ``max_rss_mb``, ``max_rss_log_sd``
        (1σ of the log prediction: parameters and the scatter of single jobs), ``gpu`` (GPUs the
        job asks for: 1 for the fits ``quadratic.device`` sends to CUDA, else 0) and
        ``wildcards`` (``key=value`` text).
    rules : DataFrame
        One row per rule, costliest first: ``rule``, ``jobs``,
        ``core_hours`` (the CPU jobs only), ``core_hours_factor`` (1σ multiplicative uncertainty
        of the sum), ``gpu_jobs``, ``gpu_hours`` (an upper bound: the GPU jobs' hours predicted
        by the CPU cost model, which no GPU run has calibrated), ``longest_job_hours``,
        ``peak_mem_mb``, ``peak_mem_factor`` and ``calibration``.
    """

    jobs: pd.DataFrame
    rules: pd.DataFrame

    @property
    def total_jobs(self) -> int:
        return int(self.rules["jobs"].sum())

    @property
    def total_core_hours(self) -> float:
        return float(self.rules["core_hours"].sum())

    @property
    def total_gpu_jobs(self) -> int:
        return int(self.rules["gpu_jobs"].sum())

    @property
    def total_gpu_hours(self) -> float:
        return float(self.rules["gpu_hours"].sum())


# --- the study and its jobs --------------------------------------------------------------------


def study_config(configfiles: Sequence[str | Path] = ()) -> dict[str, Any]:
    """``config.yaml`` overlaid with ``configfiles`` (as Snakemake's ``--configfile``), validated."""
    for path in configfiles:
        if not Path(path).is_file():
            raise InputError(f"`--configfile` must name an existing YAML file; got {str(path)!r} (no such file)")
    config = load_config(DEFAULT_CONFIG, *configfiles)
    check_scaling_config(config)
    return config


def parse_dry_run(text: str) -> list[PlannedJob]:
    """The jobs listed by ``snakemake --dry-run`` (rule and wildcards), checked against its job table."""
    jobs: list[PlannedJob] = []
    header = re.compile(r"^\s*(?:local)?(?:rule|checkpoint) (\w+):$")  # indented inside a group job
    for line in text.splitlines():
        match = header.match(line)
        if match:
            jobs.append(PlannedJob(match.group(1), {}))
            continue
        stripped = line.strip()
        if jobs and stripped.startswith("wildcards: ") and not jobs[-1].wildcards:
            pairs = (item.split("=", 1) for item in stripped[len("wildcards: ") :].split(", "))
            jobs[-1] = PlannedJob(jobs[-1].rule, dict(pairs))
    table = re.search(r"^total\s+(\d+)$", text, flags=re.MULTILINE)
    if table is not None and int(table.group(1)) != len(jobs):
        raise RuntimeError(f"parsed {len(jobs)} jobs from the dry run but its job table says {table.group(1)}")
    return jobs


def dry_run_jobs(configfiles: Sequence[str | Path] = (), snakefile: str | Path = SNAKEFILE) -> list[PlannedJob]:
    """Every job of the study, from ``snakemake --dry-run`` into an empty temporary folder."""
    overlays = [str(Path(path).resolve()) for path in configfiles]
    with tempfile.TemporaryDirectory(prefix="shallowscaling-plan-") as workdir:
        command = [sys.executable, "-m", "snakemake", "--dry-run", "--snakefile", str(snakefile)]
        command += ["--directory", workdir]
        if overlays:
            command += ["--configfile", *overlays]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=DRY_RUN_TIMEOUT_S, check=False, cwd=workdir
        )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        raise InputError(f"`snakemake --dry-run` failed (exit {done.returncode}):\n{tail}")
    return parse_dry_run(output)


def cost_class(rule: str, wildcards: Mapping[str, str], config: Mapping[str, Any]) -> str:
    """The cost class of a job: ``rule[/model[/estimator]]``, plus the SE route of quadratic SE jobs."""
    parts = [rule]
    model = wildcards.get("model")
    if model is not None:
        parts.append(model)
    if "estimator" in wildcards:
        parts.append(wildcards["estimator"])
    if rule in ("state_evolution", "optimal_lam") and model == "quadratic":
        parts.append(config["quadratic"]["se"]["route"])
    return "/".join(parts)


def job_points(rule: str, wildcards: Mapping[str, str], config: Mapping[str, Any]) -> list[tuple[int, int, int]]:
    """The inner points ``(d, n, repetitions)`` a job loops over (n = 1 where it has none)."""
    model = wildcards.get("model")
    d = int(wildcards.get("d", 1))
    if model is None:
        return [(1, 1, 1)]
    c = config[model]
    replicates = int(c["replicates"])
    if rule == "fit":
        return [(d, int(wildcards["n"]), replicates)]
    if rule == "teacher":
        return [(d, 1, replicates)]
    if rule in ("state_evolution", "optimal_lam", "bayes_optimal"):
        # The diagonal ERM SE runs on each replicate's own θ*; the others on one spectrum.
        per_n = replicates if model == "diagonal" and rule != "bayes_optimal" else 1
        return [(d, n, per_n) for n in se_n_grid(model, d, c["n_eff_exponent"], c["se"]["num"])]
    if rule == "prune":
        return [(d, int(wildcards["n"]), replicates)]
    if rule == "spectra":
        return [(d, n, replicates) for n in n_grid(model, d, c["n_eff_exponent"])]
    if rule == "scaling_se":
        scaling = config["scaling"]
        diagram = "noiseless" if parse_float(wildcards["noise"]) == 0.0 else "noisy"
        grid = scaling["grid"]["kappa"]["num"] * scaling["grid"]["lam_exponent"]["num"]
        windows = len(scaling["windows"][model][diagram]) * scaling["window_points"]
        return [(d, 1, grid + windows)]
    return [(d, 1, 1)]


def _prior(key: str) -> dict[str, Any]:
    matches = [prefix for prefix in _PRIORS if key == prefix or key.startswith(prefix + "/")]
    return _PRIORS[max(matches, key=len)] if matches else _CONSTANT


# --- calibration from benchmark files ------------------------------------------------------------


def benchmark_patterns(rules_dir: str | Path = RULES_DIR) -> dict[str, re.Pattern[str]]:
    """Each rule's ``benchmark:`` path (from the rule files) as a regex with named wildcards.

    The pattern matches the end of a file's path, so a ``benchmarks/`` folder or any folder
    above it can be searched.
    """
    patterns: dict[str, re.Pattern[str]] = {}
    for path in sorted(Path(rules_dir).glob("*.smk")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"^rule (\w+):\n(.*?)(?=^rule |\Z)", text, flags=re.MULTILINE | re.DOTALL):
            found = re.search(r"^\s+benchmark:\s*\n\s+\"([^\"]+)\"", match.group(2), flags=re.MULTILINE)
            if found is None:
                continue
            relative = found.group(1).removeprefix("benchmarks/")
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/_]+)", re.escape(relative))
            patterns[match.group(1)] = re.compile(rf"(?:^|/){regex}$")
    return patterns


def _dedicated_seconds(table: pd.DataFrame) -> pd.Series:
    """Wall time a job would take on a core of its own: ``s``, or less when the CPU time shows it waited.

    Snakemake samples the job's CPU time every second for 30 s, then every 30 s, so the true CPU
    time lies in [cpu_time, cpu_time + gap]. A single-threaded CPU-bound job on a dedicated core
    takes about its CPU time; on a loaded machine (the reference calibration ran on 2 shared
    cores) ``s`` is stretched by the waiting. Hence min(s, cpu_time + gap) where cpu_time was
    sampled at all (jobs of < 1 s have cpu_time 0).
    """
    wall = pd.to_numeric(table["s"], errors="coerce")
    cpu = pd.to_numeric(table.get("cpu_time", pd.Series(np.nan, index=table.index)), errors="coerce")
    gap = np.where(wall <= BENCHMARK_DENSE_S, 1.0, BENCHMARK_DENSE_S)
    return pd.Series(np.where(cpu > 0, np.minimum(wall, cpu + gap), wall), index=table.index)


def read_benchmarks(folder: str | Path, patterns: Mapping[str, re.Pattern[str]] | None = None) -> pd.DataFrame:
    """Every benchmark file under ``folder`` whose path matches a rule's pattern.

    Returns
    -------
    DataFrame
        ``rule``, ``wildcards`` (dict), ``seconds`` (median over the file's repeats of the
        dedicated-core time, :func:`_dedicated_seconds`),
        ``max_rss_mb`` (largest ``max_rss``; NaN below :data:`MIN_RSS_MB`) and ``path``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"`--calibrate` must name a folder of benchmark files; got {str(folder)!r} (no such folder)")
    patterns = benchmark_patterns() if patterns is None else patterns
    rows = []
    for path in sorted(folder.rglob("*.tsv")):
        relative = path.relative_to(folder).as_posix()
        for rule, pattern in patterns.items():
            match = pattern.search(relative)
            if match is None:
                continue
            table = pd.read_csv(path, sep="\t")
            rss = float(pd.to_numeric(table["max_rss"], errors="coerce").max())
            seconds = float(_dedicated_seconds(table).median())
            if seconds > 0:
                rows.append(
                    {
                        "rule": rule,
                        "wildcards": match.groupdict(),
                        "seconds": seconds,
                        "max_rss_mb": rss if rss >= MIN_RSS_MB else math.nan,
                        "path": str(path),
                    }
                )
            break
    return pd.DataFrame(rows, columns=["rule", "wildcards", "seconds", "max_rss_mb", "path"])


def _levels(rule: str, wildcards: Sequence[Mapping[str, str]]) -> list[str]:
    """Coefficient levels of a class: its λ = d^ℓ schedules (iteration counts differ), or one."""
    if rule in LEVEL_RULES:
        return sorted({w["lam_exponent"] for w in wildcards}, key=float)
    return ["*"]


def _level_index(levels: Sequence[str], wildcards: Mapping[str, str]) -> int:
    if list(levels) == ["*"]:
        return 0
    value = wildcards.get("lam_exponent")
    return list(levels).index(value) if value in levels else -1


def _arrays(points: Sequence[Sequence[tuple[float, float, float, int]]]):
    """Flat (d, n, mult, owner, level) arrays of the jobs' inner points ``(d, n, mult, level)``."""
    owner = np.concatenate([np.full(len(p), j) for j, p in enumerate(points)])
    flat = np.array([point for p in points for point in p], dtype=float)
    return flat[:, 0], flat[:, 1], flat[:, 2], owner, flat[:, 3].astype(int)


def _at_level(points, level: int):
    return [(d, n, reps, level) for d, n, reps in points]


def _with_iterations(profile, model, wildcards, points):
    """A fit's or a pruning refit's inner points: R·iterations at level 0 (one solver iteration
    each) and R at level 1 (drawing the data, setting up), iterations from the profile."""
    iterations, log_sd = _predicted_iterations(profile, model, wildcards.get("lam_exponent"), points)
    inner = []
    for (d, n, reps), it in zip(points, iterations, strict=True):
        inner += [(d, n, reps * it, 0), (d, n, reps, 1)]
    return inner, log_sd


def _fit_to_dict(fit: CostFit, levels: Sequence[str]) -> dict[str, Any]:
    return {
        "base": fit.base,
        "coef": dict(zip(levels, fit.coef.tolist(), strict=True)),
        "d_exponent": fit.d_exponent,
        "n_exponent": fit.n_exponent,
        "reduce": fit.reduce,
        "free": list(fit.free),
        "covariance": fit.covariance.tolist(),
        "rms_log_residual": fit.rms_log_residual,
        "n_jobs": fit.n_jobs,
        "status": fit.status,
        "message": fit.message,
    }


def _fit_from_dict(entry: Mapping[str, Any]) -> tuple[CostFit, list[str]]:
    levels = list(entry["coef"])
    k = len(entry["free"])
    fit = CostFit(
        base=float(entry["base"]),
        coef=np.array([entry["coef"][level] for level in levels], dtype=float),
        d_exponent=float(entry["d_exponent"]),
        n_exponent=float(entry["n_exponent"]),
        reduce=entry["reduce"],
        free=tuple(entry["free"]),
        covariance=np.array(entry["covariance"], dtype=float).reshape(k, k),
        rms_log_residual=float(entry["rms_log_residual"]),
        n_jobs=int(entry["n_jobs"]),
        converged=entry["status"] == "converged",
        status=entry["status"],
        message=entry["message"],
        iterations=0,
        grad_norm=0.0,
    )
    return fit, levels


def _profile_to_dict(fit: ProfileFit, levels: Sequence[str]) -> dict[str, Any]:
    def finite(row):
        return [float(v) for v in row if np.isfinite(v)]

    return {
        "levels": list(levels),
        "nodes": [finite(row) for row in fit.nodes],
        "values": [finite(row) for row in fit.values],
        "d_slope": fit.d_slope.tolist(),
        "covariance": [_finite_block(block) for block in fit.covariance],
        "rms_log_residual": fit.rms_log_residual,
        "n_points": fit.n_points,
        "rank_deficient": fit.rank_deficient,
    }


def _finite_block(block: np.ndarray) -> list[list[float]]:
    keep = np.isfinite(np.diag(block))
    return block[np.ix_(keep, keep)].tolist()


def _profile_from_dict(entry: Mapping[str, Any]) -> ProfileFit:
    n_levels = len(entry["levels"])
    width = max(len(row) for row in entry["nodes"])
    nodes = np.full((n_levels, width), np.nan)
    values = np.full((n_levels, width), np.nan)
    covariance = np.full((n_levels, width + 1, width + 1), np.nan)
    for k in range(n_levels):
        m = len(entry["nodes"][k])
        nodes[k, :m] = entry["nodes"][k]
        values[k, :m] = entry["values"][k]
        index = np.append(np.arange(m), width)
        covariance[k][np.ix_(index, index)] = np.array(entry["covariance"][k])
    return ProfileFit(
        nodes=nodes,
        values=values,
        d_slope=np.array(entry["d_slope"], dtype=float),
        covariance=covariance,
        rms_log_residual=float(entry["rms_log_residual"]),
        n_points=int(entry["n_points"]),
        rank_deficient=bool(entry["rank_deficient"]),
    )


def _kappa(model: str, d: float, n: float) -> float:
    """κ = log_d n_eff (n_eff = n diagonal, n/d quadratic)."""
    return math.log(n / d if model == "quadratic" else n) / math.log(d)


def _predicted_iterations(profile: Mapping[str, Any], model: str, lam_exponent: str | None, points):
    """Iterations of each inner point's solve from an iteration profile, and the largest log sd."""
    fit = _profile_from_dict(profile)
    index = _level_index(profile["levels"], {"lam_exponent": lam_exponent} if lam_exponent else {})
    kappa = [_kappa(model, d, n) for d, n, _ in points]
    d = [point[0] for point in points]
    prediction = predict_log_profile(fit, kappa, d, [index] * len(points))
    iterations = np.maximum(prediction.value - 1.0, 0.0)
    return iterations, float(np.max(np.hypot(prediction.log_se, fit.rms_log_residual)))


def _measured_iterations(path: str, wildcards: Mapping[str, str]) -> pd.DataFrame | None:
    """The fit job's own table (replicate, iterations), found next to its benchmark file."""
    posix = Path(path).as_posix()
    cut = posix.rfind("/benchmarks/rules/fit/")
    if cut < 0:
        return None
    w = wildcards
    stem = f"d{w['d']}_gamma{w['gamma']}_noise{w['noise']}_lexp{w['lam_exponent']}_n{w['n']}"
    table = Path(posix[:cut]) / "results" / "fits" / w["model"] / w["estimator"] / f"{stem}.parquet"
    if not table.is_file():
        return None
    from ..io.parquet import read_table

    return read_table(table)[["replicate", "iterations"]]


def _spans(values: np.ndarray) -> bool:
    distinct = np.unique(values)
    return distinct.size >= MIN_DISTINCT and distinct.max() >= MIN_SPAN * distinct.min()


def _calibrate_fit_class(key: str, rows: pd.DataFrame) -> dict[str, Any]:
    """Fit jobs: seconds = t0 + Σ_replicates (c_it·iterations + c_setup)·d^a·n^b, and the iteration profile."""
    model = key.split("/")[1]
    prior = _prior(key)
    points, seconds, memory, profile_rows = [], [], [], []
    for row in rows.itertuples():
        table = _measured_iterations(row.path, row.wildcards)
        if table is None:
            continue
        d, n = int(row.wildcards["d"]), int(row.wildcards["n"])
        iterations = table["iterations"].to_numpy(dtype=float)
        points.append([point for it in iterations for point in ((d, n, it, 0), (d, n, 1.0, 1))])
        seconds.append(row.seconds)
        memory.append(row.max_rss_mb)
        profile_rows += [(it + 1.0, _kappa(model, d, n), d, row.wildcards["lam_exponent"]) for it in iterations]
    if not points:
        raise InputError(
            f"`--calibrate`: the {key} benchmark files have no fit tables next to them (results/fits/...): the "
            "calibration of the fits reads their iteration counts; pass the `benchmarks` folder of a run that "
            "kept its results"
        )
    d, n, mult, owner, level = _arrays(points)
    a, b = prior["time"]
    time = fit_cost_model(
        seconds, d, n, mult, owner, level, n_levels=2, d_exponent=a, n_exponent=b,
        fit_d_exponent="d" in prior["free"] and _spans(d), fit_n_exponent="n" in prior["free"] and _spans(n),
    )  # fmt: skip
    levels = sorted({lam for *_, lam in profile_rows}, key=float)
    iterations, kappa, dims, lams = zip(*profile_rows, strict=True)
    profile = fit_log_profile(
        iterations, kappa, dims, [levels.index(lam) for lam in lams], n_levels=len(levels), max_nodes=PROFILE_NODES
    )
    entry = {
        "source": "benchmarks",
        "jobs": len(points),
        "seconds": _fit_to_dict(time, list(WORK_LEVELS)),
        "iterations": _profile_to_dict(profile, levels),
    }
    entry["max_rss_mb"] = _calibrate_memory(key, points, np.array(memory, dtype=float), None, entry)
    return entry


def _calibrate_memory(key, points, values, like, entry) -> dict[str, Any] | None:
    """Peak memory: m0 + k·max_p d^a n^b (or constant); k from `like` when the data cannot see it."""
    prior = _prior(key)
    keep = np.isfinite(values)
    if not keep.any():
        return like["max_rss_mb"] if like is not None else None
    kept = [[(p[0], p[1], 1.0, 0) for p in job] for job, k in zip(points, keep, strict=True) if k]
    d, n, mult, owner, level = _arrays(kept)
    values = values[keep]
    if prior["memory"] is None:
        memory = fit_cost_model(values, d, n, mult, owner, level, n_levels=1, d_exponent=0.0, n_exponent=0.0,
                                coef=[0.0], reduce="max")  # fmt: skip
        return _fit_to_dict(memory, ["*"])
    a, b = prior["memory"]
    memory = fit_cost_model(values, d, n, mult, owner, level, n_levels=1, d_exponent=a, n_exponent=b, reduce="max")
    largest = int(np.argmax(values))
    work = memory.coef[0] * float(np.max(d[owner == largest] ** a * n[owner == largest] ** b))
    if work < MIN_RESOLVED_FRACTION * values[largest] and like is not None:
        coef = list(like["max_rss_mb"]["coef"].values())
        memory = fit_cost_model(values, d, n, mult, owner, level, n_levels=1, d_exponent=a, n_exponent=b,
                                coef=coef, reduce="max")  # fmt: skip
        entry["memory_coefficient_from"] = like["key"]
    return _fit_to_dict(memory, ["*"])


def _calibrate_class(key: str, rows: pd.DataFrame, fitted: Mapping[str, Any]) -> dict[str, Any]:
    rule = rows["rule"].iloc[0]
    if rule == "fit":
        return _calibrate_fit_class(key, rows)
    prior = _prior(key)
    wildcards = list(rows["wildcards"])
    like = _like(key, prior, fitted)
    entry: dict[str, Any] = {"source": "benchmarks", "jobs": len(rows)}
    if like is not None and "iterations" in like:
        # Refits (pruning): the job's point is solved as by the like class's fit job, with the
        # iterations its profile predicts, at its measured cost per unit of work; this class
        # fits only its own base (SE, pruning, I/O).
        model = key.split("/")[1]
        points = [
            _with_iterations(like["iterations"], model, w, p)[0] for w, p in zip(wildcards, rows["points"], strict=True)
        ]
        entry["iterations_from"] = like["key"]
        seconds = like["seconds"]
        d, n, mult, owner, level = _arrays(points)
        time = fit_cost_model(
            rows["seconds"], d, n, mult, owner, level, n_levels=len(WORK_LEVELS), d_exponent=seconds["d_exponent"],
            n_exponent=seconds["n_exponent"], coef=[seconds["coef"][k] for k in WORK_LEVELS],
        )  # fmt: skip
        entry["seconds"] = _fit_to_dict(time, list(WORK_LEVELS))
    else:
        levels = _levels(rule, wildcards)
        points = [_at_level(p, _level_index(levels, w)) for w, p in zip(wildcards, rows["points"], strict=True)]
        d, n, mult, owner, level = _arrays(points)
        if prior["time"] is None:
            time = fit_cost_model(rows["seconds"], d, n, mult, owner, level, n_levels=len(levels), d_exponent=0.0,
                                  n_exponent=0.0, coef=np.zeros(len(levels)))  # fmt: skip
        else:
            a, b = prior["time"]
            enough = len(rows) >= len(levels) + 2 + MIN_EXTRA_JOBS
            time = fit_cost_model(
                rows["seconds"], d, n, mult, owner, level, n_levels=len(levels), d_exponent=a, n_exponent=b,
                fit_d_exponent="d" in prior["free"] and enough and _spans(d),
                fit_n_exponent="n" in prior["free"] and enough and _spans(n),
            )  # fmt: skip
        entry["seconds"] = _fit_to_dict(time, levels)
    memory = _calibrate_memory(key, points, rows["max_rss_mb"].to_numpy(dtype=float), like, entry)
    if memory is not None:
        entry["max_rss_mb"] = memory
    return entry


def _like(key: str, prior: Mapping[str, Any], fitted: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fitted class named by the prior's ``like`` (the same estimator where there is one)."""
    if "like" not in prior:
        return None
    suffix = key.split("/")[2:]
    preferred = "/".join([prior["like"], *suffix])
    candidates = [preferred, *sorted(k for k in fitted if k.startswith(prior["like"] + "/"))]
    for candidate in candidates:
        if candidate in fitted:
            return {"key": candidate, **fitted[candidate]}
    return None


def calibrate_cost_model(
    sources: Sequence[tuple[str | Path, Sequence[str | Path]]], previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Fit the cost model of every class seen in the benchmark files of one or more runs.

    Parameters
    ----------
    sources : sequence of (folder, overlays)
        A run's ``benchmarks/`` folder and the ``--configfile`` overlays that run used (its
        replicates and grids turn each job into inner points, :func:`job_points`). The fit
        jobs' tables must sit where the run wrote them (``results/fits/`` next to
        ``benchmarks/``): their iteration counts calibrate the iteration profiles.
    previous : mapping, optional
        An existing cost model: its classes absent from ``sources`` (another model, the rules
        without ``benchmark:``) are kept, and the quadratic pruning borrows its fit classes'
        iteration profiles and coefficients where ``sources`` has no fits.

    Returns
    -------
    dict
        The cost model (the JSON of :func:`write_cost_model`).
    """
    frames = []
    for folder, overlays in sources:
        config = study_config(overlays)
        table = read_benchmarks(folder)
        if table.empty:
            raise InputError(f"`--calibrate` folder {str(folder)!r} holds no benchmark file of any rule")
        pairs = list(zip(table["rule"], table["wildcards"], strict=True))
        table["cost_class"] = [cost_class(r, w, config) for r, w in pairs]
        table["points"] = [job_points(r, w, config) for r, w in pairs]
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    classes: dict[str, Any] = {}
    kept = {k: v for k, v in (previous or {}).get("classes", {}).items() if k not in set(table["cost_class"])}
    # Fits first: the pruning refits borrow their iteration profiles and exponents, from this
    # calibration's fits or, without them, from those of `previous`.
    order = sorted(table["cost_class"].unique(), key=lambda key: (not key.startswith("fit/"), key))
    for key in order:
        classes[key] = _calibrate_class(key, table[table["cost_class"] == key], {**kept, **classes})
    manual = {rule: _manual_entry(*costs) for rule, costs in MANUAL_COSTS.items()}
    return {
        "description": COST_MODEL_DESCRIPTION,
        "regenerate": "python -m shallowscaling plan --calibrate BENCHMARKS [OVERLAY ...] [--calibrate ...]",
        "classes": dict(sorted({**manual, **kept, **classes}.items())),
    }


def _constant(value: float, reduce: str, log_sd: float, message: str) -> dict[str, Any]:
    return {"base": value, "coef": {"*": 0.0}, "d_exponent": 0.0, "n_exponent": 0.0, "reduce": reduce,
            "free": ["log_base"], "covariance": [[log_sd**2]], "rms_log_residual": 0.0, "n_jobs": 1,
            "status": "converged", "message": message}  # fmt: skip


def _manual_entry(seconds: float, max_rss_mb: float) -> dict[str, Any]:
    return {
        "source": MANUAL_COSTS_SOURCE,
        "jobs": 1,
        "seconds": _constant(seconds, "sum", MANUAL_LOG_SD, "hand measurement"),
        "max_rss_mb": _constant(max_rss_mb, "max", MANUAL_LOG_SD, "hand measurement"),
    }


def load_cost_model(path: str | Path = COST_MODEL_PATH) -> dict[str, Any]:
    """Read a cost model written by :func:`write_cost_model`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"`--cost-model` must name a cost-model JSON file; got {str(path)!r} (no such file)") from None


def write_cost_model(model: Mapping[str, Any], path: str | Path = COST_MODEL_PATH) -> None:
    """Write a cost model as indented JSON (atomically; floats to 6 significant digits)."""
    from ..io.parquet import atomic_path

    def rounded(value: Any) -> Any:
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(rounded(model), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.chmod(0o644)  # a file for the repository, not a private temporary one


# --- the estimate -------------------------------------------------------------------------------


def _resolve(key: str, classes: Mapping[str, Any]) -> tuple[str | None, str]:
    """The class whose model a job uses (None: the stand-in), and how it was chosen.

    The job's own class, else a rule-wide class (``teacher`` for ``teacher/quadratic``), else the
    first sibling (``fit/quadratic/convex`` for an uncalibrated ``fit/quadratic/network``).
    """
    parts = key.split("/")
    for cut in range(len(parts), 0, -1):
        if "/".join(parts[:cut]) in classes:
            return "/".join(parts[:cut]), "/".join(parts[:cut])
    for cut in range(len(parts) - 1, 0, -1):
        prefix = "/".join(parts[:cut]) + "/"
        similar = sorted(k for k in classes if k.startswith(prefix))
        if similar:
            return similar[0], f"{similar[0]} (no calibration of {key})"
    return None, f"median job (no calibration of {key})"


def _stand_in(classes: Mapping[str, Any]) -> dict[str, Any]:
    """A rule never calibrated: the median base time and memory, with a 1σ factor of e."""
    times = [entry["seconds"]["base"] for entry in classes.values()]
    memory = [entry["max_rss_mb"]["base"] for entry in classes.values() if "max_rss_mb" in entry]
    message = "stand-in for an uncalibrated rule"
    return {
        "seconds": _constant(float(np.median(times)), "sum", 1.0, message),
        "max_rss_mb": _constant(float(np.median(memory)), "max", 1.0, message),
    }


def _streamed_memory_points(points, design_memory_gb: float):
    """Memory points of quadratic fits with n capped where the design stops being held in memory.

    A design larger than ``quadratic.solver.design_memory`` is redrawn block by block
    (:mod:`shallowscaling.design`), so the part of the memory that grows with n·d stops at that
    budget; the calibrated model m0 + k·d·n is evaluated at the capped n.
    """
    capped = []
    for job in points:
        capped.append([(d, min(n, design_memory_gb * 1e9 / (8.0 * d)), reps, level) for d, n, reps, level in job])
    return capped


def _predict_class(
    entry: Mapping[str, Any], classes: Mapping[str, Any], group: pd.DataFrame, design_memory_gb: float | None = None
):
    """Seconds, max_rss_mb and their 1σ log sd for the jobs of one class.

    ``design_memory_gb`` (quadratic fits only) caps the design's share of the memory model.
    """
    wildcards = list(group["wildcard_map"])
    points = list(group["points"])
    extra = np.zeros(len(points))
    profile = entry.get("iterations")
    if profile is None and "iterations_from" in entry:
        profile = classes[entry["iterations_from"]]["iterations"]
    if profile is not None:
        model = group["cost_class"].iloc[0].split("/")[1]
        time_points = []
        for j, (w, p) in enumerate(zip(wildcards, points, strict=True)):
            inner, extra[j] = _with_iterations(profile, model, w, p)
            time_points.append(inner)
    else:
        levels = list(entry["seconds"]["coef"])
        # A λ schedule never calibrated costs as much as the costliest calibrated one.
        costliest = int(np.argmax(list(entry["seconds"]["coef"].values())))
        indices = [_level_index(levels, w) for w in wildcards]
        time_points = [_at_level(p, costliest if k < 0 else k) for p, k in zip(points, indices, strict=True)]
    memory_points = [_at_level(p, 0) for p in points]
    if design_memory_gb is not None:
        memory_points = _streamed_memory_points(memory_points, design_memory_gb)
    out = {}
    for quantity, inner in (("seconds", time_points), ("max_rss_mb", memory_points)):
        fit, _ = _fit_from_dict(entry[quantity])
        d, n, mult, owner, level = _arrays(inner)
        prediction = predict_cost(fit, d, n, mult, owner, level, len(inner))
        log_sd = np.hypot(prediction.log_se, fit.rms_log_residual)
        if fit.n_jobs <= len(fit.free) and fit.message != "hand measurement":
            # As many parameters as jobs: the fit is exact and says nothing about its error.
            log_sd = np.hypot(log_sd, UNDERDETERMINED_LOG_SD)
        if quantity == "seconds":
            log_sd = np.hypot(log_sd, extra)
        out[quantity] = (prediction.value, log_sd)
    return out


def estimate_plan(jobs: Sequence[PlannedJob], config: Mapping[str, Any], cost_model: Mapping[str, Any]) -> Plan:
    """Predicted run time and peak memory of every job, and their sums and maxima per rule.

    Core-hours assume one core per job (every rule has ``threads: 1``) and count the CPU jobs
    only; the jobs on a GPU (:func:`~shallowscaling.config.uses_cuda`) are counted apart, their
    GPU-hours bounded by their CPU prediction (a GPU iteration is faster than a CPU one at the
    sizes that go there; no GPU run has calibrated the cost model). The 1σ factor of a rule's
    core-hours adds the log sd of its jobs weighted by their time (the parameter part is shared
    by the jobs of a class, so it does not average out); that of the peak memory is the one of the
    job with the largest prediction.
    """
    classes = cost_model["classes"]
    stand_in = _stand_in(classes)
    records = []
    for job in jobs:
        key = cost_class(job.rule, job.wildcards, config)
        used, label = _resolve(key, classes)
        if job.rule in TARGET_RULES:
            used, label = None, "runs nothing (target rule)"
        records.append(
            {
                "rule": job.rule,
                "cost_class": key,
                "calibration": label,
                "model_key": used or "",
                "points": job_points(job.rule, job.wildcards, config),
                "gpu": int(job.rule == "fit" and uses_cuda(config, job.wildcards["model"], int(job.wildcards["d"]))),
                "wildcards": ", ".join(f"{k}={v}" for k, v in job.wildcards.items()),
                "wildcard_map": dict(job.wildcards),
            }
        )
    frame = pd.DataFrame.from_records(records)
    for column in ("seconds", "seconds_log_sd", "max_rss_mb", "max_rss_log_sd"):
        frame[column] = 0.0
    computing = ~frame["rule"].isin(TARGET_RULES)
    for used, group in frame[computing].groupby("model_key", sort=False):
        entry = dict(classes.get(used, stand_in))
        entry.setdefault("max_rss_mb", stand_in["max_rss_mb"])
        quadratic_fit = group["cost_class"].iloc[0].startswith("fit/quadratic")
        design_memory = config["quadratic"]["solver"].get("design_memory", 1.0) if quadratic_fit else None
        predicted = _predict_class(entry, classes, group, design_memory)
        frame.loc[group.index, "seconds"], frame.loc[group.index, "seconds_log_sd"] = predicted["seconds"]
        frame.loc[group.index, "max_rss_mb"], frame.loc[group.index, "max_rss_log_sd"] = predicted["max_rss_mb"]

    rows = []
    for rule, group in frame.groupby("rule", sort=False):
        seconds = group["seconds"].to_numpy()
        on_gpu = group["gpu"].to_numpy() > 0
        cpu_seconds = np.where(on_gpu, 0.0, seconds)
        total = float(cpu_seconds.sum())
        relative = float(np.sum(cpu_seconds * group["seconds_log_sd"])) / total if total > 0 else 0.0
        top = int(np.argmax(group["max_rss_mb"].to_numpy()))
        rows.append(
            {
                "rule": rule,
                "jobs": len(group),
                "core_hours": total / 3600.0,
                "core_hours_factor": math.exp(relative),
                "gpu_jobs": int(on_gpu.sum()),
                "gpu_hours": float(seconds[on_gpu].sum()) / 3600.0,
                "longest_job_hours": float(seconds.max()) / 3600.0,
                "peak_mem_mb": float(group["max_rss_mb"].max()),
                "peak_mem_factor": math.exp(float(group["max_rss_log_sd"].iloc[top])),
                "calibration": "; ".join(dict.fromkeys(group["calibration"])),
            }
        )
    jobs_table = frame.drop(columns=["points", "wildcard_map", "model_key"])
    # Costliest first; the target rule last.
    rules = pd.DataFrame(rows)
    rules = rules.sort_values(["core_hours", "jobs"], ascending=False, kind="stable", ignore_index=True)
    return Plan(jobs=jobs_table, rules=rules)


# --- SLURM resources ------------------------------------------------------------------------------

#: Smallest requests: SLURM counts time in minutes, and a job also starts Snakemake twice.
RUNTIME_FLOOR_MIN, MEM_FLOOR_MB = 3, 1000
#: Requests are the 2σ upper prediction: exp(2 log sd) times the prediction.
RESOURCE_SIGMAS = 2.0
#: Rules with one job per (d, n) point, sized per point: the fits, and the pruning of each fit.
POINT_RULES = ("fit", "prune")


def slurm_resources(plan: Plan, cost_model: Mapping[str, Any]) -> str:
    """The SLURM profile's ``set-resources`` (YAML) for the jobs of ``plan``.

    Every job asks for its 2σ upper prediction of run time and memory (at least
    RUNTIME_FLOOR_MIN minutes and MEM_FLOOR_MB MB), times ``attempt``, so a retried job gets twice,
    then three times as much. The expressions read the job's wildcards:

    * ``fit`` and ``prune`` (:data:`POINT_RULES`): memory m0 + k·n·d by (model, estimator), linear
      and exact in the wildcards; run time from a table by (model, estimator, ℓ) of
      (d, [(n, minutes), ...]): the entry of the smallest tabulated d, then n, at least the job's
      (the iteration count is not a power law in n);
    * the rules with a ``model`` and ``d``: a table by model of (d, value) pairs, the entry of the
      smallest tabulated d >= the job's (a smaller study gets at least what it needs);
    * the others: one value.
    """
    jobs = plan.jobs[~plan.jobs["rule"].isin(TARGET_RULES)].copy()
    jobs["minutes"] = jobs["seconds"] * np.exp(RESOURCE_SIGMAS * jobs["seconds_log_sd"]) / 60.0
    jobs["mem"] = jobs["max_rss_mb"] * np.exp(RESOURCE_SIGMAS * jobs["max_rss_log_sd"])
    jobs["w"] = [dict(item.split("=", 1) for item in text.split(", ")) if text else {} for text in jobs["wildcards"]]
    lines = ["set-resources:"]
    for rule, group in jobs.groupby("rule", sort=True):
        lines.append(f"  {rule}:")
        if rule in POINT_RULES:
            lines += _point_resources(group, cost_model)
        elif all("model" in w and "d" in w for w in group["w"]):
            for name, column, floor in (("mem_mb", "mem", MEM_FLOOR_MB), ("runtime", "minutes", RUNTIME_FLOOR_MIN)):
                table = {}
                for model in sorted({w["model"] for w in group["w"]}):
                    mine = group[[w["model"] == model for w in group["w"]]]
                    by_d = mine.groupby([int(w["d"]) for w in mine["w"]])[column].max()
                    table[model] = _compress([(int(d), _ceil(v, floor)) for d, v in by_d.items()])
                values = {v for pairs in table.values() for _, v in pairs}
                value = values.pop() if len(values) == 1 else _lookup(table, "wildcards.model", "int(wildcards.d)")
                lines.append(f'    {name}: "attempt * {value}"')
        else:
            lines.append(f'    mem_mb: "attempt * {_ceil(group["mem"].max(), MEM_FLOOR_MB)}"')
            lines.append(f'    runtime: "attempt * {_ceil(group["minutes"].max(), RUNTIME_FLOOR_MIN)}"')
    return "\n".join(lines) + "\n"


def _ceil(value: float, floor: int) -> int:
    """Round a request up to two significant digits, at least ``floor``."""
    if value <= floor:
        return floor
    step = 10 ** max(math.floor(math.log10(value)) - 1, 0)
    return int(math.ceil(value / step) * step)


def _compress(pairs: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Drop the entries a lookup "first size >= the job's" never needs: runs of equal values keep their last."""
    return [pair for i, pair in enumerate(pairs) if i + 1 == len(pairs) or pairs[i + 1][1] != pair[1]]


def _mapping(table: Mapping[Any, Any]) -> str:
    """A dict as a ``dict([...])`` call: Snakemake formats resource strings with str.format when it
    tries them as a duration, so a ``{`` in them fails with a KeyError (Snakemake 9.x)."""
    return "dict([" + ", ".join(f"({k!r}, {v!r})" for k, v in table.items()) + "])"


def _lookup(table: Mapping[Any, list[tuple[int, int]]], key: str, size: str, default: int | None = None) -> str:
    """Expression: in table[key] (pairs sorted by size), the value of the first size >= the job's
    (the last one beyond them); a key not in the table gets ``default`` (None: an error)."""
    pairs = f"{_mapping(table)}[{key}]" if default is None else f"{_mapping(table)}.get({key}, [(0, {default})])"
    return f"(lambda t: next((v for s, v in t if s >= {size}), t[-1][1]))({pairs})"


def _point_resources(group: pd.DataFrame, cost_model: Mapping[str, Any]) -> list[str]:
    memory = {}
    for key in sorted(set(group["cost_class"])):
        used, _ = _resolve(key, cost_model["classes"])
        fit = cost_model["classes"][used]["max_rss_mb"]
        if fit["coef"]["*"] > 0 and (fit["d_exponent"], fit["n_exponent"]) != (1.0, 1.0):
            raise InputError(
                f"the memory model of {used} must be m0 + k·n·d (exponents 1, 1) to size {key} per point; "
                f"got exponents {fit['d_exponent']}, {fit['n_exponent']}"
            )
        mine = group[group["cost_class"] == key]
        # m0 + k·n·d is exact in the wildcards; the margin is the largest 2σ factor of the jobs.
        margin = float(np.exp(RESOURCE_SIGMAS * mine["max_rss_log_sd"].max()))
        coef = float(f"{fit['coef']['*'] * margin:.3g}")
        memory["/".join(key.split("/")[1:])] = (math.ceil(fit["base"] * margin), coef)
    by_d: dict[str, dict[int, list[tuple[int, int]]]] = {}
    for w, minutes in zip(group["w"], group["minutes"], strict=True):
        key = "/".join([w["model"], w["estimator"], w["lam_exponent"]])
        by_d.setdefault(key, {}).setdefault(int(w["d"]), []).append((int(w["n"]), _ceil(minutes, RUNTIME_FLOOR_MIN)))
    runtime = {}
    for key, per_d in sorted(by_d.items()):
        tables = []
        for d, pairs in sorted(per_d.items()):
            inner = _compress(sorted(pairs))
            tables.append((d, inner if len(inner) > 1 else [(0, inner[0][1])]))
        runtime[key] = _compress(tables)
    key = "'/'.join((wildcards.model, wildcards.estimator, wildcards.lam_exponent))"
    first = "lambda t, size: next((v for s, v in t if s >= size), t[-1][1])"
    return [
        f'    mem_mb: "attempt * max({MEM_FLOOR_MB}, int((lambda m: m[0] + m[1] * int(wildcards.n) * int(wildcards.d))'
        f"({_mapping(memory)}[wildcards.model + '/' + wildcards.estimator])))\"",
        f'    runtime: "attempt * (lambda first: first(first({_mapping(runtime)}.get({key}, '
        f'[(0, [(0, {RUNTIME_FLOOR_MIN})])]), int(wildcards.d)), int(wildcards.n)))({first})"',
    ]
