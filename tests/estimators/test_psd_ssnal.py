"""The SSNAL route of the convex PSD solver: its Newton operator, its optimum and the auto hand-over."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from shallowscaling.data import draw_quadratic_data
from shallowscaling.design import StreamedDesign
from shallowscaling.errors import InputError
from shallowscaling.estimators import _psd_operators as ops
from shallowscaling.estimators.psd_convex import (
    AUTO_HANDOVER,
    AUTO_HANDOVER_REMAINING,
    AUTO_SSNAL_MIN_D,
    fit_psd_convex,
)
from shallowscaling.estimators.psd_ssnal import _Newton
from shallowscaling.seeding import make_rng
from shallowscaling.targets import draw_quadratic_teacher, target_matrix


def _problem(seed: int, d: int, n: int, noise: float = 0.5):
    s, basis = draw_quadratic_teacher(d, 1.0, make_rng(seed, "test-ssnal-teacher", d))
    x, y = draw_quadratic_data(target_matrix(s, basis), n, noise, make_rng(seed, "test-ssnal-data", d, n))
    return x, y


def _psd_part(w: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(w)
    return (vectors * np.maximum(values, 0.0)) @ vectors.T


def test_newton_operator_is_the_derivative_of_the_projection(global_seed):
    # Two routes to v + σ A(J(A*v)): the structured float32 product of _Newton, and A applied to
    # a central finite difference of the PSD projection Π₊ at W along A*(v) in float64.
    rng = make_rng(global_seed, "test-ssnal-newton")
    n, d, sigma = 400, 12, 0.7
    x = rng.standard_normal((n, d))
    values = np.concatenate([np.linspace(3.0, 0.5, 5), np.linspace(-0.4, -2.5, d - 5)])
    vectors = np.linalg.qr(rng.standard_normal((d, d)))[0]
    w = (vectors * values) @ vectors.T
    v = rng.standard_normal(n)
    newton = _Newton(x.astype(np.float32), values, vectors, sigma)
    h = ops.adjoint(x, v)
    eps = 1e-6
    derivative = (_psd_part(w + eps * h) - _psd_part(w - eps * h)) / (2 * eps)
    expected = v + sigma * ops.forward(x, derivative)
    np.testing.assert_allclose(newton.apply(v), expected, rtol=2e-4, atol=2e-4 * np.abs(expected).max())


@pytest.mark.parametrize(("d", "n", "lam"), [(30, 108, 1 / 30), (40, 190, 1 / 40), (30, 900, 1.0)])
def test_ssnal_reaches_the_fista_optimum(d, n, lam, global_seed):
    # Near the interpolation peak (n/d² ≈ 0.12, λ = 1/d: FISTA needs hundreds of iterations) and
    # at a high-rank point: both routes stop at a KKT residual of 1e-9 and agree to 1e-8.
    x, y = _problem(global_seed, d, n)
    fista = fit_psd_convex(x, y, lam, tol=1e-9, method="fista", max_iter=100000)
    ssnal = fit_psd_convex(x, y, lam, tol=1e-9, method="ssnal")
    assert fista.converged and ssnal.converged
    assert "SSNAL" in ssnal.message
    assert ssnal.kkt_residual <= 1e-9
    assert ssnal.objective == pytest.approx(fista.objective, rel=1e-8)
    assert ssnal.rank == fista.rank
    np.testing.assert_allclose(np.linalg.eigvalsh(ssnal.s)[::-1], ssnal.eigenvalues, atol=1e-10)
    assert ssnal.duality_gap <= 1e-6 * ssnal.objective


def test_auto_hands_a_slow_fista_over_to_ssnal(global_seed):
    # Near the interpolation peak FISTA's decay predicts many more iterations: auto finishes with
    # SSNAL at the same optimum. A point FISTA solves quickly, and any point below
    # AUTO_SSNAL_MIN_D, keeps the FISTA result exactly.
    d, n = 40, 140
    assert d >= AUTO_SSNAL_MIN_D
    x, y = _problem(global_seed, d, n)
    fista = fit_psd_convex(x, y, 1 / d, tol=1e-8, method="fista", max_iter=100000)
    assert fista.iterations > AUTO_HANDOVER + AUTO_HANDOVER_REMAINING
    auto = fit_psd_convex(x, y, 1 / d, tol=1e-8, max_iter=100000)
    assert auto.converged and "SSNAL" in auto.message
    assert auto.iterations > AUTO_HANDOVER
    assert auto.objective == pytest.approx(fista.objective, rel=1e-8)
    x_fast, y_fast = _problem(global_seed, 40, 1600)
    quick = fit_psd_convex(x_fast, y_fast, 1.0, tol=1e-8, method="fista")
    assert quick.iterations < AUTO_HANDOVER
    assert fit_psd_convex(x_fast, y_fast, 1.0, tol=1e-8).objective == quick.objective
    x_small, y_small = _problem(global_seed, 20, 76)
    slow_small = fit_psd_convex(x_small, y_small, 1 / 20, tol=1e-8, method="fista", max_iter=100000)
    assert slow_small.iterations > AUTO_HANDOVER
    assert fit_psd_convex(x_small, y_small, 1 / 20, tol=1e-8, max_iter=100000).objective == slow_small.objective


def test_ssnal_stops_at_max_iter_and_says_so(global_seed):
    x, y = _problem(global_seed, 30, 108)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = fit_psd_convex(x, y, 1 / 30, tol=1e-12, method="ssnal", max_iter=3)
    assert not result.converged and result.status == "max_iter"
    assert "max_iter" in result.message
    assert any("not converged" in str(w.message).lower() or "max_iter" in str(w.message) for w in caught)


def test_ssnal_refuses_a_streamed_design(global_seed):
    rng = make_rng(global_seed, "test-ssnal-streamed")
    design = StreamedDesign(rng.bit_generator.state, 50, 6, 16)
    with pytest.raises(InputError, match="'ssnal' needs"):
        fit_psd_convex(design, np.zeros(50), 0.1, method="ssnal")
