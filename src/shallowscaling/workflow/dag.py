"""Every job of the study, walked from its targets through the rules' inputs (the study's DAG).

A file is matched to the rule that writes it by the rules' output templates
(:data:`~shallowscaling.workflow.study.RULE_OUTPUTS`, with the workflow's wildcard constraints); a
job's inputs are :func:`~shallowscaling.workflow.study.rule_inputs`, the functions the rules call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .paths import RULE_CONSTRAINTS, RULE_OUTPUTS, WILDCARD_CONSTRAINTS
from .study import all_targets, rule_inputs, source_files

__all__ = ["Job", "jobs", "match_path"]


def _pattern(text: str, constraints: Mapping[str, str]) -> re.Pattern[str]:
    parts, seen, last = [], set(), 0
    for match in re.finditer(r"\{(\w+)\}", text):
        parts.append(re.escape(text[last : match.start()]))
        name = match.group(1)
        if name in seen:
            parts.append(f"(?P={name})")
        else:
            seen.add(name)
            parts.append(f"(?P<{name}>{constraints.get(name, '.+')})")
        last = match.end()
    parts.append(re.escape(text[last:]))
    return re.compile("".join(parts))


_OUTPUT_PATTERNS = [
    (rule, _pattern(text, {**WILDCARD_CONSTRAINTS, **RULE_CONSTRAINTS.get(rule, {})}))
    for rule, outputs in RULE_OUTPUTS.items()
    for text in outputs.values()
]


def match_path(path: str) -> tuple[str, dict[str, str]]:
    """The rule that writes ``path`` and the job's wildcards (in the order of the rule's first output)."""
    found = []
    for rule, pattern in _OUTPUT_PATTERNS:
        match = pattern.fullmatch(path)
        if match is not None:
            found.append((rule, match.groupdict()))
    rules = {rule for rule, _ in found}
    if len(rules) != 1:
        raise ValueError(f"{path!r} is written by {len(rules)} rules ({sorted(rules)}); expected exactly one")
    rule, wildcards = found[0]
    first = list(_pattern(next(iter(RULE_OUTPUTS[rule].values())), {}).groupindex)
    return rule, {key: wildcards[key] for key in first}


@dataclass(frozen=True)
class Job:
    """One job of the study: its rule and wildcards (as strings, exactly as in the paths)."""

    rule: str
    wildcards: Mapping[str, str]


def jobs(config: Mapping[str, Any], targets: Sequence[str] | None = None) -> list[Job]:
    """Every job the study runs from an empty folder (``rule all`` first, then its inputs' jobs,
    breadth first), from :func:`rule_inputs`: what ``snakemake --dry-run`` lists (the study's
    source files, :func:`source_files`, have no job)."""
    out = [Job("all", {})]
    seen: set[tuple] = set()
    sources = source_files(config)
    queue = list(all_targets(config) if targets is None else targets)
    while queue:
        following = []
        for path in queue:
            if path in sources:
                continue  # read, not written: a teacher file
            rule, wildcards = match_path(path)
            key = (rule, tuple(wildcards.items()))
            if key in seen:
                continue
            seen.add(key)
            out.append(Job(rule, wildcards))
            for files in rule_inputs(config, rule, wildcards).values():
                following.extend(files)
        queue = following
    return out
