"""Check a results folder against the study model, and remove what is damaged with its downstream.

:func:`verify_results` lists every output the study expects (the jobs of :func:`dag.jobs` and the
rules' output templates), and every other file under the folder, and checks each:

* a table (``.parquet``) opens, matches its content checksum (:func:`io.parquet.check_table`) and
  has the columns the jobs reading it need (:data:`REQUIRED_COLUMNS`);
* a figure is complete (a PDF ends with ``%%EOF``, a PNG with its ``IEND`` chunk);
* an expected file that is absent is missing;
* a temporary file of a killed writer (``.NAME.XXXXXXXX.ext``) is an orphan.

:func:`repair_results` removes the file of each problem and, for a file the study expects, every
other output of the job that writes it and every output of the jobs downstream of that job
(transitively, through :func:`study.rule_inputs`, figures included): Snakemake then reruns
exactly those jobs, and nothing else is left to make it rerun more. A *missing* file gets the
same treatment, because Snakemake does not rebuild a missing intermediate whose downstream
outputs exist and are newer. A table that is not the study's is checked (it opens, its checksum
if it has one, its columns if its name is a rule's output) but never reported for having no
checksum: it may be the user's own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..io.parquet import CorruptTableError, check_table, orphaned_temp_files
from ..io.weights import WEIGHTS_COLUMNS
from .dag import Job, jobs, match_path
from .paths import PATHS, RULE_OUTPUTS, fill_template
from .study import rule_inputs

__all__ = [
    "REQUIRED_COLUMNS",
    "Problem",
    "Report",
    "downstream_jobs",
    "job_key",
    "repair_results",
    "study_graph",
    "verify_results",
]

_POINT = ("model", "d", "gamma", "noise")
_RISK = ("model", "estimator", "d", "n_eff", "lam_exponent", "excess_risk", "converged")
#: Columns the jobs reading each table need, by ``PATHS`` key (``docs/data.md``): the columns
#: that name a row (model, sizes, parameters) and the values read from it.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "teacher": ("replicate", "index"),
    "fit": (*_POINT, "estimator", "n", "replicate", "lam", "excess_risk", "converged", "status"),
    "weights": WEIGHTS_COLUMNS,
    "solution": ("replicate", "component", "eigenvalue", "eigenvector"),
    "se": (*_POINT, "lam", "n", "n_eff", "excess_risk", "converged"),
    "bayes": (*_POINT, "n", "n_eff", "excess_risk", "converged"),
    "optimal": (*_POINT, "n", "n_eff", "optimal_lam", "excess_risk", "converged"),
    "spectra": (*_RISK, "phase", "bulk_edge"),
    "density": ("model", "estimator", "d", "kind", "x", "density"),
    "pruning": (*_RISK, "pruned_se_excess_risk", "cleaned_se_excess_risk"),
    "scaling_se": (*_POINT, "kappa", "lam_exponent", "excess_risk", "converged"),
    "heatmap": ("model", "gamma", "noise", "kappa", "lam_exponent", "phase", "se_exponent"),
    "exponents": ("model", "gamma", "noise", "variable", "se_exponent", "sim_exponent"),
}
#: The aggregated tables (``PATHS["table"]``), by their {table} name: as their sources, or their own.
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "fig3": (*_RISK[:-1], "source", "n_replicates"),
    "fig5": (*_RISK[:-1], "source", "n_replicates"),
    "fig2": REQUIRED_COLUMNS["density"],
    "spectra": REQUIRED_COLUMNS["spectra"],
    "pruning": REQUIRED_COLUMNS["pruning"],
}
#: Extra columns of a teacher table, by model (as ``shallowscaling.cli`` checks them).
TEACHER_COLUMNS = {"diagonal": ("theta_star", "variance"), "quadratic": ("eigenvalue",)}

_KEYS = {text: key for key, text in PATHS.items()}

#: Problem kinds: what is wrong with a file.
KINDS = ("missing", "corrupt", "schema", "no-checksum", "incomplete", "orphan")


@dataclass(frozen=True)
class Problem:
    """One file that is wrong: ``path`` relative to the study folder (``results/...``)."""

    path: str
    kind: str
    reason: str
    expected: bool = True


@dataclass
class Report:
    """What :func:`verify_results` found (and :func:`repair_results` removed)."""

    checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _outputs(job: Job) -> list[str]:
    return [fill_template(text, job.wildcards) for text in RULE_OUTPUTS[job.rule].values()]


def _path_key(job: Job, path: str) -> str | None:
    """The ``PATHS`` key of the output ``path`` of ``job`` (``table`` for the aggregated tables)."""
    for text in RULE_OUTPUTS[job.rule].values():
        if fill_template(text, job.wildcards) == path:
            return _KEYS.get(text, "table" if text.startswith("results/tables/") else None)
    return None


JobKey = tuple[str, tuple[tuple[str, str], ...]]


def job_key(job: Job) -> JobKey:
    """A hashable name of a job: its rule and its wildcards."""
    return job.rule, tuple(job.wildcards.items())


def study_graph(config: Mapping[str, Any]) -> tuple[dict[str, Job], dict[JobKey, list[Job]]]:
    """(output path → the job writing it, job key → the jobs reading any of its outputs)."""
    writer: dict[str, Job] = {}
    study_jobs = [job for job in jobs(config) if job.rule != "all"]
    for job in study_jobs:
        for path in _outputs(job):
            writer[path] = job
    readers: dict[JobKey, list[Job]] = {job_key(job): [] for job in study_jobs}
    for job in study_jobs:
        for files in rule_inputs(config, job.rule, job.wildcards).values():
            for path in files:
                upstream = writer.get(path)
                if upstream is not None and job not in readers[job_key(upstream)]:
                    readers[job_key(upstream)].append(job)
    return writer, readers


def _location(results: Path, path: str) -> Path:
    return results / Path(path).relative_to("results")


def _check_figure(file: Path) -> str | None:
    data = file.read_bytes()
    if file.suffix == ".pdf" and (not data.startswith(b"%PDF") or b"%%EOF" not in data[-1024:]):
        return "not a complete PDF (no %PDF header or no %%EOF at its end)"
    if file.suffix == ".png" and (not data.startswith(b"\x89PNG\r\n\x1a\n") or not data.endswith(b"IEND\xaeB`\x82")):
        return "not a complete PNG (no signature or no IEND chunk at its end)"
    return None


def _check_table(file: Path, key: str | None, model: str | None) -> tuple[str, str] | None:
    try:
        table, has_checksum = check_table(file)
    except CorruptTableError as error:
        return "corrupt", str(error).split("; run `shallowscaling verify")[0].removeprefix(f"{file}: ")
    required = list(REQUIRED_COLUMNS.get(key or "", ()))
    if key == "table":
        required = list(TABLE_COLUMNS.get(file.stem.split("_")[0], ()))
    if key == "teacher" and model in TEACHER_COLUMNS:
        required += TEACHER_COLUMNS[model]
    missing = [name for name in required if name not in table.column_names]
    if missing:
        return "schema", f"no column {', '.join(missing)} (a {key} table needs them)"
    if not has_checksum:
        return "no-checksum", "no content checksum (written by another program or an older shallowscaling)"
    return None


def verify_results(results: str | Path, config: Mapping[str, Any]) -> Report:
    """Check every file the study expects under ``results`` and every other file there."""
    results = Path(results)
    writer, _ = study_graph(config)
    report = Report()
    for path, job in writer.items():
        file = _location(results, path)
        report.checked += 1
        if not file.is_file():
            report.problems.append(Problem(path, "missing", "expected by the study, not there"))
            continue
        found = _inspect(file, path, job)
        if found is not None:
            report.problems.append(Problem(path, *found))
    expected = set(writer)
    for file in sorted(results.rglob("*")) if results.is_dir() else []:
        path = str(Path("results") / file.relative_to(results))
        if path in expected or not file.is_file() or file.name.startswith("."):
            continue
        report.checked += 1
        job = _extra_job(path)
        found = _inspect(file, path, job)
        # An extra file without a checksum may be the user's own: reported only when damaged.
        if found is not None and found[0] != "no-checksum":
            report.problems.append(Problem(path, *found, expected=False))
    for orphan in orphaned_temp_files(results) if results.is_dir() else []:
        path = str(Path("results") / orphan.relative_to(results))
        report.problems.append(Problem(path, "orphan", "temporary file of a killed writer", expected=False))
    return report


def _extra_job(path: str) -> Job | None:
    try:
        rule, wildcards = match_path(path)
    except ValueError:
        return None
    return Job(rule, wildcards)


def _inspect(file: Path, path: str, job: Job | None) -> tuple[str, str] | None:
    if file.suffix == ".parquet":
        key = _path_key(job, path) if job is not None else None
        return _check_table(file, key, (job.wildcards.get("model") if job is not None else None))
    if file.suffix in (".pdf", ".png"):
        reason = _check_figure(file)
        return None if reason is None else ("incomplete", reason)
    if file.stat().st_size == 0 and job is not None:
        return "incomplete", "empty file"
    return None


def downstream_jobs(starts: Iterable[Job], readers: Mapping[JobKey, list[Job]]) -> list[Job]:
    """``starts`` and every job reading their outputs, transitively (each once, in visiting order)."""
    seen: dict[JobKey, Job] = {}
    queue = list(starts)
    while queue:
        job = queue.pop(0)
        if job_key(job) in seen:
            continue
        seen[job_key(job)] = job
        queue.extend(readers.get(job_key(job), []))
    return list(seen.values())


def repair_results(results: str | Path, config: Mapping[str, Any], report: Report) -> list[str]:
    """Remove every file of ``report.problems`` and, for the study's files, every output of the job
    writing it and of the jobs downstream of that job. Returns the removed paths (``results/...``)."""
    results = Path(results)
    writer, readers = study_graph(config)
    doomed: list[str] = []
    starts = [writer[p.path] for p in report.problems if p.path in writer]
    for job in downstream_jobs(starts, readers):
        doomed.extend(_outputs(job))
    doomed.extend(p.path for p in report.problems if p.path not in writer)
    removed = []
    for path in dict.fromkeys(doomed):
        file = _location(results, path)
        if file.is_file() or file.is_symlink():
            file.unlink()
            removed.append(path)
    report.removed = removed
    return removed
