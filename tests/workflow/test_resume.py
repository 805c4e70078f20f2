"""A run killed mid-way resumes with `--rerun-incomplete`: finished jobs are kept, and the final
results are byte-identical to an uninterrupted run (docs/cluster.md, "Resume after a failure").
The run is the sub-study behind SUBSTUDY_TARGETS, compared with the same files of the tiny study.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SUBSTUDY_TARGETS, output_path, snakemake_command, snakemake_env, tail

# The first job of the tiny study ends within seconds; waiting longer means it is stuck.
FIRST_JOBS_TIMEOUT_S = 120
# Kill once this many jobs have finished: a few first-stage outputs done, most of the ~24 not.
KILL_AFTER_JOBS = 3
FINISHED = re.compile(r"^Finished jobid: (\d+) ", flags=re.MULTILINE)


def _kill_after_first_jobs(workdir: Path) -> str:
    """Start the sub-study, SIGKILL its process group once KILL_AFTER_JOBS jobs have finished.

    Returns Snakemake's output up to the kill.
    """
    workdir.mkdir(parents=True)
    log_path = output_path(workdir, "killed")
    with open(log_path, "w") as log:
        # Its own session, so that one killpg reaches Snakemake and every job it started.
        process = subprocess.Popen(
            snakemake_command(workdir, "--cores", "2", *SUBSTUDY_TARGETS),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=snakemake_env(),
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + FIRST_JOBS_TIMEOUT_S
            while len(FINISHED.findall(log_path.read_text())) < KILL_AFTER_JOBS:
                if process.poll() is not None:
                    pytest.fail(f"the run ended (exit {process.returncode}) before the kill:\n{tail(log_path)}")
                if time.monotonic() > deadline:
                    pytest.fail(f"not {KILL_AFTER_JOBS} jobs done in {FIRST_JOBS_TIMEOUT_S} s:\n{tail(log_path)}")
                time.sleep(0.05)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return log_path.read_text()


def _finished_outputs(output: str) -> set[str]:
    """Output files of the jobs that Snakemake reported as finished ("Finished jobid: N").

    Each job is announced as a block: `rule NAME:` (or `localrule NAME:`), then indented
    `output: a, b` and `jobid: N` lines.
    """
    outputs: dict[str, list[str]] = {}
    current: list[str] = []
    for line in output.splitlines():
        if re.match(r"^(local)?rule \w+:$", line):
            current = []
        elif line.startswith("    output: "):
            current = line.removeprefix("    output: ").split(", ")
        elif line.startswith("    jobid: "):
            outputs[line.removeprefix("    jobid: ")] = current
    return {path for jobid in FINISHED.findall(output) for path in outputs[jobid]}


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_finished_jobs(run_snakemake, hash_results, tiny_study, tmp_path):
    workdir = tmp_path / "work"
    finished = _finished_outputs(_kill_after_first_jobs(workdir))
    # The kill must land mid-run for the test to tell resuming from starting over.
    assert finished, "no job with outputs had finished before the kill"
    assert not set(SUBSTUDY_TARGETS) & finished, "the run had finished before the kill"
    mtimes = {path: (workdir / path).stat().st_mtime_ns for path in finished}

    # SIGKILL left Snakemake's lock behind; --unlock is the documented way to clear it.
    run_snakemake(workdir, "--unlock", log_name="unlock")
    resumed = run_snakemake(workdir, "--cores", "2", "--rerun-incomplete", *SUBSTUDY_TARGETS, log_name="resumed")

    redone = sorted(path for path in finished if (workdir / path).stat().st_mtime_ns != mtimes[path])
    assert not redone, f"jobs finished before the kill were run again: {redone}"
    assert FINISHED.search(resumed), "the resumed run did no work"
    # Every file of the resumed run has the bytes of the same file in the uninterrupted tiny study.
    made, reference = hash_results(workdir), hash_results(tiny_study)
    assert set(SUBSTUDY_TARGETS) <= set(made)
    assert made == {path: reference.get(path) for path in made}
