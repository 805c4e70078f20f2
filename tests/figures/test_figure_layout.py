"""Every figure passes :func:`layout_problems`, and the helper catches what a referee would."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from shallowscaling.figures._layout import layout_problems
from shallowscaling.figures.decomposition import draw_fig6
from shallowscaling.figures.fig1 import draw_fig1, draw_fig4
from shallowscaling.figures.fig2 import draw_fig2
from shallowscaling.figures.fig3 import draw_fig3
from shallowscaling.figures.htsr import draw_fig7
from shallowscaling.figures.pruning import draw_fig8
from shallowscaling.rates import boundary_distance, classify_phase, predicted_exponent
from shallowscaling.tasks.exponents import HEATMAP_COLUMNS

GAMMA = 1.0


def _heatmap(noise: float) -> pd.DataFrame:
    """A diagonal heat-map table: the theory plus a κ-dependent offset, one non-converged cell."""
    noiseless = noise == 0
    rows = []
    for kappa in np.linspace(-0.5, 3.0, 8):
        for ell in np.linspace(-1.5, 2.5, 5):
            predicted = predicted_exponent(kappa, ell, GAMMA, noiseless)
            distance = boundary_distance(kappa, ell, GAMMA, noiseless)
            measured = predicted + 0.1 * kappa
            rows.append(
                {"model": "diagonal", "gamma": GAMMA, "noise": noise, "kappa": kappa, "lam_exponent": ell,
                 "phase": classify_phase(kappa, ell, GAMMA, noiseless), "predicted": predicted,
                 "se_exponent": measured, "se_exponent_extrapolated": measured, "d_low": 10_000,
                 "d_high": 100_000, "boundary_distance": distance, "scored": distance > 0.1,
                 "agrees": abs(measured - predicted) <= 0.1, "converged": not (kappa > 2.9 and ell > 2.4),
                 "margin": 0.1, "tol": 0.1}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(HEATMAP_COLUMNS))


def _risk_table(noise: float) -> pd.DataFrame:
    """A Figure 3/5 table: two d, three λ schedules, the λ-free references, one failed fit."""
    rows = []
    for d in (100, 200):
        for n in (50, 100, 200, 400, 800):
            for source, estimator, ell in (
                *(("simulation", "lasso", e) for e in (-1.0, 0.0, 0.5)),
                *(("se", "erm", e) for e in (-1.0, 0.0, 0.5)),
                ("se", "bayes", np.nan),
                ("se", "optimal_lam", np.nan),
            ):
                risk = (1.0 + (ell if np.isfinite(ell) else -0.5)) * 100.0 / n
                rows.append(
                    {"model": "diagonal", "source": source, "estimator": estimator, "d": d, "gamma": GAMMA,
                     "noise": noise, "lam": d**ell if np.isfinite(ell) else np.nan, "lam_exponent": ell, "n": n,
                     "n_eff": float(n), "excess_risk": risk, "excess_risk_sem": 0.05 * risk, "matrix_mse": np.nan,
                     "n_replicates": 3, "n_converged": 3, "converged": not (source == "simulation" and n == 800),
                     "fixed_point_residual": 1e-12 if source == "se" else np.nan}
                )  # fmt: skip
    return pd.DataFrame(rows)


FIGURES = {
    "fig1": lambda tables: draw_fig1(_heatmap(0.5), "diagonal"),
    "fig4": lambda tables: draw_fig4(_heatmap(0.0), "diagonal"),
    "fig3": lambda tables: draw_fig3(_risk_table(0.5), "diagonal"),
    "fig5": lambda tables: draw_fig3(_risk_table(0.0), "diagonal", figure_label="Figure 5 (Figure 3 at Δ = 0)"),
    "fig3_sparse": lambda tables: draw_fig3(_risk_table(0.5), "diagonal", teacher="sparse teacher, ε = 0.2"),
    "fig2": lambda tables: draw_fig2(tables[1], "quadratic"),
    "fig6": lambda tables: draw_fig6(tables[0], "quadratic", -1.0),
    "fig7": lambda tables: draw_fig7(tables[0], "quadratic"),
    "fig8": lambda tables: draw_fig8(tables[2], "quadratic"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(FIGURES))
def test_figure_has_no_layout_problem(tables, name: str) -> None:
    fig = FIGURES[name](tables)
    problems = layout_problems(fig)
    plt.close(fig)
    assert problems == []


def test_fig3_of_another_teacher_prints_it_and_no_power_law_rates() -> None:
    fig = draw_fig3(_risk_table(0.5), "diagonal", teacher="sparse teacher, ε = 0.2")
    texts = [fig.axes[0].get_ylabel(), fig._suptitle.get_text(), *(t.get_text() for t in fig.legends[0].texts)]
    plain = draw_fig3(_risk_table(0.5), "diagonal")
    plain_texts = [plain.axes[0].get_ylabel(), plain._suptitle.get_text()]
    plt.close(fig)
    plt.close(plain)
    assert "sparse teacher, ε = 0.2, Δ = 0.5" in texts[0] and "γ" not in texts[0]
    assert not [t for t in texts if "rates" in t]
    assert f"γ = {GAMMA:g}" in plain_texts[0] and "rates (dotted)" in plain_texts[1]


def test_helper_reports_an_overlapping_label(tables) -> None:
    # The same figure passes without the label (above), so the label is what is reported.
    fig = draw_fig7(tables[0], "quadratic")
    ax = fig.axes[0]
    ax.text(0.5, 0.5, "a label drawn twice", transform=ax.transAxes)
    ax.text(0.5, 0.5, "a label drawn twice", transform=ax.transAxes)
    problems = layout_problems(fig)
    plt.close(fig)
    assert any("'a label drawn twice' overlaps" in p and p.endswith("'a label drawn twice'") for p in problems)


def test_helper_reports_texts_outside_and_empty_panels() -> None:
    fig, (left, right, _bare) = plt.subplots(1, 3, figsize=(6.0, 2.0), layout="none")
    left.plot([0, 1], [0, 1])
    left.text(0.9, 0.5, "a note far too long for its panel", transform=left.transAxes)
    right.text(0.5, 0.5, "nothing to draw here, and this text is wider than the panel", transform=right.transAxes)
    fig.suptitle("one\ntwo")
    problems = layout_problems(fig)
    plt.close(fig)
    assert any("'a note far too long for its panel' leaves the axes" in p for p in problems)
    assert any("'nothing to draw here" in p and "leaves the axes" in p for p in problems)
    assert any(p.startswith("axes 2 ") and "is empty and says nothing about why" in p for p in problems)
    assert any("is more than one line" in p for p in problems)
