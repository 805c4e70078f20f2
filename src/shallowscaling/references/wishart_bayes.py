"""Bayes-optimal error of a quadratic network with a Wishart teacher (docs/theory.md, classic results).

Maillard, Troiani, Martin, Krzakala & Zdeborová, "Bayes-optimal learning of an extensive-width
neural network from quadratically many samples" (NeurIPS 2024), re-derived here independently of
:mod:`shallowscaling.state_evolution`. Their teacher S* = WWᵀ/√(rd), W ∈ R^{d×r} Gaussian,
r = κd, and labels y = Tr[S*(xxᵀ − I)]/√d + √Δ ξ (up to terms that vanish as d → ∞) with n = αd²
samples are our quadratic model with the ``wishart`` teacher at ``--normalization paper``; the
error is our ``matrix_mse`` ‖Ŝ − S*‖²_F/d (the excess risk is twice it). As d → ∞ the MMSE is
mmse(δ*) at the largest root of

    δ² = (2 mmse(δ) + Δ)/(4α),     mmse(δ) = δ² − (4π²/3) δ⁴ ∫ ρ_δ(x)³ dx,

where mmse(δ) is the error of the optimal (rotation-invariant) denoiser of S* observed as
S* + δZ, Z GOE, and ρ_δ the density of the spectrum of S* + δZ: the Marchenko–Pastur law of S*
freely convolved with a semicircle of variance δ². Its Stieltjes transform G(z) = E tr (z − Y)⁻¹/d
is a root of the cubic (subordination G = G_S(z − δ²G) applied to the quadratic equation
w G_S² − (√κ w + 1 − κ) G_S + √κ = 0 of the scaled Marchenko–Pastur law)

    δ² G³ − (z + √κ δ²) G² + (√κ z + 1 − κ) G − √κ = 0,

and ρ_δ(x) = |Im G(x + i0)|/π where the cubic has a complex pair (its discriminant, a quartic in
x, is negative: that is the support).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.polynomial import Polynomial
from scipy.integrate import quad
from scipy.optimize import brentq

from .._validation import check_real
from ..errors import ConvergenceWarning

__all__ = [
    "WishartBayesResult",
    "perfect_recovery_threshold",
    "solve_wishart_bayes",
    "wishart_bayes_mmse",
    "wishart_denoising_mmse",
    "wishart_free_convolution_density",
]

#: Relative accuracy asked of ∫ρ³ (Gauss–Legendre orders are doubled until two agree to this).
_QUADRATURE_RTOL = 1e-11
#: Gauss–Legendre orders tried in turn on each support interval.
_ORDERS = (64, 128, 256, 512, 1024, 2048)
#: Noiseless descent floor on δ (the spectral variance of S* is 1, so an absolute scale): below,
#: mmse(δ)/δ² equals its δ → 0 limit to ~1e-8 (~1e-5 at κ = 1, where the approach is O(δ)), and an
#: error mmse(δ*) ≤ δ*² < 1e-8 is reported as perfect recovery.
_DELTA_FLOOR = 1e-4


@dataclass(frozen=True)
class WishartBayesResult:
    """The fixed point: ``delta`` δ* (0: perfect recovery), ``mmse`` = mmse(δ*) (``matrix_mse``),
    ``fixed_point_residual`` |δ² − (2 mmse + Δ)/(4α)|/δ² (0 at perfect recovery), ``converged``."""

    delta: float
    mmse: float
    fixed_point_residual: float
    converged: bool


def _check_width(width_ratio: float) -> float:
    return check_real(width_ratio, "width_ratio", "teacher width ratio κ = r/d", lower=0.0, lower_inclusive=False)


def perfect_recovery_threshold(width_ratio: float) -> float:
    """α_PR: noiseless, the MMSE is 0 for α ≥ α_PR and positive below.

    α_PR = ½ lim_{δ→0} mmse(δ)/δ². The spectrum of S* has an atom of mass 1 − κ at 0 for κ < 1
    and a density elsewhere; only the atom keeps a fraction (1 − κ)² of the noise out of the
    estimate as δ → 0, so α_PR = ½(1 − (1 − κ)²) = κ − κ²/2 for κ ≤ 1 (the dimension of the rank-r
    PSD matrices over d²), and ½ for κ ≥ 1 (no atom: the d(d+1)/2 entries of a full-rank S*).
    """
    kappa = _check_width(width_ratio)
    return kappa - kappa * kappa / 2.0 if kappa <= 1.0 else 0.5


def _cubic(x: np.ndarray, kappa: float, delta: float) -> tuple:
    sk, d2 = math.sqrt(kappa), delta * delta
    return d2, -(x + sk * d2), sk * x + (1.0 - kappa), -sk


def wishart_free_convolution_density(x: np.ndarray, width_ratio: float, delta: float) -> np.ndarray:
    """ρ_δ(x): density of the spectrum of S* + δZ (S* = WWᵀ/√(rd), κ = r/d) as d → ∞."""
    kappa = _check_width(width_ratio)
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    return _density(np.atleast_1d(np.asarray(x, dtype=float)), kappa, delta)


def _density(x: np.ndarray, kappa: float, delta: float) -> np.ndarray:
    a, b, c, e = _cubic(x, kappa, delta)
    companion = np.zeros((x.size, 3, 3))
    companion[:, 0, 0], companion[:, 0, 1], companion[:, 0, 2] = -b / a, -c / a, -e / a
    companion[:, 1, 0] = companion[:, 2, 1] = 1.0
    roots = np.linalg.eigvals(companion)
    # One Newton step in complex arithmetic polishes the eigenvalue roots (relative 1e-16).
    p = ((a * roots + b[:, None]) * roots + c[:, None]) * roots + e
    dp = (3.0 * a * roots + 2.0 * b[:, None]) * roots + c[:, None]
    roots = roots - p / np.where(dp == 0, 1.0, dp)
    return np.max(np.abs(roots.imag), axis=1) / math.pi


def _support(kappa: float, delta: float) -> list[tuple[float, float]]:
    """Intervals where the discriminant of the cubic (a quartic in x) is negative."""
    x = Polynomial([0.0, 1.0])
    a, b, c, e = _cubic(x, kappa, delta)  # type: ignore[arg-type]
    disc = 18 * a * b * c * e - 4 * b**3 * e + b**2 * c**2 - 4 * a * c**3 - 27 * a * a * e * e
    roots = disc.roots()
    scale = 1.0 + np.abs(roots)
    edges = np.sort(roots[np.abs(roots.imag) <= 1e-9 * scale].real)
    intervals = []
    for lo, hi in itertools.pairwise(edges):
        if hi > lo and disc(0.5 * (lo + hi)) < 0:
            intervals.append((float(lo), float(hi)))
    if not intervals:
        raise ArithmeticError(f"no support found for the free convolution at κ = {kappa:g}, δ = {delta:g}")
    return intervals


@lru_cache(maxsize=8)
def _gauss_legendre(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def _integrand(theta: float, m: float, h: float, kappa: float, delta: float) -> float:
    """ρ(x)³ dx/dθ at x = m − h cos θ, for the adaptive quadrature."""
    return h * math.sin(theta) * float(_density(np.array([m - h * math.cos(theta)]), kappa, delta)[0]) ** 3


def _cubic_integral(kappa: float, delta: float) -> float:
    """∫ρ_δ³ on each support interval, x = m − h cos θ (the square-root edges become smooth).

    Gauss–Legendre orders double until two agree to ``_QUADRATURE_RTOL``. A narrow feature inside
    an interval (where the component of the atom at 0 merges with the bulk the density has a
    cusp-like dip; at κ = 1 and tiny δ the 1/√s edge) defeats them: adaptive quadrature
    (QUADPACK) then takes over, and a ConvergenceWarning says if its error estimate is too large.
    """
    total = 0.0
    for lo, hi in _support(kappa, delta):
        m, h = 0.5 * (lo + hi), 0.5 * (hi - lo)
        previous = math.nan
        for order in _ORDERS:
            nodes, weights = _gauss_legendre(order)
            theta = 0.5 * math.pi * (nodes + 1.0)
            rho = _density(m - h * np.cos(theta), kappa, delta)
            value = 0.5 * math.pi * h * float(np.sum(weights * rho**3 * np.sin(theta)))
            if abs(value - previous) <= _QUADRATURE_RTOL * abs(value):
                break
            previous = value
        else:
            args = (m, h, kappa, delta)
            value, error = quad(_integrand, 0.0, math.pi, args, epsabs=0.0, epsrel=_QUADRATURE_RTOL, limit=2000)
            if not error <= 10.0 * _QUADRATURE_RTOL * abs(value):
                warnings.warn(
                    f"∫ρ³ at κ = {kappa:g}, δ = {delta:g}: adaptive quadrature error estimate "
                    f"{error / abs(value):.1e} relative (asked {_QUADRATURE_RTOL:.0e})",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        total += value
    return total


def wishart_denoising_mmse(width_ratio: float, delta: float) -> float:
    """mmse(δ) = δ² − (4π²/3) δ⁴ ∫ρ_δ³: optimal error per d of S* from S* + δZ (paper scale)."""
    kappa = _check_width(width_ratio)
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    return delta**2 - (4.0 * math.pi**2 / 3.0) * delta**4 * _cubic_integral(kappa, delta)


def solve_wishart_bayes(
    sample_ratio: float, width_ratio: float, noise: float, *, tol: float = 1e-10
) -> WishartBayesResult:
    """The largest root δ* of δ² = (2 mmse(δ) + Δ)/(4α) (reached by GAMP-RIE from no information).

    Descends from δ_0² = (2 + Δ)/(4α), where the map is positive (mmse ≤ 1, the spectral variance
    of S*), by factors of ½ to the first sign change, then Brent. Noiseless, a map positive down
    to δ = ``_DELTA_FLOOR`` is perfect recovery (δ* = 0, mmse 0).
    """
    alpha = check_real(sample_ratio, "sample_ratio", "sample ratio α = n/d²", lower=0.0, lower_inclusive=False)
    kappa = _check_width(width_ratio)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)

    def scaled(delta: float) -> float:
        return 4.0 * alpha - (2.0 * wishart_denoising_mmse(kappa, delta) + noise) / delta**2

    hi = math.sqrt((2.0 + noise) / (4.0 * alpha))
    lo, f_lo = hi, scaled(hi)
    lower = max(math.sqrt(noise / (4.0 * alpha)), _DELTA_FLOOR)
    while f_lo > 0:
        if lo <= lower:
            return WishartBayesResult(0.0, 0.0, 0.0, True)
        hi, lo = lo, max(0.5 * lo, lower)
        f_lo = scaled(lo)
    root = lo if f_lo == 0 else brentq(scaled, lo, hi, xtol=1e-300, rtol=max(1e-2 * tol, 4.5e-16))
    mmse = wishart_denoising_mmse(kappa, root)
    residual = abs(root**2 - (2.0 * mmse + noise) / (4.0 * alpha)) / root**2
    return WishartBayesResult(root, mmse, residual, residual <= tol)


def wishart_bayes_mmse(sample_ratio: float, width_ratio: float, noise: float) -> float:
    """Asymptotic Bayes-optimal ‖Ŝ − S*‖²_F/d (our ``matrix_mse``) for S* = WWᵀ/√(rd).

    ``sample_ratio`` α = n/d² ≥ 0 (α = 0: the prior's error, the spectral variance 1),
    ``width_ratio`` κ = r/d > 0, ``noise`` the label-noise variance Δ ≥ 0. The teacher is at the
    paper scale (Q* = 1 + κ); with ``--normalization unit`` (S* scaled by c = (1 + κ)^{-1/2}) the
    error is c² · wishart_bayes_mmse(α, κ, Δ/c²).
    """
    alpha = check_real(sample_ratio, "sample_ratio", "sample ratio α = n/d²", lower=0.0)
    if alpha == 0.0:
        _check_width(width_ratio)
        check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
        return 1.0
    result = solve_wishart_bayes(alpha, width_ratio, noise)
    if not result.converged:
        warnings.warn(
            f"Wishart Bayes fixed point at α = {alpha:g}, κ = {width_ratio:g}, Δ = {noise:g}: relative residual "
            f"{result.fixed_point_residual:.2e} above 1e-10",
            ConvergenceWarning,
            stacklevel=2,
        )
    return result.mmse
