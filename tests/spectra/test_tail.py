"""Power-law tail fit: closed forms, the reference package, and a naive KS scan (docs/theory.md §4)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from shallowscaling.errors import InputError
from shallowscaling.seeding import make_rng
from shallowscaling.spectra.tail import fit_power_law_tail

powerlaw = pytest.importorskip("powerlaw")


def _powerlaw_package_fit(values: np.ndarray) -> tuple[float, float]:
    """(alpha, xmin) from powerlaw 2.0.0, continuous, KS-chosen x_min (its defaults otherwise)."""
    with warnings.catch_warnings():
        # powerlaw warns about its own internals (near-boundary fits, integer data); irrelevant here.
        warnings.simplefilter("ignore")
        fit = powerlaw.Fit(values, discrete=False, xmin_distance="D", verbose=False)
        return float(fit.power_law.alpha), float(fit.xmin)


def _naive_ks_scan(values: np.ndarray, sup: bool) -> tuple[float, float, float]:
    """O(k²) reference written from the definitions: (alpha, xmin, D) with the smallest D."""
    x = np.sort(values)
    best = (math.inf, math.nan, math.nan)
    for xmin in np.unique(x)[:-1]:
        tail = x[x >= xmin]
        n = tail.size
        alpha = 1.0 + n / np.sum(np.log(tail / xmin))
        points = np.unique(tail)
        fitted = 1.0 - (points / xmin) ** (1.0 - alpha)
        below = np.array([np.sum(tail < p) for p in points]) / n
        at_or_below = np.array([np.sum(tail <= p) for p in points]) / n
        if sup:
            dist = max(np.max(at_or_below - fitted), np.max(fitted - below))
        else:
            dist = np.max(np.abs(fitted - below))
        if dist < best[0]:
            best = (dist, alpha, xmin)
    return best[1], best[2], best[0]


@pytest.mark.parametrize("gamma", [0.6, 1.0, 1.25, 2.0])
def test_exact_power_law_spectrum_gives_one_plus_inverse_gamma(gamma: float) -> None:
    # s_i ∝ i^{-γ}, i = 1..400: a density ∝ x^{-(1+1/γ)} (docs/theory.md §4 quotes 2.667/2.0/1.8/1.5).
    s = np.arange(1, 401, dtype=float) ** -gamma
    fit = fit_power_law_tail(s)
    # ±0.05 is the acceptance band of the spec; the discreteness of 400 points biases α̂ by ~0.5 %.
    assert abs(fit.tail_exponent - (1.0 + 1.0 / gamma)) < 0.05
    alpha_ref, xmin_ref = _powerlaw_package_fit(s)
    # Same estimator and same x_min convention as powerlaw 2.0.0: only its float summation differs.
    assert abs(fit.tail_exponent - alpha_ref) < 0.01
    assert fit.xmin == pytest.approx(xmin_ref, rel=1e-12)
    assert fit.n_tail == 400 and fit.n_used == 400
    assert fit.tail_exponent_se == pytest.approx((fit.tail_exponent - 1.0) / math.sqrt(400), rel=1e-12)


@pytest.mark.parametrize("exponent", [1.8, 2.5])
def test_pareto_samples_agree_with_powerlaw_package(exponent: float, global_seed: int) -> None:
    rng = make_rng(global_seed, "test-tail-pareto", int(10 * exponent))
    sample = (1.0 - rng.random(600)) ** (-1.0 / (exponent - 1.0))
    # powerlaw keeps every positive value; a Pareto sample with α = 1.8 spans more than the six
    # decades the default spectral cut keeps, so switch the cut off to compare like with like.
    fit = fit_power_law_tail(sample, relative_cut=0.0)
    alpha_ref, xmin_ref = _powerlaw_package_fit(sample)
    # powerlaw's default exponent range (0, 3) never binds for these fits, so the choices coincide.
    assert fit.xmin == pytest.approx(xmin_ref, rel=1e-12)
    assert abs(fit.tail_exponent - alpha_ref) < 0.01


@pytest.mark.parametrize("exponent", [1.5, 2.0, 3.0, 4.0])
def test_mle_recovers_the_pareto_exponent(exponent: float, global_seed: int) -> None:
    rng = make_rng(global_seed, "test-tail-mle", int(10 * exponent))
    n = 4000
    sample = 2.0 * (1.0 - rng.random(n)) ** (-1.0 / (exponent - 1.0))
    # α = 1.5 spans ~10 decades at n = 4000: keep every positive value (the default relative
    # cut, 1e-6 of the maximum, is meant for spectra and would drop the bottom of this sample).
    known = fit_power_law_tail(sample, xmin=2.0, relative_cut=0.0)
    # With x_min known the MLE is exactly 1 + n / Σ log(x/x_min) ...
    assert known.tail_exponent == pytest.approx(1.0 + n / np.sum(np.log(sample / 2.0)), rel=1e-12)
    assert known.n_tail == n
    # ... and lies within 4 standard errors of the truth (a 6e-5 chance of a false alarm per draw).
    assert abs(known.tail_exponent - exponent) < 4.0 * known.tail_exponent_se
    chosen = fit_power_law_tail(sample, relative_cut=0.0)
    # The KS-chosen x_min trades bias for variance; its SE is larger, 5 SE keeps false alarms rare.
    assert abs(chosen.tail_exponent - exponent) < 5.0 * chosen.tail_exponent_se
    assert chosen.xmin >= 2.0


@pytest.mark.slow
@pytest.mark.parametrize("ks_statistic", ["weightwatcher", "sup"])
def test_fast_ks_scan_equals_the_naive_scan(ks_statistic: str, global_seed: int) -> None:
    rng = make_rng(global_seed, "test-tail-naive")
    # A bulk (half-semicircle-like) plus power-law spikes, and a rounded sample with many ties.
    bulk = np.abs(rng.standard_normal(300))
    spikes = 3.0 + 20.0 * np.arange(1, 31, dtype=float) ** -1.0
    tied = np.round((1.0 - rng.random(300)) ** -1.0, 1)
    for data in (np.concatenate([bulk, spikes]), tied):
        fit = fit_power_law_tail(data, ks_statistic=ks_statistic)
        alpha, xmin, dist = _naive_ks_scan(data, sup=ks_statistic == "sup")
        assert fit.xmin == xmin
        assert fit.tail_exponent == pytest.approx(alpha, rel=1e-10)
        assert fit.ks_distance == pytest.approx(dist, rel=1e-10, abs=1e-14)


def test_the_two_ks_conventions_differ_by_at_most_one_over_n_tail(global_seed: int) -> None:
    rng = make_rng(global_seed, "test-tail-conventions")
    sample = (1.0 - rng.random(500)) ** -1.0
    xmin = float(np.quantile(sample, 0.3))
    ww = fit_power_law_tail(sample, xmin=xmin, ks_statistic="weightwatcher")
    sup = fit_power_law_tail(sample, xmin=xmin, ks_statistic="sup")
    assert ww.tail_exponent == sup.tail_exponent
    assert 0.0 <= sup.ks_distance - ww.ks_distance <= 1.0 / sup.n_tail + 1e-15


def test_fit_is_scale_invariant_and_ignores_relative_zeros() -> None:
    s = np.arange(1, 301, dtype=float) ** -1.25
    base = fit_power_law_tail(s)
    # Solver zeros (1e-12 of the top) and negative round-off are dropped by the relative cut,
    # whatever the overall scale of the weights.
    padded = np.concatenate([1e5 * s, np.zeros(50), np.full(20, 1e5 * 1e-12), -1e-9 * np.ones(5)])
    scaled = fit_power_law_tail(padded)
    assert scaled.n_used == 300
    assert scaled.tail_exponent == pytest.approx(base.tail_exponent, rel=1e-10)
    assert scaled.xmin == pytest.approx(1e5 * base.xmin, rel=1e-12)
    assert scaled.ks_distance == pytest.approx(base.ks_distance, rel=1e-8)


def test_too_few_values_give_nan_not_an_error() -> None:
    fit = fit_power_law_tail(np.array([0.0, 0.0, 1.0]))
    assert math.isnan(fit.tail_exponent) and fit.n_tail == 0 and fit.n_used == 1
    assert math.isnan(fit_power_law_tail(np.array([2.0, 2.0, 2.0])).tail_exponent)
    assert math.isnan(fit_power_law_tail(np.arange(1.0, 6.0), min_tail=6).xmin)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"values": np.ones((2, 2))}, "1-D"),
        ({"values": np.array([1.0, np.nan])}, "finite"),
        ({"values": np.ones(3), "min_tail": 1}, "`min_tail`"),
        ({"values": np.ones(3), "relative_cut": 1.0}, "`relative_cut`"),
        ({"values": np.ones(3), "xmin": -1.0}, "`xmin`"),
        ({"values": np.ones(3), "ks_statistic": "ad"}, "weightwatcher, sup"),
    ],
)
def test_bad_arguments_name_the_constraint(kwargs: dict, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        fit_power_law_tail(**kwargs)
