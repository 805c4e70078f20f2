"""Exact-recovery threshold of trace minimisation over the PSD cone (docs/theory.md, classic results).

The noiseless quadratic problem at λ → 0⁺ (``--estimator convex``, Δ = 0) is

    minimise Tr S  subject to  S ⪰ 0,  ⟨Z_μ, S⟩ = y_μ (μ = 1 … n),

the convex program min f(S) with f = Tr + indicator of the PSD cone. Amelunxen, Lotz, McCoy &
Tropp ("Living on the edge: phase transitions in convex programs with random data", 2014) show
that with Gaussian sensing matrices it recovers S* with high probability when n exceeds the
statistical dimension δ(D) of the descent cone D of f at S*, and fails below it, with a window
of width O(√δ(D)) = O(d). Our centred rank-one sensing matrices Z_μ = (x_μx_μᵀ − I)/√d have the
covariance of √(2/d) times the standard Gaussian of the space of symmetric matrices
(Var⟨Z_μ, H⟩ = 2‖H‖²_F/d for every symmetric H), the Gaussian-design universality that the
quadratic state evolution assumes, so the threshold in α = n/d² is δ(D)/d² as d → ∞.

This module depends on NumPy and SciPy only, never on :mod:`shallowscaling.state_evolution`: the
state evolution's own threshold is a second, independent route (tests).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq

from .._validation import check_real

__all__ = ["psd_trace_threshold"]


def _semicircle_tail_moments(theta: float) -> tuple[float, float, float]:
    """∫_τ^2 x^k ρ_sc(x) dx for k = 0, 1, 2 at τ = 2 cos θ, θ ∈ [0, π].

    ρ_sc(x) = √(4 − x²)/(2π); with x = 2 cos φ the integrals are (2/π) ∫_0^θ (2 cos φ)^k sin²φ dφ.
    """
    m0 = (theta - math.sin(theta) * math.cos(theta)) / math.pi
    m1 = 4.0 * math.sin(theta) ** 3 / (3.0 * math.pi)
    m2 = (theta - math.sin(4.0 * theta) / 4.0) / math.pi
    return m0, m1, m2


def psd_trace_threshold(rank_ratio: float) -> float:
    """Large-d limit of δ(D)/d², the exact-recovery threshold in α = n/d² at rank ρd.

    D is the descent cone at a PSD S* of rank r = ρd of f(S) = Tr S + indicator(S ⪰ 0), and
    δ(D) = inf_{τ≥0} E dist²(G, τ ∂f(S*)) with G the standard Gaussian of the symmetric matrices
    (diagonal entries N(0, 1), off-diagonal N(0, ½): E‖G‖²_F = d(d+1)/2, the ambient dimension).
    In the eigenbasis (U, U⊥) of S*, ∂f(S*) = {[[I_r, 0], [0, I − M]] : M ⪰ 0}, so the distance
    splits into the U block ‖G₁₁ − τI‖², the two off-diagonal blocks 2‖G₁₂‖² and the positive
    part Σ_i (λ_i(G₂₂) − τ)₊² of the complement block. As d → ∞, with τ = √((d − r)/2) u and
    the spectrum of G₂₂ a semicircle of radius √(2(d − r)),

        δ(D)/d² → ρ − ρ²/2 + ((1 − ρ)/2) min_u [ρ u² + (1 − ρ) ∫ (x − u)₊² ρ_sc(x) dx],

    ρ_sc the semicircle law on [−2, 2] (derivation: docs/theory.md, classic results). It rises
    from 0 at ρ → 0 (the descent cone at S* = 0 is {0}) to ½ at ρ = 1 (every symmetric direction,
    d(d+1)/2 out of d²).

    Why n/d² and not n/(d(d+1)/2): the problem has d(d+1)/2 unknowns, but δ(D) counts the
    measurements needed, and n measurements at α = n/d² are what the quadratic state evolution
    and the study's sample ratio count.

    Parameters
    ----------
    rank_ratio : float
        ρ = rank(S*)/d in [0, 1].

    Returns
    -------
    float
        The threshold α_c(ρ) in n/d², in [0, ½].

    Examples
    --------
    >>> psd_trace_threshold(1.0), psd_trace_threshold(0.0)
    (0.5, 0.0)
    >>> round(psd_trace_threshold(0.5), 4)
    0.4222
    """
    rho = check_real(rank_ratio, "rank_ratio", "rank ratio ρ = rank(S*)/d", lower=0.0, upper=1.0)
    if rho == 0.0 or rho == 1.0:
        return rho / 2.0

    def stationarity(theta: float) -> float:
        # d/du of the bracket, halved: ρu − (1 − ρ) ∫ (x − u)₊ ρ_sc, increasing in u (convexity).
        u = 2.0 * math.cos(theta)
        m0, m1, _ = _semicircle_tail_moments(theta)
        return rho * u - (1.0 - rho) * (m1 - u * m0)

    # At u = 0 (θ = π/2) the slope is −(1 − ρ)·4/(3π) < 0 and at u = 2 (θ = 0) it is 2ρ > 0.
    theta = brentq(stationarity, 0.0, 0.5 * math.pi, xtol=1e-15, rtol=1e-15)
    u = 2.0 * math.cos(theta)
    m0, m1, m2 = _semicircle_tail_moments(theta)
    tail = m2 - 2.0 * u * m1 + u * u * m0
    return rho - 0.5 * rho * rho + 0.5 * (1.0 - rho) * (rho * u * u + (1.0 - rho) * tail)
