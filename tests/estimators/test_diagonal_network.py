"""Diagonal network aᵀ(w ⊙ x)/√d trained by L-BFGS vs its convex twin, the LASSO (docs/theory.md §1.2, §7)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from shallowscaling import data, seeding, targets
from shallowscaling.errors import ConvergenceWarning, InputError
from shallowscaling.estimators.diagonal_network import _hessian, _loss_and_gradient, fit_diagonal_network
from shallowscaling.estimators.lasso import fit_lasso

SEED = 20250924


def _problem(d: int, n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(seed, "diagonal-teacher", d))
    x, y = data.draw_diagonal_data(theta_star, n, 0.5, seeding.make_rng(seed, "diagonal-data", d, n))
    return theta_star, x, y


def test_gradient_and_hessian_pass_the_taylor_remainder_test():
    _, x, y = _problem(d=12, n=20)
    design = x / math.sqrt(12)
    rng = seeding.make_rng(SEED, "taylor")
    point, direction = rng.standard_normal(24), rng.standard_normal(24)
    loss, gradient = _loss_and_gradient(point, design, y, 0.7)
    hessian = _hessian(point, design, y, 0.7)
    steps = np.array([1e-2, 1e-3])
    first = [
        abs(_loss_and_gradient(point + h * direction, design, y, 0.7)[0] - loss - h * gradient @ direction)
        for h in steps
    ]
    second = [
        abs(_loss_and_gradient(point + h * direction, design, y, 0.7)[0] - loss - h * gradient @ direction
            - 0.5 * h**2 * direction @ hessian @ direction)
        for h in steps
    ]  # fmt: skip
    # Remainders shrink as h² with the exact gradient and as h³ with the exact Hessian: slopes
    # 2 and 3 in log-log (a wrong derivative would give slope 1 or 2).
    assert np.log10(first[0] / first[1]) == pytest.approx(2.0, abs=0.05)
    assert np.log10(second[0] / second[1]) == pytest.approx(3.0, abs=0.1)


@pytest.mark.parametrize("n", [50, 200])
def test_network_reaches_the_lasso_solution(n):
    """Acceptance (docs/theory.md §1.2): same excess risk as the LASSO with the same λ, within 1e-3."""
    d = 100
    theta_star, x, y = _problem(d=d, n=n)
    risks = []
    for lam in [0.1, 1.0, 10.0]:
        network = fit_diagonal_network(x, y, lam, seeding.make_rng(SEED, "diagonal-init", d, n))
        lasso = fit_lasso(x, y, lam, tol=1e-12)
        assert network.converged and network.grad_norm <= 1e-10
        network_risk = float(np.sum((network.theta - theta_star) ** 2)) / d
        lasso_risk = float(np.sum((lasso.theta - theta_star) ** 2)) / d
        # Measured agreement is ~1e-11; the acceptance bound is 1e-3.
        assert network_risk == pytest.approx(lasso_risk, rel=1e-3)
        assert np.max(np.abs(network.theta - lasso.theta)) < 1e-6
        # AM-GM: L = Σ(y − f)² + λ(‖w‖² + ‖a‖²) equals twice the LASSO objective at the optimum,
        # reached at balanced weights |a_i| = |w_i|.
        assert network.objective == pytest.approx(2.0 * lasso.objective, rel=1e-10)
        assert network.balance < 1e-6
        assert network.train_loss == pytest.approx(lasso.train_loss, rel=1e-8)
        risks.append(lasso_risk)
    # The three λ give distinguishable risks, so the agreement above is informative.
    assert min(abs(a - b) / b for a, b in itertools.pairwise(risks)) > 1e-2


def test_zero_init_is_a_saddle_below_lambda_max_and_the_minimum_above():
    d, n = 30, 40
    _, x, y = _problem(d=d, n=n)
    lam_max = float(np.max(np.abs(x.T @ y))) / math.sqrt(d)
    zeros = (np.zeros(d), np.zeros(d))
    rng = seeding.make_rng(SEED, "unused")
    with pytest.warns(ConvergenceWarning, match="saddle"):
        saddle = fit_diagonal_network(x, y, 0.5 * lam_max, rng, init=zeros)
    assert not saddle.converged and saddle.status == "stalled" and saddle.grad_norm == 0.0
    minimum = fit_diagonal_network(x, y, 1.5 * lam_max, rng, init=zeros)
    assert minimum.converged and not np.any(minimum.theta)


def test_iteration_cap_is_flagged():
    _, x, y = _problem(d=50, n=30)
    with pytest.warns(ConvergenceWarning, match="max-abs gradient"):
        result = fit_diagonal_network(x, y, 0.01, seeding.make_rng(SEED, "init"), max_iter=5)
    assert not result.converged and result.status == "max_iter" and result.iterations <= 5


def test_arguments_are_validated():
    _, x, y = _problem(d=10, n=10)
    rng = seeding.make_rng(SEED, "init")
    with pytest.raises(InputError, match="`lam`"):
        fit_diagonal_network(x, y, -1.0, rng)
    with pytest.raises(ValueError, match="init"):
        fit_diagonal_network(x, y, 1.0, rng, init=(np.zeros(3), np.zeros(10)))
