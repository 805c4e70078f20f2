"""Progress lines of long solves: the interval variable, the start/heartbeat/end lines of every
wired solver, and the command line that sends them to stderr."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest

from shallowscaling import cli, progress
from shallowscaling.cli import main
from shallowscaling.errors import ConvergenceWarning, InputError
from shallowscaling.estimators.diagonal_network import fit_diagonal_network
from shallowscaling.estimators.lasso import fit_lasso, fit_lasso_path
from shallowscaling.progress import DEFAULT_HEARTBEAT_S, HEARTBEAT_ENV, Heartbeat, heartbeat_interval
from shallowscaling.state_evolution.diagonal import solve_diagonal_se
from shallowscaling.state_evolution.diagonal_bayes import solve_diagonal_bayes_se
from shallowscaling.state_evolution.optimal import minimize_se_risk_over_lam
from shallowscaling.state_evolution.quadratic_bayes import solve_quadratic_bayes_se
from shallowscaling.state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic
from shallowscaling.state_evolution.quadratic_mc import solve_quadratic_se_mc
from shallowscaling.targets import power_law_spectrum

BAD_VALUES = ["0", "-1", "nan", "inf", "-inf", "1e400", "abc", "1s"]

#: Interval that makes every tick log (any positive time since the last line exceeds it).
EVERY_TICK = "1e-9"


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "shallowscaling.progress"]


@pytest.fixture
def progress_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="shallowscaling.progress")
    return caplog


# -- the environment variable --------------------------------------------------------------------


@pytest.mark.parametrize("value", BAD_VALUES)
def test_bad_interval_is_an_input_error_naming_the_variable(value, monkeypatch) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, value)
    with pytest.raises(InputError) as info:
        heartbeat_interval()
    message = str(info.value)
    assert HEARTBEAT_ENV in message
    assert repr(value) in message
    assert "finite number > 0" in message


@pytest.mark.parametrize(("value", "expected"), [(None, DEFAULT_HEARTBEAT_S), ("", DEFAULT_HEARTBEAT_S),
                                                 ("0.5", 0.5), (" 2 ", 2.0), ("1e-9", 1e-9)])  # fmt: skip
def test_good_interval_is_read(value, expected, monkeypatch) -> None:
    if value is None:
        monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    else:
        monkeypatch.setenv(HEARTBEAT_ENV, value)
    assert heartbeat_interval() == expected


def test_a_solver_refuses_a_bad_interval_before_solving(monkeypatch) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, "-1")
    x = np.eye(4)
    with pytest.raises(InputError, match=HEARTBEAT_ENV):
        fit_lasso(x, x[:, 0], lam=0.1)


def test_heartbeat_lines_come_once_per_interval(monkeypatch, progress_log) -> None:
    # A fake clock advancing 0.4 s per tick with a 1 s interval: a line at 1.2 s, 2.4 s, 3.6 s,
    # i.e. every third tick, so no gap exceeds the interval by more than one tick and no two
    # lines are closer than the interval.
    monkeypatch.setenv(HEARTBEAT_ENV, "1")
    clock = SimpleNamespace(now=0.0)
    monkeypatch.setattr(progress, "time", SimpleNamespace(monotonic=lambda: clock.now))
    beat = Heartbeat("demo", "grad_norm", d=3)
    ticked = []
    for iteration in range(1, 10):
        clock.now += 0.4
        due = beat.due()
        before = len(_lines(progress_log))
        beat.tick(iteration, objective=1.0, certificate=0.5**iteration)
        ticked.append(len(_lines(progress_log)) > before)
        assert ticked[-1] == due
    beat.end("converged", 9, objective=1.0, certificate=0.5**9)
    assert [i for i, logged in enumerate(ticked, start=1) if logged] == [3, 6, 9]
    lines = _lines(progress_log)
    assert lines[0] == "demo start d=3"
    assert lines[1] == "demo iteration 3 objective 1 grad_norm 0.125 elapsed 1.2s"
    assert lines[-1] == "demo end converged after 9 iterations objective 1 grad_norm 0.00195312 elapsed 3.6s"


# -- every wired solver ----------------------------------------------------------------------------


def _regression(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, 15))
    return x, x[:, :3].sum(axis=1) + 0.3 * rng.standard_normal(40)


def _teacher() -> np.ndarray:
    return np.random.default_rng(1).standard_normal(60) / np.arange(1, 61)


SOLVERS: dict[str, tuple[str, Callable[[], object]]] = {
    "lasso": ("fit_lasso", lambda: fit_lasso(*_regression(), lam=0.05)),
    "diagonal_network": ("fit_diagonal_network",
                         lambda: fit_diagonal_network(*_regression(), lam=0.5, rng=np.random.default_rng(2))),
    "diagonal_se": ("solve_diagonal_se", lambda: solve_diagonal_se(_teacher(), 40, 0.1, 0.5)),
    "diagonal_se_noiseless": ("solve_diagonal_se", lambda: solve_diagonal_se(_teacher(), 90, 0.01, 0.0)),
    "diagonal_bayes_mixture": ("solve_diagonal_bayes_se", lambda: solve_diagonal_bayes_se(_teacher() ** 2, 40, 0.5)),
    "diagonal_bayes_index_aware": ("solve_diagonal_bayes_se",
                                   lambda: solve_diagonal_bayes_se(_teacher() ** 2, 40, 0.5, prior="index_aware")),
    "quadratic_mc": ("solve_quadratic_se_mc",
                     lambda: solve_quadratic_se_mc(power_law_spectrum(12, 1.0), 150, 0.3, 0.5,
                                                   rng=np.random.default_rng(3))),
    "quadratic_mc_hybr": ("solve_quadratic_se_mc",
                          lambda: solve_quadratic_se_mc(power_law_spectrum(12, 1.0), 150, 0.3, 0.5,
                                                        rng=np.random.default_rng(3), method="hybr")),
    "quadratic_deterministic": ("solve_quadratic_se_deterministic",
                                lambda: solve_quadratic_se_deterministic(power_law_spectrum(12, 1.0), 150, 0.3, 0.5)),
    "quadratic_bayes": ("solve_quadratic_bayes_se",
                        lambda: solve_quadratic_bayes_se(power_law_spectrum(12, 1.0), 150, 0.5)),
    "optimal_lam": ("minimize_se_risk_over_lam",
                    lambda: minimize_se_risk_over_lam(lambda lam: solve_diagonal_se(_teacher(), 40, lam, 0.5),
                                                      (1e-2, 1e2), n_grid=5)),
}  # fmt: skip


@pytest.mark.parametrize("case", list(SOLVERS))
def test_every_solver_logs_start_heartbeat_and_end(case, monkeypatch, progress_log) -> None:
    solver, solve = SOLVERS[case]
    monkeypatch.setenv(HEARTBEAT_ENV, EVERY_TICK)
    result = solve()
    assert result.converged
    # The optimal-λ search runs one SE per probe, each with its own lines: keep the search's.
    lines = [line for line in _lines(progress_log) if line.startswith(f"{solver} ")]
    assert lines[0].startswith(f"{solver} start ")
    assert any(line.startswith(f"{solver} iteration ") for line in lines[1:-1])
    assert lines[-1].startswith(f"{solver} end converged after {result.iterations} iterations ")
    assert sum(line.startswith(f"{solver} start ") for line in lines) == 1
    assert sum(line.startswith(f"{solver} end ") for line in lines) == 1


def test_lasso_path_logs_one_solve_per_lam(monkeypatch, progress_log) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, EVERY_TICK)
    lams = [0.01, 1.0, 0.1]
    results = fit_lasso_path(*_regression(), lams)
    lines = _lines(progress_log)
    starts = [line for line in lines if line.startswith("fit_lasso_path start ")]
    ends = [line for line in lines if line.startswith("fit_lasso_path end converged ")]
    # Solved from the largest λ down, one start and one end line each, ticks in between.
    assert [line.split("lam=")[1].split()[0] for line in starts] == ["1", "0.1", "0.01"]
    assert len(ends) == len(lams) and all(result.converged for result in results)
    assert any(line.startswith("fit_lasso_path iteration ") for line in lines)


@pytest.mark.parametrize(
    ("solver", "fit"),
    [
        ("fit_lasso", lambda x, y: fit_lasso(x, y, lam=1e-3, max_iter=3)),
        ("fit_diagonal_network", lambda x, y: fit_diagonal_network(x, y, lam=0.5, rng=np.random.default_rng(2),
                                                                   max_iter=5)),
    ],
)  # fmt: skip
def test_a_fit_out_of_iterations_says_max_iter(solver, fit, monkeypatch, progress_log) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, EVERY_TICK)
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        result = fit(*_regression())
    assert result.status == "max_iter"
    assert _lines(progress_log)[-1].startswith(f"{solver} end max_iter after {result.iterations} iterations ")


@pytest.mark.parametrize("case", ["lasso", "diagonal_network", "diagonal_se", "quadratic_deterministic"])
def test_default_interval_logs_only_start_and_end(case, monkeypatch, progress_log) -> None:
    # These solves take milliseconds, far below the default 60 s.
    monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    solver, solve = SOLVERS[case]
    solve()
    lines = _lines(progress_log)
    assert len(lines) == 2
    assert lines[0].startswith(f"{solver} start ") and lines[1].startswith(f"{solver} end converged ")


def test_lines_carry_no_stdout(monkeypatch, capsys) -> None:
    # Solvers never print: the lines go to logging only.
    monkeypatch.setenv(HEARTBEAT_ENV, EVERY_TICK)
    SOLVERS["lasso"][1]()
    SOLVERS["diagonal_se"][1]()
    assert capsys.readouterr().out == ""


# -- the command line ------------------------------------------------------------------------------

PREDICT = ["predict", "diagonal", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10", "--lam", "1", "--json"]
FIT = ["fit", "diagonal", "--estimator", "lasso", "--d", "10", "--gamma", "1", "--noise", "0.5", "--n", "10",
       "--lam", "1", "--seed", "0", "--json"]  # fmt: skip


@pytest.fixture
def cli_logging():
    """Leave the progress logger as it was: main() configures it for the rest of the process."""
    logger = progress.LOGGER
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.parametrize("argv", [PREDICT, FIT], ids=["predict", "fit"])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "abc"])
def test_cli_bad_interval_exits_2_with_one_line(argv, value, monkeypatch, capsys, cli_logging) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, value)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"shallowscaling {argv[0]}: error: environment variable {HEARTBEAT_ENV}")
    assert repr(value) in lines[0] and "finite number > 0" in lines[0]


@pytest.mark.parametrize(("argv", "solver"), [(PREDICT, "solve_diagonal_se"), (FIT, "fit_lasso")],
                         ids=["predict", "fit"])  # fmt: skip
def test_cli_sends_progress_lines_to_stderr_once(argv, solver, monkeypatch, capsys, cli_logging) -> None:
    monkeypatch.setenv(HEARTBEAT_ENV, EVERY_TICK)
    for _ in range(2):  # a second main() in the same process must not duplicate the lines
        assert main(argv) == 0
        captured = capsys.readouterr()
        err = captured.err.splitlines()
        assert sum(line.startswith(f"shallowscaling: {solver} start ") for line in err) == 1
        assert sum(line.startswith(f"shallowscaling: {solver} end converged ") for line in err) == 1
        assert any(line.startswith(f"shallowscaling: {solver} iteration ") for line in err)
        assert captured.out.startswith("{")  # stdout holds the JSON only
    assert sum(isinstance(handler, cli._StderrHandler) for handler in cli_logging.handlers) == 1


def test_cli_default_interval_gives_start_and_end(monkeypatch, capsys, cli_logging) -> None:
    monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    assert main(PREDICT) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2
    assert err[0].startswith("shallowscaling: solve_diagonal_se start d=10 n=10 lam=1 ")
    assert err[1].startswith("shallowscaling: solve_diagonal_se end converged ")
    assert not math.isnan(float(err[1].split("objective ")[1].split()[0]))
