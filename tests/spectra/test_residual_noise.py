"""The LASSO's effective noise δ and threshold t from its training residuals (debiased LASSO)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from shallowscaling.errors import InputError
from shallowscaling.spectra import estimate_noise_from_residuals
from shallowscaling.tasks.fit import fit_point
from shallowscaling.tasks.predict import predict_point
from shallowscaling.tasks.problem import draw_problem

D, GAMMA, NOISE = 200, 1.0, 0.5


def _fit(n: int, lam: float, seed: int, replicate: int):
    fit = fit_point("diagonal", "lasso", D, GAMMA, NOISE, n, lam, seed, replicate, tol=1e-10)
    problem = draw_problem("diagonal", D, GAMMA, NOISE, n, seed, replicate, "unit")
    return problem, np.asarray(fit.weights, dtype=float)


def test_residual_estimate_agrees_with_state_evolution(global_seed: int) -> None:
    # n = 10 d, λ = 1/d (phase VIa): every coordinate is in the support, n − k = 1800.
    n, lam = 10 * D, 1.0 / D
    ratios, spreads = [], []
    for replicate in range(4):
        problem, theta_hat = _fit(n, lam, global_seed, replicate)
        estimate = estimate_noise_from_residuals(problem.x, problem.y, theta_hat, lam)
        _, se = predict_point("diagonal", D, GAMMA, NOISE, n, lam, global_seed, replicate, target=problem.theta_star)
        ratios.append(estimate.noise_scale / se.delta)
        # ‖r‖²/(n − k) fluctuates by √(2/(n − k)) ≈ 3 % relative, so δ̂ by ~1.7 %: 5 % is 3σ.
        assert estimate.noise_scale == pytest.approx(se.delta, rel=0.05)
        # t̂ = dλ/(n − k) depends only on the support size, which SE predicts to O(1/d).
        assert estimate.threshold_shift == pytest.approx(se.threshold, rel=0.02)
        # KKT identity: θ̂ is exactly the soft threshold of the debiased vector at t̂.
        support = np.count_nonzero(theta_hat)
        residual = problem.y - problem.x @ theta_hat / math.sqrt(D)
        debiased = theta_hat + math.sqrt(D) * problem.x.T @ residual / (n - support)
        soft = np.sign(debiased) * np.maximum(np.abs(debiased) - estimate.threshold_shift, 0.0)
        np.testing.assert_allclose(soft, theta_hat, rtol=0, atol=1e-8)
        spreads.append(float(np.std(debiased - problem.theta_star)) / estimate.noise_scale)
    # Independent route: the debiased coordinates scatter around θ* with standard deviation δ̂
    # (the SE's θ* + δz); a sample std over 4 × 200 coordinates is good to ~2.5 %: 8 % is 3σ.
    assert np.mean(spreads) == pytest.approx(1.0, abs=0.08)
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.03)


def test_no_estimate_near_interpolation(global_seed: int) -> None:
    # n < d at tiny λ: the LASSO interpolates with k = n non-zeros and no residual degrees of freedom.
    n, lam = D // 2, 1e-4
    problem, theta_hat = _fit(n, lam, global_seed, 0)
    estimate = estimate_noise_from_residuals(problem.x, problem.y, theta_hat, lam)
    assert math.isnan(estimate.noise_scale) and math.isnan(estimate.noise_edge)
    assert estimate.n_zero == D - np.count_nonzero(theta_hat)


@pytest.mark.parametrize(
    ("x_shape", "y_size", "lam", "fragment"),
    [((10, 5), 9, 1.0, "shapes (n, d), (n,), (d,)"), ((10, 5), 10, 0.0, "`lam`"), ((10, 4), 10, 1.0, "(10, 4)")],
)
def test_bad_arguments_are_named(x_shape, y_size: int, lam: float, fragment: str) -> None:
    with pytest.raises(InputError, match=re.escape(fragment)):
        estimate_noise_from_residuals(np.ones(x_shape), np.ones(y_size), np.ones(5), lam)
