"""Optimal-λ search: synthetic minima (including a decoy basin) and the quadratic SE."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shallowscaling.errors import ConvergenceWarning, InputError
from shallowscaling.state_evolution.optimal import minimize_se_risk_over_lam
from shallowscaling.state_evolution.quadratic_mc import solve_quadratic_se_mc
from shallowscaling.targets import power_law_spectrum


class _Fake:
    """A result-like object: R(λ) from a formula, converged unless told otherwise."""

    def __init__(self, risk: float, converged: bool = True) -> None:
        self.excess_risk = risk
        self.converged = converged


def test_known_minimum():
    # R = 0.3 + (log λ − log 0.02)²: minimum at λ* = 0.02 with R* = 0.3. xatol = 1e-6 on log λ.
    best = minimize_se_risk_over_lam(lambda lam: _Fake(0.3 + math.log(lam / 0.02) ** 2), (1e-5, 1e4), xatol=1e-6)
    assert best.converged and best.status == "converged" and not best.at_boundary
    assert best.lam == pytest.approx(0.02, rel=1e-5)
    assert best.excess_risk == pytest.approx(0.3, abs=1e-10)


def test_grid_prescan_finds_the_global_basin():
    # Two basins: a wide shallow one at λ = 1e-3 (R = 0.5) and a narrower deep one at λ = 100
    # (R = 0.1, width 0.6 in log λ, wider than the 1.5-decade grid step). A local search started
    # in the middle of the interval would stop in the first; the pre-scan must find the second.
    def risk(lam: float) -> _Fake:
        x = math.log10(lam)
        return _Fake(min(0.5 + 0.05 * (x + 3) ** 2, 0.1 + 2.0 * (x - 2) ** 2))

    best = minimize_se_risk_over_lam(risk, (1e-6, 1e6))
    assert best.lam == pytest.approx(100.0, rel=1e-3)
    assert best.excess_risk == pytest.approx(0.1, abs=1e-6)


def test_boundary_minimum_is_flagged():
    best = minimize_se_risk_over_lam(lambda lam: _Fake(lam), (1e-3, 1e3))
    assert best.at_boundary and best.lam == pytest.approx(1e-3, rel=1e-3)


def test_non_converged_points_are_skipped():
    # The SE "fails" for λ > 1: those points count as +∞ and are reported.
    best = minimize_se_risk_over_lam(lambda lam: _Fake(-math.log(lam), converged=lam <= 1.0), (1e-3, 1e3))
    assert best.failed_points > 0
    assert best.lam <= 1.0 + 1e-6
    with pytest.warns(ConvergenceWarning):
        none = minimize_se_risk_over_lam(lambda lam: _Fake(1.0, converged=False), (1e-3, 1e3), n_grid=5)
    assert not none.converged and none.excess_risk == math.inf


def test_quadratic_se_optimum():
    # On the quadratic SE (d = 40, MC route, fixed draws) the optimum must beat λ·(1 ± 5 %) and
    # every grid point; Corollary 1 puts it at λ ≈ √(n_eff/d) up to an O(1) constant.
    d = 40
    s = power_law_spectrum(d, 1.0)
    n = 2 * d * d
    solved: dict[float, float] = {}

    def solve(lam: float):
        res = solve_quadratic_se_mc(s, n, lam, 0.5, rng=np.random.default_rng(3))
        solved[lam] = res.excess_risk
        return res

    best = minimize_se_risk_over_lam(solve, (1e-4, 1e3), n_grid=15)
    assert best.converged and best.result.converged
    assert len(solved) == best.iterations
    # Every λ the search evaluated (the 15-point grid included) is at least as bad as λ*.
    assert min(solved.values()) == pytest.approx(best.excess_risk, abs=1e-15)
    for factor in (0.95, 1.05):
        assert solve(best.lam * factor).excess_risk >= best.excess_risk - 1e-12
    assert 0.2 < best.lam / math.sqrt(n / d / d) < 5.0


def test_input_validation():
    with pytest.raises(InputError, match="lam_bounds"):
        minimize_se_risk_over_lam(lambda lam: _Fake(1.0), (1.0, 0.5))
    with pytest.raises(InputError, match="solve"):
        minimize_se_risk_over_lam(3.0, (1.0, 2.0))
