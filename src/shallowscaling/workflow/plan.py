"""Plan a study before submitting it: jobs per rule, core-hours and peak memory (``shallowscaling plan``).

The jobs are the study model's (:func:`shallowscaling.workflow.dag.jobs`): every job the
workflow runs from an empty folder, with its rule and wildcards, walked from the targets through
the same input functions the rules use (a test checks them against Snakemake's own DAG). Each
job's run time and peak memory come from the cost models of :mod:`shallowscaling.cost_model`, one
per cost class (rule, model, estimator and, for the quadratic state evolution, the route), stored
in ``shallowscaling/resources/cost_model.json`` (:mod:`.costs`).
:func:`~.calibration.calibrate_cost_model` refits them from the ``benchmark:`` files (``s``,
``max_rss``) of finished runs (``shallowscaling plan --calibrate BENCHMARKS``);
:func:`~.resources.slurm_resources` sizes the SLURM requests from them.

A job's inner points (:func:`~.costs.job_points`) are what it loops over, read from the config
exactly as the rules do: a fit job solves its point once per replicate; a state-evolution job
solves every n of the SE grid (per replicate for the diagonal ERM, whose teacher differs per
replicate); a spectra job handles every n of its sweep and replicate, and so does a prune job,
reading the fit jobs' stored solutions (no solve). So a model calibrated at 3
replicates and 30 SE points predicts a study with 5 and 40.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..config import uses_cuda
from ..cost_model import predict_cost
from . import dag
from .calibration import MANUAL_COSTS, benchmark_patterns, calibrate_cost_model, read_benchmarks
from .costs import (
    COST_MODEL_PATH,
    DEFAULT_CONFIG,
    TARGET_RULES,
    at_level,
    cost_class,
    fit_from_dict,
    job_points,
    level_index,
    load_cost_model,
    point_arrays,
    resolve_class,
    stand_in_class,
    study_config,
    with_iterations,
    write_cost_model,
)
from .resources import MEM_FLOOR_MB, RESOURCE_SIGMAS, RUNTIME_FLOOR_MIN, ceil_request, slurm_resources

__all__ = [
    "COST_MODEL_PATH",
    "DEFAULT_CONFIG",
    "MANUAL_COSTS",
    "MEM_FLOOR_MB",
    "RUNTIME_FLOOR_MIN",
    "TARGET_RULES",
    "Plan",
    "PlannedJob",
    "benchmark_patterns",
    "calibrate_cost_model",
    "cost_class",
    "dry_run_jobs",
    "estimate_plan",
    "job_points",
    "load_cost_model",
    "read_benchmarks",
    "slurm_resources",
    "study_config",
    "write_cost_model",
]

#: One job of the study: its rule and wildcards (as strings, exactly as in the paths).
PlannedJob = dag.Job

#: 1σ (log units, a factor e) added where a class has no more jobs than fitted parameters.
UNDERDETERMINED_LOG_SD = 1.0


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


def dry_run_jobs(configfiles: Sequence[str | Path] = ()) -> list[PlannedJob]:
    """Every job of the study (``config.yaml`` plus the overlays ``configfiles``) from an empty folder:
    what ``snakemake --dry-run`` would run, from the study model (no Snakemake process)."""
    return dag.jobs(study_config(configfiles))


def _streamed_memory_points(points, design_memory_gb: float, diagonal: bool = False):
    """Memory points of fits with n capped where the design stops being held in memory.

    A design larger than ``<model>.solver.design_memory`` is redrawn block by block
    (:mod:`shallowscaling.design`), so the part of the memory that grows with n·d stops at that
    budget; the calibrated model m0 + k·d·n is evaluated at the capped n. A ``diagonal`` (LASSO)
    design is streamed only with n > d (:func:`~shallowscaling.data.diagonal_design_streamed`).
    """
    capped = []
    for job in points:
        capped.append(
            [
                (d, n if diagonal and n <= d else min(n, design_memory_gb * 1e9 / (8.0 * d)), reps, level)
                for d, n, reps, level in job
            ]
        )
    return capped


def _predict_class(
    entry: Mapping[str, Any], classes: Mapping[str, Any], group: pd.DataFrame, design_memory_gb: float | None = None
):
    """Seconds, max_rss_mb and their 1σ log sd for the jobs of one class.

    ``design_memory_gb`` (quadratic and LASSO fits) caps the design's share of the memory model.
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
            inner, extra[j] = with_iterations(profile, model, w, p)
            time_points.append(inner)
    else:
        levels = list(entry["seconds"]["coef"])
        # A λ schedule never calibrated costs as much as the costliest calibrated one.
        costliest = int(np.argmax(list(entry["seconds"]["coef"].values())))
        indices = [level_index(levels, w) for w in wildcards]
        time_points = [at_level(p, costliest if k < 0 else k) for p, k in zip(points, indices, strict=True)]
    memory_points = [at_level(p, 0) for p in points]
    if design_memory_gb is not None:
        diagonal = "/diagonal/" in group["cost_class"].iloc[0]
        memory_points = _streamed_memory_points(memory_points, design_memory_gb, diagonal)
    out = {}
    for quantity, inner in (("seconds", time_points), ("max_rss_mb", memory_points)):
        fit, _ = fit_from_dict(entry[quantity])
        d, n, mult, owner, level = point_arrays(inner)
        prediction = predict_cost(fit, d, n, mult, owner, level, len(inner))
        log_sd = np.hypot(prediction.log_se, fit.rms_log_residual)
        if fit.n_jobs <= len(fit.free) and fit.message != "hand measurement":
            # As many parameters as jobs: the fit is exact and says nothing about its error.
            log_sd = np.hypot(log_sd, UNDERDETERMINED_LOG_SD)
        if quantity == "seconds":
            log_sd = np.hypot(log_sd, extra)
        out[quantity] = (prediction.value, log_sd)
    return out


