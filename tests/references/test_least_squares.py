"""OLS risk and the PSD pure-noise interpolation peak: closed forms against the diagonal state
evolution (λ → 0⁺) and against Monte-Carlo."""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.errors import InputError
from shallowscaling.references.least_squares import ols_risk, psd_interpolation_threshold
from shallowscaling.state_evolution.diagonal import solve_diagonal_se
from shallowscaling.targets import diagonal_variances


def test_closed_forms():
    assert ols_risk(300, 100, 0.5) == pytest.approx(0.25)
    assert ols_risk(300, 100, 0.5, exact=True) == pytest.approx(50 / 199)
    assert psd_interpolation_threshold(40) == 410.0
    with pytest.raises(InputError, match="n > d"):
        ols_risk(100, 100, 0.5)
    with pytest.raises(InputError, match=r"n > d \+ 1"):
        ols_risk(101, 100, 0.5, exact=True)


@pytest.mark.parametrize("teacher", ["power_law", "sparse"])
@pytest.mark.parametrize("ratio", [1.5, 2.0, 4.0])
def test_diagonal_se_at_vanishing_lambda_is_ols(ratio, teacher):
    # As λ → 0⁺ with n > d nothing is thresholded: (n/d)δ² = Δ + δ², R = δ² = Δd/(n − d), for any
    # teacher (a sampled power law, or ones on 10 % of the coordinates). Our diagonal error
    # ‖θ̂ − θ*‖²/d is the same quantity.
    d, noise = 400, 0.5
    if teacher == "sparse":
        theta = np.where(np.arange(d) < d // 10, 1.0, 0.0)
    else:
        theta = np.sqrt(diagonal_variances(d, 1.0)) * np.random.default_rng(1).standard_normal(d)
    n = int(ratio * d)
    result = solve_diagonal_se(theta, n, 1e-8, noise)
    assert result.converged
    assert result.excess_risk == pytest.approx(ols_risk(n, d, noise), rel=1e-3)


def test_ols_monte_carlo_matches_the_exact_form():
    # d = 50, n = 100, Δ = 1: exact 50/49 = 1.0204 against the limit 1.0, ~4 standard errors apart
    # with 4000 draws; the seed is fixed, so the test is deterministic.
    d, n, noise, draws = 50, 100, 1.0, 4000
    rng = np.random.default_rng(7)
    risks = []
    for _ in range(draws // 500):
        x = rng.standard_normal((500, n, d)) / np.sqrt(d)
        xi = np.sqrt(noise) * rng.standard_normal((500, n, 1))
        error = np.linalg.solve(np.swapaxes(x, 1, 2) @ x, np.swapaxes(x, 1, 2) @ xi)[..., 0]
        risks.append(np.sum(error**2, axis=1) / d)
    risks = np.concatenate(risks)
    mean, stderr = risks.mean(), risks.std(ddof=1) / np.sqrt(draws)
    assert abs(mean - ols_risk(n, d, noise, exact=True)) < 3 * stderr
    assert abs(mean - ols_risk(n, d, noise)) > 2 * stderr


def test_psd_statistical_dimension_monte_carlo():
    # d(d+1)/4 = E‖Π_PSD(G)‖²_F for G standard Gaussian in the symmetric matrices with the
    # Frobenius metric (diagonal N(0, 1), off-diagonal N(0, ½)); Π_PSD keeps the positive
    # eigenvalues. d = 20: 105 against d²/4 = 100, ~0.8 per standard error with 400 draws.
    d, draws = 20, 400
    g = np.random.default_rng(3).standard_normal((draws, d, d))
    g = 0.5 * (g + np.swapaxes(g, 1, 2))
    values = np.sum(np.maximum(np.linalg.eigvalsh(g), 0.0) ** 2, axis=1)
    stderr = values.std(ddof=1) / np.sqrt(draws)
    assert abs(values.mean() - psd_interpolation_threshold(d)) < 3 * stderr
    assert abs(values.mean() - d * d / 4) > 3 * stderr
