"""SLURM resources of the workflow's jobs from the cost models.

:func:`slurm_resources` prints a profile's ``set-resources`` block for a study's plan
(``shallowscaling plan --resources``); :func:`ceil_request` rounds a prediction into a request, as
the rules' ``resources:`` callables (:class:`shallowscaling.workflow.plan.JobResources`) do.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputError
from .costs import TARGET_RULES, resolve_class

#: Smallest requests: SLURM counts time in minutes, and a job also starts Snakemake twice.
RUNTIME_FLOOR_MIN, MEM_FLOOR_MB = 3, 1000
#: Requests are the 2σ upper prediction: exp(2 log sd) times the prediction.
RESOURCE_SIGMAS = 2.0
#: Rules with one job per (d, n) point, sized per point: the fits.
POINT_RULES = ("fit",)


def slurm_resources(plan: Any, cost_model: Mapping[str, Any]) -> str:
    """The SLURM profile's ``set-resources`` (YAML) for the jobs of ``plan``.

    Every job asks for its 2σ upper prediction of run time and memory (at least
    RUNTIME_FLOOR_MIN minutes and MEM_FLOOR_MB MB), times ``attempt``, so a retried job gets twice,
    then three times as much. The expressions read the job's wildcards:

    * ``fit`` (:data:`POINT_RULES`): memory m0 + k·n·d by (model, estimator), linear
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
                    table[model] = _compress([(int(d), ceil_request(v, floor)) for d, v in by_d.items()])
                values = {v for pairs in table.values() for _, v in pairs}
                value = values.pop() if len(values) == 1 else _lookup(table, "wildcards.model", "int(wildcards.d)")
                lines.append(f'    {name}: "attempt * {value}"')
        else:
            lines.append(f'    mem_mb: "attempt * {ceil_request(group["mem"].max(), MEM_FLOOR_MB)}"')
            lines.append(f'    runtime: "attempt * {ceil_request(group["minutes"].max(), RUNTIME_FLOOR_MIN)}"')
    return "\n".join(lines) + "\n"


def ceil_request(value: float, floor: int) -> int:
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
        used, _ = resolve_class(key, cost_model["classes"])
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
        request = ceil_request(minutes, RUNTIME_FLOOR_MIN)
        by_d.setdefault(key, {}).setdefault(int(w["d"]), []).append((int(w["n"]), request))
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
