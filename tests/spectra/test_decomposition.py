"""The SE error decomposition adds up to the SE risk, and each part is what it claims to be."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from shallowscaling.errors import InputError
from shallowscaling.seeding import make_rng
from shallowscaling.spectra.bulk import free_convolution_edge, predicted_outliers
from shallowscaling.spectra.decomposition import (
    decompose_diagonal_error,
    decompose_quadratic_error,
    draw_goe,
    tune_diagonal_threshold,
    tune_quadratic_threshold,
)
from shallowscaling.state_evolution.diagonal import solve_diagonal_se
from shallowscaling.state_evolution.quadratic_mc import solve_quadratic_se_mc
from shallowscaling.targets import diagonal_variances, power_law_spectrum


@pytest.mark.parametrize("n", [400, 1600, 4000])  # α = n/d² = 0.25 (IV), 1 (peak), 2.5 (VIa) at d = 40
def test_quadratic_parts_sum_to_the_se_risk(n: int, global_seed: int) -> None:
    d, k_draws = 40, 3
    s = power_law_spectrum(d, 1.0)
    result = solve_quadratic_se_mc(s, n, 1.0 / d, 0.5, n_draws=k_draws, rng=make_rng(global_seed, "goe", d))
    assert result.converged
    # The same generator state gives the SE's own draws (drawn in the same order).
    goe = draw_goe(d, k_draws, make_rng(global_seed, "goe", d))
    parts = decompose_quadratic_error(s, result.delta, result.threshold, goe)
    total = parts.overfitting + parts.underfitting + parts.approximation + parts.cross
    # The SE computes mse_S = Q* + q − 2m from eigenvalues and overlaps only; the parts come from
    # the learned/unlearned split of the same draws. Same numbers up to round-off: 1e-6 relative
    # is the acceptance bound (observed ~1e-15).
    assert total == pytest.approx(result.matrix_mse, rel=1e-6)
    assert parts.total == pytest.approx(total, rel=1e-12)
    # The data can tell the parts apart: every part is non-negligible at these points.
    assert min(parts.overfitting, parts.underfitting) > 0.01 * result.matrix_mse
    assert parts.cross < 0.0  # the bulk aligns with the target: it partly learns sub-BBP directions


def test_quadratic_parts_against_the_matrices(global_seed: int) -> None:
    # Independent route: build Ŝ = U (x − t)₊ Uᵀ and S* in a random basis and compute each part
    # from the matrices themselves (no overlap bookkeeping).
    d, delta, threshold = 30, 0.6, 0.2
    s = power_law_spectrum(d, 0.8)
    rng = make_rng(global_seed, "decomposition-test", d)
    goe = draw_goe(d, 2, rng)
    parts = decompose_quadratic_error(s, delta, threshold, goe)
    k = predicted_outliers(s, delta, threshold, free_convolution_edge(s, delta)).size
    assert parts.n_learned == k and 0 < k < d
    basis, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s_learned = basis[:, :k] @ np.diag(s[:k]) @ basis[:, :k].T
    s_unlearned = basis[:, k:] @ np.diag(s[k:]) @ basis[:, k:].T
    expected = np.zeros(4)
    for z in goe:
        x, u = np.linalg.eigh(basis @ (np.diag(s) + delta * z) @ basis.T)
        x, u = x[::-1], u[:, ::-1]
        f = np.maximum(x - threshold, 0.0)
        s_out = u[:, :k] @ np.diag(f[:k]) @ u[:, :k].T
        s_bulk = u[:, k:] @ np.diag(f[k:]) @ u[:, k:].T
        expected += [
            np.sum(s_bulk**2),
            np.sum(s_unlearned**2),
            np.sum((s_out - s_learned) ** 2),
            -2.0 * (np.sum(s_bulk * (s_learned + s_unlearned)) + np.sum(s_out * s_unlearned)),
        ]
    expected /= goe.shape[0] * d
    got = [parts.overfitting, parts.underfitting, parts.approximation, parts.cross]
    # Two eigensolvers and two bases: agreement to round-off (1e-10 absolute on O(1) numbers).
    np.testing.assert_allclose(got, expected, atol=1e-10)


@pytest.mark.parametrize(("n", "lam"), [(100, 0.05), (400, 1.0), (1600, 20.0)])
def test_diagonal_parts_sum_to_the_se_risk(n: int, lam: float, global_seed: int) -> None:
    d = 400
    theta = np.sqrt(diagonal_variances(d, 1.0)) * make_rng(global_seed, "theta", d).standard_normal(d)
    result = solve_diagonal_se(theta, n, lam, 0.5)
    assert result.converged
    parts = decompose_diagonal_error(theta, result.delta, result.threshold)
    total = parts.overfitting + parts.underfitting + parts.approximation + parts.cross
    # The SE reports R = (n/d)δ² − Δ, equal to the summed closed forms at its fixed point up to
    # its residual (tol 1e-10): the 1e-6 relative acceptance bound has ample room.
    assert total == pytest.approx(result.excess_risk, rel=1e-6)
    assert 0 < parts.n_learned < d


def test_diagonal_closed_forms_against_quadrature() -> None:
    # E η(θ + δz; t) and E η² by numerical integration over z, for an unlearned coordinate (|θ| ≤ δ).
    theta, delta, threshold = 0.3, 0.8, 0.5

    def moment(power: int) -> float:
        def integrand(z: float) -> float:
            x = theta + delta * z
            eta = math.copysign(max(abs(x) - threshold, 0.0), x)
            return eta**power * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)

        return integrate.quad(
            integrand, -12.0, 12.0, points=[(-threshold - theta) / delta, (threshold - theta) / delta]
        )[0]

    parts = decompose_diagonal_error(np.array([theta]), delta, threshold)
    assert parts.n_learned == 0
    # quad reaches ~1e-12 on this piecewise-smooth integrand; 1e-9 leaves room.
    assert parts.overfitting == pytest.approx(moment(2), abs=1e-9)
    assert parts.cross == pytest.approx(-2.0 * theta * moment(1), abs=1e-9)
    assert parts.underfitting == pytest.approx(theta**2)


def test_bad_arguments_name_the_problem() -> None:
    s = power_law_spectrum(10, 1.0)
    with pytest.raises(InputError, match=r"`goe` \(GOE draws\) must have shape \(K, 10, 10\)"):
        decompose_quadratic_error(s, 1.0, 0.1, np.zeros((2, 9, 9)))
    with pytest.raises(InputError, match="`delta`"):
        decompose_diagonal_error(s, 0.0, 0.1)


def test_tuned_quadratic_threshold_is_the_minimum_of_the_se_error(global_seed: int) -> None:
    d, delta, threshold = 40, 0.45, 0.01
    s = power_law_spectrum(d, 1.0)
    goe = draw_goe(d, 2, make_rng(global_seed, "tune", d))
    tuned = tune_quadratic_threshold(s, delta, threshold, goe)
    assert tuned.converged and tuned.edge == pytest.approx(tuned.threshold - threshold)
    # Brute force on a fine grid (independent route: the decomposition's total): nothing beats
    # τ* by more than the grid's own resolution effect (1e-6 relative).
    grid = np.linspace(threshold, 3.0 * delta, 301)
    errors = np.array([decompose_quadratic_error(s, delta, tau, goe).total for tau in grid])
    assert tuned.error <= errors.min() * (1 + 1e-6)
    assert tuned.error == pytest.approx(decompose_quadratic_error(s, delta, tuned.threshold, goe).total, rel=1e-12)
    # The data tell the cuts apart: the ERM's own t and Corollary 2's 2δ are both clearly worse.
    assert tuned.error < 0.95 * min(errors[0], decompose_quadratic_error(s, delta, 2 * delta, goe).total)


def test_tuned_diagonal_threshold_is_the_minimum_of_the_se_risk(global_seed: int) -> None:
    d, delta, threshold = 300, 0.4, 0.05
    theta = np.sqrt(diagonal_variances(d, 1.0)) * make_rng(global_seed, "theta-tune", d).standard_normal(d)
    tuned = tune_diagonal_threshold(theta, delta, threshold)
    grid = np.linspace(threshold, 4.0 * delta, 2001)
    risks = [decompose_diagonal_error(theta, delta, tau).total for tau in grid]
    # Smooth in τ: the grid minimum (step 7.8e-4) is within ~1e-6 relative of the true one.
    assert tuned.error <= min(risks) * (1 + 1e-6)
    assert tuned.error < 0.95 * risks[0]
