"""Post-training pruning: subtract the bulk edge from the learned spectrum (docs/theory.md §5, Corollary 2).

SE says that Ŝ soft-thresholds the eigenvalues x of S* + δZ at t = λε. Replacing each eigenvalue
λ_i of Ŝ by (λ_i − e)₊ with e = 2δ − t, the bulk's right edge, gives

    ((x − t)₊ − (2δ − t))₊ = (x − 2δ)₊        (for t ≤ 2δ),

i.e. the soft-threshold of S* + δZ at the bulk edge 2δ, the optimal threshold, whatever λ was.
The edge can come from SE (:func:`shallowscaling.spectra.bulk.predicted_bulk_edge`) or from the
spectrum alone (:func:`shallowscaling.spectra.bulk.estimate_bulk_edge`). The diagonal analogue
re-thresholds θ̂ at the noise edge δ√(2 log d) − t (our extension).

A negative edge means that the threshold already removed the whole bulk (t > 2δ); pruning is
then the identity, so every function here prunes at max(edge, 0).

*Spectral cleaning* (:func:`clean_spectrum`, :func:`clean_matrix`, our extension) is the
finite-d form of the same idea. Soft-thresholding at 2δ is optimal only as d → ∞: at d = 40–200
with γ = 1 the target eigenvalues below the BBP threshold deform the bulk, and the cut of 2δ
shrinks every learned outlier by 2δ, so that the pruned risk exceeds the unpruned one at
n_eff ≥ d (SE, docs/science.md). The rotation-invariant estimator (RIE) of S* from the
eigenvalues x_i of S* + δZ replaces each x_i by

    ξ(x) = x − 2δ² Re g(x − iη),    g(z) = (1/d) Σ_j 1/(z − x_j)

(Ledoit & Péché 2011; Bun, Allez, Bouchaud & Potters 2016 for additive GOE noise of variance
δ²/d per entry). On a pure-noise semicircle bulk Re g(x) = x/(2δ²), so ξ = 0: the bulk is pruned
exactly as by Corollary 2; on a BBP outlier x = s + δ²/s, g(x) = 1/s and ξ = s − δ²/s = s(1 −
δ²/s²), the optimal shrinkage of a spike (its value times its squared overlap), where the
soft-threshold gives (s − δ)²/s; inside a bulk deformed by hidden target eigenvalues it keeps
what they carry.

The diagonal counterpart (our extension) is the re-threshold chosen by Stein's unbiased risk
estimate (:func:`sure_edge`, SureShrink): the noise edge δ√(2 log d) removes every pure-noise
coordinate but also shrinks every learned one by that much, well above the optimal-λ risk in
phase VIa (numbers: docs/science.md, Notes moved from the source); the SURE cut tracks the
SE-optimal soft threshold from the data.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_real, check_real_vector
from ..errors import InputError
from .semicircle import semicircle_quantile
from .tail import DEFAULT_RELATIVE_CUT

__all__ = ["clean_matrix", "clean_spectrum", "prune_coefficients", "prune_matrix", "prune_spectrum", "sure_edge"]


def _check_edge(edge: float) -> float:
    return max(check_real(edge, "edge", "pruning edge (bulk right edge)"), 0.0)


def prune_spectrum(eigenvalues: np.ndarray, edge: float) -> np.ndarray:
    """(λ_i − edge)₊ for every eigenvalue (docs/theory.md §5); ``edge`` < 0 is treated as 0.

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
    values = check_real_vector(eigenvalues, "eigenvalues", "spectrum of Ŝ")
    return np.maximum(values - _check_edge(edge), 0.0)


