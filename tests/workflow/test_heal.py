"""A damaged results folder heals: `shallowscaling verify` finds every damaged, missing or orphaned
file; `verify --repair` then a plain `snakemake --cores 2` rebuilds exactly the jobs behind them,
byte-identical to the undamaged run (README, "If a run was killed")."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from conftest import TINY_CONFIG, job_counts, snakemake_env

from shallowscaling.workflow.plan import study_config
from shallowscaling.workflow.verify import downstream_jobs, study_graph

# Intermediates with a short downstream (a few jobs each): what the test damages.
TRUNCATED_SAME_MTIME = "results/se/diagonal/bayes/d20_gamma1_noise0.5.parquet"
TRUNCATED = "results/densities/diagonal/lasso/d40_gamma1_noise0.5_lexp-0.15.parquet"
DELETED = "results/weights/diagonal/lasso/d20_gamma1_noise0_lexp-1_n20.parquet"
ORPHAN = "results/tables/.fig3_diagonal.parquet.k1ll3d_x.parquet"


def _verify(workdir, *args: str) -> subprocess.CompletedProcess:
    """`shallowscaling verify --configfile TINY ARGS` run in `workdir` (results/ by default)."""
    return subprocess.run(
        [sys.executable, "-m", "shallowscaling", "verify", "--configfile", str(TINY_CONFIG), *args],
        cwd=workdir, capture_output=True, text=True, env=snakemake_env(), timeout=300,
    )  # fmt: skip


def _truncate(path, keep_mtime: bool) -> None:
    stat = path.stat()
    path.write_bytes(path.read_bytes()[: stat.st_size // 2])
    if keep_mtime:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


@pytest.mark.slow
def test_verify_repair_and_snakemake_restore_a_damaged_folder(run_snakemake, hash_results, tiny_study, tmp_path):
    pristine = hash_results(tiny_study)
    clean = _verify(tiny_study)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "all good" in clean.stdout

    workdir = tmp_path / "work"
    shutil.copytree(tiny_study, workdir, symlinks=True)  # results, logs and .snakemake, times kept
    _truncate(workdir / TRUNCATED_SAME_MTIME, keep_mtime=True)
    _truncate(workdir / TRUNCATED, keep_mtime=False)
    (workdir / DELETED).unlink()
    (workdir / ORPHAN).write_bytes(b"PAR1 cut short")

    found = _verify(workdir)
    assert found.returncode == 1, found.stdout + found.stderr
    text = found.stdout
    assert f"corrupt: {TRUNCATED_SAME_MTIME}: cannot be read as a Parquet table" in text
    assert f"corrupt: {TRUNCATED}: " in text and f"missing: {DELETED}: " in text and f"orphan: {ORPHAN}: " in text
    summary = text.splitlines()[-2]
    assert "2 corrupt" in summary and "1 missing" in summary and "1 orphan" in summary
    report = json.loads(_verify(workdir, "--json").stdout)
    assert not report["ok"]
    assert {(p["path"], p["kind"]) for p in report["problems"]} == {
        (TRUNCATED_SAME_MTIME, "corrupt"), (TRUNCATED, "corrupt"), (DELETED, "missing"), (ORPHAN, "orphan"),
    }  # fmt: skip

    repaired = _verify(workdir, "--repair", "--json")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    removed = set(json.loads(repaired.stdout)["removed"])
    # Exactly the outputs of the damaged files' jobs and of every job downstream of them.
    writer, readers = study_graph(study_config([TINY_CONFIG]))
    redo = downstream_jobs([writer[TRUNCATED_SAME_MTIME], writer[TRUNCATED], writer[DELETED]], readers)
    expected = {path for path, job in writer.items() if job in redo} - {DELETED} | {ORPHAN}
    assert removed == expected
    assert any(path.startswith("results/figures/") for path in removed)

    rebuilt = run_snakemake(workdir, "--cores", "2", log_name="rebuilt")
    counts = job_counts(rebuilt)
    counts.pop("all", None)
    assert sum(counts.values()) == len(redo), counts  # no other job ran
    assert hash_results(workdir) == pristine
    again = _verify(workdir)
    assert again.returncode == 0, again.stdout
