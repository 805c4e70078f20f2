"""The factored convex solver, the fused operators and the method choice of fit_psd_convex."""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.data import draw_quadratic_data
from shallowscaling.estimators import _psd_operators as ops
from shallowscaling.estimators.psd_convex import AUTO_FACTORED_MIN_D, fit_psd_convex
from shallowscaling.estimators.psd_factored import INITIAL_WIDTH, solve_factored
from shallowscaling.progress import Heartbeat
from shallowscaling.seeding import make_rng
from shallowscaling.targets import draw_quadratic_teacher, target_matrix


def _problem(seed: int, d: int, n: int, noise: float = 0.5):
    s, basis = draw_quadratic_teacher(d, 1.0, make_rng(seed, "test-factored-teacher", d))
    x, y = draw_quadratic_data(target_matrix(s, basis), n, noise, make_rng(seed, "test-factored-data", d, n))
    return x, y


@pytest.mark.parametrize("d", [12, 70])
def test_fused_operators_match_separate_passes(d, global_seed):
    # d = 70 takes the syrk adjoint (d >= SYRK_MIN_D), d = 12 the GEMM one; n spans several blocks.
    assert 12 < ops.SYRK_MIN_D <= 70
    rng = make_rng(global_seed, "test-fused", d)
    n = 3000
    x = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    factor = rng.standard_normal((d, 4))
    s = factor @ factor.T
    reference_adjoint = (x.T @ (x * y[:, None]) - y.sum() * np.eye(d)) / np.sqrt(d)
    np.testing.assert_allclose(ops.adjoint(x, y), reference_adjoint, rtol=1e-11, atol=1e-10)
    ax, adj = ops.forward_adjoint_factor(x, factor, y)
    np.testing.assert_allclose(ax, ops.forward(x, s), rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(adj, ops.adjoint(x, ops.forward(x, s) - y), rtol=1e-10, atol=1e-9)
    ax_dense, adj_dense = ops.forward_adjoint(x, s, y)
    np.testing.assert_allclose(ax_dense, ax, rtol=1e-11, atol=1e-10)
    np.testing.assert_allclose(adj_dense, adj, rtol=1e-10, atol=1e-9)
    v = rng.standard_normal((d, 3))
    np.testing.assert_allclose(ops.gram_matmat(x, y, v), reference_adjoint @ v, rtol=1e-10, atol=1e-9)
    # A zero-width factor is S = 0: A(0) = 0 and the adjoint of −y.
    ax0, adj0 = ops.forward_adjoint_factor(x, np.zeros((d, 0)), y)
    assert np.all(ax0 == 0.0)
    np.testing.assert_allclose(adj0, -reference_adjoint, rtol=1e-11, atol=1e-10)


@pytest.mark.parametrize(("d", "n", "lam"), [(30, 900, 5.0), (30, 900, 0.5), (40, 400, 0.02)])
def test_factored_reaches_the_fista_optimum(d, n, lam, global_seed):
    # Two independent routes to the same convex optimum: objectives within 1e-8 relative (both
    # stop at a KKT residual of 1e-9, which bounds their suboptimality far below that).
    x, y = _problem(global_seed, d, n)
    fista = fit_psd_convex(x, y, lam, tol=1e-9, method="fista")
    factored = fit_psd_convex(x, y, lam, tol=1e-9, method="factored")
    assert fista.converged and factored.converged
    assert "factored" in factored.message and "factored" not in fista.message
    assert factored.objective == pytest.approx(fista.objective, rel=1e-8)
    assert factored.rank == fista.rank
    assert factored.kkt_residual <= 1e-9
    np.testing.assert_allclose(np.linalg.eigvalsh(factored.s)[::-1], factored.eigenvalues, atol=1e-10)


def test_width_grows_past_the_first_block_when_the_rank_needs_it(global_seed):
    # Weak λ: Ŝ has more non-zero eigenvalues than the INITIAL_WIDTH columns of the start, so the
    # certificate must find the missing directions on the exact dual spectrum and add them.
    d, n, lam = 40, 1600, 0.02
    x, y = _problem(global_seed, d, n)
    grad_zero = (2.0 / d**2) * ops.adjoint(x, -y)
    beat = Heartbeat("test", "kkt_residual")
    solve = solve_factored(x, y, lam, grad_zero, tol=1e-8, max_iter=20000, max_width=d, beat=beat)
    fista = fit_psd_convex(x, y, lam, tol=1e-9, method="fista")
    assert fista.rank > INITIAL_WIDTH
    assert solve.status == "converged" and solve.rounds > 1
    assert solve.b.shape[1] >= fista.rank
    assert solve.objective == pytest.approx(fista.objective, rel=1e-8)


def test_factored_stops_at_max_iter_and_says_so(global_seed):
    x, y = _problem(global_seed, 30, 900)
    with pytest.warns(UserWarning, match="did not converge"):
        result = fit_psd_convex(x, y, 0.5, tol=1e-12, max_iter=3, method="factored")
    assert not result.converged and result.status == "max_iter"
    assert "max_iter" in result.message


@pytest.mark.slow
def test_auto_takes_the_factored_route_only_for_large_d_and_low_rank(global_seed):
    d = AUTO_FACTORED_MIN_D
    x, y = _problem(global_seed, d, 2 * d * d // 4)
    strong = fit_psd_convex(x, y, float(d) ** 0.5, tol=1e-7)
    weak = fit_psd_convex(x, y, 0.05, tol=1e-7)
    assert "factored" in strong.message and strong.rank <= d // 20
    assert "factored" not in weak.message
    small_x, small_y = _problem(global_seed, 20, 400)
    assert "factored" not in fit_psd_convex(small_x, small_y, 4.0).message
