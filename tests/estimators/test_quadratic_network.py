"""Tests of the quadratic network trained by L-BFGS, against the convex twin (docs/theory.md §1.1, §7)."""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.data import draw_quadratic_data
from shallowscaling.errors import ConvergenceWarning, InputError
from shallowscaling.estimators._psd_operators import factored_loss_grad, line_coefficients
from shallowscaling.estimators.psd_convex import fit_psd_convex, psd_lam_max, psd_objective
from shallowscaling.estimators.quadratic_network import fit_quadratic_network
from shallowscaling.seeding import make_rng
from shallowscaling.targets import draw_quadratic_teacher, target_matrix


def _problem(seed: int, d: int, n: int, noise: float = 0.5, gamma: float = 1.0):
    s, basis = draw_quadratic_teacher(d, gamma, make_rng(seed, "test-net-teacher", d))
    s_star = target_matrix(s, basis)
    x, y = draw_quadratic_data(s_star, n, noise, make_rng(seed, "test-net-data", d, n))
    return x, y, s_star


def _loss(x, y, b, lam):
    """Network loss from its definition, without the chunked kernel: an independent route."""
    d = x.shape[1]
    y_hat = (np.sum((x @ b) ** 2, axis=1) - np.sum(b * b)) / np.sqrt(d)
    return np.sum((y_hat - y) ** 2) / d**2 + lam / d * np.sum(b * b)


def _taylor_slope(x, y, b, direction, lam, grad):
    """Log-log slope of |L(B + tV) − L(B) − t⟨∇L, V⟩| over t ∈ [1e-6, 1e-3]."""
    steps = np.logspace(-6, -3, 10)
    base = _loss(x, y, b, lam)
    slope0 = np.sum(grad * direction)
    remainders = [abs(_loss(x, y, b + t * direction, lam) - base - t * slope0) for t in steps]
    return np.polyfit(np.log(steps), np.log(remainders), 1)[0]


def test_gradient_taylor_remainder_is_second_order(global_seed):
    rng = make_rng(global_seed, "test-net-taylor")
    d, p, lam = 12, 7, 0.7
    x, y, _ = _problem(global_seed, d, 300)
    b = rng.standard_normal((d, p)) / np.sqrt(d)
    direction = rng.standard_normal((d, p))
    loss, grad, _ = factored_loss_grad(x, y, b, lam)
    assert loss == pytest.approx(_loss(x, y, b, lam), rel=1e-12)
    # Remainder O(t²) for the true gradient: slope 2 (the quartic's t³ term is ~1e-3 below at
    # t ≤ 1e-3, and the rounding of L ≈ 7, ~1e-15, stays 1e4 below the smallest remainder 5e-11).
    assert _taylor_slope(x, y, b, direction, lam, grad) == pytest.approx(2.0, abs=0.05)
    # The check can tell a wrong constant apart: 10 % off gives an O(t) remainder, slope ≈ 1.
    assert _taylor_slope(x, y, b, direction, lam, 1.1 * grad) < 1.2


def test_loss_is_the_exact_quartic_along_a_line(global_seed):
    rng = make_rng(global_seed, "test-net-quartic")
    d, p, lam = 9, 4, 0.3
    x, y, _ = _problem(global_seed, d, 200)
    b = rng.standard_normal((d, p))
    direction = rng.standard_normal((d, p))
    _, _, r = factored_loss_grad(x, y, b, lam)
    c, q = line_coefficients(x, x @ b, b, direction, np.empty((x.shape[0], p)))
    k = [
        4 * (r @ c) / d**2 + 2 * lam / d * np.sum(b * direction),
        (4 * (c @ c) + 2 * (r @ q)) / d**2 + lam / d * np.sum(direction**2),
        4 * (c @ q) / d**2,
        (q @ q) / d**2,
    ]
    base = _loss(x, y, b, lam)
    for t in (-0.7, 0.1, 1.3):
        exact = sum(kj * t ** (j + 1) for j, kj in enumerate(k))
        assert _loss(x, y, b + t * direction, lam) - base == pytest.approx(exact, rel=1e-10)


