"""Spectrum summary (the `spectrum --json` record) and weight-matrix spectra (docs/theory.md §1.1, §4)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from shallowscaling.errors import InputError
from shallowscaling.results import json_safe, scalar_fields
from shallowscaling.seeding import make_rng
from shallowscaling.spectra.bulk import estimate_bulk_edge
from shallowscaling.spectra.phases import classify_spectrum
from shallowscaling.spectra.summary import analyse_spectrum, weight_matrix_spectrum
from shallowscaling.spectra.tail import fit_power_law_tail
from shallowscaling.targets import power_law_spectrum

CLI_KEYS = {"tail_exponent", "tail_exponent_se", "xmin", "ks_distance", "n_tail", "bulk_edge", "n_outliers", "phase"}


def _spectrum(seed: int) -> np.ndarray:
    d, delta, threshold = 300, 0.5, 0.1
    g = make_rng(seed, "test-summary").standard_normal((d, d))
    noisy = np.diag(power_law_spectrum(d, 1.0)) + delta * (g + g.T) / np.sqrt(2 * d)
    return np.maximum(np.linalg.eigvalsh(noisy) - threshold, 0.0)


def test_summary_combines_the_parts_consistently(global_seed: int) -> None:
    spectrum = _spectrum(global_seed)
    summary = analyse_spectrum(spectrum)
    tail = fit_power_law_tail(spectrum)
    bulk = estimate_bulk_edge(spectrum)
    assert (summary.tail_exponent, summary.xmin, summary.n_tail) == (tail.tail_exponent, tail.xmin, tail.n_tail)
    assert (summary.bulk_edge, summary.n_outliers, summary.n_bulk) == (bulk.bulk_edge, bulk.n_outliers, bulk.n_bulk)
    assert summary.n_nonzero == bulk.n_bulk + bulk.n_outliers == np.count_nonzero(spectrum > 0)
    assert summary.fraction_zero == pytest.approx(1.0 - summary.n_nonzero / 300)
    nonzero = np.sort(spectrum[spectrum > 0])[::-1]
    assert summary.bulk_mass == pytest.approx(np.sum(nonzero[summary.n_outliers :]) / np.sum(nonzero))
    assert summary.top_eigenvalue == nonzero[0]
    assert summary.phase == classify_spectrum(summary)


def test_summary_record_has_the_cli_keys_and_is_json(global_seed: int) -> None:
    record = scalar_fields(analyse_spectrum(_spectrum(global_seed)))
    assert CLI_KEYS <= set(record)
    json.dumps({key: json_safe(value) for key, value in record.items()}, allow_nan=False)


def test_an_all_zero_spectrum_is_rank_collapse_with_nan_tail() -> None:
    summary = analyse_spectrum(np.zeros(50))
    assert summary.phase == "rank-collapse" and summary.fraction_zero == 1.0
    assert math.isnan(summary.tail_exponent) and math.isnan(summary.bulk_mass)
    record = scalar_fields(summary)
    assert json.loads(json.dumps({k: json_safe(v) for k, v in record.items()}))["tail_exponent"] is None


def test_weight_matrix_spectrum_matches_the_eigenvalues_of_s(global_seed: int) -> None:
    rng = make_rng(global_seed, "test-summary-weights")
    for p, d in [(30, 20), (12, 20)]:
        w = rng.standard_normal((p, d))
        expected = np.sort(np.linalg.eigvalsh(w.T @ w / np.sqrt(p * d)))[::-1]
        got = weight_matrix_spectrum(w)
        # eigvalsh of the formed WᵀW loses ~1e-15·‖WᵀW‖ absolutely; the SVD route is exact to that.
        assert np.allclose(got, np.maximum(expected, 0.0), atol=1e-12)
        assert got.shape == (d,) and np.all(np.diff(got) <= 0)
        if p < d:
            assert np.all(got[p:] == 0.0)
        raw = weight_matrix_spectrum(w, normalization="none")
        assert np.allclose(raw, got * np.sqrt(p * d), rtol=1e-12)
        # The HT-SR exponent does not depend on the normalisation.
        assert fit_power_law_tail(raw).tail_exponent == pytest.approx(fit_power_law_tail(got).tail_exponent)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: weight_matrix_spectrum(np.ones(3)), "p × d"),
        (lambda: weight_matrix_spectrum(np.ones((2, 2)), normalization="ww"), "paper, none"),
        (lambda: analyse_spectrum(np.array([])), "empty"),
        (lambda: analyse_spectrum(np.ones(5), ks_statistic="x"), "weightwatcher, sup"),
    ],
)
def test_bad_arguments_name_the_constraint(call, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        call()
