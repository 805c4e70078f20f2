"""Target spectra as weighted atoms: the atoms of a spectrum, their compression into groups, and the
threshold integrals every route of the package returns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..._validation import check_real


@dataclass(frozen=True)
class ThresholdIntegrals:
    """Integrals of μ_δ above a threshold t.

    Attributes
    ----------
    mass : float
        ∫ 1{x > t} μ_δ(dx) (the fraction of non-zero eigenvalues of the soft-thresholded matrix).
    first : float
        ∫ (x − t)₊ μ_δ(dx) (= −½ ∂_t J).
    second : float
        J(δ, t) = ∫ (x − t)₊² μ_δ(dx).
    cross : float
        ∫ (x − t)₊ Re G(x) μ_δ(dx) (= ∂_δ J / (4δ)).
    tail_re_g : float
        ∫ 1{x > t} Re G(x) μ_δ(dx) (= −∂_t cross).
    """

    mass: float
    first: float
    second: float
    cross: float
    tail_re_g: float


def spectral_atoms(s: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct atoms and their total weights (exactly equal values merged).

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues (any order, finite).
    weights : ndarray, shape (d,), optional
        Non-negative weights; default 1/d each. They are normalised to sum to 1.

    Returns
    -------
    positions, weights : ndarray
        Increasing distinct positions and their weights (summing to 1).
    """
    s = np.asarray(s, dtype=float).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("`s` (target eigenvalues) must be a non-empty finite array")
    w = np.full(s.size, 1.0 / s.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != s.shape or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("`weights` must be non-negative, finite, not all zero and shaped like `s`")
    order = np.argsort(s, kind="stable")
    s, w = s[order], w[order] / w.sum()
    keep = w > 0
    s, w = s[keep], w[keep]
    start = np.concatenate(([True], np.diff(s) > 0))
    group = np.cumsum(start) - 1
    return s[start], np.bincount(group, weights=w)


def compress_spectrum(
    s: np.ndarray, delta_ref: float, *, rel_width: float = 0.02, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Merge nearby atoms into weighted atoms (weight and mean of each group preserved).

    Consecutive atoms are grouped while the group spans at most
    ``rel_width · min(δ_ref, π δ_ref² ρ_s)``, where ρ_s = p/spacing is the local density of atoms.
    δ_ref must be a lower bound on every δ at which the compressed measure is used: the
    semicircle smooths the input at scale δ, and inside a dense cloud the free-convolved density
    varies on the scale Im ω ≈ π δ² ρ_s, so merging below both scales changes every smooth
    functional of μ_δ at second order in the group width. Isolated (outlier) atoms are never
    merged with anything, so the spike structure of a power-law spectrum is kept exactly.

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues of S* (any order).
    delta_ref : float
        Smallest effective noise δ at which the result will be used, > 0.
    rel_width : float, default 0.02
        Group width as a fraction of the local smoothing scale, in (0, 1].
    weights : ndarray, shape (d,), optional
        Atom weights (default 1/d).

    Returns
    -------
    positions, weights : ndarray
        Increasing atoms and their weights (summing to 1).
    """
    positions, group_weights, _ = compress_groups(s, delta_ref, rel_width, weights)
    return positions, group_weights


def compress_groups(
    s: np.ndarray, delta_ref: float, rel_width: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`compress_spectrum` plus the within-group variance of each merged atom.

    The merged measure has the same mass and mean but a second moment smaller by
    Σ_g p_g var_g; the deterministic SE adds it back where it integrates x² (SURE form).
    """
    delta_ref = check_real(delta_ref, "delta_ref", "reference effective noise δ", lower=0.0, lower_inclusive=False)
    rel_width = check_real(rel_width, "rel_width", "relative group width", lower=0.0, upper=1.0, lower_inclusive=False)
    pos, w = spectral_atoms(s, weights)
    if pos.size < 3:
        return pos, w, np.zeros(pos.size)
    gaps = np.diff(pos)
    # Local atom density between consecutive atoms; the allowed width uses the smaller of the
    # semicircle scale δ and the collective scale π δ² ρ_s (a sparse region has no bulk to hide
    # the merge in).
    density = 0.5 * (w[:-1] + w[1:]) / gaps
    width = rel_width * np.minimum(delta_ref, math.pi * delta_ref**2 * density)
    # A step of ξ ≥ 1 always starts a new group; capping steps at 2 keeps ξ finite and exact in
    # float64 when the allowed width underflows (tiny δ_ref).
    xi = np.concatenate(([0.0], np.cumsum(np.minimum(gaps / width, 2.0))))
    group = np.floor(xi).astype(np.int64)
    # Groups are consecutive runs of equal floor(ξ); a step of ξ ≥ 1 always starts a new group.
    start = np.concatenate(([True], np.diff(group) > 0))
    label = np.cumsum(start) - 1
    weight = np.bincount(label, weights=w)
    mean = np.bincount(label, weights=w * pos) / weight
    variance = np.bincount(label, weights=w * (pos - mean[label]) ** 2) / weight
    return mean, weight, variance
