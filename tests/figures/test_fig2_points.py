"""Figure 2 of the default study has a point in every panel (issue: honest uncertainties and
referee-ready figures, item 2): the selection of figures/fig2.py run on the configured points."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from shallowscaling.config import fig2_points, load_config, n_eff_value, n_grid
from shallowscaling.figures.fig2 import PANEL_PHASES, UNREACHABLE, select_phase_points
from shallowscaling.rates import classify_phase

ROOT = Path(__file__).resolve().parents[2]


def _configured_points(config: dict, model: str) -> pd.DataFrame:
    """The points whose density tables the workflow collects for Figure 2 (common.smk fig2_files):
    the sweep at its largest d and first γ at the weak and strong ℓ, then the extra points."""
    c = config[model]
    d, gamma = max(c["d"]), c["gamma"][0]
    ells = [config["spectra"][key] for key in ("weak_lam_exponent", "strong_lam_exponent")]
    points = [(d, gamma, ell, n) for ell in dict.fromkeys(ells) for n in n_grid(model, d, c["n_eff_exponent"])]
    points += [(p["d"], p["gamma"], p["lam_exponent"], p["n"]) for p in fig2_points(config, model).values()]
    rows = []
    for d, gamma, ell, n in points:
        kappa = math.log(n_eff_value(model, d, n)) / math.log(d)
        phase = classify_phase(kappa, ell, gamma)
        rows.append({"d": d, "gamma": gamma, "lam_exponent": ell, "n": n, "rate_phase": phase})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("model", ["diagonal", "quadratic"])
def test_default_fig2_has_a_point_in_every_reachable_panel(model: str) -> None:
    config = load_config(ROOT / "config.yaml")
    table = _configured_points(config, model)
    # The data can tell the cases apart: without the extra points some panel is empty.
    bare = select_phase_points(table[table["d"] == table["d"].iloc[0]])
    assert any(pick is None for phase, pick in bare.items() if (model, phase) not in UNREACHABLE)
    chosen = select_phase_points(table)
    for phases in PANEL_PHASES:
        for phase in phases:
            if (model, phase) in UNREACHABLE:
                assert chosen[phase] is None
                continue
            assert chosen[phase] is not None, f"{model} Figure 2, phase {phase}: empty panel"
            d, gamma, ell, n = chosen[phase]
            kappa = math.log(n_eff_value(model, d, n)) / math.log(d)
            assert classify_phase(kappa, ell, gamma) == phase


def test_the_diagonal_ia_panel_is_unreachable() -> None:
    # n_eff = n >= 1 for the diagonal network, so κ = log_d n >= 0 is never in Ia (κ < 0).
    assert classify_phase(0.0, -1.0, 1.0) != "Ia"
