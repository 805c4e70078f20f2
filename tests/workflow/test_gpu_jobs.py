"""quadratic.device: exactly the selected fits run with --device cuda and ask SLURM for one GPU."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import snakemake_command, snakemake_env

# cuda_min_d = 8 selects the tiny study's quadratic fits at d = 8 and at the tail sweep's d = 10;
# those at d = 6 and every diagonal fit (d = 20, 30) stay on the CPU.
OVERLAY = "quadratic:\n  device: {cuda_min_d: 8}\n"


def _overlay(tmp_path: Path) -> Path:
    path = tmp_path / "gpu.yaml"
    path.write_text(OVERLAY)
    return path


@pytest.mark.slow
def test_gpu_requests_and_device_flags_on_exactly_the_selected_fits(tmp_path: Path) -> None:
    command = snakemake_command(tmp_path / "work", str(_overlay(tmp_path)), "--dry-run", "--printshellcmds")
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True, env=snakemake_env())
    jobs = []
    for block in re.split(r"^rule ", done.stdout + done.stderr, flags=re.MULTILINE)[1:]:
        rule = block.split(":", 1)[0]
        fields = dict(re.findall(r"^    (\w+): (.*)$", block, flags=re.MULTILINE))  # the rule `all` has few
        wildcards = dict(re.findall(r"(\w+)=([^,\s]+)", fields.get("wildcards", "")))
        resources = dict(re.findall(r"(\w+)=([^,\s]+)", fields.get("resources", "")))
        on_device = "--device cuda" in "".join(re.findall(r"^Shell command: (.*)$", block, flags=re.MULTILINE))
        jobs.append((rule, wildcards, int(resources.get("gpu", 0)), on_device))
    fits = [job for job in jobs if job[0] == "fit"]
    # The data can tell a wrong selection apart: fits at every d, on both sides of cuda_min_d.
    assert {(w["model"], int(w["d"])) for _, w, _, _ in fits} == {
        ("diagonal", 12), ("diagonal", 20), ("diagonal", 30), ("diagonal", 40),
        ("quadratic", 6), ("quadratic", 8), ("quadratic", 10), ("quadratic", 12),
    }  # fmt: skip
    for rule, wildcards, gpus, on_device in jobs:
        selected = rule == "fit" and wildcards["model"] == "quadratic" and int(wildcards["d"]) >= 8
        assert (gpus, on_device) == ((1, True) if selected else (0, False)), (rule, wildcards)
    # d = 8: 2 ℓ × 3 n; d = 10 (tail sweep): 2 n; d = 12 (Figure 2's extra phase-III point): 1 n.
    assert sum(gpus for _, _, gpus, _ in jobs) == 9


def test_slurm_plugin_turns_the_gpu_resource_into_a_gpus_request() -> None:
    utils = pytest.importorskip("snakemake_executor_plugin_slurm.utils")

    class Resources(dict):
        __getattr__ = dict.get

    class Job:
        def __init__(self, gpu: int) -> None:
            self.resources = Resources(gpu=gpu)

    assert utils.set_gres_string(Job(1)).strip() == "--gpus=1"
    assert utils.set_gres_string(Job(0)) == ""


@pytest.mark.slow
def test_a_run_without_a_gpu_stops_before_any_job(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="without torch the check fails on the import instead")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    workdir = tmp_path / "work"
    target = "results/teachers/quadratic/d6_gamma1.parquet"  # one cheap job, never started
    command = snakemake_command(workdir, str(_overlay(tmp_path)), "--cores", "1")
    command.insert(command.index("--configfile"), target)  # targets before the --configfile list
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False, env=snakemake_env())
    assert done.returncode != 0
    message = "shallowscaling: config error: quadratic.device.cuda_min_d: 8 sends the quadratic fits at d = 8, 10"
    assert message in done.stderr
    assert "SHALLOWSCALING_SKIP_CUDA_CHECK=1" in done.stderr
    assert not (workdir / "results").exists()
