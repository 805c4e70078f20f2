"""benchmarks/gpu_check.py: its help without torch, and its CPU path at a tiny size (seconds)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"

# Runs the script as __main__ with torch unimportable (a None entry in sys.modules makes
# `import torch` raise ImportError), as on a machine without the torch extra.
WITHOUT_TORCH = (
    "import runpy, sys; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; "
    "runpy.run_path(sys.argv[0], run_name='__main__')"
)


def _without_torch(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", WITHOUT_TORCH, str(SCRIPT), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_help_and_usage_errors_need_no_torch() -> None:
    done = _without_torch("--help")
    assert done.returncode == 0, done.stderr
    for flag in ("--device", "--sizes", "--max-iter", "--json"):
        assert flag in done.stdout
    done = _without_torch("--max-iter", "1")
    assert done.returncode == 2
    assert "--max-iter must be >= 2" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("torch") is None, reason="the CPU path runs the torch backend: torch not installed"
)
def test_cpu_path_agrees_with_numpy_and_times_the_capped_fits(tmp_path: Path) -> None:
    output = tmp_path / "check.json"
    command = [sys.executable, str(SCRIPT), "--device", "cpu", "--sizes", "8", "10", "--agreement-d", "10"]
    command += ["--max-iter", "5", "--json", str(output)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    record = json.loads(output.read_text())
    agreement = record["agreement"]
    # torch on the CPU against NumPy: the same float64 iteration, rounding apart (~1e-16 measured).
    assert agreement["relative_difference"] <= 1e-10
    assert agreement["converged"] == [True, True]
    assert agreement["iterations_numpy"] == agreement["iterations_device"]
    # n = d^2.2 rounded: 8^2.2 = 97.0, 10^2.2 = 158.5.
    assert [size["n"] for size in record["sizes"]] == [97, 158]
    for size in record["sizes"]:
        # tol 1e-12 is out of reach in 5 iterations, so both caps are hit and the time per
        # iteration is the difference of the two wall times over 4 iterations.
        assert [run["iterations"] for run in size["runs"]] == [1, 5]
        assert [run["status"] for run in size["runs"]] == ["max_iter", "max_iter"]
        expected = (size["runs"][1]["seconds"] - size["runs"][0]["seconds"]) / 4
        assert size["seconds_per_iteration"] == pytest.approx(expected)
        assert size["peak_device_gb"] is None
    assert "(a) agreement d=10" in done.stdout
    assert done.stdout.count("(b) d=") == 2


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch to ask it for a GPU")
def test_cuda_without_a_gpu_exits_2_in_one_line(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    command = [sys.executable, str(SCRIPT), "--device", "cuda", "--json", str(tmp_path / "x.json")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "gpu_check.py: error: --device cuda needs a CUDA GPU; none is available"
    ]
    assert not (tmp_path / "x.json").exists()
