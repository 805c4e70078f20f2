"""Measured scaling exponents: slopes, bootstrap intervals, finite-size extrapolation (docs/theory.md §3).

The theory (:mod:`shallowscaling.rates`) predicts R = Θ(d^{-r(κ, ℓ)}) with n_eff = d^κ, λ = d^ℓ.
Two local exponents measure it:

* along a schedule at fixed d, the slope of log R against log n_eff (λ = d^ℓ held fixed) or
  against log λ (n_eff held fixed): the exponent of the phase's rate law in that variable;
* at a fixed point (κ, ℓ), ``r(d) = −Δ log R / Δ log d`` between consecutive dimensions.

Both carry finite-size corrections; :func:`extrapolate_exponent` removes the leading one under
the stated form r(d) = r_∞ + c / ln d (logarithmic corrections are the slowest ones of the
diagram, e.g. the overfitting term ρ(t) = −Δ/log t of the diagonal network).

Everything here is plain NumPy and takes its randomness as an explicit generator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ._validation import check_int, check_real
from .errors import InputError
from .results import warn_not_converged

__all__ = [
    "BootstrapInterval",
    "Extrapolation",
    "PeakSearch",
    "SlopeFit",
    "bootstrap_slope",
    "evaluate_grid",
    "extrapolate_exponent",
    "fit_slope",
    "local_slopes",
    "maximize_on_log_scale",
    "score_agreement",
]

#: Golden-section ratio 1/φ: each step keeps this fraction of the bracket.
_INV_PHI = (math.sqrt(5.0) - 1.0) / 2.0


@dataclass(frozen=True)
class SlopeFit:
    """Least-squares line y ≈ slope·x + intercept.

    Attributes
    ----------
    slope, intercept : float
        NaN when fewer than two finite points were given.
    n_points : int
        Finite (x, y) pairs used.
    rms_residual : float
        Root-mean-square residual of the line (0 for two points): how straight the data are.
    """

    slope: float
    intercept: float
    n_points: int
    rms_residual: float


def _as_1d(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InputError(f"`{name}` must be one-dimensional; got shape {array.shape}")
    return array


def fit_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> SlopeFit:
    """Ordinary least squares of y on x over the finite pairs (pass logarithms for power laws).

    >>> fit = fit_slope([0.0, 1.0, 2.0], [1.0, 3.0, 5.0])
    >>> fit.slope, fit.intercept, fit.n_points
    (2.0, 1.0, 3)
    """
    x, y = _as_1d(x, "x"), _as_1d(y, "y")
    if x.shape != y.shape:
        raise InputError(f"`x` and `y` must have the same length; got {x.size} and {y.size}")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if x.size < 2 or np.ptp(x) == 0.0:
        return SlopeFit(math.nan, math.nan, int(x.size), math.nan)
    x_mean, y_mean = x.mean(), y.mean()
    slope = float(np.sum((x - x_mean) * (y - y_mean)) / np.sum((x - x_mean) ** 2))
    intercept = float(y_mean - slope * x_mean)
    residual = y - (slope * x + intercept)
    return SlopeFit(slope, intercept, int(x.size), float(np.sqrt(np.mean(residual**2))))


def local_slopes(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> np.ndarray:
    """Slopes Δy/Δx between consecutive points; shape (len(x) − 1,)."""
    x, y = _as_1d(x, "x"), _as_1d(y, "y")
    if x.shape != y.shape:
        raise InputError(f"`x` and `y` must have the same length; got {x.size} and {y.size}")
    return np.diff(y) / np.diff(x)


@dataclass(frozen=True)
class Extrapolation:
    """Fit of r(d) = r_∞ + c / ln d.

    Attributes
    ----------
    value : float
        r_∞, the extrapolated exponent (NaN with fewer than two finite points).
    correction : float
        c, the coefficient of 1/ln d.
    n_points : int
        Dimensions used.
    """

    value: float
    correction: float
    n_points: int


def extrapolate_exponent(d: Sequence[float] | np.ndarray, exponent: Sequence[float] | np.ndarray) -> Extrapolation:
    """Extrapolate local exponents measured at dimensions ``d`` to d → ∞.

    Parameters
    ----------
    d : array_like, shape (k,)
        The dimension each local exponent belongs to (for an exponent between d₁ and d₂, pass
        the geometric mean √(d₁d₂)). Must be > 1.
    exponent : array_like, shape (k,)
        The local exponents r(d).

    Returns
    -------
    Extrapolation
        Least-squares fit of r = r_∞ + c/ln d (an exact line through two points).

    Notes
    -----
    The form assumes the leading finite-size correction is logarithmic, as for the diagonal
    network's overfitting term ρ(t) = −Δ/log t and the log factors of soft-threshold biases. A
    power-law correction d^{-ω} is also removed to first order when ω ln d is small; where it is
    large the local exponents have already converged and the fit returns them.

    >>> round(extrapolate_exponent([1e3, 1e4], [1.0 + 2 / math.log(1e3), 1.0 + 2 / math.log(1e4)]).value, 12)
    1.0
    """
    d = _as_1d(d, "d")
    if np.any(d <= 1.0):
        raise InputError(f"`d` (dimensions) must all be > 1; got {d.tolist()}")
    fit = fit_slope(1.0 / np.log(d), _as_1d(exponent, "exponent"))
    return Extrapolation(value=fit.intercept, correction=fit.slope, n_points=fit.n_points)


@dataclass(frozen=True)
class BootstrapInterval:
    """Bootstrap percentile interval of a slope.

    Attributes
    ----------
    estimate : float
        The slope on the full data.
    low, high : float
        The (1 − confidence)/2 and (1 + confidence)/2 quantiles of the resampled slopes.
    n_resamples : int
        Bootstrap resamples drawn.
    n_replicates : int
        Replicates (seeds) the resamples are drawn from.
    confidence : float
        The nominal coverage.
    """

    estimate: float
    low: float
    high: float
    n_resamples: int
    n_replicates: int
    confidence: float


def _mean_log_slope(x: np.ndarray, samples: np.ndarray) -> float:
    with np.errstate(invalid="ignore", divide="ignore"):
        counts = np.sum(np.isfinite(samples), axis=1)
        means = np.where(counts > 0, np.nansum(samples, axis=1) / np.maximum(counts, 1), np.nan)
        return fit_slope(x, np.log(means)).slope


def bootstrap_slope(
    x: Sequence[float] | np.ndarray,
    samples: np.ndarray,
    rng: np.random.Generator,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> BootstrapInterval:
    """Slope of log(mean over replicates) against x, with a paired bootstrap over replicates.

    Parameters
    ----------
    x : array_like, shape (k,)
        Abscissae, e.g. log n_eff of the points of a schedule.
    samples : ndarray, shape (k, m)
        Positive values (excess risks) of m replicates at each point; NaN marks a missing value
        (a fit that did not converge), left out of that point's mean.
    rng : numpy.random.Generator
        Source of the resampling.
    n_resamples : int, default 2000
        Bootstrap resamples.
    confidence : float, default 0.95
        Coverage of the percentile interval, in (0, 1).

    Returns
    -------
    BootstrapInterval

    Notes
    -----
    Replicate r is one (teacher, dataset) draw shared by every point of the schedule, so the
    resampling draws whole replicates (the same m indices, with replacement, at every point):
    this keeps the correlation between points that a per-point resampling would destroy. The
    statistic is the least-squares slope of log(mean_j R_{ij}) on x_i. With m replicates there
    are at most C(2m−1, m) distinct resamples (10 for m = 3), so the interval is coarse for
    small m.
    """
    x = _as_1d(x, "x")
    samples = np.asarray(samples, dtype=float)
    if samples.ndim != 2 or samples.shape[0] != x.size:
        raise InputError(f"`samples` must have shape (len(x), replicates) = ({x.size}, m); got {samples.shape}")
    n_resamples = check_int(n_resamples, "n_resamples", "bootstrap resamples", lower=1)
    confidence = check_real(
        confidence, "confidence", "coverage", lower=0.0, upper=1.0, lower_inclusive=False, upper_inclusive=False
    )
    replicates = samples.shape[1]
    estimate = _mean_log_slope(x, samples)
    if replicates == 0 or not math.isfinite(estimate):
        return BootstrapInterval(estimate, math.nan, math.nan, 0, replicates, confidence)
    draws = rng.integers(0, replicates, size=(n_resamples, replicates))
    slopes = np.array([_mean_log_slope(x, samples[:, index]) for index in draws])
    slopes = slopes[np.isfinite(slopes)]
    if slopes.size == 0:
        return BootstrapInterval(estimate, math.nan, math.nan, n_resamples, replicates, confidence)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(slopes, [tail, 1.0 - tail])
    return BootstrapInterval(estimate, float(low), float(high), n_resamples, replicates, confidence)


def evaluate_grid(func: Callable[[float, float], float], kappas: Sequence[float], ells: Sequence[float]) -> np.ndarray:
    """``func(κ, ℓ)`` on the grid; shape (len(kappas), len(ells)), row i is κ = kappas[i]."""
    out = np.empty((len(kappas), len(ells)))
    for i, kappa in enumerate(kappas):
        for j, ell in enumerate(ells):
            out[i, j] = func(float(kappa), float(ell))
    return out


def score_agreement(measured: np.ndarray, predicted: np.ndarray, scored: np.ndarray, tol: float) -> tuple[float, int]:
    """Fraction of scored points with |measured − predicted| ≤ tol, and how many were scored.

    Points with a non-finite measurement count as disagreeing (a failed solve is not a pass).
    """
    tol = check_real(tol, "tol", "agreement tolerance", lower=0.0)
    measured, predicted = np.asarray(measured, dtype=float), np.asarray(predicted, dtype=float)
    scored = np.asarray(scored, dtype=bool)
    count = int(np.count_nonzero(scored))
    if count == 0:
        return math.nan, 0
    with np.errstate(invalid="ignore"):
        agree = np.abs(measured - predicted) <= tol
    return float(np.count_nonzero(agree & scored) / count), count


@dataclass(frozen=True)
class PeakSearch:
    """Maximum of a positive function of x > 0 found by :func:`maximize_on_log_scale`.

    Attributes
    ----------
    x, value : float
        The maximiser and the maximum.
    bracket_width : float
        Width in ln x of the final bracket around x (the stopping certificate).
    iterations : int
        Function evaluations.
    converged, status, message
        ``bracket_width <= xtol``; the status word; the reason, with numbers.
    """

    x: float
    value: float
    bracket_width: float
    iterations: int
    converged: bool
    status: str
    message: str


def maximize_on_log_scale(
    func: Callable[[float], float],
    lower: float,
    upper: float,
    *,
    num: int = 9,
    xtol: float = 1e-3,
    max_iter: int = 60,
) -> PeakSearch:
    """Maximise ``func`` on [lower, upper] ⊂ (0, ∞): a log-spaced scan, then golden section.

    Parameters
    ----------
    func : callable
        x ↦ a finite value (non-finite values are treated as −∞).
    lower, upper : float
        The search interval, 0 < lower < upper.
    num : int, default 9
        Points of the initial log-spaced scan; the golden section runs in the scan interval
        around the best scan point, so a function with several local maxima is searched near
        the highest one the scan sees.
    xtol : float, default 1e-3
        Stopping rule: bracket width in ln x ≤ xtol.
    max_iter : int, default 60
        Cap on golden-section steps.

    Returns
    -------
    PeakSearch

    Examples
    --------
    >>> peak = maximize_on_log_scale(lambda x: -math.log(x / 2.0) ** 2, 0.1, 10.0)
    >>> peak.converged, round(peak.x, 2)
    (True, 2.0)
    """
    lower = check_real(lower, "lower", "lower end of the search", lower=0.0, lower_inclusive=False)
    upper = check_real(upper, "upper", "upper end of the search", lower=lower, lower_inclusive=False)
    num = check_int(num, "num", "scan points", lower=3)
    xtol = check_real(xtol, "xtol", "tolerance on ln x", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "golden-section steps", lower=1)

    def value(log_x: float) -> float:
        result = float(func(math.exp(log_x)))
        return result if math.isfinite(result) else -math.inf

    grid = np.linspace(math.log(lower), math.log(upper), num)
    values = [value(g) for g in grid]
    best = int(np.argmax(values))
    a, b = grid[max(best - 1, 0)], grid[min(best + 1, num - 1)]
    evaluations = num
    c, e = b - _INV_PHI * (b - a), a + _INV_PHI * (b - a)
    fc, fe = value(c), value(e)
    evaluations += 2
    steps = 0
    while b - a > xtol and steps < max_iter:
        steps += 1
        if fc >= fe:
            b, e, fe = e, c, fc
            c = b - _INV_PHI * (b - a)
            fc = value(c)
        else:
            a, c, fc = c, e, fe
            e = a + _INV_PHI * (b - a)
            fe = value(e)
        evaluations += 1
    candidates = [(values[best], grid[best]), (fc, c), (fe, e)]
    top, log_x = max(candidates)
    width = float(b - a)
    converged = width <= xtol
    status = "converged" if converged else "max_iter"
    message = f"bracket width {width:.2e} in ln x (xtol {xtol:.0e}) after {evaluations} evaluations"
    if not converged:
        warn_not_converged("maximize_on_log_scale", message, "Raise `max_iter` or loosen `xtol`.")
    return PeakSearch(
        x=float(math.exp(log_x)),
        value=float(top),
        bracket_width=width,
        iterations=evaluations,
        converged=converged,
        status=status,
        message=message,
    )
