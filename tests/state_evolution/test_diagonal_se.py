"""Non-asymptotic LASSO state evolution (docs/theory.md §2.1) and its agreement with simulations (§8)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import norm

from shallowscaling import data, rates, seeding, targets
from shallowscaling.errors import InputError
from shallowscaling.estimators.lasso import fit_lasso
from shallowscaling.state_evolution import _diagonal_problem, diagonal, soft_threshold
from shallowscaling.state_evolution.diagonal import (
    expected_soft_threshold_mse,
    soft_threshold_active_probability,
    solve_diagonal_se,
)

SEED = 20250924
CASES = [(0.0, 1.0, 0.5), (0.3, 0.7, 1.2), (-2.5, 0.4, 0.3), (8.0, 1.0, 2.0), (1e-3, 2.0, 0.0)]


def _teacher(d: int, seed: int) -> np.ndarray:
    return targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(seed, "diagonal-teacher", d))


@pytest.mark.parametrize(("theta", "delta", "threshold"), CASES)
def test_closed_forms_match_quadrature(theta, delta, threshold):
    def soft(z):
        x = theta + delta * z
        return np.sign(x) * max(abs(x) - threshold, 0.0)

    def error(z):
        return (soft(z) - theta) ** 2 * norm.pdf(z)

    # Split at the kinks ±t so that quad integrates smooth pieces to ~1e-13.
    kinks = sorted({(threshold - theta) / delta, (-threshold - theta) / delta})
    edges = [-np.inf, *kinks, np.inf]
    mse = sum(quad(error, a, b, epsabs=1e-14, epsrel=1e-13)[0] for a, b in itertools.pairwise(edges))
    active = norm.sf((threshold - theta) / delta) + norm.cdf((-threshold - theta) / delta)
    assert expected_soft_threshold_mse(np.array([theta]), delta, threshold)[0] == pytest.approx(
        mse, rel=1e-10, abs=1e-15
    )
    assert soft_threshold_active_probability(np.array([theta]), delta, threshold)[0] == pytest.approx(active, rel=1e-12)


def test_closed_forms_match_monte_carlo():
    rng = seeding.make_rng(SEED, "soft-threshold-mc")
    z = rng.standard_normal(400_000)
    for theta, delta, threshold in CASES:
        x = theta + delta * z
        estimate = np.sign(x) * np.maximum(np.abs(x) - threshold, 0.0)
        samples = (estimate - theta) ** 2
        # 5 standard errors of the Monte-Carlo mean: fails by chance with probability ~1e-6.
        tolerance = 5.0 * samples.std() / math.sqrt(z.size) + 1e-12
        assert abs(expected_soft_threshold_mse(np.array([theta]), delta, threshold)[0] - samples.mean()) < tolerance
        hits = np.abs(x) > threshold
        probability = soft_threshold_active_probability(np.array([theta]), delta, threshold)[0]
        # Binomial standard error from the predicted p (+1/N when p is within 1/N of 0 or 1).
        assert abs(probability - hits.mean()) < 5.0 * math.sqrt(probability * (1 - probability) / z.size) + 1 / z.size


def test_unit_terms_match_the_physical_closed_forms_and_their_derivatives():
    a = np.array([0.0, 0.2, 1.0, 3.0, 40.0])
    kappa, step = 1.3, 1e-6
    m, p, _, _, _ = soft_threshold.unit_terms(a, kappa)
    assert m == pytest.approx(expected_soft_threshold_mse(a, 1.0, kappa), rel=1e-12)
    assert p == pytest.approx(soft_threshold_active_probability(a, 1.0, kappa), rel=1e-12, abs=1e-300)
    # The Newton Jacobians of the full-vector polish and of the rescue's first stage (smooth
    # across n = k) against central differences.
    theta = np.abs(_teacher(300, SEED))
    problem = _diagonal_problem.DiagonalProblem(theta, None, 300, 200, 0.7, 0.5)
    for equations in (problem.equations, problem.equations_across_basis_pursuit):
        _, jacobian = equations(-0.2, kappa)
        numeric = np.column_stack(
            [
                (equations(-0.2 + step, kappa)[0] - equations(-0.2 - step, kappa)[0]) / (2 * step),
                (equations(-0.2, kappa + step)[0] - equations(-0.2, kappa - step)[0]) / (2 * step),
            ]
        )
        assert jacobian == pytest.approx(numeric, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize(
    ("n", "lam", "noise"), [(100, 0.01, 0.5), (200, 1.0, 0.5), (200, 1.0, 0.0), (1000, 5.0, 0.1), (50, 300.0, 0.5)]
)
def test_solution_satisfies_both_fixed_point_equations(n, lam, noise):
    theta_star = _teacher(200, SEED)
    result = solve_diagonal_se(theta_star, n, lam, noise)
    assert result.converged and result.fixed_point_residual <= 1e-10
    risk = float(np.mean(expected_soft_threshold_mse(theta_star, result.delta, result.threshold)))
    active = float(np.sum(soft_threshold_active_probability(theta_star, result.delta, result.threshold)))
    assert n / 200 * result.delta**2 == pytest.approx(noise + risk, rel=1e-9)
    assert result.threshold == pytest.approx(lam * 200 / (n - active), rel=1e-9)
    assert result.excess_risk == pytest.approx(risk, rel=1e-9)
    assert result.epsilon * lam == pytest.approx(result.threshold, rel=1e-9)  # (D-ii) residual
    assert result.nonzero_fraction == pytest.approx(active / 200, rel=1e-12)


def test_limits_least_squares_and_all_thresholded():
    theta_star = _teacher(200, SEED)
    # λ → 0 with n > d: ordinary least squares, R = Δ d/(n − d).
    assert solve_diagonal_se(theta_star, 600, 1e-9, 0.5).excess_risk == pytest.approx(0.5 * 200 / 400, rel=1e-6)
    # λ → ∞: θ̂ = 0, R = ‖θ*‖²/d, nothing active.
    huge = solve_diagonal_se(theta_star, 300, 1e6, 0.5)
    assert huge.excess_risk == pytest.approx(float(np.mean(theta_star**2)), rel=1e-9)
    assert huge.nonzero_fraction < 1e-12
    # Noiseless, n = 3d, tiny λ (regression: bracketing κ fails here, κ sits 1e-9 above
    # κ_c = √(n/d − 1)): every coordinate active, t = λd/(n − d), R = (n/d) t²/(n/d − 1); the few
    # coordinates with |θ*_i| ~ δ shift t by 0.2% and R by 1.2% (measured).
    noiseless = solve_diagonal_se(theta_star, 600, 1e-3, 0.0)
    assert noiseless.converged and noiseless.threshold == pytest.approx(1e-3 * 200 / 400, rel=1e-2)
    assert noiseless.excess_risk == pytest.approx(3 * (1e-3 * 200 / 400) ** 2 / 2, rel=3e-2)
    # Noiseless with θ* = 0: exact, R = 0.
    assert solve_diagonal_se(np.zeros(50), 10, 1.0, 0.0).excess_risk == 0.0


def test_summary_start_and_direct_solve_agree(monkeypatch):
    """Two routes: the quantile-summary start + Newton polish, and the nested solve on all of θ*."""
    theta_star = _teacher(3000, SEED)
    direct = solve_diagonal_se(theta_star, 1200, 0.05, 0.5)
    monkeypatch.setattr(diagonal, "_SUMMARY_SIZE", 64)
    summarised = solve_diagonal_se(theta_star, 1200, 0.05, 0.5)
    # Force the nested fallback on all of θ* (the cap lives in _diagonal_problem, diagonal sizes
    # the evaluation budget from its own copy).
    monkeypatch.setattr(_diagonal_problem, "NEWTON_MAX_ITER", 0)
    monkeypatch.setattr(diagonal, "NEWTON_MAX_ITER", 0)
    nested = solve_diagonal_se(theta_star, 1200, 0.05, 0.5)
    for result in (summarised, nested):
        assert result.converged
        assert result.delta == pytest.approx(direct.delta, rel=1e-9)
        assert result.threshold == pytest.approx(direct.threshold, rel=1e-9)


@pytest.mark.slow
def test_noiseless_power_law_basis_pursuit_corner_converges():
    """The heat-map point d = 10⁵, n = 5623 (κ = 0.75), λ = d^-1.5, Δ = 0 (regression: stopped at
    residual 0.89). Independent route: the basis-pursuit fixed point (λ = 0: (n/d)δ² = R(δ, κδ),
    k = n), found with two nested Brent solves on the closed forms; the risk is linear in λ
    near 0, so the λ = 0 and λ = 1e-7 risks predict the λ = d^-1.5 one."""
    from scipy.optimize import brentq

    d, n = 100_000, 5623
    theta_star = np.sqrt(targets.diagonal_variances(d, 1.0, "unit"))
    lam = d**-1.5
    result = solve_diagonal_se(theta_star, n, lam, 0.0, tol=1e-8)
    assert result.converged and result.fixed_point_residual <= 1e-8

    def delta_of(kappa: float) -> float:
        def excess(delta: float) -> float:
            return n / d * delta**2 - float(np.mean(expected_soft_threshold_mse(theta_star, delta, kappa * delta)))

        return brentq(excess, 0.1, 0.5, xtol=1e-15, rtol=1e-14)

    def surplus(kappa: float) -> float:
        delta = delta_of(kappa)
        return float(np.sum(soft_threshold_active_probability(theta_star, delta, kappa * delta))) - n

    kappa_bp = brentq(surplus, 1.8, 2.2, xtol=1e-14, rtol=1e-14)
    risk_bp = n / d * delta_of(kappa_bp) ** 2
    # Measured: R_BP = 2.7728053e-3, R(d^-1.5) = 2.7728042e-3 (4e-7 below, the O(λ) shift).
    assert result.excess_risk == pytest.approx(risk_bp, rel=1e-6)
    assert result.threshold / result.delta == pytest.approx(kappa_bp, rel=1e-6)
    slope = (solve_diagonal_se(theta_star, n, 1e-7, 0.0, tol=1e-8).excess_risk - risk_bp) / 1e-7
    assert result.excess_risk == pytest.approx(risk_bp + slope * lam, rel=1e-9)


@pytest.mark.slow
def test_se_matches_lasso_simulations_at_d200():
    """Mean LASSO excess risk over 20 seeds within 10% of the mean SE, 7 points off the peak."""
    d = 200
    points = [(50, 1.0), (100, 0.5), (100, 2.0), (200, 2.0), (400, 0.05), (400, 1.0), (800, 5.0)]
    for n, lam in points:
        simulated, predicted = [], []
        for seed in range(20):
            theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(SEED, "diagonal-teacher", d, seed))
            x, y = data.draw_diagonal_data(theta_star, n, 0.5, seeding.make_rng(SEED, "diagonal-data", d, n, seed))
            simulated.append(float(np.sum((fit_lasso(x, y, lam).theta - theta_star) ** 2)) / d)
            predicted.append(solve_diagonal_se(theta_star, n, lam, 0.5).excess_risk)
        # Measured over 4 base seeds: |ratio − 1| <= 0.06 at 20 seeds (finite-d fluctuations of
        # a single fit are ~20%); 10% is the acceptance bound.
        assert np.mean(simulated) == pytest.approx(np.mean(predicted), rel=0.10), (n, lam)


#: docs/theory.md §8 (diagonal, d = 400, γ = 1, Δ = 0.5, Q* = 1, 3 seeds): (n, λ, simulated R, SE R).
SPEC_TABLE = [
    (100, 0.05, 0.425, 0.408),
    (200, 1.0, 0.141, 0.132),
    (400, 1.0, 0.091, 0.085),
    (800, 0.05, 0.440, 0.408),
    (800, 5.0, 0.186, 0.176),
    (1600, 20.0, 0.337, 0.369),
]


@pytest.mark.slow
def test_spec_section8_table():
    """The SE depends on the sampled θ*, so the table's 3-seed values are random: we check that
    (i) the SE averaged over 30 teachers is within three standard deviations of a 3-teacher mean
    of the table's SE value, and (ii) the LASSO simulations agree with the SE of their own
    teacher (paired, 10 seeds) within 2.5 standard errors.

    Deviation: the row (100, 0.05) has SE 0.50 ± 0.04 (single-teacher sd) for every
    convention we tried, against 0.408 in the table, the value of the (800, 0.05) row; its
    simulations (0.47 ± 0.03 here) agree with our SE, so the table entry looks miscopied."""
    d = 400
    teachers = [_teacher(d, seed) for seed in range(30)]
    for n, lam, _, table_se in SPEC_TABLE:
        values = np.array([solve_diagonal_se(theta, n, lam, 0.5).excess_risk for theta in teachers])
        spread = 3.0 * values.std(ddof=1) / math.sqrt(3) + 1e-3
        if (n, lam) == (100, 0.05):
            assert values.mean() - table_se > spread  # the documented deviation
        else:
            assert abs(values.mean() - table_se) <= spread, (n, lam, values.mean())
        differences = []
        for seed, theta in enumerate(teachers[:10]):
            x, y = data.draw_diagonal_data(theta, n, 0.5, seeding.make_rng(SEED, "diagonal-data", d, n, seed))
            differences.append(float(np.sum((fit_lasso(x, y, lam).theta - theta) ** 2)) / d - values[seed])
        error = np.std(differences, ddof=1) / math.sqrt(len(differences))
        assert abs(np.mean(differences)) <= 2.5 * error + 2e-3, (n, lam)


def test_arguments_are_validated():
    with pytest.raises(InputError, match="`lam`"):
        solve_diagonal_se(np.ones(5), 10, 0.0, 0.5)
    with pytest.raises(InputError, match="`n`"):
        solve_diagonal_se(np.ones(5), 0, 1.0, 0.5)
    with pytest.raises(ValueError, match="theta_star"):
        solve_diagonal_se(np.ones((2, 2)), 10, 1.0, 0.5)


def test_issue5_noiseless_above_interpolation_does_not_overflow() -> None:
    # Regression (issue 5): at Δ = 0 with n > d the δ bracketing reaches log δ ≪ 0, where
    # Δ·exp(−2 log δ) overflowed instead of being 0.
    theta_star = np.sqrt(targets.diagonal_variances(1000, 1.0))
    result = solve_diagonal_se(theta_star, 31623, 1e-3, 0.0)
    assert result.converged
    assert 0.0 <= result.excess_risk < 1e-3


def _sparse_ones(d: int, sparsity: float) -> np.ndarray:
    theta_star = np.zeros(d)
    theta_star[: round(sparsity * d)] = 1.0
    return theta_star


def _noiseless_branch_risk(sparsity: float, ratio: float) -> float:
    """R/λ² on the exact-recovery branch from an independent route: F by quadrature, its larger root.

    As λ → 0 with Δ = 0: n/d = F(κ) = ε(1 + κ²) + (1 − ε) E η(z; κ)², δ = λ/(κ(n/d − p)) with
    p = ε + 2(1 − ε)Q(κ) from (D-ii), and R = (n/d) δ².
    """

    def big_f(kappa: float) -> float:
        zero = 2.0 * quad(lambda z: (z - kappa) ** 2 * norm.pdf(z), kappa, np.inf, epsabs=1e-14)[0]
        return sparsity * (1.0 + kappa**2) + (1.0 - sparsity) * zero - ratio

    from scipy.optimize import brentq, minimize_scalar

    kappa_min = minimize_scalar(big_f, bounds=(0.0, 10.0), method="bounded", options={"xatol": 1e-12}).x
    kappa = brentq(big_f, kappa_min, 20.0, xtol=1e-14)
    active = sparsity + 2.0 * (1.0 - sparsity) * norm.sf(kappa)
    return ratio / (kappa * (ratio - active)) ** 2


@pytest.mark.parametrize("ratio, sparsity", [(0.5, 0.1), (0.25, 0.05), (0.75, 0.3)])
def test_issue17_noiseless_sparse_teacher_below_transition_converges(ratio, sparsity):
    # Regression (issue 17): with Δ = 0, θ* = ones on εd coordinates and n < d, below the
    # transition the threshold parametrisation sits exponentially close to its limit and the
    # solver returned NaN or "not converged"; the answer is R = c λ² with c in closed form.
    d = 1000
    theta_star = _sparse_ones(d, sparsity)
    expected = _noiseless_branch_risk(sparsity, ratio)
    for lam in (1e-3, 1e-5):
        result = solve_diagonal_se(theta_star, round(ratio * d), lam, 0.0)
        assert result.converged and result.status == "converged"
        assert result.fixed_point_residual <= 1e-10
        assert result.excess_risk / lam**2 == pytest.approx(expected, rel=1e-7)
        # Every signal coordinate active, none of the zeros beyond 2(1 − ε)Q(κ_c).
        assert sparsity < result.nonzero_fraction < ratio


@pytest.mark.parametrize("ratio", [0.25, 0.5, 0.75])
def test_issue17_se_recovery_threshold_matches_dmm(ratio):
    # Two routes to the noiseless transition: the SE at two small λ (R ∝ λ² below it, R = O(1)
    # above) and the closed form of rates.dmm_transition.
    d = 1000
    critical = rates.dmm_transition(ratio)
    recovered, failed = [], []
    for sparsity in np.arange(critical - 0.05, critical + 0.05, 0.005):
        theta_star = _sparse_ones(d, float(sparsity))
        small, smaller = (solve_diagonal_se(theta_star, round(ratio * d), lam, 0.0) for lam in (1e-3, 1e-5))
        assert small.converged and smaller.converged
        side = recovered if smaller.excess_risk < 1e-3 * small.excess_risk else failed
        side.append(np.count_nonzero(theta_star) / d)
    assert recovered and failed and max(recovered) < min(failed)
    assert critical - 0.01 < max(recovered) <= critical < min(failed) < critical + 0.01
