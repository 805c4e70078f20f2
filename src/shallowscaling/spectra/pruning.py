"""Post-training pruning: subtract the bulk edge from the learned spectrum (spec §5, Corollary 2).

SE says that Ŝ soft-thresholds the eigenvalues x of S* + δZ at t = λε. Replacing each eigenvalue
λ_i of Ŝ by (λ_i − e)₊ with e = 2δ − t, the bulk's right edge, gives

    ((x − t)₊ − (2δ − t))₊ = (x − 2δ)₊        (for t ≤ 2δ),

i.e. the soft-threshold of S* + δZ at the bulk edge 2δ, the optimal threshold, whatever λ was.
The edge can come from SE (:func:`shallowscaling.spectra.bulk.predicted_bulk_edge`) or from the
spectrum alone (:func:`shallowscaling.spectra.bulk.estimate_bulk_edge`). The diagonal analogue
re-thresholds θ̂ at the noise edge δ√(2 log d) − t (our extension).

A negative edge means that the threshold already removed the whole bulk (t > 2δ); pruning is
then the identity, so every function here prunes at max(edge, 0).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_real
from ..errors import InputError
from .tail import _as_real_vector

__all__ = ["prune_coefficients", "prune_matrix", "prune_spectrum"]


def _check_edge(edge: float) -> float:
    return max(check_real(edge, "edge", "pruning edge (bulk right edge)"), 0.0)


def prune_spectrum(eigenvalues: np.ndarray, edge: float) -> np.ndarray:
    """(λ_i − edge)₊ for every eigenvalue (spec §5); ``edge`` < 0 is treated as 0.

    Parameters
    ----------
    eigenvalues : ndarray, shape (d,)
        Eigenvalues λ_i of Ŝ (any order; the order is kept).
    edge : float
        Bulk right edge, e.g. 2δ − λε from SE or an empirical estimate.

    Returns
    -------
    ndarray, shape (d,)

    Examples
    --------
    >>> prune_spectrum(np.array([0.0, 0.5, 1.5, 4.0]), 1.0)
    array([0. , 0. , 0.5, 3. ])
    """
    values = _as_real_vector(eigenvalues, "eigenvalues", "spectrum of Ŝ")
    return np.maximum(values - _check_edge(edge), 0.0)


def prune_matrix(s_hat: np.ndarray, edge: float) -> np.ndarray:
    """Ŝ_pruned = U diag((λ_i − edge)₊) Uᵀ from the eigendecomposition Ŝ = U diag(λ) Uᵀ (spec §5).

    Parameters
    ----------
    s_hat : ndarray, shape (d, d)
        Symmetric estimate Ŝ (it is symmetrised as (Ŝ + Ŝᵀ)/2 first, to absorb round-off).
    edge : float
        Bulk right edge; < 0 is treated as 0, so a PSD Ŝ is returned unchanged (up to round-off).

    Returns
    -------
    ndarray, shape (d, d)
        The pruned matrix, PSD and exactly symmetric.
    """
    matrix = np.asarray(s_hat, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InputError(f"`s_hat` (estimate Ŝ) must be a square matrix; got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise InputError("`s_hat` (estimate Ŝ) must contain finite numbers only")
    cut = _check_edge(edge)
    eigenvalues, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    keep = eigenvalues > cut
    # Only the eigenvectors that survive enter the product: O(d² k) instead of O(d³).
    kept = vectors[:, keep]
    pruned = (kept * (eigenvalues[keep] - cut)) @ kept.T
    return 0.5 * (pruned + pruned.T)


def prune_coefficients(theta_hat: np.ndarray, edge: float) -> np.ndarray:
    """Re-threshold diagonal weights: sign(θ̂_i)(|θ̂_i| − edge)₊ (diagonal analogue of spec §5).

    With θ̂ = η(θ* + δz; t) and edge = u − t (u ≥ t), η(η(x; t); u − t) = η(x; u): the pruned
    weights soft-threshold θ* + δz at u, e.g. the noise edge δ√(2 log d) of
    :func:`shallowscaling.spectra.bulk.predicted_noise_edge`.

    Examples
    --------
    >>> prune_coefficients(np.array([-2.0, 0.3, 1.0]), 0.5)
    array([-1.5,  0. ,  0.5])
    """
    values = _as_real_vector(theta_hat, "theta_hat", "diagonal coefficients θ̂")
    return np.sign(values) * np.maximum(np.abs(values) - _check_edge(edge), 0.0)
