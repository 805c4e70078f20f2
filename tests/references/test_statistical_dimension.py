"""The PSD trace-minimisation recovery threshold against its limits, quadrature and Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from shallowscaling.errors import InputError
from shallowscaling.references.statistical_dimension import psd_trace_threshold


def test_limits_are_zero_and_one_half():
    # ρ → 0: the descent cone at S* = 0 is {0}; ρ = 1: every symmetric direction, d(d+1)/2 ≈ d²/2.
    assert psd_trace_threshold(0.0) == 0.0
    assert psd_trace_threshold(1.0) == 0.5
    assert psd_trace_threshold(1e-6) < 1e-4
    assert 0.5 - psd_trace_threshold(1.0 - 1e-6) < 1e-9


def test_monotone_and_above_the_dimension_count():
    rhos = np.linspace(0.01, 0.99, 50)
    values = np.array([psd_trace_threshold(r) for r in rhos])
    assert np.all(np.diff(values) > 0)
    # A rank-r PSD matrix has rd − r(r−1)/2 degrees of freedom: no program recovers it with fewer.
    assert np.all(values > rhos - rhos**2 / 2)


def test_closed_form_where_the_optimal_threshold_is_one():
    # u = 2 cos θ = 1 at θ = π/3: ρ solves ρ = (1 − ρ)(m1 − m0) with the semicircle tail moments.
    m0 = 1.0 / 3.0 - math.sqrt(3.0) / (4.0 * math.pi)
    m1 = math.sqrt(3.0) / (2.0 * math.pi)
    m2 = 1.0 / 3.0 + math.sqrt(3.0) / (8.0 * math.pi)
    rho = (m1 - m0) / (1.0 + m1 - m0)
    expected = rho - rho**2 / 2 + 0.5 * (1 - rho) * (rho + (1 - rho) * (m2 - 2 * m1 + m0))
    assert psd_trace_threshold(rho) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize("rho", [0.05, 0.2, 0.5, 0.8])
def test_agrees_with_quadrature_against_the_semicircle(rho):
    def bracket(u: float) -> float:
        tail = quad(lambda x: (x - u) ** 2 * math.sqrt(4 - x * x) / (2 * math.pi), u, 2, epsabs=1e-14)[0]
        return rho * u * u + (1 - rho) * tail

    best = minimize_scalar(bracket, bounds=(0, 2), method="bounded", options={"xatol": 1e-10}).fun
    assert psd_trace_threshold(rho) == pytest.approx(rho - rho**2 / 2 + 0.5 * (1 - rho) * best, rel=1e-10)


@pytest.mark.parametrize("rho", [0.2, 0.5])
def test_monte_carlo_statistical_dimension_at_d_60(rho):
    """inf_τ E dist²(G, τ∂f(S*)) over 200 Gaussian G at d = 60, against the d → ∞ formula."""
    d, draws = 60, 200
    r = round(rho * d)
    rng = np.random.default_rng(20140101 + r)
    a = rng.standard_normal((draws, d, d))
    g = 0.5 * (a + a.transpose(0, 2, 1))  # diagonal N(0, 1), off-diagonal N(0, ½)
    g11, g12, eig22 = g[:, :r, :r], g[:, :r, r:], np.linalg.eigvalsh(g[:, r:, r:])
    taus = np.linspace(0.0, 2.0 * math.sqrt(2.0 * (d - r)), 801)
    fixed = (g11**2).sum((1, 2)) + 2.0 * (g12**2).sum((1, 2))
    trace = np.trace(g11, axis1=1, axis2=2)
    dist2 = (
        fixed[:, None]
        - 2.0 * taus * trace[:, None]
        + r * taus**2
        + (np.maximum(eig22[:, :, None] - taus, 0.0) ** 2).sum(1)
    )
    mean = dist2.mean(0)
    best = int(mean.argmin())
    value, error = mean[best] / d**2, dist2[:, best].std() / math.sqrt(draws) / d**2
    # Finite d: the U block gives r(r+1)/2, not r²/2 (+ρ/(2d)); the rest is O(1/d) smaller.
    assert abs(value - psd_trace_threshold(rho) - rho / (2 * d)) < 3 * error + 0.5 / d


@pytest.mark.parametrize("bad", [-0.1, 1.5, math.nan, "0.5"])
def test_rejects_a_rank_ratio_outside_the_unit_interval(bad):
    with pytest.raises(InputError, match="rank_ratio"):
        psd_trace_threshold(bad)
