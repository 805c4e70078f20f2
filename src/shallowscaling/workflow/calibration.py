"""Calibration of the cost models from the ``benchmark:`` files of finished runs
(``shallowscaling plan --calibrate BENCHMARKS``).

A benchmark file is matched to its rule by the rules' benchmark templates
(:data:`shallowscaling.workflow.study.BENCHMARKS`); its ``s`` and ``max_rss`` calibrate the cost
class of the job (:func:`~shallowscaling.workflow.costs.cost_class`) through the job's inner points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..cost_model import fit_cost_model, fit_log_profile
from ..errors import InputError
from . import study
from .costs import (
    WORK_LEVELS,
    at_level,
    constant_entry,
    cost_class,
    cost_levels,
    fit_to_dict,
    job_points,
    level_index,
    point_arrays,
    profile_to_dict,
    study_config,
    with_iterations,
)
from .study import kappa as _kappa

#: A benchmark ``max_rss`` below this (MB) is the shell seen before Python started (the sampler
#: missed a short job: 0–11 MB in the default study, against >= 100 MB for any job importing
#: NumPy); such rows keep their time but not their memory.
MIN_RSS_MB = 50.0
#: Snakemake's benchmark samples CPU time every second for this long, then every this many seconds.
BENCHMARK_DENSE_S = 30.0
#: An exponent is fitted only when the jobs span at least this many distinct values of its
#: variable over at least this ratio; otherwise it stays at the algorithm's complexity.
MIN_DISTINCT, MIN_SPAN = 3, 4.0
#: Jobs needed beyond the number of parameters before an exponent is fitted rather than fixed.
MIN_EXTRA_JOBS = 3
#: The work term must reach this fraction of the largest job's measured memory for the data to
#: resolve the memory coefficient; below it (small designs next to the interpreter's ~150 MB)
#: the coefficient of the `like` class is used.
MIN_RESOLVED_FRACTION = 0.2
#: Nodes of an iteration profile along κ: the default study has 10–12 κ per ℓ.
PROFILE_NODES = 8
COST_MODEL_DESCRIPTION = (
    "Cost models of the workflow's jobs (shallowscaling.cost_model, docs/cluster.md). seconds and max_rss_mb: "
    "base + coef[level] * W, W = sum (max for memory) over the job's inner points of mult * d**d_exponent * "
    "n**n_exponent; levels are the lam_exponent wildcard where a class has them. Fit classes have two levels: "
    "`iteration` (mult = replicates * iterations) and `setup` (mult = replicates), iterations from the profile "
    "log(iterations + 1) = P_l(kappa) + d_slope_l * log d, piecewise linear in kappa = log_d n_eff through "
    "nodes/values; classes with iterations_from (the quadratic pruning's refit, when it has no stored "
    "solution) use that class's profile and coefficients. "
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
    # The quadratic pruning (one job per sweep, as spectra) reads the fit jobs' stored eigenpairs
    # of Ŝ (no solve, no design): per n the SE, optimal-λ and Bayes references (d exponent
    # fitted), plus O(d³) per replicate (S*, overlaps; ~0.1 s at d = 800); constant memory (one
    # n's R·d² solution at a time, ~80 MB at d = 800, R = 5). Until prune benchmarks at large d
    # exist, the shipped cost model's prune/quadratic entry is hand-set from the default study.
    "prune/quadratic": {"time": (2.0, 0.0), "free": ("d",), "memory": None},
    # Diagonal pruning (one job per sweep) re-thresholds stored θ̂; SE, optimal-λ and Bayes SE per n,
    # O(d). Its memory holds one n × d design at a time (redrawn for the residual δ̂): m0 + k·n·d.
    "prune/diagonal": {"time": (1.0, 0.0), "free": (), "memory": (1.0, 1.0)},
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
#: spectra tables, figures drawn from the
#: default study's tables. Seconds to load packages.
MANUAL_COSTS = {
    "teacher": (2.7, 160.0),
    "aggregate_fig3": (3.3, 145.0),
    "aggregate_fig5": (3.3, 145.0),
    "collect_spectral_table": (2.7, 135.0),
    "figure_fig1": (13.0, 260.0),
    "figure_fig3": (13.0, 260.0),
    "figure_fig4": (13.0, 260.0),
    "figure_fig5": (13.0, 260.0),
    "figure_spectral": (13.0, 260.0),
    # The diagonal table measured at 5 s; the quadratic one is estimated (its SE thresholds are new).
    "classic_table": (60.0, 400.0),
    "figure_fig9": (13.0, 260.0),
}
MANUAL_COSTS_SOURCE = "manual: one /usr/bin/time run of the job's command (MANUAL_COSTS in workflow/calibration.py)"
#: 1σ of the log of a hand-measured cost: a single run on a loaded machine (a factor 1.65).
MANUAL_LOG_SD = 0.5


def _prior(key: str) -> dict[str, Any]:
    matches = [prefix for prefix in _PRIORS if key == prefix or key.startswith(prefix + "/")]
    return _PRIORS[max(matches, key=len)] if matches else _CONSTANT


def benchmark_patterns() -> dict[str, re.Pattern[str]]:
    """Each rule's ``benchmark:`` template (:data:`~shallowscaling.workflow.study.BENCHMARKS`) as a
    regex with named wildcards.

    The pattern matches the end of a file's path, so a ``benchmarks/`` folder or any folder
    above it can be searched.
    """
    patterns: dict[str, re.Pattern[str]] = {}
    for rule, template in study.BENCHMARKS.items():
        relative = template.removeprefix("benchmarks/")
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/_]+)", re.escape(relative))
        patterns[rule] = re.compile(rf"(?:^|/){regex}$")
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


def _measured_iterations(path: str, wildcards: Mapping[str, str]) -> pd.DataFrame | None:
    """The fit job's own table (replicate, iterations), found next to its benchmark file."""
    posix = Path(path).as_posix()
    cut = posix.rfind("/benchmarks/rules/fit/")
    if cut < 0:
        return None
    table = Path(posix[:cut]) / study.fit_point_file(wildcards, "fit")
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
    d, n, mult, owner, level = point_arrays(points)
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
        "seconds": fit_to_dict(time, list(WORK_LEVELS)),
        "iterations": profile_to_dict(profile, levels),
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
    d, n, mult, owner, level = point_arrays(kept)
    values = values[keep]
    if prior["memory"] is None:
        memory = fit_cost_model(values, d, n, mult, owner, level, n_levels=1, d_exponent=0.0, n_exponent=0.0,
                                coef=[0.0], reduce="max")  # fmt: skip
        return fit_to_dict(memory, ["*"])
    a, b = prior["memory"]
    memory = fit_cost_model(values, d, n, mult, owner, level, n_levels=1, d_exponent=a, n_exponent=b, reduce="max")
    largest = int(np.argmax(values))
    work = memory.coef[0] * float(np.max(d[owner == largest] ** a * n[owner == largest] ** b))
    if work < MIN_RESOLVED_FRACTION * values[largest] and like is not None:
        coef = list(like["max_rss_mb"]["coef"].values())
        memory = fit_cost_model(values, d, n, mult, owner, level, n_levels=1, d_exponent=a, n_exponent=b,
                                coef=coef, reduce="max")  # fmt: skip
        entry["memory_coefficient_from"] = like["key"]
    return fit_to_dict(memory, ["*"])


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
            with_iterations(like["iterations"], model, w, p)[0] for w, p in zip(wildcards, rows["points"], strict=True)
        ]
        entry["iterations_from"] = like["key"]
        seconds = like["seconds"]
        d, n, mult, owner, level = point_arrays(points)
        time = fit_cost_model(
            rows["seconds"], d, n, mult, owner, level, n_levels=len(WORK_LEVELS), d_exponent=seconds["d_exponent"],
            n_exponent=seconds["n_exponent"], coef=[seconds["coef"][k] for k in WORK_LEVELS],
        )  # fmt: skip
        entry["seconds"] = fit_to_dict(time, list(WORK_LEVELS))
    else:
        levels = cost_levels(rule, wildcards)
        points = [at_level(p, level_index(levels, w)) for w, p in zip(wildcards, rows["points"], strict=True)]
        d, n, mult, owner, level = point_arrays(points)
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
        entry["seconds"] = fit_to_dict(time, levels)
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


def _manual_entry(seconds: float, max_rss_mb: float) -> dict[str, Any]:
    return {
        "source": MANUAL_COSTS_SOURCE,
        "jobs": 1,
        "seconds": constant_entry(seconds, "sum", MANUAL_LOG_SD, "hand measurement"),
        "max_rss_mb": constant_entry(max_rss_mb, "max", MANUAL_LOG_SD, "hand measurement"),
    }
