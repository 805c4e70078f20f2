"""Bayes-optimal (GAMP-RIE) SE: Gaussian closed form, Wishart recovery threshold, BO ≤ ERM."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import semicircular

from shallowscaling.errors import InputError
from shallowscaling.state_evolution.free_convolution import spectral_atoms
from shallowscaling.state_evolution.quadratic_bayes import rie_mmse, solve_quadratic_bayes_se
from shallowscaling.state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic
from shallowscaling.targets import power_law_spectrum


@pytest.mark.parametrize(("sample_ratio", "noise"), [(0.3, 0.5), (1.0, 0.5)])
def test_semicircle_prior_closed_form(sample_ratio, noise):
    # S* with a semicircle spectrum of variance v (GOE prior): μ_δ is a semicircle of variance
    # v + δ², mmse_S = vδ²/(v + δ²) (the Gaussian-channel MMSE), and the fixed point
    # δ² = (2 mmse + Δ)/(4α) is a quadratic in δ². The spectrum is 400 quantile atoms, accurate to
    # ~1e-4 relative here (the semicircle is smooth on the scale of the atom spacing).
    m, v = 400, 1.0
    atoms = 2 * math.sqrt(v) * semicircular.ppf((np.arange(m) + 0.5) / m)
    n = int(sample_ratio * m * m)
    a = n / m**2
    b = 4 * a * v - 2 * v - noise
    delta2 = (-b + math.sqrt(b * b + 16 * a * noise * v)) / (8 * a)
    res = solve_quadratic_bayes_se(atoms, n, noise)
    assert res.converged and res.fixed_point_residual <= 1e-10
    assert res.delta**2 == pytest.approx(delta2, rel=1e-3)
    assert res.matrix_mse == pytest.approx(v * delta2 / (v + delta2), rel=1e-3)
    assert res.excess_risk == pytest.approx(2 * res.matrix_mse)


def _wishart_spectrum(d: int, kappa: float) -> np.ndarray:
    """Eigenvalues of WWᵀ/√(rd), W ∈ R^{d×r}, r = κd: d − r zeros and r Marchenko–Pastur
    quantiles (taken from a 1500-dimensional sample) scaled by 1/√κ. The scale is irrelevant at
    Δ = 0."""
    r = int(kappa * d)
    rng = np.random.default_rng(0)
    w = rng.standard_normal((1500, int(kappa * 1500)))
    sample = np.linalg.eigvalsh(w.T @ w / 1500)
    return np.concatenate([np.zeros(d - r), np.quantile(sample, (np.arange(r) + 0.5) / r) / math.sqrt(kappa)])


@pytest.mark.parametrize("kappa", [0.3, 0.6])
def test_wishart_perfect_recovery_threshold_limit(kappa):
    # Noiseless: the BO error vanishes for α ≥ α_PR = ½ lim_{δ→0} mmse_S/δ² = κ − κ²/2 (Maillard
    # et al. 2024). The r atoms each add κ²/r² to the limit (isolated outliers at finite d), a
    # 2e-3 relative shift at d = 400, well within the 2 % asked for.
    s = _wishart_spectrum(400, kappa)
    pos, w = spectral_atoms(s)
    limit = rie_mmse(pos, w, 1e-4) / 1e-8
    assert limit / 2 == pytest.approx(kappa - kappa**2 / 2, rel=0.02)
    assert limit / 2 == pytest.approx(kappa - kappa**2 / 2, rel=3e-3)


@pytest.mark.slow
def test_wishart_noiseless_error_vanishes_above_threshold():
    # Solve the SE 2 % below and above α_PR = κ − κ²/2: an error just below, exact recovery above.
    kappa, d = 0.3, 300
    s = _wishart_spectrum(d, kappa)
    alpha_pr = kappa - kappa**2 / 2
    below = solve_quadratic_bayes_se(s, int(0.98 * alpha_pr * d * d), 0.0)
    above = solve_quadratic_bayes_se(s, int(1.02 * alpha_pr * d * d), 0.0)
    assert below.converged and below.matrix_mse > 1e-3 and below.delta > 0
    assert above.converged and above.matrix_mse == 0.0 and "exact recovery" in above.message


@pytest.mark.slow
@pytest.mark.parametrize("sample_ratio", [0.2, 1.0, 3.0])
def test_bayes_optimal_is_below_erm(sample_ratio):
    # The Bayes-optimal error bounds every estimator's, in particular the ERM SE at any λ
    # (same deterministic equivalent μ_δ on both sides: finite_size_correction=False).
    d = 60
    s = power_law_spectrum(d, 1.0)
    n = int(sample_ratio * d * d)
    bayes = solve_quadratic_bayes_se(s, n, 0.5)
    assert bayes.converged
    for lam in (0.01, 0.3, 3.0):
        erm = solve_quadratic_se_deterministic(s, n, lam, 0.5, finite_size_correction=False)
        assert bayes.matrix_mse < erm.matrix_mse


def test_input_validation():
    s = power_law_spectrum(10, 1.0)
    with pytest.raises(InputError, match="noise"):
        solve_quadratic_bayes_se(s, 50, -1.0)
    with pytest.raises(InputError, match="`s`"):
        solve_quadratic_bayes_se(np.array([1.0]), 50, 0.5)
