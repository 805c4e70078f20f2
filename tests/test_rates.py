"""Result-1 phase diagram: labels and exponents at points inside each region (docs/theory.md §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shallowscaling import rates
from shallowscaling.errors import InputError
from shallowscaling.rates import classify_phase, phase_boundaries, predicted_exponent, rate_shape


@pytest.mark.parametrize(
    ("kappa", "ell", "gamma", "phase", "exponent"),
    [
        (-0.5, -1.0, 1.0, "Ia", 0.0),
        (0.5, 0.5, 1.0, "Ib", 0.0),  # ℓ > κ − ½: rank collapse
        (1.5, 0.5, 1.0, "II", (2 - 1) * (1.5 - 0.5 - 0.5)),
        (3.0, 1.2, 1.0, "III", 2 * (3.0 - 1.2 - 1)),  # needs κ > 2γ and (κ−1)/2 < ℓ < κ−γ−½
        (0.5, -1.0, 1.0, "IV", (1 - 1 / 2) * 0.5),
        (1.0, -1.0, 1.0, "peak", -2 / 3),
        (1.5, -1.0, 1.0, "VIa", 0.5),
        (2.5, -1.0, 1.0, "VIb", 1.5),
        (1.5, 0.5, 2.0, "II", (2 - 0.5) * 0.5),
    ],
)
def test_phase_and_exponent(kappa, ell, gamma, phase, exponent) -> None:
    assert classify_phase(kappa, ell, gamma) == phase
    assert predicted_exponent(kappa, ell, gamma) == pytest.approx(exponent, abs=1e-12)


def test_exponent_is_continuous_across_the_regularisation_boundary_only_where_theory_says() -> None:
    gamma = 1.0
    # Across ℓ = (κ−1)/2 at κ < 1 (IV ↔ II) the rate is continuous: both give (1 − 1/2γ)κ.
    kappa = 0.6
    edge = (kappa - 1) / 2
    assert predicted_exponent(kappa, edge - 1e-9, gamma) == pytest.approx(
        predicted_exponent(kappa, edge + 1e-9, gamma), abs=1e-6
    )
    # Across it at 1 < κ < 2γ (VIa ↔ II) the rate jumps: the paper's red lines.
    kappa = 1.5
    edge = (kappa - 1) / 2
    jump = predicted_exponent(kappa, edge + 1e-9, gamma) - predicted_exponent(kappa, edge - 1e-9, gamma)
    assert abs(jump) > 0.2


def test_rate_shape_has_the_predicted_slopes() -> None:
    d, gamma = 10_000, 1.0
    n_eff = np.array([d**1.3, d**1.4])
    # Phase VIa at λ = 1/d: R ∝ d/n_eff, slope −1 in log n_eff.
    values = rate_shape(n_eff, 1.0 / d, d, gamma, noise=0.5)
    slope = math.log(values[1] / values[0]) / math.log(n_eff[1] / n_eff[0])
    assert slope == pytest.approx(-1.0)
    # Phase II at λ = √d: R ∝ (λ√d/n_eff)^{2−1/γ}, slope −(2 − 1/γ) = −1 at γ = 1 ... use γ = 2.
    values = rate_shape(n_eff, d**0.5, d, 2.0, noise=0.5)
    slope = math.log(values[1] / values[0]) / math.log(n_eff[1] / n_eff[0])
    assert slope == pytest.approx(-1.5)


def test_boundaries_meet_where_phase_III_opens() -> None:
    gamma = 1.0
    b = phase_boundaries(np.array([2 * gamma]), gamma)
    # (κ−1)/2 and κ−γ−½ cross at κ = 2γ: phase III exists only beyond.
    assert b["regularisation"][0] == pytest.approx(b["all_features"][0])


def test_dmm_transition_two_routes_and_limits():
    """The parametric closed form against a direct minimisation of the minimax risk F_ε(τ)."""
    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import norm

    def min_risk(sparsity: float) -> float:
        def risk(tau: float) -> float:
            zero = 2.0 * ((1.0 + tau**2) * norm.sf(tau) - tau * norm.pdf(tau))  # E η(z; τ)², z ~ N(0, 1)
            return sparsity * (1.0 + tau**2) + (1.0 - sparsity) * zero

        return minimize_scalar(risk, bounds=(0.0, 10.0), method="bounded", options={"xatol": 1e-12}).fun

    for ratio in (0.1, 0.25, 0.5, 0.75, 0.9):
        direct = brentq(lambda eps, r=ratio: min_risk(eps) - r, 1e-5, 0.999, xtol=1e-13)
        assert rates.dmm_transition(ratio) == pytest.approx(direct, rel=1e-8)
    # ρ_c = ε_c/(n/d) at n/d = ½ and ¼ (the weak ℓ1 threshold of Donoho, Maleki and Montanari,
    # PNAS 2009), and the ends of the curve.
    assert rates.dmm_transition(0.5) / 0.5 == pytest.approx(0.385690, abs=1e-6)
    assert rates.dmm_transition(0.25) / 0.25 == pytest.approx(0.267384, abs=1e-6)
    assert rates.dmm_transition(1.0) == 1.0
    assert 0.95 < rates.dmm_transition(0.999) < 1.0  # ε_c → 1 as n/d → 1, slowly (1 − ε_c ∝ τ)
    with pytest.raises(InputError, match="sample_ratio"):
        rates.dmm_transition(0.0)
