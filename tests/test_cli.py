"""The command line: bad flags fail with a message naming the flag, the value and what is allowed."""

from __future__ import annotations

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
        (["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
          "--lam", "1", "--design-memory", "2"], ["--design-memory", "quadratic fits only", "2"]),
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
