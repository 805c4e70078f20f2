"""The cost models of the workflow's jobs: their JSON file, and what each job loops over.

A job's cost class (:func:`cost_class`) names the model that predicts it; its inner points
(:func:`job_points`) are what it loops over, read from the config exactly as the rules do. The
calibrated models ship as package data, ``shallowscaling/resources/cost_model.json``
(:data:`COST_MODEL_PATH`), read by :func:`load_cost_model` and written by :func:`write_cost_model`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np

from ..config import load_config, n_grid, parse_float, se_n_grid
from ..cost_model import CostFit, ProfileFit, predict_log_profile
from ..errors import InputError
from ..tasks.exponents import check_scaling_config
from .study import kappa as _kappa
from .study import sweep_n
from .teachers import check_teacher_config

#: The study's base config: the checkout's ``config.yaml`` when the package runs from a source tree
#: (an editable install), else the ``config.yaml`` of the current folder, as for ``snakemake``
#: run from the repository root (a regular install).
_SOURCE_CONFIG = Path(__file__).resolve().parents[3] / "config.yaml"
DEFAULT_CONFIG = _SOURCE_CONFIG if _SOURCE_CONFIG.is_file() else Path("config.yaml")
#: The shipped cost model (package data).
COST_MODEL_PATH = Path(str(files("shallowscaling").joinpath("resources", "cost_model.json")))

#: Rules that only name the study's targets: Snakemake runs nothing for them.
TARGET_RULES = ("all",)
#: Rules whose cost depends on λ = d^ℓ beyond the job's size (solver iterations): one
#: coefficient (or iteration profile) per ℓ.
LEVEL_RULES = ("fit", "state_evolution", "spectra", "prune")
#: Work levels of a solve: one solver iteration, and drawing the data and setting up (once).
WORK_LEVELS = ("iteration", "setup")


def study_config(configfiles: Sequence[str | Path] = ()) -> dict[str, Any]:
    """``config.yaml`` overlaid with ``configfiles`` (as Snakemake's ``--configfile``), validated."""
    for path in configfiles:
        if not Path(path).is_file():
            raise InputError(f"`--configfile` must name an existing YAML file; got {str(path)!r} (no such file)")
    if not Path(DEFAULT_CONFIG).is_file():
        here = str(Path.cwd())
        raise InputError(f"no config.yaml in {here!r}; run from the repository root (where the Snakefile is)")
    config = load_config(DEFAULT_CONFIG, *configfiles)
    check_scaling_config(config)
    check_teacher_config(config)
    return config


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
        # One job per sweep: every n of it, each replicate's stored solution pruned.
        return [(d, n, replicates) for n in sweep_n(config, wildcards)]
    if rule == "spectra":
        return [(d, n, replicates) for n in n_grid(model, d, c["n_eff_exponent"])]
    if rule == "scaling_se":
        scaling = config["scaling"]
        diagram = "noiseless" if parse_float(wildcards["noise"]) == 0.0 else "noisy"
        grid = scaling["grid"]["kappa"]["num"] * scaling["grid"]["lam_exponent"]["num"]
        windows = len(scaling["windows"][model][diagram]) * scaling["window_points"]
        return [(d, 1, grid + windows)]
    return [(d, 1, 1)]


def cost_levels(rule: str, wildcards: Sequence[Mapping[str, str]]) -> list[str]:
    """Coefficient levels of a class: its λ = d^ℓ schedules (iteration counts differ), or one."""
    if rule in LEVEL_RULES:
        return sorted({w["lam_exponent"] for w in wildcards}, key=float)
    return ["*"]


def level_index(levels: Sequence[str], wildcards: Mapping[str, str]) -> int:
    if list(levels) == ["*"]:
        return 0
    value = wildcards.get("lam_exponent")
    return list(levels).index(value) if value in levels else -1


def point_arrays(points: Sequence[Sequence[tuple[float, float, float, int]]]):
    """Flat (d, n, mult, owner, level) arrays of the jobs' inner points ``(d, n, mult, level)``."""
    owner = np.concatenate([np.full(len(p), j) for j, p in enumerate(points)])
    flat = np.array([point for p in points for point in p], dtype=float)
    return flat[:, 0], flat[:, 1], flat[:, 2], owner, flat[:, 3].astype(int)


def at_level(points, level: int):
    return [(d, n, reps, level) for d, n, reps in points]


def with_iterations(profile, model, wildcards, points):
    """A fit's or a pruning refit's inner points: R·iterations at level 0 (one solver iteration
    each) and R at level 1 (drawing the data, setting up), iterations from the profile."""
    iterations, log_sd = _predicted_iterations(profile, model, wildcards.get("lam_exponent"), points)
    inner = []
    for (d, n, reps), it in zip(points, iterations, strict=True):
        inner += [(d, n, reps * it, 0), (d, n, reps, 1)]
    return inner, log_sd


def fit_to_dict(fit: CostFit, levels: Sequence[str]) -> dict[str, Any]:
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


def fit_from_dict(entry: Mapping[str, Any]) -> tuple[CostFit, list[str]]:
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


def profile_to_dict(fit: ProfileFit, levels: Sequence[str]) -> dict[str, Any]:
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


def _predicted_iterations(profile: Mapping[str, Any], model: str, lam_exponent: str | None, points):
    """Iterations of each inner point's solve from an iteration profile, and the largest log sd."""
    fit = _profile_from_dict(profile)
    index = level_index(profile["levels"], {"lam_exponent": lam_exponent} if lam_exponent else {})
    kappa = [_kappa(model, d, n) for d, n, _ in points]
    d = [point[0] for point in points]
    prediction = predict_log_profile(fit, kappa, d, [index] * len(points))
    iterations = np.maximum(prediction.value - 1.0, 0.0)
    return iterations, float(np.max(np.hypot(prediction.log_se, fit.rms_log_residual)))


def constant_entry(value: float, reduce: str, log_sd: float, message: str) -> dict[str, Any]:
    return {"base": value, "coef": {"*": 0.0}, "d_exponent": 0.0, "n_exponent": 0.0, "reduce": reduce,
            "free": ["log_base"], "covariance": [[log_sd**2]], "rms_log_residual": 0.0, "n_jobs": 1,
            "status": "converged", "message": message}  # fmt: skip


def load_cost_model(path: str | Path = COST_MODEL_PATH) -> dict[str, Any]:
    """Read a cost model written by :func:`write_cost_model`."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"`--cost-model` must name a cost-model JSON file; got {str(path)!r} (no such file)") from None


def write_cost_model(model: Mapping[str, Any], path: str | Path | None = None) -> None:
    """Write a cost model as indented JSON (atomically; floats to 6 significant digits).

    ``path`` None: the shipped :data:`COST_MODEL_PATH`, where it is writable (a source checkout or
    an editable install); an installed, read-only package needs an explicit path.
    """
    from ..io.parquet import atomic_path

    if path is None:
        if not os.access(COST_MODEL_PATH.parent, os.W_OK):
            raise InputError(
                f"the shipped cost model {str(COST_MODEL_PATH)!r} is not writable; give the file to write (--output)"
            )
        path = COST_MODEL_PATH

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


def resolve_class(key: str, classes: Mapping[str, Any]) -> tuple[str | None, str]:
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


def stand_in_class(classes: Mapping[str, Any]) -> dict[str, Any]:
    """A rule never calibrated: the median base time and memory, with a 1σ factor of e."""
    times = [entry["seconds"]["base"] for entry in classes.values()]
    memory = [entry["max_rss_mb"]["base"] for entry in classes.values() if "max_rss_mb" in entry]
    message = "stand-in for an uncalibrated rule"
    return {
        "seconds": constant_entry(float(np.median(times)), "sum", 1.0, message),
        "max_rss_mb": constant_entry(float(np.median(memory)), "max", 1.0, message),
    }
