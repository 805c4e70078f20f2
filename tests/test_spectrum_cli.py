"""`shallowscaling spectrum FILE`: good files give the HT-SR diagnostics, bad files exit 2 cleanly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shallowscaling.cli import main
from shallowscaling.spectra import analyse_spectrum

#: The keys `--json` promises (the issue's list), on top of the file's description.
REQUIRED_KEYS = (
    "tail_exponent",
    "tail_exponent_se",
    "xmin",
    "ks_distance",
    "n_tail",
    "bulk_edge",
    "n_outliers",
    "phase",
)
POWER_LAW = np.arange(1, 401, dtype=float) ** -1.0  # s_i = i^{-γ}, γ = 1: tail exponent 1 + 1/γ = 2


def _json(argv: list[str], capsys) -> dict:
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _fail(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_spectrum_of_a_1d_array(tmp_path: Path, capsys) -> None:
    path = tmp_path / "spectrum.npy"
    np.save(path, POWER_LAW[::-1].copy())  # any order
    record = _json(["spectrum", str(path)], capsys)
    for key in REQUIRED_KEYS:
        assert key in record
    assert record["kind"] == "spectrum" and record["d"] == 400
    # The exact power law i^{-1} has the HT-SR exponent 1 + 1/γ = 2 (CSN fit: 2.01, docs/theory.md §4).
    assert record["tail_exponent"] == pytest.approx(2.0, abs=0.05)
    assert record["phase"] == "heavy-tailed"
    assert record["outliers"] == sorted(record["outliers"], reverse=True)
    assert len(record["outliers"]) == record["n_outliers"]


def test_weight_matrix_is_analysed_through_wtw(tmp_path: Path, capsys, global_seed: int) -> None:
    # W = diag(√s) Oᵀ (p = d = 400) has WᵀW = O diag(s) Oᵀ: the CLI must find the exponent of s
    # itself, not of the entries or singular values of W (those have exponent 1 + 2/γ = 3).
    rng = np.random.default_rng(global_seed)
    basis, _ = np.linalg.qr(rng.standard_normal((400, 400)))
    path = tmp_path / "weights.npz"
    np.savez(path, W=np.sqrt(POWER_LAW)[:, None] * basis.T)
    record = _json(["spectrum", str(path)], capsys)
    direct = analyse_spectrum(POWER_LAW)
    assert record["kind"] == "weight_matrix" and record["shape"] == [400, 400]
    # Same spectrum up to the SVD's round-off: same x_min, exponent to 1e-8.
    assert record["tail_exponent"] == pytest.approx(direct.tail_exponent, rel=1e-8)
    assert record["n_outliers"] == direct.n_outliers
    # --matrix-scale paper divides by √(pd): the exponent is scale-free, the edge scales.
    paper = _json(["spectrum", str(path), "--matrix-scale", "paper"], capsys)
    assert paper["tail_exponent"] == pytest.approx(record["tail_exponent"], rel=1e-8)
    assert paper["bulk_edge"] == pytest.approx(record["bulk_edge"] / 400.0, rel=1e-8)


def test_workflow_weights_table_and_replicate(tmp_path: Path, capsys) -> None:
    path = tmp_path / "weights.parquet"
    frame = pd.DataFrame(
        {
            "replicate": np.repeat([0, 1], 400),
            "index": np.tile(np.arange(1, 401), 2),
            "eigenvalue": np.concatenate([POWER_LAW, POWER_LAW**2]),  # γ = 1 and γ = 2
        }
    )
    frame.to_parquet(path)
    first = _json(["spectrum", str(path)], capsys)
    second = _json(["spectrum", str(path), "--replicate", "1"], capsys)
    assert first["replicate"] == 0 and second["replicate"] == 1
    # 1 + 1/γ: 2 for γ = 1, 1.5 for γ = 2 (the replicates are really told apart).
    assert first["tail_exponent"] == pytest.approx(2.0, abs=0.05)
    assert second["tail_exponent"] == pytest.approx(1.5, abs=0.05)


@pytest.mark.slow
def test_text_output_and_plot(tmp_path: Path, capsys) -> None:
    path, plot = tmp_path / "s.npy", tmp_path / "fit.png"
    np.save(path, POWER_LAW)
    assert main(["spectrum", str(path), "--plot", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "tail_exponent" in out and "heavy-tailed" in out
    assert plot.read_bytes().startswith(b"\x89PNG") and plot.stat().st_size > 5000


def _bad_files(tmp: Path) -> dict[str, tuple[Path, list[str], list[str]]]:
    """name -> (path, extra flags, fragments the message must contain)."""
    cases: dict[str, tuple[Path, list[str], list[str]]] = {}

    def add(name: str, write, fragments: list[str], flags: list[str] | None = None, suffix: str = ".npy") -> None:
        path = tmp / f"{name}{suffix}"
        write(path)
        cases[name] = (path, flags or [], fragments)

    add("missing", lambda p: None, ["no such file"])
    add("empty", lambda p: p.write_bytes(b""), ["empty (0 bytes)"])
    add("text", lambda p: p.write_text("1 2 3\n"), ["not a .npy, .npz or Parquet file"], suffix=".txt")
    add("truncated", lambda p: p.write_bytes(_npy_bytes(tmp, POWER_LAW)[:100]), ["not a valid .npy file"])
    add("strings", lambda p: np.save(p, np.array(["a", "b"])), ["not numeric", "<U1"])
    add("pickled", lambda p: np.save(p, np.array([1, "a"], dtype=object), allow_pickle=True), ["Python objects"])
    add("complex", lambda p: np.save(p, np.array([1 + 1j, 2.0])), ["complex"])
    add("nan", lambda p: np.save(p, np.array([1.0, np.nan, np.inf])), ["2 non-finite"])
    add("empty_array", lambda p: np.save(p, np.array([])), ["is empty", "(0,)"])
    add("scalar", lambda p: np.save(p, np.array(3.0)), ["0 dimension(s)"])
    add("tensor", lambda p: np.save(p, np.zeros((2, 2, 2))), ["3 dimension(s)", "2-D"])
    add("negative", lambda p: np.save(p, np.array([1.0, -0.5])), ["negative entries", "|θ̂|"])
    add("two_arrays", lambda p: np.savez(p, a=np.ones(3), b=np.ones(4)), ["2 arrays", "--key"], suffix=".npz")
    add("wrong_key", lambda p: np.savez(p, a=np.ones(3)), ["no array named 'b'", "a"], ["--key", "b"], ".npz")
    add("bad_zip", lambda p: p.write_bytes(b"PK\x03\x04garbage"), ["not a valid .npz archive"], suffix=".npz")
    add("no_column", lambda p: pd.DataFrame({"x": [1.0]}).to_parquet(p), ["no 'eigenvalue' column", "x"], suffix=".pq")
    add(
        "text_column",
        lambda p: pd.DataFrame({"eigenvalue": ["a", "b"]}).to_parquet(p),
        ["'eigenvalue'", "not numeric"],
        suffix=".parquet",
    )
    add(
        "no_replicate",
        lambda p: pd.DataFrame({"replicate": [0], "eigenvalue": [1.0]}).to_parquet(p),
        ["no replicate 3", "available: 0"],
        ["--replicate", "3"],
        ".parquet",
    )
    add("bad_parquet", lambda p: p.write_bytes(b"PAR1" + b"\x00" * 20), ["not a readable Parquet file"], suffix=".pq")
    add("key_on_npy", lambda p: np.save(p, POWER_LAW), ["--key only applies to .npz"], ["--key", "w"])
    add("bad_plot", lambda p: np.save(p, POWER_LAW), ["--plot", ".pdf, .png, .svg"], ["--plot", str(tmp / "x.jpg")])
    cases["directory"] = (tmp, [], ["is a directory"])
    return cases


def _npy_bytes(tmp: Path, array: np.ndarray) -> bytes:
    path = tmp / "whole.npy"
    np.save(path, array)
    return path.read_bytes()


def test_every_bad_file_exits_2_naming_the_file_and_the_problem(tmp_path: Path, capsys) -> None:
    for name, (path, flags, fragments) in _bad_files(tmp_path).items():
        err = _fail(["spectrum", str(path), *flags], capsys)
        assert err.startswith("shallowscaling spectrum: error: "), (name, err)
        if name != "bad_plot":
            assert str(path) in err, (name, err)
        for fragment in fragments:
            assert fragment in err, (name, err)


@pytest.mark.slow
def test_bad_file_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = tmp_path / "empty.npy"
    path.write_bytes(b"")
    completed = subprocess.run(
        [sys.executable, "-m", "shallowscaling", "spectrum", str(path), "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.strip() == f"shallowscaling spectrum: error: {path}: is empty (0 bytes)"
