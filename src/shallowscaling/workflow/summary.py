"""Which fits and SE points of a results folder are flagged not converged: the end-of-run summary.

The workflow prints :func:`summary_lines` when a run ends (``onsuccess``/``onerror`` in
``workflow/rules/common.smk``) and ``shallowscaling summary [RESULTS]`` prints it on demand. Each
fit and each SE point is counted once, from the job that computed it: the fit tables
(``results/fits/``) and the SE tables (``results/se/`` with its ``bayes/`` and ``optimal/``
subfolders, ``results/scaling/se/``). The derived tables (aggregates, spectra, pruning, exponents)
carry the same flags on. Only the ``converged`` column of each table is read, and only the tables
that exist, so that the summary takes well under a second on a study of thousands of files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

__all__ = ["MAX_LINES", "SOURCES", "ConvergenceSummary", "FileCount", "summarize", "summary_lines"]

#: (kind, folder under the results folder) of the tables counted: every fit and SE point once.
SOURCES = (("fit", "fits"), ("SE point", "se"), ("SE point", "scaling/se"))
#: Most files listed one per line; the others are counted in one more line.
MAX_LINES = 20


@dataclass(frozen=True)
class FileCount:
    """One table with at least one row flagged not converged."""

    path: str
    kind: str
    not_converged: int
    rows: int


@dataclass
class ConvergenceSummary:
    """Rows and not-converged rows per kind (``fit``, ``SE point``), and the files that hold the latter."""

    results: str
    rows: dict[str, int] = field(default_factory=dict)
    not_converged: dict[str, int] = field(default_factory=dict)
    files: list[FileCount] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        """A JSON-ready copy (``shallowscaling summary --json``)."""
        return {
            "results": self.results,
            "rows": dict(self.rows),
            "not_converged": dict(self.not_converged),
            "files": [vars(f) for f in self.files],
            "unreadable": list(self.unreadable),
        }


def _not_converged(path: Path) -> tuple[int, int] | None:
    """(not-converged rows, rows) of one table, reading its ``converged`` column only; None without one."""
    table = pq.ParquetFile(path)
    if "converged" not in table.schema_arrow.names:
        return None
    flags = table.read(columns=["converged"]).column(0).to_numpy(zero_copy_only=False)
    return int(np.count_nonzero(~flags.astype(bool))), int(flags.size)


def summarize(results: str | Path = "results") -> ConvergenceSummary:
    """Count the fits and SE points of ``results`` flagged not converged, file by file (sorted)."""
    root = Path(results)
    summary = ConvergenceSummary(results=str(root))
    for kind, folder in SOURCES:
        summary.rows.setdefault(kind, 0)
        summary.not_converged.setdefault(kind, 0)
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.parquet")):
            try:
                counts = _not_converged(path)
            except Exception:  # a table being written, or damaged: named, never fatal here
                summary.unreadable.append(str(path))
                continue
            if counts is None:
                continue
            bad, rows = counts
            summary.rows[kind] += rows
            summary.not_converged[kind] += bad
            if bad:
                summary.files.append(FileCount(str(path), kind, bad, rows))
    return summary


def _plural(kind: str, count: int) -> str:
    return kind if count == 1 else f"{kind}s"


def summary_lines(summary: ConvergenceSummary, max_lines: int = MAX_LINES) -> list[str]:
    """The printed summary: one headline, then one line per file (at most ``max_lines``, then a count)."""
    total = sum(summary.rows.values())
    if total == 0:
        lines = [f"no fit or SE table under {summary.results}/ yet"]
    elif not sum(summary.not_converged.values()):
        counts = ", ".join(f"{summary.rows[k]} {_plural(k, summary.rows[k])}" for k in summary.rows)
        lines = [f"every fit and SE point under {summary.results}/ converged ({counts})"]
    else:
        parts = []
        for kind, rows in summary.rows.items():
            files = sum(1 for f in summary.files if f.kind == kind)
            parts.append(
                f"{summary.not_converged[kind]} of {rows} {_plural(kind, rows)} ({files} {_plural('file', files)})"
            )
        lines = ["not converged: " + ", ".join(parts)]
        for entry in summary.files[:max_lines]:
            lines.append(f"  {entry.path}: {entry.not_converged} of {entry.rows} {_plural(entry.kind, entry.rows)}")
        if len(summary.files) > max_lines:
            lines.append(
                f"  ... and {len(summary.files) - max_lines} more files (`shallowscaling summary --all` lists them)"
            )
    if summary.unreadable:
        lines.append(f"  {len(summary.unreadable)} unreadable tables, e.g. {summary.unreadable[0]}")
    return lines
