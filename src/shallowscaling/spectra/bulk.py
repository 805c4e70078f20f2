"""Bulk and outliers of a trained spectrum: SE predictions and estimates from the spectrum (docs/theory.md §4).

State evolution (docs/theory.md §2.2) says that the trained quadratic weights are a soft-thresholded noisy
target, Ŝ ≈ U diag((x_i − t)₊) Uᵀ with x_i, U the eigenpairs of S* + δZ (Z ~ GOE(d), semicircle on
[−2, 2]) and t = λε. Hence (docs/theory.md §4) the spectrum of Ŝ is

* a mass F_{μ_δ}(t) at zero;
* a bulk: the part of μ_δ = μ_{S*} ⊞ semicircle(radius 2δ) above t, shifted by −t, with right
  edge ≈ 2δ − t;
* outliers at s_i + δ²/s_i − t for the target eigenvalues above the BBP threshold, s_i > δ.

The diagonal network's analogue is θ̂_i = η(θ*_i + δ z_i; t), with a "noise edge" where the
pure-noise coordinates end (:func:`predicted_noise_edge`).

Two kinds of functions live here: ``predict…``/``predicted…`` take the SE scalars (δ, t) and the
target, ``estimate…`` see only the spectrum, as a practitioner would.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real, check_real_vector
from ..errors import InputError
from ..state_evolution.free_convolution.biane import bulk_component
from .edge_estimate import (
    BulkEdgeEstimate,
    NoiseEdgeEstimate,
    count_outliers,
    estimate_bulk_edge,
    estimate_noise_edge,
    estimate_noise_from_residuals,
)
from .semicircle import semicircle_cdf

__all__ = [
    "BulkEdgeEstimate",
    "NoiseEdgeEstimate",
    "PredictedSpectrum",
    "count_outliers",
    "estimate_bulk_edge",
    "estimate_noise_edge",
    "estimate_noise_from_residuals",
    "free_convolution_edge",
    "predict_spectrum",
    "predicted_bulk_edge",
    "predicted_noise_edge",
    "predicted_outliers",
]


@dataclass(frozen=True)
class PredictedSpectrum:
    """SE prediction of the spectrum of Ŝ (see :func:`predict_spectrum`).

    Attributes
    ----------
    bulk_edge : float
        Right edge of the bulk after the shift, edge(μ_δ) − t (≤ 0: the threshold removes the bulk).
    n_outliers : int
        Number of BBP outliers above the shifted bulk edge and above 0.
    fraction_zero : float
        Predicted fraction of zero eigenvalues (the Dirac mass F_{μ_δ}(t)).
    outliers : ndarray, shape (n_outliers,)
        Outlier positions s_i + δ²/s_i − t, decreasing.
    """

    bulk_edge: float
    n_outliers: int
    fraction_zero: float
    outliers: np.ndarray


# --- SE predictions -----------------------------------------------------------------------------


def _check_delta_threshold(delta: float, threshold: float) -> tuple[float, float]:
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "threshold t = λε", lower=0.0)
    return delta, threshold


def predicted_bulk_edge(delta: float, threshold: float, edge: float | None = None) -> float:
    """Right edge of the bulk of Ŝ predicted by SE: edge(μ_δ) − t (docs/theory.md §4, §5).

    Parameters
    ----------
    delta : float
        Effective noise δ > 0.
    threshold : float
        Threshold t = λε ≥ 0.
    edge : float, optional
        Right edge of μ_δ = μ_{S*} ⊞ semicircle(2δ) before the shift. Default 2δ, its limit when
        the target eigenvalues below the BBP threshold are ≪ δ; :func:`free_convolution_edge`
        gives the finite-d value.

    Returns
    -------
    float
        edge − t; a value ≤ 0 means the threshold has removed the whole bulk.

    Examples
    --------
    >>> predicted_bulk_edge(0.5, 0.2)
    0.8
    """
    delta, threshold = _check_delta_threshold(delta, threshold)
    if edge is None:
        return 2.0 * delta - threshold
    return check_real(edge, "edge", "right edge of μ_δ") - threshold


def free_convolution_edge(s: np.ndarray, delta: float) -> float:
    """Right edge of the bulk of μ_s ⊞ semicircle(radius 2δ) for a finite target spectrum.

    The deterministic equivalent of the spectrum of diag(s) + δZ (Z ~ GOE(d)) is the free
    convolution of μ_s = (1/d) Σ_i δ_{s_i} with the semicircle of radius 2δ (docs/theory.md §2.2(b)). With
    F(u) = (δ²/d) Σ_i (u − s_i)^{-2} and H(u) = u + (δ²/d) Σ_i (u − s_i)^{-1}, its support is the
    image by H of {u : F(u) ≥ 1} (Biane 1997). Going up from the smallest s_i, the bulk is the
    first connected piece: its right edge is H(u*) with u* the first root of F(u) = 1 in the first
    gap between consecutive s_i where F dips below 1 (or above max s_i if none does). Eigenvalues
    beyond it are the outliers. For s_i ≪ δ the edge tends to 2δ.

    Parameters
    ----------
    s : ndarray, shape (d,)
        Target eigenvalues (any order).
    delta : float
        Effective noise δ > 0.

    Returns
    -------
    float
        The bulk's right edge before any threshold shift.

    Notes
    -----
    Just above this edge the components of the next atoms often follow after gaps far smaller
    than the Tracy–Widom scale δ d^{-2/3} (e.g. 1e-4 at d = 300, γ = 0.6, δ = 1, then 0.03):
    near-BBP outliers are then indistinguishable from the bulk at finite d, and merging the
    components separated by less than δ d^{-2/3} would move the edge up by 5–10 % in such cases.
    The u-roots found here coincide with the support intervals of
    ``state_evolution.free_convolution`` (same Biane parametrisation).

    With power-law targets this edge, not 2δ, is the one to compare with finite-d spectra: the
    top bulk eigenvalue sits just below it (the Tracy–Widom shift ≈ −1.2 δ d^{-2/3}), while 2δ can
    be far off when the bulk is made of target eigenvalues smeared by the noise, not of noise
    (measurements: docs/science.md, Notes moved from the source).

    References
    ----------
    P. Biane, "On the free convolution with a semi-circular distribution", Indiana Univ. Math. J.
    46 (1997) 705.
    """
    s = check_real_vector(s, "s", "target eigenvalues")
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    if s.size == 0:
        raise InputError("`s` (target eigenvalues) must not be empty")
    return bulk_component(np.sort(s), delta)[0]


def predicted_outliers(s: np.ndarray, delta: float, threshold: float, edge: float | None = None) -> np.ndarray:
    """BBP outlier positions s_i + δ²/s_i − t of Ŝ, for s_i > δ (docs/theory.md §4).

    Only outliers above the shifted bulk edge :func:`predicted_bulk_edge` ``(delta, threshold,
    edge)`` and above 0 (the soft threshold sets the others to zero) are returned.

    Returns
    -------
    ndarray, shape (k,)
        Decreasing outlier positions.

    Examples
    --------
    >>> predicted_outliers(np.array([3.0, 2.0, 0.5]), 1.0, 0.5)
    array([2.83333333, 2.        ])
    """
    s = check_real_vector(s, "s", "target eigenvalues")
    bulk_edge = predicted_bulk_edge(delta, threshold, edge)
    spikes = s[s > delta]
    positions = spikes + delta * delta / spikes - threshold
    positions = positions[(positions > bulk_edge) & (positions > 0.0)]
    return np.sort(positions)[::-1]


def predict_spectrum(s: np.ndarray, delta: float, threshold: float, edge: float | None = None) -> PredictedSpectrum:
    """SE prediction of the spectrum of Ŝ: bulk edge, outliers, mass at zero (docs/theory.md §4).

    Parameters
    ----------
    s : ndarray, shape (d,)
        Target eigenvalues s_i.
    delta, threshold : float
        SE effective noise δ and threshold t = λε.
    edge : float, optional
        Right edge of μ_δ (default 2δ, see :func:`predicted_bulk_edge`).

    Returns
    -------
    PredictedSpectrum

    Notes
    -----
    The mass at zero is F_{μ_δ}(t). It is evaluated with the bulk of μ_δ approximated by the
    semicircle of radius 2δ carrying the d − k sub-BBP eigenvalues, plus the BBP outliers that
    the threshold removes: fraction_zero = [(d − k) F_sc(t/δ) + #{s_i > δ: s_i + δ²/s_i ≤ t}]/d.
    This is exact when the sub-BBP s_i are ≪ δ; otherwise use the deterministic μ_δ of
    ``state_evolution.quadratic_deterministic``.
    """
    s = check_real_vector(s, "s", "target eigenvalues")
    delta, threshold = _check_delta_threshold(delta, threshold)
    d = s.size
    outliers = predicted_outliers(s, delta, threshold, edge)
    spikes = s[s > delta]
    removed = int(np.count_nonzero(spikes + delta * delta / spikes <= threshold))
    fraction_zero = ((d - spikes.size) * float(semicircle_cdf(np.array(threshold / delta))) + removed) / d
    return PredictedSpectrum(
        bulk_edge=predicted_bulk_edge(delta, threshold, edge),
        n_outliers=int(outliers.size),
        fraction_zero=fraction_zero,
        outliers=outliers,
    )


def predicted_noise_edge(d: int, delta: float, threshold: float) -> float:
    """Diagonal-network noise edge δ√(2 log d) − t (our extension of docs/theory.md §5).

    In θ̂_i = η(θ*_i + δ z_i; t) the coordinates with θ*_i ≈ 0 are |δ z_i| − t when non-zero, and
    the largest of d such |z_i| is ≈ √(2 log d): the Donoho–Johnstone universal threshold, above
    which a pure-noise coordinate rises with probability ≤ 1/√(π log d) (it is the maximum of d
    half-normals up to a log log d correction). It plays the role of the quadratic bulk edge
    2δ − t: re-thresholding θ̂ there (:func:`shallowscaling.spectra.pruning.prune_coefficients`)
    soft-thresholds θ* + δz at δ√(2 log d).

    Examples
    --------
    >>> round(predicted_noise_edge(400, 0.1, 0.2), 4)
    0.1462
    """
    d = check_int(d, "d", "input dimension d", lower=2)
    delta, threshold = _check_delta_threshold(delta, threshold)
    return delta * math.sqrt(2.0 * math.log(d)) - threshold
