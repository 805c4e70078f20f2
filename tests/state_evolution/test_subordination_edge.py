"""Subordination Newton next to a square-root edge of μ_δ (regression: paper overlay, d = 400/800).

The optimal-λ search of the paper-scale overlay probed thresholds t within ~1e-4 relative of the
right edge of μ_δ, where 1 + δ² G_0'(ω) → 0 makes the subordination equation ill-conditioned; the
Newton step then stalls at the rounding floor above the old step tolerance and the contour raised
``FloatingPointError: subordination continuation failed``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from shallowscaling.state_evolution.free_convolution import (
    ThresholdContour,
    compress_spectrum,
    semicircle_free_convolution,
)
from shallowscaling.state_evolution.optimal import minimize_se_risk_over_lam
from shallowscaling.state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic
from shallowscaling.targets import power_law_spectrum

FIELDS = ("mass", "first", "second", "cross", "tail_re_g")
NOISE = 0.5
# The failing probe of `predict quadratic --lam optimal --d 400` (paper overlay): n = 57, a Brent
# trial λ, and the δ of its fixed point (rank collapse, δ² = (Q* + Δ/2)/(2α)).
D400, N400, LAM400, DELTA400 = 400, 57, 0.1209856613751665, 41.88539082916955
T_FAILED = 84.06447256632563


def _atoms_d400():
    """The atoms the deterministic SE uses at d = 400, n = 57 (compressed at δ_ref = √(Δ/4α))."""
    s = power_law_spectrum(D400, 1.0)
    return compress_spectrum(s, math.sqrt(NOISE / (4.0 * N400 / D400**2)), rel_width=0.01)


def _right_edge(pos: np.ndarray, w: np.ndarray, delta: float) -> float:
    """Right edge of μ_δ: x(u_R) = u_R + δ² G_0(u_R) with Σ p/(u_R − s)² = 1/δ² (Biane)."""
    d2 = delta * delta
    u_r = brentq(lambda u: np.sum(w / (u - pos) ** 2) - 1.0 / d2, pos[-1] + 1e-9, pos[-1] + 10 * delta, xtol=1e-14)
    return float(u_r + d2 * np.sum(w / (u_r - pos)))


@pytest.mark.parametrize("offset", [None, 1e-6, -1e-6, -0.05])
def test_contour_next_to_the_right_edge(offset):
    # At the reported t (84.0645, 0.006 above the edge 84.0585) and 1e-6 on either side of the
    # edge the old stopping rule failed. The contour must agree with Biane's real-axis route, an
    # independent quadrature without complex Newton; measured differences ≤ 8e-12 (the contour's
    # ~1e-11 accuracy), hence 1e-10.
    pos, w = _atoms_d400()
    t = T_FAILED if offset is None else _right_edge(pos, w, DELTA400) + offset
    contour = ThresholdContour(pos, w, DELTA400).threshold_integrals(t)
    biane = semicircle_free_convolution(pos, w, DELTA400).threshold_integrals(t)
    for name in FIELDS:
        assert getattr(contour, name) == pytest.approx(getattr(biane, name), abs=1e-10)
    # With the 1/d GOE term (the SE default) the same path is taken: it must not raise either,
    # and above the edge nothing is left to integrate (the k ≥ 1 moments vanish to ~1e-12).
    with_goe = ThresholdContour(pos, w, DELTA400, goe_size=D400).threshold_integrals(T_FAILED)
    assert abs(with_goe.first) < 1e-10 and abs(with_goe.second) < 1e-10


def test_rank_collapse_probe_of_the_optimal_search():
    # t_collapse = λ/(4α) = 84.90 lies above the edge: Ŝ = 0, so mse_S = Q* and the fixed point
    # is closed form, δ² = (Q* + Δ/2)/(2α), t = λ/(4α). The inner t-solve passes through the
    # edge region on its way there. Tolerance: the solver's tol = 1e-10 on the δ-equation.
    s = power_law_spectrum(D400, 1.0)
    ratio = N400 / D400**2
    target_q = float(np.mean(s * s))
    res = solve_quadratic_se_deterministic(s, N400, LAM400, NOISE)
    assert res.converged
    assert res.delta**2 == pytest.approx((target_q + NOISE / 2) / (2 * ratio), rel=1e-9)
    assert res.threshold == pytest.approx(LAM400 / (4 * ratio), rel=1e-9)
    assert res.matrix_mse == pytest.approx(target_q, rel=1e-9)


@pytest.mark.slow
def test_optimal_search_over_the_collapse_plateau():
    # The whole search at d = 400, n = 57 (it raised before): every probe converges. At α = 3.6e-4
    # the grid's large λ give Ŝ = 0, R = 2 mse_S = 2 Q* exactly, so R(λ*) cannot exceed that (the
    # search finds a dip of 1.5e-4 just below the collapse, λ* ≈ 0.117); the 1e-12 covers rounding.
    s = power_law_spectrum(D400, 1.0)
    best = minimize_se_risk_over_lam(lambda lam: solve_quadratic_se_deterministic(s, N400, lam, NOISE), (1e-6, 1e6))
    assert best.converged and best.failed_points == 0
    assert best.excess_risk <= 2.0 * float(np.mean(s * s)) + 1e-12
    assert best.excess_risk == solve_quadratic_se_deterministic(s, N400, best.lam, NOISE).excess_risk


def test_grid_probe_at_d800_agrees_without_the_goe_term():
    # The failing grid probe at d = 800 (n = 1249, λ = 10^-2.25): t = 31.87 with the 1/d GOE term.
    # Without the term (a different contour path, which the old rule did pass) the fixed point
    # moves by O(1/d); measured 7e-4 relative on δ and 2e-3 on t, so 5/d = 6e-3.
    s = power_law_spectrum(800, 1.0)
    lam = 10.0**-2.25
    res = solve_quadratic_se_deterministic(s, 1249, lam, NOISE)
    plain = solve_quadratic_se_deterministic(s, 1249, lam, NOISE, finite_size_correction=False)
    assert res.converged and plain.converged
    assert abs(res.fixed_point_residual) <= 1e-10
    assert res.delta == pytest.approx(plain.delta, rel=5 / 800)
    assert res.threshold == pytest.approx(plain.threshold, rel=5 / 800)
