"""One-record summary of a weight spectrum: tail, bulk, outliers, phase (docs/theory.md §4).

:func:`analyse_spectrum` backs ``shallowscaling spectrum FILE --json``: the scalar fields of
:class:`SpectrumSummary` are its JSON keys and Parquet columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from .._validation import check_choice, check_real_vector
from ..errors import InputError
from ..results import scalar_fields
from .edge_estimate import estimate_bulk_edge
from .phases import classify_spectrum
from .tail import DEFAULT_RELATIVE_CUT, KS_STATISTICS, compare_tail_alternatives, fit_power_law_tail

__all__ = ["SPECTRUM_NORMALIZATIONS", "SpectrumSummary", "analyse_spectrum", "weight_matrix_spectrum"]

SPECTRUM_NORMALIZATIONS = ("paper", "none")


@dataclass(frozen=True)
class SpectrumSummary:
    """Scalar summary of a spectrum (all fields are CLI/Parquet columns).

    Attributes
    ----------
    d : int
        Number of eigenvalues (zeros included).
    n_nonzero : int
        Eigenvalues above relative_cut · max.
    fraction_zero : float
        1 − n_nonzero/d: the Dirac mass at zero of docs/theory.md §4.
    tail_exponent, tail_exponent_se, xmin, ks_distance : float
        Power-law tail fit of the non-zero eigenvalues (:func:`fit_power_law_tail`; NaN if none).
    n_tail : int
        Eigenvalues in the fitted tail.
    loglik_ratio_exponential, p_value_exponential, loglik_ratio_lognormal, p_value_lognormal : float
        Likelihood-ratio tests of the power-law tail against the exponential and the lognormal on
        the same tail (:func:`compare_tail_alternatives`; R > 0 favours the power law).
    bulk_edge : float
        Estimated right edge of the bulk (:func:`estimate_bulk_edge`; 0.0 without a bulk).
    n_outliers : int
        Non-zero eigenvalues above the bulk edge (by the estimator's margin).
    n_bulk : int
        Non-zero eigenvalues in the bulk.
    bulk_mass : float
        Share of the trace Σλ carried by the bulk (NaN when the trace is 0).
    top_eigenvalue : float
        Largest eigenvalue.
    phase : str
        Martin–Mahoney phase (:func:`classify_spectrum`).
    """

    d: int
    n_nonzero: int
    fraction_zero: float
    tail_exponent: float
    tail_exponent_se: float
    xmin: float
    ks_distance: float
    n_tail: int
    loglik_ratio_exponential: float
    p_value_exponential: float
    loglik_ratio_lognormal: float
    p_value_lognormal: float
    bulk_edge: float
    n_outliers: int
    n_bulk: int
    bulk_mass: float
    top_eigenvalue: float
    phase: str


def analyse_spectrum(
    eigenvalues: np.ndarray,
    *,
    relative_cut: float = DEFAULT_RELATIVE_CUT,
    min_tail: int = 2,
    ks_statistic: str = "weightwatcher",
) -> SpectrumSummary:
    """Tail exponent, bulk edge, outliers and phase of a spectrum (docs/theory.md §4).

    Parameters
    ----------
    eigenvalues : ndarray, shape (d,)
        All eigenvalues of Ŝ (or of WᵀW), zeros included; any order.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        Eigenvalues ≤ relative_cut · max count as zeros, for every part of the summary.
    min_tail, ks_statistic
        Passed to :func:`fit_power_law_tail`.

    Returns
    -------
    SpectrumSummary

    Examples
    --------
    >>> s = analyse_spectrum(np.arange(1, 401, dtype=float) ** -1.0)
    >>> round(s.tail_exponent, 2), s.phase
    (2.01, 'heavy-tailed')
    """
    values = check_real_vector(eigenvalues, "eigenvalues", "spectrum")
    check_choice(ks_statistic, "ks_statistic", KS_STATISTICS)
    d = int(values.size)
    if d == 0:
        raise InputError("`eigenvalues` (spectrum) must not be empty")
    tail = fit_power_law_tail(values, relative_cut=relative_cut, min_tail=min_tail, ks_statistic=ks_statistic)
    bulk = estimate_bulk_edge(values, relative_cut=relative_cut)
    top = float(np.max(values))
    nonzero = np.sort(values[values > relative_cut * top])[::-1] if top > 0.0 else np.empty(0)
    trace = float(np.sum(nonzero))
    bulk_mass = float(np.sum(nonzero[bulk.n_outliers :])) / trace if trace > 0.0 else math.nan
    fields = {
        "d": d,
        "n_nonzero": int(nonzero.size),
        "fraction_zero": 1.0 - nonzero.size / d,
        "tail_exponent": tail.tail_exponent,
        "tail_exponent_se": tail.tail_exponent_se,
        "xmin": tail.xmin,
        "ks_distance": tail.ks_distance,
        "n_tail": tail.n_tail,
        **scalar_fields(compare_tail_alternatives(values, tail, relative_cut=relative_cut)),
        "bulk_edge": bulk.bulk_edge,
        "n_outliers": bulk.n_outliers,
        "n_bulk": bulk.n_bulk,
        "bulk_mass": bulk_mass,
        "top_eigenvalue": top,
    }
    return SpectrumSummary(**fields, phase=classify_spectrum(SimpleNamespace(**fields)))


def weight_matrix_spectrum(w: np.ndarray, normalization: str = "paper") -> np.ndarray:
    """Eigenvalues of WᵀW for first-layer weights W (p × d), decreasing, length d (docs/theory.md §1.1, §4).

    Parameters
    ----------
    w : ndarray, shape (p, d)
        First-layer weights, one row per hidden unit.
    normalization : {"paper", "none"}, default "paper"
        ``"paper"``: eigenvalues of S = WᵀW/√(pd), the matrix the quadratic network learns
        (docs/theory.md §1.1), directly comparable with S* and with SE. ``"none"``: eigenvalues of WᵀW,
        the squared singular values of W, as WeightWatcher computes them (HT-SR). The tail
        exponent, the phase and every ratio are the same for both; only scales differ.

    Returns
    -------
    ndarray, shape (d,)
        Decreasing; when p < d the last d − p are exact zeros (rank WᵀW ≤ p).

    Notes
    -----
    Computed from the singular values of W (never forming WᵀW), so small eigenvalues keep their
    relative accuracy. For the diagonal network WᵀW is diagonal with entries w_i², and at the
    balanced optimum |a_i| = |w_i| its "spectrum" is |θ̂_i| (docs/theory.md §1.2): pass |θ̂| directly.

    Examples
    --------
    >>> weight_matrix_spectrum(np.array([[3.0, 0.0], [0.0, 1.0]]), normalization="none")
    array([9., 1.])
    """
    matrix = np.asarray(w, dtype=float)
    if matrix.ndim != 2:
        raise InputError(f"`w` (first-layer weights W) must be a p × d matrix; got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise InputError("`w` (first-layer weights W) must contain finite numbers only")
    check_choice(normalization, "normalization", SPECTRUM_NORMALIZATIONS)
    p, d = matrix.shape
    eigenvalues = np.zeros(d)
    singular = np.linalg.svd(matrix, compute_uv=False)
    eigenvalues[: singular.size] = singular**2
    if normalization == "paper":
        eigenvalues /= np.sqrt(p * d)
    return eigenvalues
