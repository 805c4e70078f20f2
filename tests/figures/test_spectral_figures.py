"""Figures 2, 6, 7, 8 draw from their tables, pick the right points, and are byte-deterministic."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from shallowscaling.figures.decomposition import draw_fig6
from shallowscaling.figures.fig2 import draw_fig2, select_phase_points
from shallowscaling.figures.htsr import draw_fig7
from shallowscaling.figures.pruning import draw_fig8
from shallowscaling.tasks.fit import fit_replicates
from shallowscaling.tasks.spectra import prune_sweep, spectra_sweep
from shallowscaling.tasks.teacher import teacher_table

D, SEED = 12, 3
# κ = log_d n_eff ∈ {−0.5, 0.5, 1.2}: phases Ia, IV, VIa at λ = 1/d and Ib, Ib, II at λ = √d.
N_VALUES = [round(D**0.5), round(D**1.5), round(D**2.2)]


@pytest.fixture(scope="module")
def tables():
    teacher = teacher_table("quadratic", D, 1.0, SEED, 1)
    summaries, densities, pruning = [], [], []
    for ell in (-1.0, 0.5):
        runs = [fit_replicates("quadratic", "convex", D, 1.0, 0.5, n, D**ell, SEED, 1, tol=1e-7) for n in N_VALUES]
        fits, weights = [r.fits for r in runs], [r.weights for r in runs]
        out = spectra_sweep("quadratic", "convex", D, 1.0, 0.5, ell, N_VALUES, weights, fits, teacher, seed=SEED)
        summaries.append(out.summary)
        densities.append(out.density)
        if ell == -1.0:
            pruning.append(prune_sweep("quadratic", "convex", D, 1.0, 0.5, ell, N_VALUES, weights, teacher, seed=SEED))
    return pd.concat(summaries), pd.concat(densities), pd.concat(pruning)


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def test_fig2_picks_one_point_per_reachable_phase(tables) -> None:
    _, density, _ = tables
    chosen = select_phase_points(density)
    assert chosen["Ia"] == (-1.0, N_VALUES[0]) and chosen["IV"] == (-1.0, N_VALUES[1])
    assert chosen["VIa"] == (-1.0, N_VALUES[2]) and chosen["II"] == (0.5, N_VALUES[2])
    # Ib holds two points: the median of an even count is the upper one. III needs κ > γ + ℓ + ½.
    assert chosen["Ib"] == (0.5, N_VALUES[1]) and chosen["III"] is None
    fig = draw_fig2(density, "quadratic")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("phase III not reached" in text for text in texts)
    assert "Paper Figure 2" in fig._suptitle.get_text()
    plt.close(fig)


@pytest.mark.parametrize("name", ["fig2", "fig6", "fig7", "fig8"])
def test_figures_are_byte_deterministic(tables, name: str) -> None:
    summary, density, pruning = tables
    draw = {
        "fig2": lambda: draw_fig2(density, "quadratic"),
        "fig6": lambda: draw_fig6(summary, "quadratic", -1.0),
        "fig7": lambda: draw_fig7(summary, "quadratic"),
        "fig8": lambda: draw_fig8(pruning, "quadratic"),
    }[name]
    first, second = _png(draw()), _png(draw())
    assert first == second and len(first) > 5000


def test_fig6_refuses_a_schedule_that_is_not_in_the_table(tables) -> None:
    summary, _, _ = tables
    with pytest.raises(ValueError, match="not in the table"):
        draw_fig6(summary, "quadratic", 0.0)
