"""``predict --method bayes`` on a teacher's spectral law: the empirical law of its values or the
family's exact law, and the ``teacher_law`` column that says which."""

from __future__ import annotations

import json

import pytest

from shallowscaling.cli import main
from shallowscaling.references.wishart_bayes import wishart_bayes_mmse
from shallowscaling.tasks.predict import PREDICT_COLUMNS, default_target, predict_sweep

BAYES = ["predict", "quadratic", "--method", "bayes", "--d", "100", "--gamma", "1", "--noise", "0.5", "--n", "3000"]
WISHART = ["--teacher-family", "wishart", "--width-ratio", "0.5", "--normalization", "paper", "--json"]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    main(argv)
    return json.loads(capsys.readouterr().out)


def test_exact_wishart_law_gives_the_published_error(capsys):
    # α = 3000/100² = 0.3, κ = 0.5, Δ = 0.5: the exact law does not depend on d, so the SE equals
    # the d → ∞ formula (Maillard et al. 2024) up to its discretisation (~1e-6 measured).
    record = _run([*BAYES, *WISHART, "--teacher-law", "exact"], capsys)
    assert record["teacher_law"] == "exact" and record["converged"]
    assert record["matrix_mse"] == pytest.approx(wishart_bayes_mmse(0.3, 0.5, 0.5), abs=1e-4)


def test_empirical_law_is_the_default_and_is_named(capsys):
    # The sampled spectrum at d = 100 fluctuates around the exact law, and every isolated
    # eigenvalue adds an O(1/d) term (docs/theory.md §2.3): same value to a few per cent only.
    record = _run([*BAYES, *WISHART], capsys)
    assert record["teacher_law"] == "empirical"
    assert record["matrix_mse"] == pytest.approx(wishart_bayes_mmse(0.3, 0.5, 0.5), rel=0.05)


def test_power_law_tables_keep_their_columns():
    target = default_target("quadratic", "bayes", 40, 1.0, 0, 0)
    frame = predict_sweep("quadratic", 40, 1.0, 0.5, [480], None, 0, [target], method="bayes")
    assert list(frame.columns) == list(PREDICT_COLUMNS)
    named = predict_sweep("quadratic", 40, 1.0, 0.5, [480], None, 0, [target], method="bayes", teacher_law="empirical")
    assert list(named.columns) == [*PREDICT_COLUMNS, "teacher_law"]
    assert named.drop(columns="teacher_law").equals(frame)
