"""Free convolution with a semicircle: closed forms, identities, two independent quadratures, MC."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import semicircular

from shallowscaling.errors import InputError
from shallowscaling.state_evolution.free_convolution import (
    ThresholdContour,
    compress_spectrum,
    semicircle_free_convolution,
    spectral_atoms,
    stieltjes_transform,
)
from shallowscaling.targets import power_law_spectrum

FIELDS = ("mass", "first", "second", "cross", "tail_re_g")


def _semicircle_closed_form(delta: float, t: float) -> dict[str, float]:
    """Integrals of the semicircle of radius 2δ above t, by adaptive quadrature; Re G = x/(2δ²)."""
    dens = lambda x: math.sqrt(max(4 * delta**2 - x * x, 0.0)) / (2 * math.pi * delta**2)  # noqa: E731
    lo, hi = max(t, -2 * delta), 2 * delta
    integ = lambda f: quad(lambda x: f(x) * dens(x), lo, hi, epsabs=1e-14, epsrel=1e-13)[0]  # noqa: E731
    return {
        "mass": integ(lambda x: 1.0),
        "first": integ(lambda x: x - t),
        "second": integ(lambda x: (x - t) ** 2),
        "cross": integ(lambda x: (x - t) * x / (2 * delta**2)),
        "tail_re_g": integ(lambda x: x / (2 * delta**2)),
    }


@pytest.mark.parametrize("t", [-0.7, 0.0, 0.4, 1.1])
def test_single_atom_is_the_semicircle(t):
    # S* = 0: μ_δ is the semicircle; both routes must reproduce its closed-form integrals. The
    # Biane route treats the single atom as an isolated component, which is exact here.
    delta = 0.6
    ref = _semicircle_closed_form(delta, t)
    biane = semicircle_free_convolution(np.array([0.0]), np.array([1.0]), delta).threshold_integrals(t)
    contour = ThresholdContour(np.array([0.0]), np.array([1.0]), delta, t_min=-2.0).threshold_integrals(t)
    for name in FIELDS:
        assert getattr(biane, name) == pytest.approx(ref[name], abs=1e-12)
        # Contour quadrature: ~1e-11 (module docstring), the mass slightly less (bottom cut).
        assert getattr(contour, name) == pytest.approx(ref[name], abs=1e-9)


@pytest.mark.parametrize("delta", [0.03, 0.3, 1.5])
def test_moments_of_the_free_convolution(delta):
    # Exact identities: mass 1, mean = mean(s), variance adds δ², and ∫ x Re G dμ = ½ (free Stein
    # identity), i.e. D(t → −∞) = 1. They test the bumps and the panels together.
    s = power_law_spectrum(150, 1.0)
    fc = semicircle_free_convolution(*spectral_atoms(s), delta)
    t = float(s.min()) - 3 * delta
    ti = fc.threshold_integrals(t)
    assert fc.total_mass() == pytest.approx(1.0, abs=1e-12)
    assert ti.mass == pytest.approx(1.0, abs=1e-12)
    assert ti.first + t == pytest.approx(s.mean(), rel=1e-10)
    second = ti.second + 2 * t * ti.first + t * t
    # The closed-form outlier components carry an O(ρ⁴/gap³) error on their mean (module doc).
    assert second == pytest.approx(np.mean(s**2) + delta**2, rel=1e-8)
    assert ti.cross + t * ti.tail_re_g == pytest.approx(0.5, abs=1e-9)
    assert ti.tail_re_g == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("delta", [0.02, 0.2, 1.0])
def test_contour_and_biane_routes_agree(delta):
    # Two independent quadratures of the same measure: real-axis panels + closed-form outliers
    # versus a contour integral of the Stieltjes transform (Newton on the subordination).
    s = power_law_spectrum(200, 1.0)
    pos, w = spectral_atoms(s)
    fc = semicircle_free_convolution(pos, w, delta)
    contour = ThresholdContour(pos, w, delta)
    for t in (0.3 * delta, 2 * delta, 1.0, 3.0):
        a, b = contour.threshold_integrals(t), fc.threshold_integrals(t)
        for name in FIELDS:
            assert getattr(a, name) == pytest.approx(getattr(b, name), abs=1e-9)


def test_delta_and_threshold_derivatives_match_finite_differences():
    # ∂_δ J = 4δ·cross (Burgers equation) and ∂_t cross = −tail_re_g, against central differences.
    s = power_law_spectrum(120, 1.0)
    pos, w = spectral_atoms(s)
    delta, t, h = 0.4, 0.5, 1e-4
    j = [ThresholdContour(pos, w, delta + e).threshold_integrals(t).second for e in (-h, h)]
    ti = ThresholdContour(pos, w, delta).threshold_integrals(t)
    # Central differences: O(h²) ≈ 1e-8 truncation, 1e-11/h ≈ 1e-7 from quadrature noise.
    assert (j[1] - j[0]) / (2 * h) == pytest.approx(4 * delta * ti.cross, rel=1e-6)
    contour = ThresholdContour(pos, w, delta)
    c = [contour.threshold_integrals(t + e).cross for e in (-h, h)]
    assert (c[1] - c[0]) / (2 * h) == pytest.approx(-ti.tail_re_g, rel=1e-6)
    m = [contour.threshold_integrals(t + e).second for e in (-h, h)]
    assert (m[1] - m[0]) / (2 * h) == pytest.approx(-2 * ti.first, rel=1e-6)


def test_goe_correction_matches_monte_carlo():
    # The 1/d GOE term must turn μ_δ into the mean spectrum of diag(s) + δZ at d = 20. First check
    # that the data tell the two cases apart: plain μ_δ is off by many standard errors in D.
    rng = np.random.default_rng(11)
    d, delta, t, draws = 20, 0.5, 0.3, 3000
    s = power_law_spectrum(d, 1.0)
    j_mc, div_mc = [], []
    for _ in range(draws):
        g = rng.standard_normal((d, d))
        x = np.linalg.eigvalsh(np.diag(s) + delta * (g + g.T) / math.sqrt(2 * d))
        f = np.maximum(x - t, 0.0)
        diff = x[:, None] - x[None, :]
        np.fill_diagonal(diff, 1.0)
        ratio = (f[:, None] - f[None, :]) / diff
        np.fill_diagonal(ratio, 0.0)
        j_mc.append(np.mean(f * f))
        div_mc.append((2 * np.count_nonzero(f) + ratio.sum()) / d**2)
    j_mc, div_mc = np.array(j_mc), np.array(div_mc)
    se_j, se_d = j_mc.std() / math.sqrt(draws), div_mc.std() / math.sqrt(draws)
    pos, w = spectral_atoms(s)
    plain = ThresholdContour(pos, w, delta).threshold_integrals(t)
    corrected = ThresholdContour(pos, w, delta, goe_size=d).threshold_integrals(t)
    assert abs(2 * plain.cross - div_mc.mean()) > 20 * se_d
    assert abs(2 * corrected.cross - div_mc.mean()) < 4 * se_d + 1e-4
    assert abs(corrected.second - j_mc.mean()) < 4 * se_j + 1e-4


def test_compression_error_is_small():
    # Merging atoms closer than 2% of the smoothing scale changes every threshold integral by
    # a second-order amount; 1e-5 relative is what the documented rel_width=0.02 guarantees.
    s = power_law_spectrum(3000, 1.0)
    delta = 0.1
    exact = ThresholdContour(*spectral_atoms(s), delta)
    pos, w = compress_spectrum(s, delta)
    assert pos.size < 0.5 * s.size
    assert w.sum() == pytest.approx(1.0) and pos @ w == pytest.approx(s.mean())
    merged = ThresholdContour(pos, w, delta)
    for t in (0.05, 0.3, 2.0):
        a, b = exact.threshold_integrals(t), merged.threshold_integrals(t)
        assert b.second == pytest.approx(a.second, rel=1e-5)
        assert b.cross == pytest.approx(a.cross, rel=1e-5)


def test_outlier_position_matches_a_spiked_goe_matrix():
    # One spike s on a zero bulk: the isolated component sits at the BBP position s + δ²/s·(1 − p)
    # and the top eigenvalue of diag(s, 0, …) + δZ at d = 800 fluctuates around it by ~δ√(2/d).
    rng = np.random.default_rng(3)
    d, delta, spike = 800, 0.5, 2.0
    fc = semicircle_free_convolution(np.array([0.0, spike]), np.array([1 - 1 / d, 1 / d]), delta)
    assert fc.outlier_positions()[0] == pytest.approx(spike + delta**2 / spike * (1 - 1 / d), rel=1e-12)
    tops = []
    for _ in range(4):
        g = rng.standard_normal((d, d))
        h = delta * (g + g.T) / math.sqrt(2 * d)
        h[0, 0] += spike
        tops.append(np.linalg.eigvalsh(h)[-1])
    assert np.mean(tops) == pytest.approx(fc.outlier_positions()[0], abs=4 * delta * math.sqrt(2 / d) / 2)


def test_stieltjes_transform_matches_biane_quadrature():
    # G(z) off the axis from the η-homotopy Newton solver versus ∫ μ_δ(dx)/(z − x) computed
    # with the real-axis representation (panel nodes plus semicircle outliers by quadrature).
    s = power_law_spectrum(60, 1.0)
    pos, w = spectral_atoms(s)
    delta = 0.3
    fc = semicircle_free_convolution(pos, w, delta)
    z = np.array([0.2 + 0.3j, 1.0 + 0.5j, 4.0 + 0.25j])
    g_newton = stieltjes_transform(pos, w, delta, z)
    theta = np.linspace(0, math.pi, 4001)
    g_quad = []
    for zz in z:
        val = np.sum(fc.node_mass / (zz - fc.node_x))
        for c, r, p in zip(fc.bump_center, fc.bump_radius, fc.bump_mass, strict=True):
            dens = 2 * p / math.pi * np.sin(theta) ** 2
            val += np.trapezoid(dens / (zz - c - r * np.cos(theta)), theta)
        g_quad.append(val)
    np.testing.assert_allclose(g_newton, g_quad, rtol=1e-7)


def test_cubic_integral_closed_forms():
    # Semicircle of variance σ²: ∫μ³ = 3/(4π²σ²). S* = 0 → σ² = δ² (one isolated atom, exact);
    # a semicircle target of variance 1 (600 quantile atoms) → σ² = 1 + δ², up to the atom
    # discretisation (~1e-4 at this δ, where v ≫ atom spacing).
    delta = 0.7
    fc = semicircle_free_convolution(np.array([0.0]), np.array([1.0]), delta)
    assert fc.cubic_integral() == pytest.approx(3 / (4 * math.pi**2 * delta**2), rel=1e-12)
    m = 600
    atoms = 2 * semicircular.ppf((np.arange(m) + 0.5) / m)
    fc = semicircle_free_convolution(atoms, np.full(m, 1 / m), delta)
    assert fc.cubic_integral() == pytest.approx(3 / (4 * math.pi**2 * (1 + delta**2)), rel=1e-3)


def test_density_and_quantiles_are_consistent():
    s = power_law_spectrum(100, 1.0)
    fc = semicircle_free_convolution(*spectral_atoms(s), 0.2)
    x = np.linspace(-1, 12, 20001)
    # Plotting-accuracy table: the Riemann sum of the density is its mass to ~1e-3.
    assert np.trapezoid(fc.density(x), x) == pytest.approx(1.0, abs=2e-3)
    q = fc.upper_quantiles(np.array([0.001, 0.1, 0.5, 0.9]))
    assert np.all(np.diff(q) < 0)
    assert fc.threshold_integrals(q[2]).mass == pytest.approx(0.5, abs=2e-3)


def test_input_validation():
    with pytest.raises(InputError, match="delta"):
        semicircle_free_convolution(np.array([0.0]), np.array([1.0]), -1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        semicircle_free_convolution(np.array([1.0, 0.0]), np.array([0.5, 0.5]), 1.0)
    with pytest.raises(ValueError, match="upper half-plane"):
        stieltjes_transform(np.array([0.0]), np.array([1.0]), 1.0, np.array([1.0 + 0.0j]))
