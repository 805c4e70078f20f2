"""Fixtures for the workflow tests: run Snakemake on the tiny study and hash its results.

The tiny study (tests/configs/tiny.yaml) runs once per session locally (`tiny_study`); the other
workflow tests compare their own runs against it, file by file, and must not write into it.
Every run follows the workflow's contract: `snakemake -s ROOT/Snakefile --directory WORKDIR
--configfile ROOT/tests/configs/tiny.yaml ...`, outputs under WORKDIR/results.
"""

import hashlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SNAKEFILE = ROOT / "Snakefile"
TINY_CONFIG = ROOT / "tests" / "configs" / "tiny.yaml"
# One figure of the tiny study and the jobs it needs (teachers, fits, state evolution, its table):
# about a fifth of the study, for the tests that run it again (through SLURM, killed and resumed).
SUBSTUDY_TARGETS = ("results/figures/fig3_diagonal.pdf", "results/figures/fig3_diagonal.png")
# The tiny study takes a few minutes on 2 busy cores; a run still going after this is stuck.
LOCAL_TIMEOUT_S = 900
# Seconds Snakemake gets after Ctrl-C to cancel its SLURM jobs and remove incomplete outputs.
STOP_GRACE_S = 30


def snakemake_command(workdir: Path, *args: str) -> list[str]:
    """The contract's command line for `workdir` and the tiny overlay, then `args`."""
    return [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(SNAKEFILE),
        "--directory",
        str(workdir),
        "--configfile",
        str(TINY_CONFIG),
        *args,
    ]


def snakemake_env() -> dict[str, str]:
    """The caller's environment with one BLAS thread: parallelism comes from Snakemake jobs."""
    return {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def output_path(workdir: Path, log_name: str) -> Path:
    """Where a run's combined stdout and stderr go: next to `workdir`, not inside it."""
    return workdir.parent / f"{workdir.name}.{log_name}.out"


def tail(path: Path, lines: int = 40) -> str:
    """The last `lines` lines of a run's output, for failure messages."""
    return "\n".join(path.read_text().splitlines()[-lines:])


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's "Job stats" table in `output` (its first one): {rule: number of jobs}."""
    counts: dict[str, int] = {}
    for line in output.split("Job stats:", 1)[-1].splitlines()[3:]:
        match = re.match(r"^(\S+)\s+(\d+)\s*$", line)
        if match is None:
            break
        if match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


def _run_snakemake(workdir: Path, *args: str, timeout: float = LOCAL_TIMEOUT_S, log_name: str = "run") -> str:
    """Run Snakemake to completion and return its combined output.

    Fails the test, quoting the output's last lines, when Snakemake exits non-zero or is still
    running after `timeout` seconds; then it is stopped with every job it started.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = output_path(workdir, log_name)
    with open(log_path, "w") as log:
        # Its own process group, so that a timeout stops the jobs too, not only Snakemake.
        process = subprocess.Popen(
            snakemake_command(workdir, *args),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=snakemake_env(),
            start_new_session=True,
        )
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process)
            pytest.fail(f"snakemake {' '.join(args)} ran over {timeout:.0f} s:\n{tail(log_path)}")
    if returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} exited {returncode}:\n{tail(log_path)}")
    return log_path.read_text()


def _stop(process: subprocess.Popen) -> None:
    """Interrupt a Snakemake process group (Snakemake then cancels its SLURM jobs), then kill it."""
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _hash_results(workdir: Path) -> dict[str, str]:
    """SHA-256 of every file under workdir/results, keyed by its path relative to workdir."""
    return {
        str(path.relative_to(workdir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((workdir / "results").rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="session")
def run_snakemake() -> Callable[..., str]:
    """`run_snakemake(workdir, *args, timeout=300, log_name="run")` -> Snakemake's output."""
    return _run_snakemake


@pytest.fixture(scope="session")
def hash_results() -> Callable[[Path], dict[str, str]]:
    """`hash_results(workdir)` -> {"results/...": sha256} for every file under results/."""
    return _hash_results


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Working directory of one uninterrupted local run of the tiny study (`--cores 2`)."""
    workdir = tmp_path_factory.mktemp("tiny_local") / "work"
    _run_snakemake(workdir, "--cores", "2", log_name="local")
    return workdir
