"""Cost models of workflow jobs: known costs and exponents are recovered, errors grow off the data."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from shallowscaling import cost_model
from shallowscaling.cost_model import fit_cost_model, fit_log_profile, predict_cost, predict_log_profile
from shallowscaling.errors import InputError


def _jobs(rng: np.random.Generator, n_jobs: int = 120):
    """Jobs at d ∈ [10, 160], n = d^(1..3): one point each, two levels, 3 repetitions."""
    d = rng.choice([10, 20, 40, 80, 160], n_jobs).astype(float)
    n = np.round(d ** rng.uniform(1.0, 3.0, n_jobs))
    return d, n, np.full(n_jobs, 3.0), np.arange(n_jobs), rng.integers(0, 2, n_jobs)


def test_noiseless_costs_recover_base_coefficients_and_exponents(global_seed: int) -> None:
    rng = np.random.default_rng(global_seed)
    d, n, mult, owner, level = _jobs(rng)
    truth = {"base": 0.7, "coef": np.array([2e-9, 3e-8]), "a": 2.0, "b": 1.0}
    y = truth["base"] + truth["coef"][level] * mult * d ** truth["a"] * n ** truth["b"]
    # The data can tell the cases apart: the work term runs from far below the base to > 1000× it.
    work = truth["coef"][level] * mult * d**2 * n
    assert work.max() / truth["base"] > 100 and work.min() / truth["base"] < 1e-2
    # Start the exponents 0.6 off the truth, so that the solver has to find them.
    fit = fit_cost_model(y, d, n, mult, owner, level, n_levels=2, d_exponent=1.4, n_exponent=1.6,
                         fit_d_exponent=True, fit_n_exponent=True)  # fmt: skip
    assert fit.converged and fit.status == "converged"
    # Noiseless data: the least squares are exact up to the solver's tolerances (1e-10).
    assert fit.d_exponent == pytest.approx(2.0, abs=1e-6)
    assert fit.n_exponent == pytest.approx(1.0, abs=1e-6)
    assert fit.base == pytest.approx(0.7, rel=1e-6)
    np.testing.assert_allclose(fit.coef, truth["coef"], rtol=1e-5)
    assert fit.rms_log_residual < 1e-8


def test_noisy_exponents_within_their_standard_errors(global_seed: int) -> None:
    rng = np.random.default_rng(global_seed + 1)
    d, n, mult, owner, level = _jobs(rng, 200)
    y = 0.5 + np.array([1e-9, 1e-8])[level] * mult * d**2 * n**1.0
    y *= np.exp(0.2 * rng.standard_normal(y.size))  # 20 % scatter, like the benchmark files
    fit = fit_cost_model(y, d, n, mult, owner, level, n_levels=2, d_exponent=2.0, n_exponent=1.0,
                         fit_d_exponent=True, fit_n_exponent=True)  # fmt: skip
    se = np.sqrt(np.diag(fit.covariance))
    a_se, b_se = se[fit.free.index("d_exponent")], se[fit.free.index("n_exponent")]
    # 4 standard errors: a 6e-5 two-sided chance of a false failure per seed.
    assert abs(fit.d_exponent - 2.0) < 4 * a_se and abs(fit.n_exponent - 1.0) < 4 * b_se
    assert 0.15 < fit.rms_log_residual < 0.25  # the scatter put in (0.2), seen through the fit


def test_extrapolation_is_more_uncertain_than_interpolation(global_seed: int) -> None:
    rng = np.random.default_rng(global_seed + 2)
    d, n, mult, owner, level = _jobs(rng)
    y = (0.5 + 1e-9 * mult * d**2 * n) * np.exp(0.2 * rng.standard_normal(d.size))
    fit = fit_cost_model(y, d, n, mult, owner, np.zeros_like(level), n_levels=1, d_exponent=2.0, n_exponent=1.0,
                         fit_d_exponent=True, fit_n_exponent=True)  # fmt: skip
    inside = predict_cost(fit, [80.0], [80.0**2], [3.0], [0], [0], 1)
    outside = predict_cost(fit, [1600.0], [1600.0**2.5], [3.0], [0], [0], 1)
    # The delta method: the error of log ŷ grows with |log d − mean log d| through the exponents.
    assert outside.log_se[0] > 5 * inside.log_se[0]
    # Inside the data the prediction is the truth up to a few standard errors.
    truth = 0.5 + 1e-9 * 3 * 80.0**2 * 80.0**2
    assert abs(np.log(inside.value[0] / truth)) < 4 * inside.log_se[0] + 0.05


def test_memory_is_base_plus_largest_point() -> None:
    # Three jobs (3, 3 and 1 points): peak memory follows each job's largest n·d, not the sum.
    d = np.array([10.0, 20.0, 40.0, 100.0, 200.0, 400.0, 50.0])
    n = np.array([1e3, 1e4, 1e5, 1e4, 1e5, 1e6, 100.0])
    owner = np.array([0, 0, 0, 1, 1, 1, 2])
    y = 150.0 + 2e-5 * np.array([40 * 1e5, 400 * 1e6, 50 * 100.0])
    fit = fit_cost_model(y, d, n, np.ones(7), owner, np.zeros(7, dtype=int), n_levels=1, d_exponent=1.0,
                         n_exponent=1.0, reduce="max")  # fmt: skip
    assert fit.base == pytest.approx(150.0, rel=1e-6)
    assert fit.coef[0] == pytest.approx(2e-5, rel=1e-6)
    # A sum over the points would have put the 3 points of job 1 together: 8 % more work.
    summed = predict_cost(fit, d, n, np.ones(7), owner, np.zeros(7, dtype=int), 3)
    np.testing.assert_allclose(summed.value, y, rtol=1e-6)


def test_fixed_coefficients_fit_only_the_base() -> None:
    d = np.array([20.0, 40.0, 80.0])
    y = 5.0 + 1e-6 * d**3
    fit = fit_cost_model(y, d, np.ones(3), np.ones(3), np.arange(3), np.zeros(3, dtype=int), n_levels=1,
                         d_exponent=3.0, n_exponent=0.0, coef=[1e-6])  # fmt: skip
    assert fit.free == ("log_base",)
    assert fit.base == pytest.approx(5.0, rel=1e-8)


def test_log_profile_recovers_a_piecewise_linear_profile_and_its_d_slope() -> None:
    # log y = P(κ) + 0.3 log d with P through (0, 2), (0.5, 5), (1, 3): a peak, as the iteration
    # counts of a fit near the interpolation threshold.
    nodes, values = np.array([0.0, 0.5, 1.0]), np.array([2.0, 5.0, 3.0])
    kappa = np.tile(np.linspace(0.0, 1.0, 11), 3)
    d = np.repeat([20.0, 80.0, 320.0], 11)
    y = np.exp(np.interp(kappa, nodes, values) + 0.3 * np.log(d))
    fit = fit_log_profile(y, kappa, d, np.zeros(33, dtype=int), n_levels=1, max_nodes=3)
    assert not fit.rank_deficient
    np.testing.assert_allclose(fit.nodes[0], nodes)
    np.testing.assert_allclose(fit.values[0], values, atol=1e-10)
    assert fit.d_slope[0] == pytest.approx(0.3, abs=1e-10)
    # Between and beyond the nodes: linear interpolation, flat outside.
    prediction = predict_log_profile(fit, [0.25, 1.5], [1000.0, 1000.0], [0, 0])
    np.testing.assert_allclose(np.log(prediction.value), [3.5 + 0.3 * np.log(1000.0), 3.0 + 0.3 * np.log(1000.0)])
    # An unknown level (-1) takes the largest one.
    assert predict_log_profile(fit, [0.5], [20.0], [-1]).value[0] == pytest.approx(np.exp(5.0) * 20.0**0.3)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"values": [1.0, -1.0]}, "`values`"),
        ({"owner": [0, 0]}, "every job needs at least one inner point"),
        ({"level": [0, 2]}, "`level` must hold integers in [0, 1)"),
        ({"d": [0.5, 2.0]}, "`d` and `n`"),
    ],
)
def test_bad_inputs_name_the_argument(kwargs, fragment) -> None:
    args = {"values": [1.0, 2.0], "d": [2.0, 4.0], "n": [1.0, 1.0], "mult": [1.0, 1.0], "owner": [0, 1],
            "level": [0, 0]}  # fmt: skip
    args.update(kwargs)
    with pytest.raises(InputError) as info:
        fit_cost_model(**args, n_levels=1, d_exponent=1.0, n_exponent=0.0)
    assert fragment in str(info.value)


def test_cost_model_is_numerics_only() -> None:
    # The style guide's dependency direction (tests/test_architecture.py lists the numerics
    # subpackages; this module belongs with them): NumPy, SciPy and the package's base layer only.
    tree = ast.parse(Path(cost_model.__file__).read_text())
    absolute, relative = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            absolute |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            (relative if node.level else absolute).add((node.module or "").split(".")[0])
    assert absolute <= {"__future__", "dataclasses", "numpy", "scipy"}, absolute
    assert relative <= {"_validation", "errors", "results"}, relative
