"""The fixed point shared by both quadratic SE routes: the result type, the map's value at one δ,
the input checks, the starting δ, the Brent solve on δ and the assembly of the result.

Both the Monte-Carlo route (:mod:`.quadratic_mc`) and the deterministic equivalent
(:mod:`.quadratic_deterministic`) import from here, so neither imports the other's internals.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .._validation import check_int, check_real
from ..errors import InputError
from ..results import warn_not_converged


@dataclass(frozen=True)
class QuadraticSEResult:
    """State-evolution prediction for the quadratic network / PSD nuclear-norm ERM.

    Attributes
    ----------
    delta : float
        Effective noise δ.
    epsilon : float
        ε (Ŝ = soft threshold of S* + δZ at t = λε).
    threshold : float
        t = λε.
    q, m, sigma : float
        Order parameters of docs/theory.md §2.2: q = ‖Ŝ‖²_F/d, m = ⟨S*, Ŝ⟩/d, σ = Dε/2.
    matrix_mse : float
        mse_S = Q* + q − 2m = ‖Ŝ − S*‖²_F/d.
    excess_risk : float
        2 mse_S.
    nonzero_fraction : float
        Fraction of non-zero eigenvalues of Ŝ (rank/d).
    divergence : float
        D = 2α − 1/(2ε).
    sample_ratio : float
        α = n/d².
    fixed_point_residual : float
        |mse_S + Δ/2 − 2αδ²| / (2αδ²) at the returned point.
    iterations : int
        Evaluations of the map at a new δ (each costs K eigendecompositions, route "mc", or one
        free-convolution contour, route "deterministic").
    converged, status, message
        See :mod:`shallowscaling.results`.
    route : str
        ``"mc"`` or ``"deterministic"``.
    n_draws : int
        K, the number of GOE draws the answer averages over (route "mc": the final K after the
        adaptation to ``mc_rtol``; 0 for the deterministic route).
    mc_standard_error : float
        Monte-Carlo standard error of ``matrix_mse`` over the K draws (route "mc"; NaN for the
        deterministic route and for K = 1): the delta-method (sandwich) error of the fixed point
        of the draw-averaged equations, see :func:`solve_quadratic_se_mc`. The error of
        ``excess_risk`` is twice it.
    eigenvalues : ndarray, shape (d,)
        SE-predicted eigenvalues of Ŝ, decreasing (route "mc": those of the first draw; route
        "deterministic": quantiles of μ_δ at levels (k − ½)/d shifted by −t, clipped at 0, only
        with ``with_spectrum=True``, else shape (0,)).
    """

    delta: float
    epsilon: float
    threshold: float
    q: float
    m: float
    sigma: float
    matrix_mse: float
    excess_risk: float
    nonzero_fraction: float
    divergence: float
    sample_ratio: float
    fixed_point_residual: float
    iterations: int
    converged: bool
    status: str
    message: str
    route: str
    n_draws: int
    mc_standard_error: float
    eigenvalues: np.ndarray


@dataclass(frozen=True)
class FixedPoint:
    """The map at one δ: threshold, order parameters and the residual of (SE-1)."""

    delta: float
    threshold: float
    epsilon: float
    q: float
    m: float
    matrix_mse: float
    divergence: float
    nonzero_fraction: float
    residual: float  # h(δ) = (mse_S + Δ/2)/(2αδ²) − 1


def check_common(s, n, lam, noise) -> tuple[np.ndarray, int, float, float]:
    s = np.asarray(s, dtype=float)
    if s.ndim != 1 or s.size < 2 or not np.all(np.isfinite(s)):
        raise InputError(f"`s` (eigenvalues of S*) must be a finite 1-D array of length >= 2; got shape {s.shape}")
    n = check_int(n, "n", "number of samples n", lower=1)
    lam = check_real(lam, "lam", "weight decay λ", lower=0.0, lower_inclusive=False)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    return s, n, lam, noise


def initial_delta(initial: object, target_q: float, sample_ratio: float, noise: float) -> tuple[float, bool]:
    """Starting δ and whether it is a warm start (a result or a positive float)."""
    if initial is not None:
        value = getattr(initial, "delta", initial)
        if isinstance(value, (int, float, np.floating)) and math.isfinite(value) and value > 0:
            return float(value), True
    # δ of the rank-collapsed solution Ŝ = 0 (mse_S = Q*); the bracket search moves from there.
    return math.sqrt((target_q + 0.5 * noise) / (2.0 * sample_ratio)), False


def solve_delta(
    evaluate: Callable[[float], FixedPoint],
    *,
    delta_start: float,
    warm: bool,
    delta_lower: float,
    tol: float,
    max_iter: int,
) -> tuple[FixedPoint | None, int, str, str]:
    """Bracket and solve h(δ) = 0 by Brent's method; returns (point, evaluations, status, message).

    Shared by the Monte-Carlo and deterministic routes. ``delta_lower`` = √(Δ/(4α)) is a point
    where h ≥ 0 (0 when Δ = 0, where h → +∞ as δ → 0 because t > 0 biases Ŝ).
    """
    cache: dict[float, FixedPoint] = {}

    def h(delta: float) -> float:
        if delta not in cache:
            if len(cache) >= max_iter:
                raise _BudgetExceeded
            cache[delta] = evaluate(delta)
        return cache[delta].residual

    # Bracket search: steps of 2 % around a warm start (the root is usually that close), doubling
    # in log scale after each failure; factor 2 from a cold start.
    factor = 1.02 if warm else 2.0
    try:
        a = max(delta_start, delta_lower)
        ha = h(a)
        if abs(ha) <= tol:
            return cache[a], len(cache), "converged", f"root at the starting point, |h(δ)| = {abs(ha):.2e}"
        b = a
        for _ in range(200):
            factor = min(factor, 2.0)
            if ha > 0:
                b = a * factor
            else:
                b = max(a / factor, delta_lower)
                if b == a:
                    break
            hb = h(b)
            if (hb > 0) != (ha > 0) or hb == 0.0:
                break
            a, ha = b, hb
            factor *= factor
        else:
            return None, len(cache), "stalled", f"no sign change of h(δ) found from δ = {delta_start:.3g}"
        hb = h(b)
        if hb == 0.0:
            return cache[b], len(cache), "converged", "exact root"
        if (hb > 0) == (ha > 0):
            return None, len(cache), "stalled", f"h(δ) keeps the sign of h({a:.3g}) = {ha:.3g} down to δ_min"
        lo, hi = (a, b) if a < b else (b, a)
        rtol = max(tol * 1e-2, 4.5e-16)
        root_delta, info = brentq(h, lo, hi, xtol=1e-300, rtol=rtol, maxiter=max_iter, full_output=True)
    except _BudgetExceeded:
        return None, len(cache), "max_iter", f"{max_iter} map evaluations used before convergence"
    point = cache.get(root_delta) or cache.setdefault(root_delta, evaluate(root_delta))
    status = "converged" if info.converged and abs(point.residual) <= tol else "max_iter"
    message = f"Brent on δ: {info.iterations} iterations, |h(δ)| = {abs(point.residual):.2e} (tol {tol:.1e})"
    return point, len(cache), status, message


class _BudgetExceeded(Exception):
    """Raised inside the Brent callback when the evaluation budget is spent."""


def se_result(
    point: FixedPoint, lam, noise, sample_ratio, evaluations, status, message, route, n_draws, eig, tol, beat,
    *, mc_standard_error: float = math.nan,
):  # fmt: skip
    converged = status == "converged"
    beat.end(status, evaluations, 2.0 * point.matrix_mse, abs(point.residual), delta=point.delta)
    if status == "max_draws":
        warn_not_converged(
            "quadratic state evolution (mc)",
            message,
            "Raise max_draws (--max-draws), loosen mc_rtol (--mc-rtol), or use the deterministic route",
        )
    elif not converged:
        warn_not_converged(
            f"quadratic state evolution ({route})",
            f"{message}; residual {abs(point.residual):.2e} > tol {tol:.1e} at δ = {point.delta:.4g}",
            "Increase max_iter, pass a warm start (initial=) from a neighbouring point, or try the other route",
        )
    eps = point.epsilon
    return QuadraticSEResult(
        delta=point.delta,
        epsilon=eps,
        threshold=point.threshold,
        q=point.q,
        m=point.m,
        sigma=point.divergence * eps / 2.0,
        matrix_mse=point.matrix_mse,
        excess_risk=2.0 * point.matrix_mse,
        nonzero_fraction=point.nonzero_fraction,
        divergence=point.divergence,
        sample_ratio=sample_ratio,
        fixed_point_residual=abs(point.residual),
        iterations=evaluations,
        converged=converged,
        status=status,
        message=message,
        route=route,
        n_draws=n_draws,
        mc_standard_error=mc_standard_error,
        eigenvalues=np.sort(np.asarray(eig, dtype=float))[::-1],
    )