@pytest.mark.parametrize("sample_ratio", [0.3, 2.0])
def test_network_reaches_the_convex_optimum(sample_ratio, global_seed):
    d = 30
    n = int(sample_ratio * d**2)
    x, y, s_star = _problem(global_seed, d, n)
    mses = []
    for lam in (0.1, 1.0, np.sqrt(d)):
        convex = fit_psd_convex(x, y, lam)
        network = fit_quadratic_network(x, y, lam, make_rng(global_seed, "test-net-init", d, n))
        assert convex.converged and network.converged
        mse_convex = np.sum((convex.s - s_star) ** 2) / d
        mse_network = np.sum((network.s - s_star) ** 2) / d
        # Acceptance criterion of the issue: matrix_mse within 1e-3 relative (seen: ≤ 1e-6,
        # limited by the convex tolerance 1e-8).
        assert mse_network == pytest.approx(mse_convex, rel=1e-3)
        assert network.objective == pytest.approx(convex.objective, rel=1e-8)
        assert network.objective == pytest.approx(psd_objective(x, y, network.s, lam), rel=1e-12)
        assert network.rank == convex.rank
        # Global-optimality certificate of the factorisation: G = ∇f(Ŝ) + (λ/d) I ⪰ 0 up to
        # ~‖∇_B L‖ / σ_min(B)-sized errors (1e-9 here).
        assert network.kkt_min_eigenvalue > -1e-7
        mses.append(mse_convex)
    # The three λ give matrix_mse values at least 5× the 1e-3 tolerance apart, so the agreement
    # above could not hold with the wrong λ.
    mses = np.sort(mses)
    assert np.min(np.diff(mses) / mses[:-1]) > 5e-3


def test_too_narrow_network_misses_the_convex_optimum(global_seed):
    # Burer–Monteiro: width < rank(Ŝ) cannot represent the convex optimum.
    d, lam = 20, 0.5
    x, y, _ = _problem(global_seed, d, 2 * d**2)
    convex = fit_psd_convex(x, y, lam)
    assert convex.rank > 4
    narrow = fit_quadratic_network(x, y, lam, make_rng(global_seed, "test-net-narrow"), width=2)
    assert narrow.converged and narrow.rank == 2
    assert narrow.objective > convex.objective * (1 + 1e-3)
    assert narrow.kkt_min_eigenvalue < -1e-4
    # ... while a width just above the rank reaches it.
    enough = fit_quadratic_network(x, y, lam, make_rng(global_seed, "test-net-enough"), width=convex.rank + 2)
    assert enough.converged
    assert enough.objective == pytest.approx(convex.objective, rel=1e-8)


def test_seeded_fit_is_reproducible_and_non_convergence_warns(global_seed):
    d = 10
    x, y, _ = _problem(global_seed, d, 150)
    first = fit_quadratic_network(x, y, 0.5, make_rng(global_seed, "test-net-repro"))
    second = fit_quadratic_network(x, y, 0.5, make_rng(global_seed, "test-net-repro"))
    np.testing.assert_array_equal(first.b, second.b)
    with pytest.warns(ConvergenceWarning, match="max_iter"):
        early = fit_quadratic_network(x, y, 0.5, make_rng(global_seed, "test-net-repro"), max_iter=3)
    assert not early.converged and early.status == "max_iter" and early.iterations == 3
    assert early.grad_norm > 1e-9
    assert early.duality_gap >= early.objective - first.objective > 0


def test_input_errors_name_the_constraint():
    x, y, _ = _problem(0, 6, 40)
    rng = make_rng(0, "test-net-errors")
    with pytest.raises(InputError, match=r"`width` \(hidden units p\) must be >= 1; got 0"):
        fit_quadratic_network(x, y, 1.0, rng, width=0)
    with pytest.raises(InputError, match=r"`b0` \(initial factor B₀\) must be a finite \(6, 3\)"):
        fit_quadratic_network(x, y, 1.0, rng, width=3, b0=np.ones((6, 2)))
    with pytest.raises(InputError, match=r"`gtol`"):
        fit_quadratic_network(x, y, 1.0, rng, gtol=0.0)


def test_network_vanishes_above_lam_max(global_seed):
    # For λ > λ_max the convex optimum is Ŝ = 0 (rank collapse); B → 0 linearly since
    # ∇_B L = 2 G B with G ≻ 0, so Ŝ = B Bᵀ is of order grad_norm².
    x, y, _ = _problem(global_seed, 10, 150)
    lam = 1.5 * psd_lam_max(x, y)
    network = fit_quadratic_network(x, y, lam, make_rng(global_seed, "test-net-collapse"))
    assert network.converged and network.rank == 0
    assert network.kkt_min_eigenvalue > 0
    assert np.linalg.norm(network.s) < 1e-15
    assert network.objective == pytest.approx(np.sum(y**2) / 10**2, rel=1e-12)
