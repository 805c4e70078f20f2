"""Every bad input is refused up front: non-zero exit, one line naming the key, flag or file, no
traceback, nothing written under results/ (issue "Reliability: every bad input refused up front").

Config cases go through the package's own reading and validation (what the Snakefile calls);
a few run `snakemake --dry-run` on a temporary working folder; CLI cases call ``main`` in-process
(an exception escaping ``main`` would be a traceback on the command line).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from shallowscaling.cli import main
from shallowscaling.config import load_config
from shallowscaling.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "config.yaml"

# (overlay text, fragments the one-line error must contain)
OVERLAYS = [
    ("diagonal:\n  gamma: [.nan]\n", ["diagonal.gamma[0]", "nan", "finite"]),
    ("quadratic:\n  noise: [.inf]\n", ["quadratic.noise[0]", "inf", "finite"]),
    ("diagonal:\n  lam_exponent: [-.inf]\n", ["diagonal.lam_exponent[0]", "-inf", "finite"]),
    ("diagonal:\n  n_eff_exponent: {start: .nan, stop: 1.0, num: 3}\n", ["diagonal.n_eff_exponent.start", "nan"]),
    ("quadratic:\n  solver: {tol: .nan, max_iter: 10}\n", ["quadratic.solver.tol", "nan"]),
    ("scaling:\n  tol: .nan\n", ["scaling.tol", "nan"]),
    ("scaling:\n  margin: .nan\n", ["scaling.margin", "nan"]),
    ("scaling:\n  bootstrap: {resamples: 100, confidence: .nan}\n", ["scaling.bootstrap.confidence", "nan"]),
    ("spectra:\n  weak_lam_exponent: .nan\n", ["spectra.weak_lam_exponent", "nan"]),
    ("quadratic:\n  solver: {tol: 1.0e-7, max_iter: 9, design_memory: 1.0e+999}\n", ["design_memory", "finite"]),
    ("diagonal:\n  solver: {tol: 1.0e-8, max_iter: 9, design_memory: 0}\n", ["diagonal.solver.design_memory", "0"]),
    ("diagonal:\n  solver: {tol: 1.0e-8, max_iter: 9, design_memory: lots}\n",
     ["diagonal.solver.design_memory", "lots"]),
    ("diagonal:\n  gamma: [1.0]\n  gamma: [2.0]\n", ["diagonal.gamma", "twice", "lines 2 and 3", "overlay.yaml"]),
    ("seed: 1\nseed: 2\n", ["seed", "twice", "overlay.yaml"]),
    ("scaling:\n  bootstrap: {resamples: 10, resamples: 20, confidence: 0.9}\n", ["scaling.bootstrap.resamples"]),
    ("__use_yte__: true\nseed: 1\n", ["overlay.yaml", "__use_yte__", "YTE"]),
    ("results/figures/fig3_diagonal.pdf\n", ["overlay.yaml", "mapping", "--configfile FILE -- TARGET"]),
    ("- 1\n- 2\n", ["overlay.yaml", "mapping", "list", "-- TARGET"]),
    ("diagonal: [1, 2\n", ["overlay.yaml", "not valid YAML", "line"]),
    ("quadratic:\n  d: [1000000]\n", ["quadratic.d[0]", "1000000", "GB", "more than this machine"]),
    ("diagonal:\n  d: [1000000]\n", ["diagonal.d[0]", "1000000", "GB"]),
    ("spectra:\n  tail: {d: [100000], lam_exponent: [0.0], n_eff_exponent: {start: 0.5, stop: 0.9, num: 2}}\n",
     ["spectra.tail.d[0]", "100000", "GB"]),
    ("scaling:\n  fig5:\n    quadratic: {d: [200000], lam_exponent: [0.0],"
     " n_eff_exponent: {start: 0, stop: 1, num: 2}}\n",
     ["scaling.fig5.quadratic.d[0]", "GB"]),
]  # fmt: skip


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _no_results(workdir: Path) -> None:
    assert not (workdir / "results").exists() or not any((workdir / "results").rglob("*"))


def _one_line(text: str, fragments: list[str]) -> None:
    assert "Traceback" not in text
    assert len(text.strip().splitlines()) == 1, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


@pytest.mark.parametrize(("overlay", "fragments"), OVERLAYS)
def test_bad_overlay_is_refused_in_one_line(workdir: Path, overlay: str, fragments: list[str]) -> None:
    path = workdir / "overlay.yaml"
    path.write_text(overlay)
    with pytest.raises(ConfigError) as info:
        load_config(CONFIG, path)
    _one_line(str(info.value), fragments)
    _no_results(workdir)


def test_missing_required_key_is_one_line_not_a_dump(workdir: Path) -> None:
    text = CONFIG.read_text().replace("    max_iter: 20000", "")
    (workdir / "config.yaml").write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(workdir / "config.yaml")
    # The old message was a repr of the whole section (over 3 KB).
    assert len(str(info.value)) < 300
    _one_line(str(info.value), ["quadratic.solver.max_iter", "missing"])


@pytest.mark.parametrize(
    ("make", "fragments"),
    [
        (lambda p: p.write_bytes(bytes(range(128, 256))), ["config.yaml", "not UTF-8"]),
        (lambda p: p.mkdir(), ["config.yaml", "folder"]),
        (lambda p: None, ["config.yaml", "no such file"]),
    ],
)
def test_broken_config_file_names_the_file(workdir: Path, make, fragments: list[str]) -> None:
    make(workdir / "config.yaml")
    with pytest.raises(ConfigError) as info:
        load_config(workdir / "config.yaml")
    _one_line(str(info.value), fragments)


def _snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir)]
    return subprocess.run([*command, *args], capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("overlay", "fragment"),
    [
        ("spectra:\n  weak_lam_exponent: .nan\n", "spectra.weak_lam_exponent: nan"),
        ("diagonal:\n  gamma: [1.0]\n  gamma: [2.0]\n", "diagonal.gamma: key given twice"),
        ("diagonal:\n  teacher: {family: sparse}\n", "diagonal.teacher.sparsity: null; family sparse needs"),
        ("quadratic:\n  teacher: {family: null, file: none.npy}\n", "quadratic.d: [20, 40, 80]; a quadratic.teacher"),
        ("__use_yte__: true\nseed: 1\n", "__use_yte__ is not allowed"),
    ],
)
def test_snakemake_dry_run_refuses_in_one_line(tmp_path: Path, overlay: str, fragment: str) -> None:
    (tmp_path / "overlay.yaml").write_text(overlay)
    done = _snakemake(tmp_path / "work", "--configfile", str(tmp_path / "overlay.yaml"), "--dry-run")
    assert done.returncode != 0
    errors = [line for line in (done.stdout + done.stderr).splitlines() if "shallowscaling: config error" in line]
    assert len(errors) == 1 and fragment in errors[0], done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr and 'File "' not in done.stdout + done.stderr
    assert not (tmp_path / "work" / "results").exists()


POINT = ["--d", "20", "--gamma", "1", "--noise", "0.5", "--n", "10"]
FIT = ["fit", "diagonal", *POINT, "--lam", "1", "--estimator", "lasso"]
PREDICT = ["predict", "quadratic", *POINT, "--lam", "1"]

CLI_CASES = [
    ([*FIT, "--seed", "-1"], ["--seed", "-1", ">= 0"]),
    ([*FIT, "--seed", str(2**80), "--output", "results/fit.parquet"], ["--seed", str(2**80)]),
    ([*FIT, "--replicate", "-1"], ["--replicate", "-1"]),
    ([*FIT, "--replicate", "1000"], ["--replicate", "1000"]),
    (["fit", "diagonal", *POINT, "--lam-exponent", "1000", "--estimator", "lasso"], ["--lam-exponent", "1000"]),
    (["fit", "diagonal", *POINT, "--lam-exponent", "nan", "--estimator", "lasso"], ["--lam-exponent", "nan"]),
    (["fit", "diagonal", "--d", "20", "--gamma", "100", "--noise", "0.5", "--n", "10", "--lam", "1",
      "--estimator", "lasso"], ["--gamma", "100", "<= 10"]),
    (["fit", "diagonal", "--d", "20", "--gamma", "1", "--noise", "1e308", "--n", "10", "--lam", "1",
      "--estimator", "lasso"], ["--noise", "1e+308"]),
    ([*FIT, "--tol", "10"], ["--tol", "10", "<= 0.01"]),
    ([*FIT, "--tol", "0"], ["--tol", "> 0"]),
    ([*FIT, "--max-iter", "0"], ["--max-iter", "0"]),
    (["fit", "diagonal", "--d", "1", "--gamma", "1", "--noise", "0.5", "--n", "10", "--lam", "1",
      "--estimator", "lasso"], ["--d", "1", ">= 2"]),
    (["fit", "diagonal", "--d", "1000000000", "--gamma", "1", "--noise", "0.5", "--n", "10", "--lam", "1",
      "--estimator", "lasso"], ["--d", "1000000000"]),
    (["fit", "diagonal", "--d", "1000000", "--gamma", "1", "--noise", "0.5", "--n", "100000", "--lam", "1",
      "--estimator", "lasso"], ["--max-memory", "GB", "d = 1000000"]),
    ([*FIT, "--max-memory", "1e-9"], ["--max-memory", "GB"]),
    ([*FIT, "--max-memory", "-1"], ["--max-memory", "-1"]),
    ([*FIT, "--teacher", "missing.parquet"], ["--teacher", "missing.parquet", "no such file"]),
    ([*FIT, "--teacher", "junk.parquet"], ["--teacher", "junk.parquet", "Parquet"]),
    ([*FIT, "--teacher", "weights.parquet"], ["--teacher", "weights.parquet", "not a teacher diagonal table"]),
    ([*FIT, "--teacher", "."], ["--teacher", "folder"]),
    ([*FIT, "--output", "readonly/sub/fit.parquet"], ["--output", "readonly", "cannot be written"]),
    ([*FIT, "--output", "."], ["--output", "folder"]),
    ([*FIT, "--weights-output", "readonly/w.parquet"], ["--weights-output", "cannot be written"]),
    ([*FIT, "--width", "0"], ["--width", "0"]),
    ([*PREDICT, "--n-draws", "1000000000"], ["--n-draws", "1000000000", "<= 1000"]),
    ([*PREDICT, "--max-draws", "100000"], ["--max-draws", "<= 10000"]),
    ([*PREDICT, "--mc-rtol", "5"], ["--mc-rtol", "<= 1"]),
    (["predict", "quadratic", "--d", "200000", "--gamma", "1", "--noise", "0.5", "--n", "10", "--lam", "1"],
     ["--max-memory", "d = 200000"]),
    ([*PREDICT, "--teacher", "junk.parquet"], ["--teacher", "junk.parquet"]),
    ([*PREDICT, "--teacher", "weights.parquet"], ["--teacher", "not a teacher quadratic table"]),
    ([*PREDICT, "--output", "readonly/p.parquet"], ["--output", "cannot be written"]),
    (["teacher", "quadratic", "--d", "500000", "--gamma", "1", "--seed", "0", "--replicates", "1",
      "--output", "results/t.parquet"], ["--max-memory", "d = 500000"]),
    (["teacher", "diagonal", "--d", "20", "--gamma", "1", "--seed", "-5", "--replicates", "1",
      "--output", "results/t.parquet"], ["--seed", "-5"]),
    (["teacher", "diagonal", "--d", "20", "--gamma", "1", "--seed", "0", "--replicates", "5000",
      "--output", "results/t.parquet"], ["--replicates", "5000"]),
    (["spectrum", "huge.npy"], ["huge.npy", "header claims", "truncated"]),
    (["spectrum", "small.npy", "--max-memory", "1e-12"], ["--max-memory", "small.npy"]),
    (["spectrum", "small.npy", "--plot", "readonly/plot.png"], ["--plot", "cannot be written"]),
    (["plan", "--cost-model", "junk.parquet"], ["--cost-model", "junk.parquet", "not JSON"]),
    (["plan", "--cost-model", "list.json"], ["--cost-model", "list.json", "not a cost model"]),
    (["aggregate", "diagonal", "--fits", "missing.parquet", "--output", "results/a.parquet"],
     ["--fits", "missing.parquet"]),
    (["figure", "fig3", "--model", "diagonal", "--table", "junk.parquet", "--output", "results/f.png"],
     ["--table", "junk.parquet"]),
    (["figure", "fig3", "--model", "diagonal", "--table", "weights.parquet", "--output", "r.png", "--dpi", "5"],
     ["--dpi", "5", ">= 50"]),
    (["collect", "--inputs", "junk.parquet", "--output", "results/c.parquet"], ["--inputs", "junk.parquet"]),
    (["classic", "diagonal", "--seed", "-1", "--output", "results/c.parquet"], ["--seed", "-1"]),
    (["classic", "diagonal", "--seed", "0", "--output", "readonly/c.parquet"], ["--output", "cannot be written"]),
    (["figure", "fig9", "--model", "diagonal", "--table", "junk.parquet", "--output", "r.png"], ["--table", "junk"]),
    (["exponents", "heatmap", "--se", "missing.parquet", "--output", "results/h.parquet"], ["--se", "missing"]),
    (["exponents", "heatmap", "--se", "weights.parquet", "--output", "r.parquet", "--margin", "2"],
     ["--margin", "<= 1"]),
    (["exponents", "table", "--se", "weights.parquet", "--seed", "0", "--confidence", "1", "--output", "r.parquet"],
     ["--confidence", "< 1"]),
    (["exponents", "table", "--se", "weights.parquet", "--seed", "0", "--resamples", "1", "--output", "r.parquet"],
     ["--resamples", ">= 10"]),
    (["exponents", "se", "diagonal", "--d", "100", "--gamma", "1", "--noise", "0.5", "--kappa-grid", "nan", "1", "3",
      "--lam-exponent-grid", "0", "1", "3", "--windows", "{}", "--output", "r.parquet"], ["--kappa-grid", "nan"]),
    ([*FIT, "--bogus", "1"], ["unrecognized arguments", "--bogus"]),
    ([*FIT, "--teacher-family", "sparse", "--sparsity", "0"], ["--sparsity", "> 0 and <= 1", "got 0"]),
    ([*FIT, "--teacher-family", "sparse", "--sparsity", "1.5"], ["--sparsity", "<= 1", "1.5"]),
    ([*FIT, "--teacher-family", "sparse", "--sparsity", "nan"], ["--sparsity", "finite", "nan"]),
    ([*FIT, "--teacher-family", "sparse"], ["--teacher-family sparse", "needs --sparsity"]),
    ([*FIT, "--sparsity", "0.5"], ["--sparsity 0.5", "sparse only", "power_law"]),
    ([*PREDICT, "--teacher-family", "wishart", "--width-ratio", "0"], ["--width-ratio", "> 0", "got 0"]),
    ([*PREDICT, "--teacher-family", "wishart", "--width-ratio", "-1"], ["--width-ratio", "> 0", "-1"]),
    ([*PREDICT, "--teacher-family", "wishart"], ["--teacher-family wishart", "needs --width-ratio"]),
    ([*FIT, "--teacher-family", "wishart", "--width-ratio", "1"], ["wishart", "quadratic model only", "diagonal"]),
    ([*FIT, "--teacher-family", "circle"], ["--teacher-family", "invalid choice", "circle"]),
    ([*FIT, "--teacher-file", "theta2d.npy"], ["--teacher-file theta2d.npy", "shape (4, 5)", "1-D"]),
    ([*FIT, "--teacher-file", "theta7.npy"], ["--teacher-file theta7.npy", "7 values", "--d 20", "exactly 20"]),
    ([*FIT, "--teacher-file", "thetanan.npy"], ["--teacher-file thetanan.npy", "NaN or infinite", "index 3"]),
    ([*FIT, "--teacher-file", "thetastr.npy"], ["--teacher-file thetastr.npy", "dtype", "integer or real"]),
    ([*FIT, "--teacher-file", "thetaobj.npy"], ["--teacher-file thetaobj.npy", "plain .npy", "Object arrays"]),
    ([*FIT, "--teacher-file", "junk.parquet"], ["--teacher-file junk.parquet", "cannot be read", "1-D .npy"]),
    ([*FIT, "--teacher-file", "missing.npy"], ["--teacher-file missing.npy", "no such file"]),
    ([*FIT, "--teacher-file", "."], ["--teacher-file .", "folder"]),
    ([*PREDICT, "--teacher-file", "thetaneg.npy"], ["--teacher-file thetaneg.npy", "eigenvalue -1", ">= 0"]),
    ([*FIT, "--teacher-file", "theta20.npy", "--normalization", "paper"], ["--normalization paper", "as given"]),
    ([*FIT, "--teacher-file", "theta20.npy", "--teacher-family", "flat"], ["--teacher-family flat", "exclusive"]),
    ([*FIT, "--teacher-file", "theta20.npy", "--teacher", "weights.parquet"], ["--teacher weights.parquet",
     "cannot be combined"]),
    (["predict", "diagonal", *POINT, "--method", "bayes", "--teacher-family", "flat"], ["--method bayes",
     "power-law Gaussian prior"]),
    ([*PREDICT, "--teacher-family", "wishart", "--width-ratio", "0.5", "--teacher-law", "exact"],
     ["--teacher-law exact", "--method bayes", "erm"]),
    (["predict", "quadratic", *POINT, "--method", "bayes", "--teacher-family", "flat", "--teacher-law", "exact"],
     ["--teacher-law exact", "--teacher-family flat", "wishart"]),
    ([*PREDICT, "--teacher-law", "true"], ["--teacher-law", "invalid choice", "true"]),
    ([*PREDICT, "--teacher-law", "empirical"], ["--teacher-law empirical", "--method bayes", "erm"]),
]  # fmt: skip


@pytest.fixture
def cli_files(workdir: Path) -> Path:
    """Inputs of the CLI cases: a junk file, a weights table (not a teacher), .npy files, a folder
    nobody may write to (refused by the writability check even for root)."""
    import pandas as pd

    from shallowscaling.io.parquet import write_table

    (workdir / "junk.parquet").write_bytes(b"not parquet at all\n")
    write_table(pd.DataFrame({"replicate": [0], "index": [1], "weight": [0.5]}), workdir / "weights.parquet")
    (workdir / "list.json").write_text("[1, 2]")
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**12,)})
    (workdir / "huge.npy").write_bytes(header.getvalue() + bytes(64))
    np.save(workdir / "small.npy", np.arange(1.0, 50.0))
    (workdir / "readonly").write_text("a file, so nothing can be created below it")
    np.save(workdir / "theta20.npy", np.ones(20))
    np.save(workdir / "theta2d.npy", np.ones((4, 5)))
    np.save(workdir / "theta7.npy", np.ones(7))
    np.save(workdir / "thetanan.npy", np.where(np.arange(20) == 3, np.nan, 1.0))
    np.save(workdir / "thetastr.npy", np.array(["a"] * 20))
    np.save(workdir / "thetaobj.npy", np.array([1.0] * 20, dtype=object), allow_pickle=True)
    np.save(workdir / "thetaneg.npy", np.where(np.arange(20) == 0, -1.0, 1.0))
    return workdir


@pytest.mark.parametrize(("argv", "fragments"), CLI_CASES)
def test_bad_cli_input_exits_2_in_one_line(
    cli_files: Path, capsys: pytest.CaptureFixture[str], argv: list[str], fragments: list[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    # Progress lines of a solve would mean the check came too late.
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and len(err.strip().splitlines()) == 1, err
    _one_line(lines[0], fragments)
    _no_results(cli_files)
