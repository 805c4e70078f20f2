"""Figures 2, 6, 7, 8 draw from their tables, pick the right points, and are byte-deterministic."""

from __future__ import annotations

import io

import matplotlib.pyplot as plt
import pytest

from shallowscaling.figures.decomposition import draw_fig6
from shallowscaling.figures.fig2 import draw_fig2, select_phase_points
from shallowscaling.figures.htsr import draw_fig7
from shallowscaling.figures.pruning import draw_fig8


def _png(fig: plt.Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60, metadata={"Software": None})
    plt.close(fig)
    return buffer.getvalue()


def test_fig2_picks_one_point_per_reachable_phase(tables, n_values) -> None:
    _, density, _ = tables
    chosen = select_phase_points(density)
    d, gamma = int(density["d"].iloc[0]), float(density["gamma"].iloc[0])
    assert chosen["Ia"] == (d, gamma, -1.0, n_values[0]) and chosen["IV"] == (d, gamma, -1.0, n_values[1])
    assert chosen["VIa"] == (d, gamma, -1.0, n_values[2]) and chosen["II"] == (d, gamma, 0.5, n_values[2])
    # Ib holds two points: the larger n, nearest ℓ = κ − ½, is drawn. III needs κ > γ + ℓ + ½.
    assert chosen["Ib"] == (d, gamma, 0.5, n_values[1]) and chosen["III"] is None
    fig = draw_fig2(density, "quadratic")
    (panel,) = [ax for ax in fig.axes if ax.get_title() == "phase III"]
    assert any(text.get_text().startswith("not reached") for text in panel.texts)
    assert "Paper Figure 2" in fig._suptitle.get_text()
    plt.close(fig)


@pytest.mark.slow
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
