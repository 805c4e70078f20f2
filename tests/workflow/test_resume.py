"""A run killed mid-way resumes with the README's plain command (`snakemake --cores 2`, no
`--unlock`, no `--rerun-incomplete`): finished jobs are kept, and the final results are
byte-identical to an uninterrupted run, with no temporary file left (README, "If a run was
killed"). The run is the sub-study behind SUBSTUDY_TARGETS, compared with the same files of the
tiny study. The default profile must leave the cluster profile's settings alone.
"""

import os
import random
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, SNAKEFILE, SUBSTUDY_TARGETS, TINY_CONFIG, output_path, snakemake_command, snakemake_env

from shallowscaling.workflow.dag import jobs
from shallowscaling.workflow.paths import RULE_OUTPUTS, fill_template
from shallowscaling.workflow.plan import study_config

# Kill moments, seconds after each start: seeded, spread over the sub-study's run (a minute or
# two on 2 busy cores; Snakemake itself needs a few seconds to start).
KILLS = 3
KILL_SEED = 18
KILL_DELAY_S = (4.0, 30.0)
FINISHED = re.compile(r"^Finished jobid: (\d+) ", flags=re.MULTILINE)
# README, "If a run was killed": the same command again.
RESUME = ("--cores", "2", *SUBSTUDY_TARGETS)


def _run_and_kill(workdir: Path, delay: float, log_name: str) -> tuple[bool, str]:
    """Start the README's command, SIGKILL its whole process group after `delay` seconds.

    Returns (whether the kill landed before the run ended, Snakemake's output).
    """
    log_path = output_path(workdir, log_name)
    with open(log_path, "w") as log:
        # Its own session, so that one killpg reaches Snakemake and every job it started.
        process = subprocess.Popen(
            snakemake_command(workdir, *RESUME),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=snakemake_env(),
            start_new_session=True,
        )
        try:
            process.wait(timeout=delay)
            killed = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            killed = True
    output = log_path.read_text()
    if not killed and process.returncode != 0:
        pytest.fail(f"the run exited {process.returncode} before the kill:\n{output[-3000:]}")
    return killed, output


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


def _substudy_files() -> set[str]:
    """Every output of the sub-study's jobs, from the study model."""
    config = study_config([TINY_CONFIG])
    return {
        fill_template(text, job.wildcards)
        for job in jobs(config, SUBSTUDY_TARGETS)
        if job.rule != "all"
        for text in RULE_OUTPUTS[job.rule].values()
    }


@pytest.mark.slow
def test_killed_runs_resume_with_the_plain_command(run_snakemake, hash_results, tiny_study, tmp_path):
    workdir = tmp_path / "work"
    workdir.mkdir()
    rng = random.Random(KILL_SEED)
    kills, finished, mtimes = 0, set(), {}
    for attempt in range(KILLS):
        killed, output = _run_and_kill(workdir, rng.uniform(*KILL_DELAY_S), f"killed{attempt}")
        kills += killed
        if attempt == 0:
            assert "Directory cannot be locked" not in output
        for path in _finished_outputs(output) - finished:
            finished.add(path)
            mtimes[path] = (workdir / path).stat().st_mtime_ns
        if not killed:
            break
    # The first kill must land mid-run for the test to tell resuming from starting over.
    assert kills >= 1, "every run finished before its kill; lower KILL_DELAY_S"

    started = time.monotonic()
    resumed = run_snakemake(workdir, *RESUME, log_name="resumed")
    assert "Directory cannot be locked" not in resumed
    redone = sorted(path for path in finished if (workdir / path).stat().st_mtime_ns != mtimes[path])
    assert not redone, f"jobs finished before a kill were run again: {redone}"
    # Every file of the resumed run has the bytes of the same file in the uninterrupted tiny study,
    # and no other file is there (a temporary file of a killed job would be one).
    made, reference = hash_results(workdir), hash_results(tiny_study)
    assert set(made) == _substudy_files(), f"resumed in {time.monotonic() - started:.0f} s"
    assert made == {path: reference.get(path) for path in made}
    locks = workdir / ".snakemake" / "locks"
    assert not locks.exists() or not list(locks.iterdir())


def test_default_profile_sets_rerun_incomplete_and_keeps_the_slurm_profile(tmp_path):
    """`profiles/default/` is loaded next to the Snakefile (from any folder), and with
    `--profile workflow/profiles/slurm` the slurm settings all still apply."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    from snakemake.cli import parse_args

    os.chdir(tmp_path)  # not the repository: the profile is found next to the Snakefile
    try:
        _, local = parse_args(["--snakefile", str(SNAKEFILE), "--cores", "2"])
        assert local.rerun_incomplete and local.cores == 2 and local.executor is None
        _, slurm = parse_args(["--snakefile", str(SNAKEFILE), "--profile", str(ROOT / "workflow/profiles/slurm")])
        _, bare = parse_args(
            ["--snakefile", str(SNAKEFILE), "--workflow-profile", "none", "--profile",
             str(ROOT / "workflow/profiles/slurm")]
        )  # fmt: skip
    finally:
        os.chdir(ROOT)
    assert slurm.rerun_incomplete
    for key in ("executor", "jobs", "cores", "retries", "latency_wait", "keep_going", "groups", "group_components"):
        assert getattr(slurm, key) == getattr(bare, key), key
    assert slurm.executor == "slurm" and slurm.jobs == 100 and slurm.cores == 1
    assert set(slurm.default_resources) == set(bare.default_resources) >= {"mem_mb", "runtime"}


@pytest.mark.slow
def test_slurm_dry_run_uses_the_slurm_profile(tmp_path):
    """`snakemake -n --profile workflow/profiles/slurm`: both profiles load, the slurm groups apply."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    workdir = tmp_path / "work"
    workdir.mkdir()
    done = subprocess.run(
        [*snakemake_command(workdir, "-n", "--profile", str(ROOT / "workflow/profiles/slurm")), "--",
         *SUBSTUDY_TARGETS],
        capture_output=True, text=True, env=snakemake_env(), timeout=600,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "workflow/profiles/slurm and workflow specific profile" in output and "profiles/default" in output
    assert "group job" in output.lower()
