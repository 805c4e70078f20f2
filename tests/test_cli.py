"""The command line: bad flags fail with a message naming the flag, the value and what is allowed."""

from __future__ import annotations

import json

import pytest

from shallowscaling.cli import main


@pytest.mark.parametrize(
    ("argv", "fragments"),
    [
        (["fit", "diagonal", "--estimator", "lasso", "--d", "0", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1"], ["--d", ">= 2", "0"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "0.4", "--noise", "0.5", "--n", "10",
          "--lam", "1"], ["--gamma", "> 0.5", "0.4"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "x", "--n", "10",
          "--lam", "1"], ["--noise", "number", "'x'"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "0",
          "--lam", "1"], ["--n", ">= 1", "0"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "-1"], ["--lam", "> 0", "-1"]),
        (["fit", "quadratic", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--seed", "0"], ["estimator", "convex, network", "lasso"]),
        (["predict", "quadratic", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10", "--lam", "1",
          "--width", "0"], ["--width", ">= 1", "0"]),
        (["predict", "diagonal", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10", "--lam", "1",
          "--bogus"], ["unrecognized arguments", "--bogus"]),
        (["fit", "quadratic", "--estimator", "convex", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--block-size", "0"], ["--block-size", ">= 1", "0"]),
        (["fit", "quadratic", "--estimator", "convex", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--design-memory", "-2"], ["--design-memory", "> 0", "-2"]),
        (["fit", "quadratic", "--estimator", "convex", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--solver-method", "newton"], ["--solver-method", "auto", "newton"]),
        (["fit", "quadratic", "--estimator", "network", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--solver-method", "fista"], ["--solver-method", "convex only", "network"]),
        (["fit", "quadratic", "--estimator", "convex", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10000",
          "--lam", "1", "--solver-method", "ssnal", "--design-memory", "0.0001"],
         ["--solver-method ssnal", "design in memory", "0.0008 GB", "--design-memory 0.0001"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--design-memory", "0"], ["--design-memory", "> 0", "0"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--design-memory", "lots"], ["--design-memory", "number", "'lots'"]),
        (["fit", "diagonal", "--estimator", "network", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--design-memory", "2"], ["--design-memory", "diagonal network", "2.0"]),
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--block-size", "64"], ["--block-size", "quadratic fits only", "64"]),
    ],
)  # fmt: skip
def test_bad_flags_exit_2_with_a_clear_message(argv, fragments, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("value", "allowed"), [("0", "> 0"), ("-1", "> 0"), ("lots", "number")])
def test_prune_refuses_a_bad_design_memory_in_one_line(tmp_path, capsys, value, allowed) -> None:
    # The fit verb's flag and check: one line naming the flag, what is allowed and the value; nothing written.
    output = tmp_path / "pruning.parquet"
    argv = ["prune", "diagonal", "--estimator", "lasso", "--d", "20", "--gamma", "1", "--noise", "0.5",
            "--lam-exponent", "-1", "--seed", "0", "--teacher", str(tmp_path / "teacher.parquet"), "--n", "60",
            "--weights", str(tmp_path / "weights.parquet"), "--design-memory", value,
            "--output", str(output)]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and all(part in lines[0] for part in ("--design-memory", allowed, value)), lines
    assert not output.exists()


@pytest.mark.slow
def test_predict_reports_the_monte_carlo_error_it_adapted_to(capsys) -> None:
    argv = ["predict", "quadratic", "--d", "20", "--gamma", "1", "--noise", "0.5", "--n", "300", "--lam", "0.3"]
    main([*argv, "--json", "--max-draws", "3", "--mc-rtol", "1"])  # K = 3 fixed
    fixed = json.loads(capsys.readouterr().out)
    main([*argv, "--json", "--max-draws", "2000"])  # the default --mc-rtol, 0.5 %
    adapted = json.loads(capsys.readouterr().out)
    # The data can tell: three draws are far from 0.5 %, so K must grow to meet it.
    assert fixed["n_draws"] == 3 and fixed["mc_standard_error"] > 0.005 * fixed["matrix_mse"]
    assert adapted["converged"] and adapted["status"] == "converged" and adapted["n_draws"] > 3
    assert adapted["mc_standard_error"] <= 0.005 * adapted["matrix_mse"]


def test_fit_on_cuda_without_a_gpu_exits_2_in_one_line(tmp_path, capsys) -> None:
    torch = pytest.importorskip("torch", reason="without torch the backend refuses the import instead")
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    argv = ["fit", "quadratic", "--estimator", "convex", "--d", "6", "--gamma", "1", "--noise", "0.5", "--n", "40",
            "--lam", "1", "--seed", "0", "--replicates", "1", "--device", "cuda",
            "--output", str(tmp_path / "fit.parquet")]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    # A progress line may precede it on stderr; the error is the last line, and the only one.
    errors = [line for line in lines if "error" in line]
    assert errors == [lines[-1]]
    assert "needs a CUDA GPU" in lines[-1] and "torch.cuda.is_available() is False" in lines[-1]
    assert not (tmp_path / "fit.parquet").exists()


def test_json_with_nan_inside_records_is_strict_json(tmp_path, capsys) -> None:
    # Regression: a NaN certificate inside `points` (FISTA has no grad_norm) ended in a traceback.
    argv = ["fit", "quadratic", "--estimator", "convex", "--d", "8", "--gamma", "1", "--noise", "0.5", "--n", "40",
            "--lam", "0.1", "--seed", "0", "--replicates", "2", "--output", str(tmp_path / "fit.parquet"), "--json"]
    assert main(argv) in (0, None)
    points = json.loads(capsys.readouterr().out)["points"]
    assert len(points) == 2 and all(p["grad_norm"] is None and p["converged"] for p in points)
