"""End-to-end: the tiny study runs, is incremental, deterministic, and refuses bad config."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import TINY_CONFIG, snakemake_command, snakemake_env


def _job_counts(output: str) -> dict[str, int]:
    """Parse Snakemake's "Job stats" table: {rule: count}."""
    counts: dict[str, int] = {}
    block = output.split("Job stats:", 1)[-1]
    for line in block.splitlines()[3:]:
        match = re.match(r"^(\S+)\s+(\d+)\s*$", line)
        if not match:
            break
        if match.group(1) != "total":
            counts[match.group(1)] = int(match.group(2))
    return counts


@pytest.mark.slow
def test_tiny_study_builds_every_figure_and_flags_convergence(tiny_study: Path) -> None:
    for model in ("diagonal", "quadratic"):
        for ext in ("pdf", "png"):
            assert (tiny_study / "results" / "figures" / f"fig3_{model}.{ext}").stat().st_size > 1000
        table = pd.read_parquet(tiny_study / "results" / "tables" / f"fig3_{model}.parquet")
        assert set(table["source"]) == {"simulation", "se"}
        # Every SE point carries its residual; every simulated point its convergence count.
        se = table[table["source"] == "se"]
        assert se["fixed_point_residual"].notna().all()
        assert (table["n_converged"] <= table["n_replicates"]).all()


@pytest.mark.slow
def test_second_run_has_nothing_to_do(tiny_study: Path, run_snakemake) -> None:
    output = run_snakemake(tiny_study, "--cores", "2", "--dry-run", log_name="again")
    assert "Nothing to be done" in output


@pytest.mark.slow
def test_adding_a_lambda_runs_only_the_new_jobs(tiny_study: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(tiny_study, work, symlinks=True)  # copy2 keeps mtimes: the copy is up to date
    overlay = yaml.safe_load(TINY_CONFIG.read_text())
    overlay["diagonal"]["lam_exponent"] = [*overlay["diagonal"]["lam_exponent"], 0.0]
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump(overlay))
    command = snakemake_command(work, "--cores", "2", "--dry-run")
    command += ["--configfile", str(extra)]
    output = subprocess.run(command, capture_output=True, text=True, env=snakemake_env(), check=True).stdout
    counts = _job_counts(output)
    d_values, n_values = overlay["diagonal"]["d"], overlay["diagonal"]["n_eff_exponent"]["num"]
    # One new λ: a fit per (d, n), an SE job per d, then the diagonal aggregation and figure;
    # a spectra job per d, the diagonal spectra table and the two figures drawn from it (6, 7).
    # Pruning and Figure 2 use the weak/strong schedules only: they do not rerun.
    assert counts == {
        "fit": len(d_values) * n_values,
        "state_evolution": len(d_values),
        "aggregate_fig3": 1,
        "figure_fig3": 1,
        "spectra": len(d_values),
        "collect_spectral_table": 1,
        "figure_spectral": 2,
        "all": 1,
    }


@pytest.mark.slow
def test_bad_config_fails_before_any_job(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("diagonal:\n  gamma: [0.4]\n")
    work = tmp_path / "work"
    work.mkdir()
    completed = subprocess.run(
        [*snakemake_command(work, "--cores", "1"), "--configfile", str(bad)],
        capture_output=True, text=True, env=snakemake_env(), check=False,
    )  # fmt: skip
    assert completed.returncode != 0
    message = completed.stdout + completed.stderr
    assert "diagonal.gamma[0]" in message and "0.4" in message and "> 0.5" in message
    assert not (work / "results").exists()
