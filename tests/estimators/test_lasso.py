"""LASSO by coordinate descent + active-set refinement (docs/theory.md §1.2, §7)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from sklearn.linear_model import Lasso

from shallowscaling import data, seeding, targets
from shallowscaling.design import StreamedDesign
from shallowscaling.errors import ConvergenceWarning, InputError
from shallowscaling.estimators.lasso import fit_lasso, fit_lasso_path

SEED = 20250924


def _problem(d: int, n: int, noise: float = 0.5, seed: int = SEED) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(seed, "diagonal-teacher", d))
    x, y = data.draw_diagonal_data(theta_star, n, noise, seeding.make_rng(seed, "diagonal-data", d, n))
    return theta_star, x, y


def _objective(x: np.ndarray, y: np.ndarray, theta: np.ndarray, lam: float) -> float:
    residual = y - x @ theta / math.sqrt(x.shape[1])
    return 0.5 * float(residual @ residual) + lam * float(np.abs(theta).sum())


def test_matches_interior_point_solution():
    cvxpy = pytest.importorskip("cvxpy")
    _, x, y = _problem(d=60, n=30)
    lam = 0.05
    theta = cvxpy.Variable(60)
    design = x / math.sqrt(60)
    problem = cvxpy.Problem(cvxpy.Minimize(0.5 * cvxpy.sum_squares(y - design @ theta) + lam * cvxpy.norm1(theta)))
    problem.solve(solver=cvxpy.CLARABEL, tol_gap_abs=1e-12, tol_gap_rel=1e-12, tol_feas=1e-12)
    reference = _objective(x, y, theta.value, lam)
    result = fit_lasso(x, y, lam)
    assert result.converged and result.status == "converged"
    # Our objective may only undercut the interior-point one (which stops at ~1e-10 relative)
    # and must be within the certified gap of it.
    assert result.objective <= reference * (1 + 1e-9)
    assert reference - result.objective <= result.duality_gap * result.objective + 1e-9 * reference
    assert np.max(np.abs(result.theta - theta.value)) < 1e-5  # interior point ~1e-6 accurate
    assert result.objective == pytest.approx(_objective(x, y, result.theta, lam), rel=1e-13)


def test_duality_gap_recomputed_from_the_textbook_dual_point():
    _, x, y = _problem(d=80, n=120)
    lam = 0.3
    result = fit_lasso(x, y, lam, tol=1e-12)
    design = x / math.sqrt(80)
    residual = y - design @ result.theta
    scale = min(1.0, lam / np.max(np.abs(design.T @ residual)))
    nu = scale * residual
    dual = 0.5 * float(y @ y) - 0.5 * float((y - nu) @ (y - nu))
    primal = _objective(x, y, result.theta, lam)
    # The textbook form cancels ½‖y‖² ≈ 100 against D: agreement to ~1e-14·‖y‖²/P absolute.
    assert (primal - dual) / primal == pytest.approx(result.duality_gap, abs=1e-12)
    assert result.duality_gap <= 1e-12
    kkt = design.T @ residual
    support = result.theta != 0
    assert np.max(np.abs(kkt[support] - lam * np.sign(result.theta[support]))) <= 1e-10 * lam
    assert np.max(np.abs(kkt[~support])) <= lam * (1 + 1e-10)
    assert result.kkt_residual <= 1e-10


def test_zero_solution_at_lambda_max_and_not_below():
    _, x, y = _problem(d=50, n=40)
    lam_max = float(np.max(np.abs(x.T @ y))) / math.sqrt(50)
    at_max = fit_lasso(x, y, lam_max)
    # λ_max computed here and inside differ by rounding: s = λ/‖g‖∞ = 1 − O(1e-16), gap O(1e-32).
    assert at_max.n_nonzero == 0 and at_max.duality_gap < 1e-28 and at_max.iterations == 0
    assert at_max.train_loss == pytest.approx(float(y @ y) / 40, rel=1e-15)
    below = fit_lasso(x, y, 0.99 * lam_max)
    assert below.n_nonzero == 1 and below.converged


def test_vanishing_lambda_gives_least_squares_when_n_exceeds_d():
    _, x, y = _problem(d=40, n=200)
    least_squares = np.linalg.lstsq(x / math.sqrt(40), y, rcond=None)[0]
    # At λ = 1e-9 rounding in g = Aᵀr (~1e-15) already shifts the certificate by ~1e-11.
    result = fit_lasso(x, y, 1e-9, tol=1e-10)
    # θ̂(λ) − θ_LS = O(λ ‖(AᵀA)⁻¹‖ √d) ~ 1e-9·(a few)·6.
    assert np.max(np.abs(result.theta - least_squares)) < 1e-7
    assert np.max(np.abs(least_squares)) > 1e-2  # the comparison is not trivially small


@pytest.mark.slow
def test_hard_corner_small_lambda_below_interpolation():
    """docs/theory.md §7: n < d, λ = 1/d. The naive certificate at coordinate descent's own stopping point
    is ~1e-6 while the objective is already optimal; the active-set refinement certifies it."""
    d, n = 400, 200
    _, x, y = _problem(d=d, n=n)
    lam = 1.0 / d
    result = fit_lasso(x, y, lam)
    assert result.converged and result.duality_gap <= 1e-8
    assert result.n_nonzero <= n
    design = np.asfortranarray(x / math.sqrt(d))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        naive = Lasso(alpha=lam / n, fit_intercept=False, tol=1e-8, max_iter=200_000).fit(design, y).coef_
    residual = y - design @ naive
    scale = min(1.0, lam / np.max(np.abs(design.T @ residual)))
    naive_objective = _objective(x, y, naive, lam)
    naive_gap = naive_objective - (float(y @ (scale * residual)) - 0.5 * scale**2 * float(residual @ residual))
    # The data tell the two certificates apart: the naive relative gap is 1e-7..1e-5 (measured
    # 4e-6) while the objectives agree to better than 1e-9.
    assert naive_gap / naive_objective > 1e-7
    assert abs(naive_objective - result.objective) <= 1e-9 * result.objective
    assert result.objective <= naive_objective


def test_path_returns_inputs_order_and_matches_single_fits():
    for d, n in [(60, 150), (120, 60)]:  # Gram route (n > d) and plain route
        _, x, y = _problem(d=d, n=n)
        lams = np.array([0.5, 5.0, 0.05, 1.0])
        path = fit_lasso_path(x, y, lams)
        assert [result.lam for result in path] == list(lams)
        for lam, result in zip(lams, path, strict=True):
            single = fit_lasso(x, y, float(lam))
            assert result.converged
            assert result.objective == pytest.approx(single.objective, rel=1e-8)
        # λ decreasing ⇒ more nonzeros; checks the warm starts did not mix up the λ's.
        by_lam = sorted(path, key=lambda result: result.lam)
        assert [result.n_nonzero for result in by_lam] == sorted((r.n_nonzero for r in by_lam), reverse=True)


def test_unreachable_tolerance_and_iteration_cap_are_flagged_with_our_warning():
    _, x, y = _problem(d=200, n=100)
    # The certificate bottoms out at ~1e-13 (rounding), so tol = 1e-300 cannot be met: after two
    # rounds without progress the fit reports "stalled"; with one epoch allowed, "max_iter".
    with pytest.warns(ConvergenceWarning, match="relative duality gap"):
        stalled = fit_lasso(x, y, 1.0 / 200, tol=1e-300)
    assert not stalled.converged and stalled.status == "stalled" and stalled.duality_gap < 1e-10
    with pytest.warns(ConvergenceWarning, match="relative duality gap"):
        capped = fit_lasso(x, y, 1.0 / 200, tol=1e-300, max_iter=1)
    assert not capped.converged and capped.status == "max_iter" and capped.iterations == 1


def test_arguments_are_validated():
    _, x, y = _problem(d=20, n=10)
    with pytest.raises(InputError, match="`lam`"):
        fit_lasso(x, y, 0.0)
    with pytest.raises(InputError, match=r"`lams\[1\]`"):
        fit_lasso_path(x, y, [1.0, -1.0])
    with pytest.raises(ValueError, match="theta0"):
        fit_lasso(x, y, 1.0, theta0=np.zeros(3))


def test_issue2_loose_rounds_do_not_count_as_a_stall() -> None:
    # Regression (issue 2, default study): at d = 100, n = 778, λ = 10 the first loose
    # coordinate-descent rounds could not improve on the polished point and the fit was reported
    # "stalled" at a relative gap of 1.3e-8 (tol 1e-8), although the optimum is certifiable.
    from shallowscaling.tasks.problem import draw_problem

    problem = draw_problem("diagonal", 100, 1.0, 0.5, 778, 20250929, 0)
    result = fit_lasso(problem.x, problem.y, 10.0, tol=1e-8)
    assert result.converged and result.status == "converged"
    assert result.duality_gap <= 1e-8


def _streamed(d: int, n: int, noise: float, seed: int = SEED):
    """The same data as :func:`_problem`, with X streamed (a budget far below n·d·8 bytes)."""
    theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(seed, "diagonal-teacher", d))
    design, y = data.draw_diagonal_design(
        theta_star, n, noise, seeding.make_rng(seed, "diagonal-data", d, n), design_memory=1e-9
    )
    assert isinstance(design, StreamedDesign)
    return design, y


@pytest.mark.parametrize(("noise", "lam_exponent"), [(0.5, -1.0), (0.5, 0.0), (0.5, 0.5), (0.0, -1.0)])
def test_streamed_design_fits_from_the_sufficient_statistics_as_in_memory(noise, lam_exponent):
    # Two routes to one minimiser: the in-memory fit walks the residual, the streamed one only
    # XᵀX, Xᵀy and ‖y‖². Δ = 0 at λ = 1/d leaves ‖r‖² ≈ 2e-7 ‖y‖², where ‖y‖² − 2θ·b + θᵀGθ
    # cancels (3e-9 relative here): the reported certificate is the residual's own (a second
    # pass), as in memory.
    d, n = 40, 3000
    lam = d**lam_exponent
    _, x, y = _problem(d, n, noise)
    design, y_streamed = _streamed(d, n, noise)
    assert np.array_equal(y, y_streamed)
    in_memory, streamed = fit_lasso(x, y, lam), fit_lasso(design, y_streamed, lam)
    assert in_memory.converged and streamed.converged and streamed.status == "converged"
    assert streamed.duality_gap <= 1e-8
    assert streamed.objective == pytest.approx(in_memory.objective, rel=1e-10)
    assert streamed.train_loss == pytest.approx(in_memory.train_loss, rel=1e-9)
    assert streamed.train_loss == pytest.approx(
        2.0 * (_objective(x, y, streamed.theta, lam) - lam * np.abs(streamed.theta).sum()) / n, rel=1e-9
    )
    assert np.max(np.abs(streamed.theta - in_memory.theta)) <= 1e-10 * np.max(np.abs(in_memory.theta))
    assert streamed.n_nonzero == in_memory.n_nonzero


def test_streamed_path_matches_the_in_memory_path_and_wide_streams_are_refused():
    d, n = 30, 1200
    lams = [d**0.5, 1.0, 1.0 / d]
    _, x, y = _problem(d, n)
    design, _ = _streamed(d, n, 0.5)
    for held, streamed in zip(fit_lasso_path(x, y, lams), fit_lasso_path(design, y, lams), strict=True):
        assert streamed.converged and streamed.objective == pytest.approx(held.objective, rel=1e-10)
    wide = StreamedDesign(seeding.make_rng(SEED, "x").bit_generator.state, n=20, d=30, block_rows=8)
    with pytest.raises(InputError, match=r"n > d.*n = 20, d = 30.*design_memory"):
        fit_lasso(wide, np.zeros(20), 1.0)
