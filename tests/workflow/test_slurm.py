"""Jobs of the tiny study run through SLURM give the same bytes as the local run.

Needs the one-node test cluster (docs/cluster.md, "The test cluster"):
    bash .ci/slurm/start-cluster.sh /tmp/slurm && source /tmp/slurm/env.sh && pytest -m slurm
Skipped, saying so, when no SLURM node is reachable.
"""

import importlib.util
import math
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import SUBSTUDY_TARGETS, job_counts

PROFILE = Path(__file__).resolve().parents[2] / "workflow" / "profiles" / "slurm-local"
# The sub-study takes 1–3 minutes through SLURM on 2 CPUs; past this it is stuck (a job pending
# forever, a lost status).
SLURM_TIMEOUT_S = 420
START_HINT = "start it with `bash .ci/slurm/start-cluster.sh /tmp/slurm && source /tmp/slurm/env.sh`"


def _slurm_unreachable_reason() -> str | None:
    """Why the test cluster cannot run jobs, or None when a node is up and free."""
    if shutil.which("sinfo") is None:
        return f"`sinfo` is not on PATH (no SLURM client); {START_HINT}"
    try:
        probe = subprocess.run(
            ["sinfo", "--noheader", "--Node", "--format=%t"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`sinfo` did not answer within 15 s; {START_HINT}"
    states = probe.stdout.split()
    if probe.returncode != 0 or not {"idle", "mix"} & set(states):
        detail = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else f"node states {states}"
        return f"no idle SLURM node ({detail}); {START_HINT}"
    return None


def _slurm_states(slurm_ids: list[str]) -> dict[str, str]:
    """SLURM's own record of the jobs: {job id: state}. Finished jobs stay listed MinJobAge=600 s."""
    listing = subprocess.run(
        ["squeue", "--noheader", "--states=all", f"--jobs={','.join(slurm_ids)}", "--format=%i %T"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    return dict(line.split() for line in listing.splitlines())


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Skip (before the local reference run is paid for) when no SLURM node can take jobs."""
    reason = _slurm_unreachable_reason()
    if reason is not None:
        pytest.skip(f"SLURM not reachable: {reason}")
    # The cluster is up, so the test is meant to run: a missing plugin is an install error.
    assert importlib.util.find_spec("snakemake_executor_plugin_slurm") is not None, (
        'SLURM is up but snakemake-executor-plugin-slurm is not installed: pip install -e ".[slurm]"'
    )


@pytest.mark.slow
@pytest.mark.slurm
def test_jobs_through_slurm_match_local_run(slurm_cluster, run_snakemake, hash_results, tiny_study, tmp_path):
    reference = hash_results(tiny_study)
    assert set(SUBSTUDY_TARGETS) <= set(reference), f"the tiny study no longer makes {SUBSTUDY_TARGETS}"

    # Each SLURM job starts Snakemake twice (job script, then srun), seconds of CPU on the 2-CPU
    # test node. So, as docs/cluster.md advises for small jobs (pitfall 6), the rule with the most
    # jobs goes as two group jobs; the others go as plain jobs: both kinds of submission are tested.
    workdir = tmp_path / "work"
    plan = job_counts(run_snakemake(workdir, "--dry-run", *SUBSTUDY_TARGETS, log_name="plan"))
    busiest = max(plan, key=plan.__getitem__)
    groups = ("--groups", f"{busiest}=batch", "--group-components", f"batch={math.ceil(plan[busiest] / 2)}")
    # Targets after a one-value option: --groups and --group-components would swallow them.
    output = run_snakemake(
        workdir, *groups, "--profile", str(PROFILE), *SUBSTUDY_TARGETS, log_name="slurm", timeout=SLURM_TIMEOUT_S
    )

    # Snakemake job id (a number, or a uuid for a group job) -> SLURM job id, from the plugin's log.
    submitted = dict(re.findall(r"^Job (\S+) has been submitted with SLURM jobid (\d+)", output, re.MULTILINE))
    finished = dict(re.findall(r"^Finished jobid: (\d+) \(Rule: (\w+)\)", output, re.MULTILINE))
    assert sorted(finished.values()) == sorted(rule for rule, count in plan.items() for _ in range(count))
    local_rules = set(re.findall(r"^localrule (\w+):", output, re.MULTILINE))
    plain = {job: rule for job, rule in finished.items() if rule != busiest and rule not in local_rules}
    missing = {job: rule for job, rule in plain.items() if job not in submitted}
    assert not missing, f"jobs finished without a SLURM job id: {missing}"
    group_jobs = [job for job in submitted if not job.isdigit()]
    assert len(group_jobs) == 2, f"{busiest} was not submitted as two SLURM group jobs: {group_jobs}"
    assert len(set(submitted.values())) == len(submitted), "two jobs share a SLURM job id"
    # SLURM itself ran each of them to the end.
    states = _slurm_states(list(submitted.values()))
    assert states == dict.fromkeys(submitted.values(), "COMPLETED"), states

    # Same inputs, seeds and code: every Parquet table and figure matches the local run's bytes.
    through_slurm = hash_results(workdir)
    assert set(SUBSTUDY_TARGETS) <= set(through_slurm)
    assert set(through_slurm) <= set(reference), sorted(set(through_slurm) - set(reference))
    differing = [path for path in through_slurm if through_slurm[path] != reference[path]]
    assert not differing, f"files differ between the local and the SLURM run: {differing}"
