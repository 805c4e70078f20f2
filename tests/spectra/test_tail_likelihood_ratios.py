"""Likelihood-ratio tests of the power-law tail against powerlaw 2.0.0's distribution_compare."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from shallowscaling.spectra.tail import compare_tail_alternatives, fit_power_law_tail

powerlaw = pytest.importorskip("powerlaw")


def _reference(values: np.ndarray, xmin: float) -> dict[str, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # powerlaw's own fitting chatter (RuntimeWarnings)
        fit = powerlaw.Fit(values, xmin=xmin, discrete=False, verbose=False)
        r_exp, p_exp = fit.distribution_compare("power_law", "exponential")
        r_log, p_log = fit.distribution_compare("power_law", "lognormal")
    return {
        "loglik_ratio_exponential": float(r_exp),
        "p_value_exponential": float(p_exp),
        "loglik_ratio_lognormal": float(r_log),
        "p_value_lognormal": float(p_log),
    }


def test_likelihood_ratios_match_powerlaw_on_a_noisy_power_law_spectrum():
    # A spectrum s_k = k^-1 with multiplicative noise, the shape the spectra stage fits
    # (α̂ ≈ 2 lies in (1.5, 3], where powerlaw uses the closed-form MLE of α as we do).
    rng = np.random.default_rng(0)
    values = np.arange(1, 401.0) ** -1.0 * (1 + 0.1 * rng.standard_normal(400)) ** 2
    fit = fit_power_law_tail(values)
    ours = compare_tail_alternatives(values, fit)
    reference = _reference(values, fit.xmin)
    # The data can tell the alternatives apart: the exponential is rejected (R > 0, small p),
    # the lognormal is not (|R| small, p large), so a swapped or mis-signed column would fail.
    assert reference["loglik_ratio_exponential"] > 50 and reference["p_value_exponential"] < 1e-3
    assert abs(reference["loglik_ratio_lognormal"]) < 1 and reference["p_value_lognormal"] > 0.5
    # powerlaw maximises the alternatives' likelihoods with Nelder–Mead at tol 1e-4; R is second
    # order in that error (agrees to ~1e-12 here), p first order: 1e-6 holds for the lognormal,
    # whereas powerlaw's exponential rate is off its closed-form MLE by ~1e-5, which moves p by
    # 1e-5 relative (our exponential likelihood is the larger, i.e. the better maximum).
    for name in ("loglik_ratio_exponential", "loglik_ratio_lognormal", "p_value_lognormal"):
        assert getattr(ours, name) == pytest.approx(reference[name], rel=1e-6), name
    assert ours.loglik_ratio_exponential <= reference["loglik_ratio_exponential"]
    assert ours.p_value_exponential == pytest.approx(reference["p_value_exponential"], rel=1e-4)


def test_likelihood_ratio_matches_powerlaw_on_a_pareto_sample():
    # Exact Pareto tail, α = 2.2. R agrees to 1e-6; the exponential p differs by ~2e-3 relative,
    # because powerlaw's Nelder–Mead (tol 1e-4) stops short of the exponential's closed-form MLE
    # Λ = 1/(x̄ − x_min): our likelihood of the exponential is the larger one.
    rng = np.random.default_rng(0)
    values = (1 - rng.random(400)) ** (-1 / 1.2)
    fit = fit_power_law_tail(values)
    ours = compare_tail_alternatives(values, fit)
    reference = _reference(values, fit.xmin)
    assert ours.loglik_ratio_exponential == pytest.approx(reference["loglik_ratio_exponential"], rel=1e-6)
    assert ours.loglik_ratio_exponential < reference["loglik_ratio_exponential"]  # ours fits the exponential better
    assert ours.loglik_ratio_lognormal == pytest.approx(reference["loglik_ratio_lognormal"], rel=1e-6)
    assert ours.p_value_lognormal == pytest.approx(reference["p_value_lognormal"], rel=1e-5)
    assert ours.p_value_exponential == pytest.approx(reference["p_value_exponential"], rel=1e-2)


def test_no_tail_gives_nan():
    fit = fit_power_law_tail(np.array([1.0, 1.0, 1.0]))
    assert np.isnan(compare_tail_alternatives(np.array([1.0, 1.0, 1.0]), fit).loglik_ratio_lognormal)


@pytest.mark.parametrize("sample", ["noisy_spectrum", "pareto"])
def test_exponential_p_value_is_powerlaws_at_the_exponential_mle(sample):
    # The only difference from powerlaw's exponential p-value is where its Nelder–Mead (tol 1e-4)
    # stops: with its exponential rate set to the closed-form MLE Λ = 1/(x̄ − x_min) that we use,
    # distribution_compare gives our R and p to rounding (1e-6 is the bound; ~1e-14 seen).
    rng = np.random.default_rng(0)
    if sample == "pareto":
        values = (1 - rng.random(400)) ** (-1 / 1.2)
    else:
        values = np.arange(1, 401.0) ** -1.0 * (1 + 0.1 * rng.standard_normal(400)) ** 2
    fit = fit_power_law_tail(values)
    ours = compare_tail_alternatives(values, fit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = powerlaw.Fit(values, xmin=fit.xmin, discrete=False, verbose=False)
        mle = 1.0 / (np.mean(reference.data) - fit.xmin)
        # The data can tell: powerlaw's own optimiser stops measurably away from the MLE.
        assert abs(reference.exponential.Lambda - mle) > 1e-8 * mle
        reference.exponential.set_parameters([mle])
        ratio, p_value = reference.distribution_compare("power_law", "exponential")
    assert ours.loglik_ratio_exponential == pytest.approx(ratio, rel=1e-6)
    assert ours.p_value_exponential == pytest.approx(p_value, rel=1e-6)
