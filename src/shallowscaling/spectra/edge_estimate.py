"""Bulk and noise edges estimated from a spectrum alone (no SE): :func:`estimate_bulk_edge`,
:func:`estimate_noise_edge`, :func:`estimate_noise_from_residuals` and their result types.

The SE predictions they are compared with live in :mod:`.bulk`, which re-exports these names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from .._validation import check_real, check_real_vector
from ..design import StreamedDesign
from ..errors import InputError
from ..state_evolution.free_convolution.biane import bulk_component
from .semicircle import semicircle_quantile
from .tail import DEFAULT_RELATIVE_CUT

#: Fewest bulk eigenvalues (non-zero, non-outlier) needed to fit an edge; below it the spectrum
#: has a small bulk (see MIN_SMALL_BULK) or no bulk (edge 0, every non-zero eigenvalue an outlier).
MIN_BULK = 10


#: Fewest eigenvalues below the outliers that still count as a (small) bulk, split from the
#: outliers by the separation criterion but without an edge fit; also the fewest non-zero
#: eigenvalues for the semicircle fit of δ̂.
MIN_SMALL_BULK = 5


#: Separation scales tried by the outlier count, in units of the fitted noise scale δ̂: the
#: free-convolution criterion of :func:`free_convolution_edge`, applied to the eigenvalues with
#: noise c·δ̂, separates an eigenvalue from the bulk below it when their gap exceeds ≈ π c δ̂/√d.
#: Eigenvalues of separated target eigenvalues fluctuate by δ√(2/d), comparable to that gap, so
#: one scale gives an outlier count that is often off by one near the edge; the estimate averages
#: the edges over this range instead (see :func:`estimate_bulk_edge`).
SEPARATION_SCALES = (0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2)


#: Margin, in Tracy–Widom units c·d^{-2/3} of the fitted edge (c its curvature), by which the top
#: bulk eigenvalue must exceed the edge fitted below it to be an outlier after all. It catches
#: spikes just above a semicircle edge, which the separation criterion merges when closer than
#: ≈ π δ/√d; 4 lies beyond the 99th percentile of TW₁ (≈ 2.0), and 4 gave fewer
#: errors than 3 on the SE-simulated spectra (within 5 %: 68 % against 66 %, another draw set).
OUTLIER_MARGIN_TW = 4.0


#: Largest relative residual of the bottom semicircle fit at which its δ̂ drives the separation
#: criterion. The SE-simulated spectra of :func:`estimate_bulk_edge` stay below 0.053; a
#: Marchenko–Pastur bulk with its hard edge at 0 (square Gaussian W, the HT-SR null model) gives
#: 0.10 and a δ̂ several times too small, which would shed its top as outliers. Above it, only the
#: Tracy–Widom margin test counts outliers.
SEMICIRCLE_RESIDUAL_MAX = 0.075


#: Fraction of the bulk eigenvalues (from the top, at least MIN_BULK) used by the local edge fit.
#: A deformed bulk follows a square-root edge only close to it: on the SE-simulated spectra of
#: :func:`estimate_bulk_edge` (Notes), with the outlier count set to the SE one, 0.1 beats 0.15,
#: 0.25 and 0.4 (within 5 % of the edge in 86 %, 84 %, 55 %, 38 % of the spectra).
EDGE_WINDOW_FRACTION = 0.1


@dataclass(frozen=True)
class BulkEdgeEstimate:
    """Bulk edge and outliers estimated from a spectrum alone (see :func:`estimate_bulk_edge`).

    Attributes
    ----------
    bulk_edge : float
        Estimated right edge of the bulk; 0.0 when no bulk was found (pruning at it is a no-op).
    noise_scale : float
        Semicircle radius / 2 of the fitted bulk, an estimate of δ (NaN without a bulk).
    threshold_shift : float
        Shift of the fitted semicircle, an estimate of t = λε (NaN without a bulk).
    n_outliers : int
        Non-zero eigenvalues separated from the bulk: the median of the counts over
        SEPARATION_SCALES (see :func:`estimate_bulk_edge`).
    n_bulk : int
        Non-zero eigenvalues that are not outliers.
    n_zero : int
        Eigenvalues at or below the relative zero cut.
    fit_residual : float
        RMS residual of the semicircle fit of step 1 divided by the range of the fitted
        eigenvalues. Informative only: at d = 100–400 it reaches 0.12 for a genuine noise bulk
        with few non-zero eigenvalues and can be as low as 0.02 for a spectrum made only of
        learned power-law eigenvalues, so it cannot decide whether a bulk exists.
    message : str
        What was decided, with its numbers.
    iterations : int
        Distinct outlier counts met over SEPARATION_SCALES.
    fixed_point_residual : int
        Spread (max − min) of the outlier counts over SEPARATION_SCALES: 0 when every scale
        agrees, a measure of how ambiguous the edge is otherwise.

    Notes
    -----
    Not a solver result: the estimator is a fixed sequence of least-squares fits (see
    :func:`estimate_bulk_edge`), so it has no ``converged`` flag; a large
    ``fixed_point_residual`` is the warning sign.
    """

    bulk_edge: float
    noise_scale: float
    threshold_shift: float
    n_outliers: int
    n_bulk: int
    n_zero: int
    fit_residual: float
    message: str
    iterations: int
    fixed_point_residual: int


@dataclass(frozen=True)
class NoiseEdgeEstimate:
    """Noise level, threshold and noise edge estimated from diagonal weights (:func:`estimate_noise_edge`).

    Attributes
    ----------
    noise_edge : float
        δ̂√(2 log d) − t̂: where the pure-noise coordinates of |θ̂| end.
    noise_scale : float
        δ̂, the fitted noise standard deviation.
    threshold_shift : float
        t̂, the fitted soft threshold.
    n_above : int
        Coordinates with |θ̂_i| above the noise edge (the learned features).
    n_zero : int
        Coordinates at or below the relative zero cut.
    """

    noise_edge: float
    noise_scale: float
    threshold_shift: float
    n_above: int
    n_zero: int


def count_outliers(eigenvalues: np.ndarray, bulk_edge: float, margin: float = 0.0) -> int:
    """Number of eigenvalues strictly above ``bulk_edge + margin`` (and above 0).

    Examples
    --------
    >>> count_outliers(np.array([0.0, 0.4, 1.1, 3.0]), 1.0)
    2
    """
    values = check_real_vector(eigenvalues, "eigenvalues", "spectrum")
    bulk_edge = check_real(bulk_edge, "bulk_edge", "bulk right edge")
    margin = check_real(margin, "margin", "outlier margin", lower=0.0)
    return int(np.count_nonzero(values > max(bulk_edge + margin, 0.0)))


def _edge_depths(n: int, d: int) -> np.ndarray:
    """h_i = 2 − Q_sc(1 − (i − ½)/d), i = 1..n: depth of the i-th eigenvalue below a unit edge."""
    return 2.0 - semicircle_quantile(1.0 - (np.arange(1, n + 1) - 0.5) / d)


def _lstsq_line(design: np.ndarray, values: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, values, rcond=None)
    return coef


def estimate_bulk_edge(eigenvalues: np.ndarray, *, relative_cut: float = DEFAULT_RELATIVE_CUT) -> BulkEdgeEstimate:
    """Estimate the right edge of the bulk of a thresholded spectrum, from the spectrum alone.

    Parameters
    ----------
    eigenvalues : ndarray, shape (d,)
        *All* d eigenvalues of Ŝ, zeros included: the number of zeros tells how much of the bulk
        the threshold removed.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        Eigenvalues ≤ relative_cut · max are zeros.

    Returns
    -------
    BulkEdgeEstimate

    Notes
    -----
    The model is the SE picture of docs/theory.md §4: the non-zero eigenvalues are the part above T of the
    spectrum of S* + δZ, shifted by −T, i.e. of μ_{S*} ⊞ semicircle(2δ) at finite d; its bulk
    ends at the free-convolution edge (:func:`free_convolution_edge`) and outliers lie above it.

    1. *Scale.* The lower half of the non-zero eigenvalues, ranked from the zero boundary,
       x_(j) = R Q_sc((n_zero + j − ½)/d) − T, is fitted by least squares (R ≈ δ, T ≈ t).
       Counting from the bottom uses the known number of zeros and never sees the outliers.
    2. *Outliers.* The eigenvalues, with the zeros put back at the fitted semicircle quantiles,
       are split into components by the criterion that defines the SE edge — the Biane
       construction of :func:`free_convolution_edge` with the eigenvalues as atoms and noise
       c·R — and those above the first component are the outliers, for each c in
       SEPARATION_SCALES. On the target's atoms this criterion is the SE bulk; on eigenvalues
       it is blurred by their fluctuations δ√(2/d), hence the range of c. It merges a spike
       lying less than ≈ π c δ/√d above a semicircle edge, so the top bulk eigenvalue is then
       tested in turn against the edge fitted below it (step 3), with a margin of
       OUTLIER_MARGIN_TW Tracy–Widom units, and added to the outliers while it exceeds it.
       When the fit of step 1 is poor (relative residual above SEMICIRCLE_RESIDUAL_MAX, so δ̂
       is unreliable) or the spectrum has no zeros (not a soft-thresholded one), this margin
       test alone counts the outliers, starting from none.
    3. *Edge.* Below each count k, the top EDGE_WINDOW_FRACTION of the bulk (≥ MIN_BULK
       eigenvalues) is fitted with x_(k+i) = E − c h_i, h_i the depth of the i-th of d semicircle
       eigenvalues below the edge: a square-root edge of free amplitude, which also follows a
       bulk deformed by target eigenvalues below the BBP threshold. The estimate is the mean of
       E over SEPARATION_SCALES, so an ambiguous count moves it gradually, not by a jump.

    When fewer than MIN_BULK eigenvalues remain below every count, the bulk is too small for an
    edge fit (a threshold that keeps only the top of it, e.g. phase Ib or n ≲ d^0.5): if the
    criterion of step 2 (median count over the scales) leaves at least MIN_SMALL_BULK
    eigenvalues below the outliers, they are a small bulk whose largest eigenvalue is the edge;
    otherwise there is no bulk: the edge is 0 and every non-zero eigenvalue is an outlier. On
    the default study's quadratic fits it brings the outlier counts of small-d spectra in line
    with the SE prediction (counts: docs/science.md, Notes moved from the source). A run of
    5–11 learned eigenvalues can mimic it, so the phase
    labels (:func:`~shallowscaling.spectra.phases.classify_spectrum`) treat a small bulk as none.

    The method assumes that a noise bulk exists. A spectrum made only of learned eigenvalues
    (the heavy-tailed phases II and VIb, where SE puts the bulk edge 2δ − t below 0) is read as
    a bulk made of its smallest eigenvalues: there, prune at the SE edge instead, or check the
    phase first (:func:`shallowscaling.spectra.phases.classify_spectrum`).

    Accuracy, against free_convolution_edge(s, δ) − t on SE-simulated spectra and on convex fits:
    a few per cent, the errors being mostly single-spectrum fluctuations (the top bulk eigenvalue
    alone fluctuates by a Tracy–Widom 1.27 R d^{-2/3}, ≈ 3 % of a semicircle edge and more for a
    deformed one). The method fails when a spike a few Tracy–Widom units above the edge is read
    as bulk, which happens when only a few tens of eigenvalues are non-zero (κ = 0.5)
    (measurements: docs/science.md, Notes moved from the source).
    """
    values = check_real_vector(eigenvalues, "eigenvalues", "spectrum")
    relative_cut = check_real(
        relative_cut, "relative_cut", "relative zero cut", lower=0.0, upper=1.0, upper_inclusive=False
    )
    d = values.size
    top = float(np.max(values)) if d else 0.0
    nonzero = np.sort(values[values > relative_cut * top])[::-1] if top > 0.0 else np.empty(0)
    m = int(nonzero.size)
    n_zero = d - m

    def no_bulk(reason: str, residual: float = math.nan) -> BulkEdgeEstimate:
        return BulkEdgeEstimate(
            bulk_edge=0.0, noise_scale=math.nan, threshold_shift=math.nan, n_outliers=m, n_bulk=0,
            n_zero=n_zero, fit_residual=residual, message=f"no bulk: {reason}", iterations=0,
            fixed_point_residual=0,
        )  # fmt: skip

    if m < MIN_SMALL_BULK:
        return no_bulk(f"{m} non-zero eigenvalues < MIN_SMALL_BULK = {MIN_SMALL_BULK}")

    ascending = nonzero[::-1]
    n_low = max(MIN_SMALL_BULK, m // 2)
    quantiles = semicircle_quantile((n_zero + np.arange(1, n_low + 1) - 0.5) / d)
    design = np.column_stack([quantiles, -np.ones(n_low)])
    scale, shift = _lstsq_line(design, ascending[:n_low])
    spread = float(ascending[n_low - 1] - ascending[0])
    residual = float(np.sqrt(np.mean((ascending[:n_low] - design @ np.array([scale, shift])) ** 2)))
    residual = residual / spread if spread > 0.0 else math.inf
    if not scale > 0.0:
        return no_bulk(f"the semicircle fit of the lower {n_low} non-zero eigenvalues has radius/2 {scale:.3g}")

    # The zeros stand for eigenvalues of S* + δZ below the threshold: put them back where the
    # fitted semicircle has them (clipped at 0, below every non-zero eigenvalue), so that the
    # component criterion sees the whole spectrum. Only their distance to the top matters.
    zeros = scale * semicircle_quantile((np.arange(1, n_zero + 1) - 0.5) / d) - shift
    atoms = np.concatenate([np.minimum(zeros, 0.0), ascending])
    tw_unit = d ** (-2.0 / 3.0)
    fits: dict[int, tuple[float, float, int]] = {}

    def local_fit(k: int) -> tuple[float, float, int]:
        """(edge, curvature, window) of the square-root edge fitted below k outliers."""
        if k not in fits:
            n_window = min(m - k, max(MIN_BULK, int(EDGE_WINDOW_FRACTION * (m - k))))
            depths = _edge_depths(n_window, d)
            edge, curvature = _lstsq_line(np.column_stack([np.ones(n_window), -depths]), nonzero[k : k + n_window])
            fits[k] = (float(edge), float(curvature), n_window)
        return fits[k]

    counts = []
    # Without zeros the spectrum is not a soft-thresholded one (e.g. WᵀW of a Gaussian W, whose
    # Marchenko–Pastur bulk misleads the semicircle δ̂ into shedding 3–4 "outliers" from its top):
    # the separation criterion, built on that model, is not used.
    separation = residual <= SEMICIRCLE_RESIDUAL_MAX and n_zero > 0
    components = [min(bulk_component(atoms, f * float(scale))[1], m) for f in SEPARATION_SCALES] if separation else [0]
    for k in components:
        if m - k < MIN_BULK:
            continue
        # Each step adds one outlier, so the loop ends within m − MIN_BULK steps.
        while m - k > MIN_BULK:
            edge, curvature, _ = local_fit(k + 1)
            if not nonzero[k] > edge + OUTLIER_MARGIN_TW * curvature * tw_unit:
                break
            k += 1
        counts.append(k)
    if not counts:
        k = int(np.median(components))
        if separation and m - k >= MIN_SMALL_BULK:
            # A bulk too small for a square-root fit (the threshold keeps only its top): the
            # separation criterion still splits it from the outliers, and its largest eigenvalue
            # stands for its edge.
            return BulkEdgeEstimate(
                bulk_edge=float(nonzero[k]), noise_scale=float(scale), threshold_shift=float(shift), n_outliers=k,
                n_bulk=m - k, n_zero=n_zero, fit_residual=residual,
                message=(
                    f"small bulk: {m - k} eigenvalues below {k} outliers (median over the separation scales), "
                    f"fewer than MIN_BULK = {MIN_BULK} for an edge fit; edge = the largest of them; semicircle "
                    f"radius/2 {scale:.4g}, shift {shift:.4g}, relative residual {residual:.3g}"
                ),
                iterations=len(set(components)), fixed_point_residual=max(components) - min(components),
            )  # fmt: skip
        reason = "at every separation scale" if separation else "(no separation test: no zeros or a poor fit)"
        return no_bulk(f"fewer than MIN_BULK = {MIN_BULK} eigenvalues below the outliers {reason}")
    edge = float(np.mean([local_fit(k)[0] for k in counts]))
    windows = [local_fit(k)[2] for k in counts]
    k = int(np.median(counts))
    message = (
        f"edge {edge:.6g}: mean of local fits of the top {min(windows)}–{max(windows)} bulk "
        f"eigenvalues below {min(counts)}–{max(counts)} outliers "
        f"(median {k}); semicircle radius/2 {scale:.4g}, shift {shift:.4g}, relative residual {residual:.3g}"
    )
    return BulkEdgeEstimate(
        bulk_edge=float(max(edge, 0.0)),
        noise_scale=float(scale),
        threshold_shift=float(shift),
        n_outliers=k,
        n_bulk=m - k,
        n_zero=n_zero,
        fit_residual=residual,
        message=message,
        iterations=len(set(counts)),
        fixed_point_residual=max(counts) - min(counts),
    )


def estimate_noise_edge(
    theta_hat: np.ndarray, *, relative_cut: float = DEFAULT_RELATIVE_CUT, noise_fraction: float = 0.8
) -> NoiseEdgeEstimate:
    """Estimate δ, t and the noise edge δ√(2 log d) − t from diagonal weights θ̂ alone.

    Parameters
    ----------
    theta_hat : ndarray, shape (d,)
        All d coefficients θ̂ (zeros included; only |θ̂| matters).
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        |θ̂_i| ≤ relative_cut · max |θ̂| count as zeros.
    noise_fraction : float, default 0.8
        Fraction of the non-zero |θ̂| (the smallest ones) assumed to be noise-dominated. On a
        sparse target (40 features among d = 4000) the relative error of δ̂ has standard deviation
        3.6 % with 0.5 and 2.1 % with 0.8 (a wider lever arm); lower it when more coordinates
        carry signal.

    Returns
    -------
    NoiseEdgeEstimate

    Notes
    -----
    SE gives θ̂_i = η(θ*_i + δ z_i; t). For the many coordinates with |θ*_i| ≪ δ, |θ̂_i| = |δz_i| − t
    when non-zero, so the smallest non-zero |θ̂|, ranked from the zero boundary, follow
    |θ̂|_(j) = δ Q_{|N|}((n_zero + j − ½)/d) − t with Q_{|N|}(p) = √2 erf⁻¹(p) the half-normal
    quantile: (δ, t) by least squares on the lower ``noise_fraction`` of them, then the edge of
    :func:`predicted_noise_edge`. With a heavy target (γ ≤ 1 and n ≳ d, where most coordinates
    carry signal) δ is over-estimated.
    """
    values = np.abs(check_real_vector(theta_hat, "theta_hat", "diagonal coefficients θ̂"))
    relative_cut = check_real(
        relative_cut, "relative_cut", "relative zero cut", lower=0.0, upper=1.0, upper_inclusive=False
    )
    noise_fraction = check_real(
        noise_fraction, "noise_fraction", "noise-dominated fraction", lower=0.0, upper=1.0, lower_inclusive=False
    )
    d = values.size
    if d < 2:
        raise InputError(f"`theta_hat` (diagonal coefficients θ̂) needs at least 2 entries; got {d}")
    top = float(np.max(values))
    nonzero = np.sort(values[values > relative_cut * top]) if top > 0.0 else np.empty(0)
    m = int(nonzero.size)
    n_low = int(noise_fraction * m)
    if n_low < 2:
        return NoiseEdgeEstimate(math.nan, math.nan, math.nan, m, d - m)
    levels = (d - m + np.arange(1, n_low + 1) - 0.5) / d
    quantiles = math.sqrt(2.0) * special.erfinv(levels)
    scale, shift = _lstsq_line(np.column_stack([quantiles, -np.ones(n_low)]), nonzero[:n_low])
    return _noise_edge_estimate(values, scale, shift, n_zero=d - m)


def estimate_noise_from_residuals(
    x: np.ndarray | StreamedDesign,
    y: np.ndarray,
    theta_hat: np.ndarray,
    lam: float,
    *,
    relative_cut: float = DEFAULT_RELATIVE_CUT,
    min_dof_fraction: float = 0.1,
) -> NoiseEdgeEstimate:
    """Estimate δ, t and the noise edge of a LASSO fit from its training residuals.

    The data route to what :func:`estimate_noise_edge` reads from θ̂ alone. For the LASSO
    ½‖y − Xθ/√d‖² + λ‖θ‖₁ (docs/theory.md §1), AMP theory (Bayati & Montanari 2012; the debiased LASSO of
    Javanmard & Montanari 2014), rescaled to X/√d, gives with r = y − Xθ̂/√d and k = ‖θ̂‖₀

        θ̂ + √d Xᵀr / (n − k) ≈ θ* + δ z,      δ̂ = √d ‖r‖ / (n − k),

    and the KKT conditions Xᵀr/√d = λ sign θ̂_i on the support make θ̂ the soft threshold of that
    debiased vector at t̂ = dλ / (n − k), SE's t = λε.

    Parameters
    ----------
    x : ndarray, shape (n, d), or StreamedDesign
        Training inputs (a streamed design is read in one pass, for ‖r‖).
    y : ndarray, shape (n,)
        Training labels.
    theta_hat : ndarray, shape (d,)
        The LASSO solution at ``lam`` (zeros included).
    lam : float
        λ > 0 of the fit.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        |θ̂_i| ≤ relative_cut · max |θ̂| count as zeros (not in k).
    min_dof_fraction : float, default 0.1
        Smallest residual degrees of freedom (n − k)/n for an estimate: near interpolation
        (weak λ, n ≤ d, k → n) ‖r‖ and n − k both vanish and their ratio is noise; NaN there.

    Returns
    -------
    NoiseEdgeEstimate
        ``noise_scale`` δ̂, ``threshold_shift`` t̂ and ``noise_edge`` δ̂√(2 log d) − t̂, NaN below
        ``min_dof_fraction``.

    Notes
    -----
    In phase VIa (n > d) δ̂ and t̂ match the SE values, where the θ̂-only estimate overshoots δ
    (measurements: docs/science.md, Notes moved from the source).
    """
    if not isinstance(x, StreamedDesign):
        x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    theta = check_real_vector(theta_hat, "theta_hat", "diagonal coefficients θ̂")
    if len(x.shape) != 2 or y.shape != (x.shape[0],) or x.shape[1] != theta.size:
        raise InputError(
            f"`x`, `y`, `theta_hat` must have shapes (n, d), (n,), (d,); got {x.shape}, {y.shape}, {theta.shape}"
        )
    lam = check_real(lam, "lam", "regularisation λ", lower=0.0, lower_inclusive=False)
    relative_cut = check_real(
        relative_cut, "relative_cut", "relative zero cut", lower=0.0, upper=1.0, upper_inclusive=False
    )
    min_dof_fraction = check_real(
        min_dof_fraction, "min_dof_fraction", "smallest (n − k)/n", lower=0.0, upper=1.0, lower_inclusive=False
    )
    n, d = x.shape
    values = np.abs(theta)
    top = float(np.max(values))
    support = int(np.count_nonzero(values > relative_cut * top)) if top > 0.0 else 0
    dof = n - support
    if dof < min_dof_fraction * n or dof < 1:
        return NoiseEdgeEstimate(math.nan, math.nan, math.nan, support, d - support)
    scale = math.sqrt(d) * _residual_norm(x, y, theta) / dof
    shift = d * lam / dof
    return _noise_edge_estimate(values, scale, shift, n_zero=d - support)


def _residual_norm(x: np.ndarray | StreamedDesign, y: np.ndarray, theta: np.ndarray) -> float:
    """‖y − Xθ/√d‖, over the blocks of a streamed design (memory O(block·d))."""
    root = math.sqrt(x.shape[1])
    if not isinstance(x, StreamedDesign):
        return float(np.linalg.norm(y - x @ theta / root))
    squared = 0.0
    for start, block in x.blocks():
        residual = y[start : start + block.shape[0]] - block @ theta / root
        squared += float(residual @ residual)
    return math.sqrt(squared)


def _noise_edge_estimate(values: np.ndarray, scale: float, shift: float, n_zero: int) -> NoiseEdgeEstimate:
    """The estimate for noise scale δ̂ and threshold t̂ on the coefficients |θ̂| = ``values``."""
    edge = scale * math.sqrt(2.0 * math.log(values.size)) - shift
    return NoiseEdgeEstimate(
        noise_edge=float(edge),
        noise_scale=float(scale),
        threshold_shift=float(shift),
        n_above=int(np.count_nonzero(values > max(edge, 0.0))),
        n_zero=n_zero,
    )
