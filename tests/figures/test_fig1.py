"""Figures 1 and 4 (phase diagrams) and Figure 5 (Figure 3 at Δ = 0): what is drawn is the table."""

from __future__ import annotations

import hashlib

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from shallowscaling.figures.fig1 import draw_fig1, draw_fig4
from shallowscaling.figures.fig3 import draw_fig3
from shallowscaling.figures.style import save_figure
from shallowscaling.rates import boundary_distance, boundary_segments, classify_phase, predicted_exponent
from shallowscaling.tasks.exponents import HEATMAP_COLUMNS

GAMMA = 1.0


def _heatmap(noise: float, model: str = "diagonal", shift: float = 0.0) -> pd.DataFrame:
    """A heat-map table whose 'measured' exponent is the theory plus ``shift`` times κ·ℓ: a
    pattern that is not symmetric in (κ, ℓ), so a transposed drawing would show."""
    noiseless = noise == 0
    rows = []
    for kappa in np.linspace(-0.5, 3.0, 8):
        for ell in np.linspace(-1.5, 2.5, 5):
            predicted = predicted_exponent(kappa, ell, GAMMA, noiseless)
            distance = boundary_distance(kappa, ell, GAMMA, noiseless)
            measured = predicted + shift * kappa * ell
            rows.append(
                {"model": model, "gamma": GAMMA, "noise": noise, "kappa": kappa, "lam_exponent": ell,
                 "phase": classify_phase(kappa, ell, GAMMA, noiseless), "predicted": predicted,
                 "se_exponent": measured, "se_exponent_extrapolated": measured, "d_low": 10_000,
                 "d_high": 100_000, "boundary_distance": distance, "scored": distance > 0.1,
                 "agrees": abs(measured - predicted) <= 0.1, "converged": True, "margin": 0.1, "tol": 0.1}
            )  # fmt: skip
    return pd.DataFrame(rows, columns=list(HEATMAP_COLUMNS))


def test_heat_map_cells_are_the_measured_minus_predicted_exponents_in_place() -> None:
    table = _heatmap(0.5, shift=0.05)
    fig = draw_fig1(table, "diagonal")
    heat = fig.axes[1]
    (mesh,) = heat.collections
    drawn = np.asarray(mesh.get_array()).reshape(5, 8)  # rows ℓ, columns κ
    kappas = np.sort(table["kappa"].unique())
    ells = np.sort(table["lam_exponent"].unique())
    for i, ell in enumerate(ells):
        for j, kappa in enumerate(kappas):
            cell = table[(table["kappa"] == kappa) & (table["lam_exponent"] == ell)]
            expected = cell["se_exponent"].item() - cell["predicted"].item()
            assert drawn[i, j] == pytest.approx(expected)
    # Cell edges sit half a grid step outside the outermost grid points.
    x_lo, x_hi = heat.get_xlim()
    assert x_lo == pytest.approx(kappas[0] - 0.25) and x_hi == pytest.approx(kappas[-1] + 0.25)
    plt.close(fig)


@pytest.mark.parametrize(("noise", "draw", "label"), [(0.5, draw_fig1, "Figure 1"), (0.0, draw_fig4, "Figure 4")])
def test_diagram_draws_every_red_line_and_reports_the_agreement(noise, draw, label) -> None:
    table = _heatmap(noise, shift=0.05)
    fig = draw(table, "diagonal")
    theory, heat = fig.axes[0], fig.axes[1]
    red = [line for line in theory.lines if line.get_color() == "#D00000"]
    jumps = [segment for _, segment, jump in boundary_segments(GAMMA, noise == 0) if jump]
    assert len(red) == len(jumps)
    scored = table[table["scored"]]
    fraction = scored["agrees"].mean()
    # The shift κ·ℓ/20 misses the 0.1 tolerance where |κℓ| > 2: the data tell agree from miss.
    assert 0.0 < fraction < 1.0
    assert f"at {fraction:.0%}" in heat.get_title() and f"of {len(scored)} cells" in heat.get_title()
    assert label in fig._suptitle.get_text()
    plt.close(fig)


@pytest.mark.slow
def test_figures_are_byte_deterministic(tmp_path) -> None:
    digests = []
    for run in range(2):
        paths = [tmp_path / f"fig1_{run}.pdf", tmp_path / f"fig1_{run}.png"]
        save_figure(draw_fig1(_heatmap(0.5), "diagonal"), paths, dpi=60)
        digests.append([hashlib.sha256(p.read_bytes()).hexdigest() for p in paths])
    assert digests[0] == digests[1]


def test_missing_noise_level_is_an_error() -> None:
    with pytest.raises(ValueError, match="no Δ = 0 rows for the diagonal model"):
        draw_fig4(_heatmap(0.5), "diagonal")


def test_fig5_is_fig3_titled_as_the_paper_figure_5() -> None:
    rows = []
    for n in (100, 200, 400):
        for source, estimator in (("simulation", "lasso"), ("se", "erm")):
            rows.append(
                {"model": "diagonal", "source": source, "estimator": estimator, "d": 100, "gamma": 1.0, "noise": 0.0,
                 "lam": 0.01, "lam_exponent": -1.0, "n": n, "n_eff": float(n), "excess_risk": 100.0 / n,
                 "excess_risk_sem": 0.01, "matrix_mse": np.nan, "n_replicates": 3, "n_converged": 3,
                 "converged": True, "fixed_point_residual": 1e-12 if source == "se" else np.nan}
            )  # fmt: skip
    fig = draw_fig3(pd.DataFrame(rows), "diagonal", figure_label="Figure 5 (Figure 3 at Δ = 0)")
    assert fig._suptitle.get_text().startswith("Paper Figure 5 (Figure 3 at Δ = 0), diagonal network")
    plt.close(fig)
