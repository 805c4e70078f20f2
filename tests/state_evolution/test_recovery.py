"""Noiseless low-rank quadratic SE: the small-λ branch converges, and its exact-recovery threshold
matches the statistical dimension of trace minimisation over the PSD cone (an independent route).
"""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.errors import InputError
from shallowscaling.references.statistical_dimension import psd_trace_threshold
from shallowscaling.state_evolution.free_convolution import ThresholdContour, spectral_atoms
from shallowscaling.state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic
from shallowscaling.state_evolution.quadratic_mc import solve_quadratic_se_mc
from shallowscaling.state_evolution.recovery import quadratic_recovery_threshold
from shallowscaling.targets import family_values


@pytest.mark.slow
def test_noiseless_low_rank_point_converges_and_matches_the_mc_route():
    """docs/science.md item 15: d = 50, α = ½, sparse ε = 0.1, Δ = 0, λ = 1e-4 used to stall."""
    s = family_values("sparse", 50, sparsity=0.1)
    det = solve_quadratic_se_deterministic(s, 1250, 1e-4, 0.0)  # the default path, with its retry
    assert det.converged and det.fixed_point_residual <= 1e-10
    mc = solve_quadratic_se_mc(s, 1250, 1e-4, 0.0, n_draws=20, rng=np.random.default_rng(0))
    assert mc.converged
    assert det.excess_risk == pytest.approx(mc.excess_risk, rel=0.02)
    # Exact recovery: R ∝ λ² (δ ∝ λ with a λ-independent ratio t/δ).
    smaller = solve_quadratic_se_deterministic(s, 1250, 1e-5, 0.0, wide_contour=True)
    assert smaller.converged
    assert det.excess_risk / smaller.excess_risk == pytest.approx(100.0, rel=1e-3)


@pytest.mark.parametrize("delta", [1e-5, 1e-7, 1e-9])
def test_wide_right_leg_keeps_the_divergence_at_tiny_delta(delta):
    """δ → 0 with t = 2.8δ above the atom at 0: D = 2·cross → ρ(2 − ρ) (signal–signal and
    signal–noise pairs of the divergence count 1, noise–noise 0), with a relative O(δ) correction.
    The default leg, 3δ from the atom at s = ρ^{-1/2}, was off by a factor 2.6e4 at δ = 1e-7."""
    rho = 0.1
    pos, w = spectral_atoms(family_values("sparse", 50, sparsity=rho))
    contour = ThresholdContour(pos, w, delta, goe_size=None, right_margin=0.5 * pos[-1] + delta)
    ti = contour.threshold_integrals(2.8 * delta)
    assert 2.0 * ti.cross == pytest.approx(rho * (2.0 - rho), rel=max(10.0 * delta, 1e-9))
    assert ti.mass == pytest.approx(rho, rel=1e-9)


def test_wide_contour_agrees_with_the_default_one_where_both_converge():
    s = family_values("sparse", 50, sparsity=0.1)
    default = solve_quadratic_se_deterministic(s, 1250, 1e-2, 0.0)
    wide = solve_quadratic_se_deterministic(s, 1250, 1e-2, 0.0, wide_contour=True)
    assert default.converged and wide.converged
    assert wide.excess_risk == pytest.approx(default.excess_risk, rel=1e-8)


@pytest.mark.slow
@pytest.mark.parametrize("rho", [0.2, 0.5])
def test_exact_recovery_threshold_is_the_statistical_dimension(rho):
    """At d = 400 the SE recovers exactly beyond psd_trace_threshold(ρ) and not before (±0.02)."""
    res = quadratic_recovery_threshold(rho, 400, tol=0.02)
    assert res.converged and res.rank == round(rho * 400)
    lo, hi = res.bracket
    assert hi - lo <= 0.02
    reference = psd_trace_threshold(rho)
    # The finite-d shift is O(1/d) (≈ 5e-4 measured at tol 1e-3, docs/science.md item 15).
    assert lo - 0.005 < reference < hi + 0.005
    assert abs(res.threshold - reference) < 0.02


@pytest.mark.slow
def test_full_rank_threshold_is_the_closed_form_at_finite_d():
    """ρ = 1: nothing is cut, and the SE closed form recovers iff 2α > 1 + 1/d, n > d(d+1)/2."""
    d = 20
    res = quadratic_recovery_threshold(1.0, d, tol=0.004)
    lo, hi = res.bracket
    assert res.converged and hi - lo <= 0.004
    # n = round(αd²) is an integer: the exact boundary n = d(d+1)/2 belongs to the lower side.
    assert lo <= (d + 1) / (2 * d) < hi


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [
        ({"rank_ratio": 0.0, "d": 50}, "rank_ratio"),
        ({"rank_ratio": 0.5, "d": 1}, "d"),
        ({"rank_ratio": 0.5, "d": 50, "tol": 0.0}, "tol"),
    ],
)
def test_recovery_threshold_rejects_bad_input(kwargs, flag):
    with pytest.raises(InputError, match=flag):
        quadratic_recovery_threshold(**kwargs)
