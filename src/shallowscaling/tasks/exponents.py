"""The scaling jobs: SE risks across the phase diagram, measured exponents, the heat map (docs/theory.md §3, §6).

Three kinds of job:

* :func:`scaling_se_table`, one per (model, d, γ, Δ): the non-asymptotic SE excess risk on a
  (κ, ℓ) grid (``purpose = "grid"``), along each phase's fitting window (``"window"``) and at the
  interpolation peak (``"peak"``, the maximum over n_eff near d at each λ of the window);
* :func:`heatmap_table`: the SE-measured exponent ``r = −Δ log R / Δ log d`` at every grid point,
  next to the Result-1 exponent and phase (paper Figures 1 and 4, right panels);
* :func:`exponent_table`: one row per (model, phase, Δ = 0 or not) with the predicted exponent,
  the SE-measured one at the largest d (and extrapolated to d → ∞), and the simulated one with a
  bootstrap interval over seeds.

Exponents along a window are ``−d log R / d log v`` with v the variable the window moves
(n_eff at fixed λ = d^ℓ, or λ at the peak): the exponent of the phase's rate law in v, which is
∂r/∂κ or ∂r/∂ℓ of the Result-1 exponent (II: 2 − 1/γ, III: 2, IV: 1 − 1/(2γ) (Δ > 0) or 2γ − 1
(Δ = 0), VI: 1, peak: 2/3, plateaus: 0). The exponent at a fixed (κ, ℓ) is r itself.

SE teachers. Quadratic: the d eigenvalues of S* (deterministic). Diagonal: the index-aware
magnitudes |θ*_i| = √v_i (:func:`se_teacher`), not a sampled θ*. The SE depends on θ* only
through the empirical distribution of |θ*_i|, and the rates only through the power law of the
ordered magnitudes, which √v_i shares with every sample (a sample is √v_i |g_i|, g_i ~ N(0, 1):
same rates, other constants). A sample's top features carry O(1) relative fluctuations that do
not average out, and they set the rates of II and IV: with a fresh sample per d the exponents
scatter (local slopes −1.11 and −0.91 where √v_i gives −0.97 and −0.99 in phase II at
d = 2·10⁴, λ = √d, γ = 1, Δ = 0.5), whereas √v_i gives smooth curves in d, so a three-point d
sequence measures exponents to ~0.01.

The jobs live in :mod:`shallowscaling.tasks.scaling_se` (the SE job and the checks of its
windows) and :mod:`shallowscaling.tasks.exponent_tables` (heat map and exponent table); this
module gathers their names (``workflow/rules/common.smk`` imports :func:`check_scaling_config`
from here).
"""

from __future__ import annotations

from .exponent_tables import (
    EXPONENT_COLUMNS,
    HEATMAP_COLUMNS,
    MIN_SIM_POINTS,
    SIM_ESTIMATORS,
    exponent_table,
    exponent_table_html,
    heatmap_agreement,
    heatmap_table,
)
from .scaling_se import (
    DIGITS,
    PEAK_POLISH,
    PEAK_SCAN,
    PEAK_XTOL,
    SCALING_SE_COLUMNS,
    SE_TOL,
    check_scaling_config,
    check_windows,
    scaling_se_table,
    se_teacher,
)

__all__ = [
    "DIGITS",
    "EXPONENT_COLUMNS",
    "HEATMAP_COLUMNS",
    "MIN_SIM_POINTS",
    "PEAK_POLISH",
    "PEAK_SCAN",
    "PEAK_XTOL",
    "SCALING_SE_COLUMNS",
    "SE_TOL",
    "SIM_ESTIMATORS",
    "check_scaling_config",
    "check_windows",
    "exponent_table",
    "exponent_table_html",
    "heatmap_agreement",
    "heatmap_table",
    "scaling_se_table",
    "se_teacher",
]