def _design_memory(cost_class: str, config: Mapping[str, Any]) -> float | None:
    """GB of design a job of this class holds at most (None: all of it, or no design)."""
    if cost_class.startswith("fit/quadratic"):
        return config["quadratic"]["solver"].get("design_memory", 1.0)
    if cost_class == "fit/diagonal/lasso" or cost_class.startswith("prune/diagonal"):
        # A diagonal prune (either estimator) redraws each replicate's design for the residual
        # estimate of δ̂ under the fits' budget (the rule passes it as --design-memory), one at a time.
        return config["diagonal"]["solver"].get("design_memory", 1.0)
    # The workflow's quadratic prune reads the stored eigenpairs of Ŝ: no design.
    return None


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
    stand_in = stand_in_class(classes)
    records = []
    for job in jobs:
        key = cost_class(job.rule, job.wildcards, config)
        used, label = resolve_class(key, classes)
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
        design_memory = _design_memory(group["cost_class"].iloc[0], config)
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


# --- the rules' `resources:` callables --------------------------------------------------------------


class JobResources:
    """Each job's SLURM requests, from the cost model, for the rules' ``resources:``.

    A job asks for the 2σ upper prediction of its own run time and peak memory (rounded up to two
    significant digits, at least :data:`RUNTIME_FLOOR_MIN` minutes and :data:`MEM_FLOOR_MB` MB),
    times ``attempt``: the values ``plan --resources`` tabulates, for the job itself rather than
    the largest job of its table row. Predictions are made once per job and kept.

    Parameters
    ----------
    config : mapping
        The validated study config (the workflow's ``config``).
    cost_model : str or Path, optional
        A cost-model JSON file (default: the shipped one, ``shallowscaling/resources/cost_model.json``).
    """

    def __init__(self, config: Mapping[str, Any], cost_model: Any = None) -> None:
        self._config = config
        self._path = cost_model
        self._model: dict[str, Any] | None = None
        self._cache: dict[tuple, dict[str, int]] = {}

    def requests(self, rule: str, wildcards: Mapping[str, str]) -> dict[str, int]:
        """``{"mem_mb": ..., "runtime": ...}`` of one job at its first attempt."""
        key = (rule, tuple(sorted(wildcards.items())))
        if self._model is None:
            # The first job: predict every job of the study at once (one model evaluation per
            # cost class rather than per job).
            self._model = load_cost_model(self._path or COST_MODEL_PATH)
            self._predict([job for job in dag.jobs(self._config) if job.rule not in TARGET_RULES])
        if key not in self._cache:
            self._predict([dag.Job(rule, dict(wildcards))])  # a job outside the study's targets
        return self._cache[key]

    def _predict(self, jobs: list) -> None:
        frame = estimate_plan(jobs, self._config, self._model).jobs
        minutes = frame["seconds"] * np.exp(RESOURCE_SIGMAS * frame["seconds_log_sd"]) / 60.0
        memory = frame["max_rss_mb"] * np.exp(RESOURCE_SIGMAS * frame["max_rss_log_sd"])
        for job, m, t in zip(jobs, memory, minutes, strict=True):
            key = (job.rule, tuple(sorted(job.wildcards.items())))
            self._cache[key] = {"mem_mb": ceil_request(m, MEM_FLOOR_MB), "runtime": ceil_request(t, RUNTIME_FLOOR_MIN)}

    def resource(self, rule: str, name: str):
        """The callable ``(wildcards, attempt) -> int`` of resource ``name`` (mem_mb, runtime) of ``rule``."""

        def request(wildcards, attempt: int) -> int:
            return attempt * self.requests(rule, dict(wildcards.items()))[name]

        request.__name__ = f"{rule}_{name}"
        return request