def prune_matrix(s_hat: np.ndarray, edge: float) -> np.ndarray:
    """Ŝ_pruned = U diag((λ_i − edge)₊) Uᵀ from the eigendecomposition Ŝ = U diag(λ) Uᵀ (docs/theory.md §5).

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
    cut = _check_edge(edge)
    eigenvalues, vectors = np.linalg.eigh(_check_matrix(s_hat))
    keep = eigenvalues > cut
    # Only the eigenvectors that survive enter the product: O(d² k) instead of O(d³).
    kept = vectors[:, keep]
    pruned = (kept * (eigenvalues[keep] - cut)) @ kept.T
    return 0.5 * (pruned + pruned.T)


def _check_matrix(s_hat: np.ndarray) -> np.ndarray:
    matrix = np.asarray(s_hat, dtype=float)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise InputError(f"`s_hat` (estimate Ŝ) must be a square matrix; got shape {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise InputError("`s_hat` (estimate Ŝ) must contain finite numbers only")
    return 0.5 * (matrix + matrix.T)


def clean_spectrum(
    eigenvalues: np.ndarray, delta: float, threshold: float, *, relative_cut: float = DEFAULT_RELATIVE_CUT
) -> np.ndarray:
    """Rotation-invariant cleaning of the spectrum of a soft-thresholded noisy target (module notes).

    Parameters
    ----------
    eigenvalues : ndarray, shape (d,)
        *All* d eigenvalues λ_i of Ŝ, zeros included (any order; the order is kept).
    delta : float
        Effective noise δ > 0 (SE, or an estimate from the spectrum such as
        :attr:`~shallowscaling.spectra.bulk.BulkEdgeEstimate.noise_scale`).
    threshold : float
        The soft threshold t = λε ≥ 0 that produced Ŝ: x_i = λ_i + t for λ_i > 0.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        Eigenvalues ≤ relative_cut · max are zeros of the soft threshold (a solver or an
        eigendecomposition leaves them at ±1e-16 or so, not exactly 0).

    Returns
    -------
    ndarray, shape (d,)
        ξ_i = min((x_i − 2δ² Re g(x_i − iη))₊, λ_i) for non-zero λ_i and 0 for the zeros, with
        η = δ/√d.

    Notes
    -----
    The m₀ eigenvalues that the soft threshold set to zero had x ≤ t; their positions are lost.
    g needs them, so they are filled in by the SE picture of the noise: the lower part of a
    semicircle of radius 2δ whose centre c puts the mass m₀/d below t, at the quantiles
    c + δ Q_sc((j − ½)/d), j = 1..m₀; counting them at x = t instead raises the SE risk of the
    cleaned estimator. The smoothing η = δ/√d spans about √d level spacings (δ/d each): it
    averages the singular self-neighbour terms of the discrete sum, and the risk depends little
    on its exact value (measurements for both choices: docs/science.md, Notes moved from the
    source). The negative part is cut because Ŝ and S* are PSD.

    Examples
    --------
    A spike s = 2 on a semicircle bulk of radius 2 (δ = 1, d = 2000, t = 0: the negative half
    is lost) has its outlier at s + δ²/s = 2.5, cleaned to s − δ²/s = 1.5; the bulk to ≈ 0 (its
    mean square drops from 1/2 to 2.5e-4; the top few bulk eigenvalues keep 0.1–0.17, where the
    smoothing η blurs the edge):

    >>> from shallowscaling.spectra.semicircle import semicircle_quantile
    >>> d = 2000
    >>> bulk = semicircle_quantile((np.arange(d - 1) + 0.5) / (d - 1))
    >>> xi = clean_spectrum(np.maximum(np.append(bulk, 2.5), 0.0), 1.0, 0.0)
    >>> round(float(xi[-1]), 2), bool(np.mean(xi[:-1] ** 2) < 1e-3)
    (1.5, True)
    """
    values = check_real_vector(eigenvalues, "eigenvalues", "spectrum of Ŝ")
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t = λε", lower=0.0)
    relative_cut = check_real(
        relative_cut, "relative_cut", "relative zero cut", lower=0.0, upper=1.0, upper_inclusive=False
    )
    d = values.size
    if d == 0:
        raise InputError("`eigenvalues` (spectrum of Ŝ) must not be empty")
    kept = values > relative_cut * max(float(np.max(values)), 0.0)
    n_zero = d - int(np.count_nonzero(kept))
    quantiles = semicircle_quantile((np.arange(n_zero + 1) + 0.5) / d)
    centre = threshold - delta * float(quantiles[-1] + quantiles[-2]) / 2.0 if n_zero else threshold
    lost = np.minimum(centre + delta * quantiles[:n_zero], threshold)
    x = values[kept] + threshold
    everything = np.concatenate([x, lost])
    eta = delta / math.sqrt(d)
    # Re 1/(x_i − iη − x_j) = (x_i − x_j)/((x_i − x_j)² + η²): an O(d²) sum, d ≤ a few thousand.
    gap = x[:, None] - everything[None, :]
    hilbert = np.sum(gap / (gap * gap + eta * eta), axis=1) / d
    out = np.zeros(d)
    # Capped at λ_i: cleaning only removes. (The RIE would also undo the soft threshold's own
    # shrinkage where t > 2δ²/s; at α ≪ 1, δ ≫ s₁, that expansion is the O(δ²/√d) error of the
    # discrete Hilbert transform; an example: docs/science.md, Notes moved from the source.)
    out[kept] = np.clip(x - 2.0 * delta * delta * hilbert, 0.0, values[kept])
    return out


def clean_matrix(s_hat: np.ndarray, delta: float, threshold: float) -> np.ndarray:
    """U diag(ξ) Uᵀ with ξ = :func:`clean_spectrum` of the eigenvalues of Ŝ = U diag(λ) Uᵀ.

    Returns
    -------
    ndarray, shape (d, d)
        PSD and exactly symmetric.
    """
    eigenvalues, vectors = np.linalg.eigh(_check_matrix(s_hat))
    cleaned = clean_spectrum(eigenvalues, delta, threshold)
    keep = cleaned > 0.0
    kept = vectors[:, keep]
    out = (kept * cleaned[keep]) @ kept.T
    return 0.5 * (out + out.T)


def prune_coefficients(theta_hat: np.ndarray, edge: float) -> np.ndarray:
    """Re-threshold diagonal weights: sign(θ̂_i)(|θ̂_i| − edge)₊ (diagonal analogue of docs/theory.md §5).

    With θ̂ = η(θ* + δz; t) and edge = u − t (u ≥ t), η(η(x; t); u − t) = η(x; u): the pruned
    weights soft-threshold θ* + δz at u, e.g. the noise edge δ√(2 log d) of
    :func:`shallowscaling.spectra.bulk.predicted_noise_edge`.

    Examples
    --------
    >>> prune_coefficients(np.array([-2.0, 0.3, 1.0]), 0.5)
    array([-1.5,  0. ,  0.5])
    """
    values = check_real_vector(theta_hat, "theta_hat", "diagonal coefficients θ̂")
    return np.sign(values) * np.maximum(np.abs(values) - _check_edge(edge), 0.0)


def sure_edge(
    theta_hat: np.ndarray, delta: float, threshold: float, *, relative_cut: float = DEFAULT_RELATIVE_CUT
) -> float:
    """Re-threshold of diagonal weights chosen by Stein's unbiased risk estimate (SureShrink).

    SE gives θ̂_i = η(y_i; t) with y_i = θ*_i + δ z_i; re-thresholding θ̂ at e = τ − t gives
    η(y_i; τ) (:func:`prune_coefficients`). For soft thresholding, Stein (1981) and Donoho &
    Johnstone (1995) give the unbiased risk estimate

        SURE(τ) = d δ² − 2 δ² #{i : |y_i| ≤ τ} + Σ_i min(y_i², τ²),

    minimised here over τ ∈ {t} ∪ {|y_i|} (SURE is increasing in τ between consecutive |y_i|).

    Parameters
    ----------
    theta_hat : ndarray, shape (d,)
        All d coefficients θ̂, zeros included.
    delta : float
        Effective noise δ > 0 (SE, or
        :attr:`~shallowscaling.spectra.bulk.NoiseEdgeEstimate.noise_scale`).
    threshold : float
        The soft threshold t ≥ 0 that produced θ̂: |y_i| = |θ̂_i| + t for θ̂_i ≠ 0.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        |θ̂_i| ≤ relative_cut · max |θ̂| are zeros.

    Returns
    -------
    float
        The edge τ̂ − t ≥ 0 to pass to :func:`prune_coefficients`.

    Notes
    -----
    The m₀ zeros had |y_i| ≤ t ≤ τ: they enter SURE through the count and through y_i², which is
    lost and taken as t²/3 (y uniform on [−t, t]); the choice of τ does not depend on it.

    Examples
    --------
    Pure noise (θ* = 0, δ = 1, no threshold): SURE cuts above the bulk of |y|.

    >>> y = np.random.default_rng(0).standard_normal(2000)
    >>> bool(sure_edge(y, 1.0, 0.0) > 2.0)
    True
    """
    values = np.abs(check_real_vector(theta_hat, "theta_hat", "diagonal coefficients θ̂"))
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)
    relative_cut = check_real(
        relative_cut, "relative_cut", "relative zero cut", lower=0.0, upper=1.0, upper_inclusive=False
    )
    d = values.size
    if d == 0:
        raise InputError("`theta_hat` (diagonal coefficients θ̂) must not be empty")
    y = np.sort(values[values > relative_cut * float(np.max(values))] + threshold)
    n_zero = d - y.size
    candidates = np.concatenate([[threshold], y])
    # At τ = candidates[k], the k smallest kept |y| are ≤ τ (ties are measure-zero).
    below = np.arange(candidates.size)
    squares = np.concatenate([[0.0], np.cumsum(y * y)])
    sure = (
        d * delta * delta
        - 2.0 * delta * delta * (n_zero + below)
        + n_zero * threshold * threshold / 3.0
        + squares
        + (y.size - below) * candidates * candidates
    )
    return float(candidates[int(np.argmin(sure))] - threshold)
