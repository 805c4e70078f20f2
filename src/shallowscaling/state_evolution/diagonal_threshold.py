"""The noiseless LASSO recovery transition located on the finite-d state evolution (docs/theory.md §2.1).

With Δ = 0 and a sparse teacher (k = εd ones, zeros elsewhere), the diagonal state evolution
has, below the transition, a branch on which δ ∝ λ: the excess risk R = (n/d)δ² scales as λ²
(exact recovery as λ → 0⁺); above it, R stays O(1) as λ → 0⁺. Solving the SE at two small
λ₁ > λ₂ tells the two apart without any limit taken analytically: R(λ₂)/R(λ₁) = (λ₂/λ₁)² on the
recovery branch, ≈ 1 off it. The recovered side is decided at the geometric middle of the two
ratios, and k is bisected over the integers, so the transition is bracketed to 1/d in ε. This is
the SE route to the Donoho–Maleki–Montanari curve; :func:`shallowscaling.rates.dmm_transition`
is the closed-form one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..errors import InputError
from .diagonal import solve_diagonal_se

__all__ = ["DiagonalThresholdResult", "diagonal_recovery_threshold"]


@dataclass(frozen=True)
class DiagonalThresholdResult:
    """The SE-located noiseless recovery transition ε_c at one n/d.

    ``lower`` = k/d for the largest k found recovered, ``upper`` the smallest found not
    recovered; ``threshold`` is their midpoint. ``converged``: every SE solve converged, the
    bracket is ordered (k = 1 recovered, k = n not) and ``upper − lower ≤ tol``.
    ``max_residual`` is the largest fixed-point residual of the SE solves (their certificate).
    """

    threshold: float
    lower: float
    upper: float
    sample_ratio: float
    d: int
    evaluations: int
    max_residual: float
    converged: bool
    message: str


def diagonal_recovery_threshold(
    sample_ratio: float, d: int, *, lam: float = 1e-3, lam_ratio: float = 1e-2, tol: float | None = None
) -> DiagonalThresholdResult:
    """Bisect the sparsity ε = k/d at which the noiseless diagonal SE stops recovering θ*.

    Parameters
    ----------
    sample_ratio : float
        n/d in (0, 1) (at n ≥ d every sparsity is recovered: no transition to locate).
    d : int
        Dimension of the SE teacher (resolution 1/d in ε).
    lam : float, default 1e-3
        The larger λ₁; the smaller is λ₂ = ``lam_ratio`` · λ₁.
    lam_ratio : float, default 1e-2
        λ₂/λ₁ in (0, 1): recovered when R(λ₂)/R(λ₁) < ``lam_ratio`` (the geometric middle of the
        recovery-branch ratio ``lam_ratio``² and 1).
    tol : float, optional
        Bracket width in ε to stop at; default 1/d (adjacent k). Smaller than 1/d is not reachable.
    """
    sample_ratio = check_real(sample_ratio, "sample_ratio", "sample ratio n/d", lower=0.0, upper=1.0,
                              lower_inclusive=False, upper_inclusive=False)  # fmt: skip
    d = check_int(d, "d", "SE dimension d", lower=2)
    lam = check_real(lam, "lam", "regularisation λ₁", lower=0.0, lower_inclusive=False)
    lam_ratio = check_real(lam_ratio, "lam_ratio", "ratio λ₂/λ₁", lower=0.0, upper=1.0,
                           lower_inclusive=False, upper_inclusive=False)  # fmt: skip
    tol = 1.0 / d if tol is None else check_real(tol, "tol", "bracket width in ε", lower=0.0, lower_inclusive=False)
    if tol < 1.0 / d:
        raise InputError(f"`tol` (bracket width in ε) must be at least 1/d = {1.0 / d:g}; got {tol:g}")
    n = round(sample_ratio * d)
    if not 2 <= n < d:
        raise InputError(f"`d` must make n = round((n/d)·d) lie in [2, d); got n = {n} at d = {d}")
    residuals: list[float] = []
    all_converged = True

    def recovered(k: int) -> bool:
        nonlocal all_converged
        theta_star = np.zeros(d)
        theta_star[:k] = 1.0
        large, small = (solve_diagonal_se(theta_star, n, value, 0.0) for value in (lam, lam * lam_ratio))
        all_converged = all_converged and large.converged and small.converged
        residuals.extend((large.fixed_point_residual, small.fixed_point_residual))
        return small.excess_risk < lam_ratio * large.excess_risk

    low, high = 1, n  # k = n nonzero coordinates cannot be recovered from n < d samples
    ordered = recovered(low) and not recovered(high)
    while ordered and high - low > max(1, math.floor(tol * d + 1e-9)):
        middle = (low + high) // 2
        low, high = (middle, high) if recovered(middle) else (low, middle)
    converged = ordered and all_converged and (high - low) / d <= tol + 1e-12
    max_residual = max(residuals)
    message = (
        f"ε_c(n/d = {n / d:g}) in [{low / d:g}, {high / d:g}] at d = {d} after {len(residuals)} SE solves "
        f"(max fixed-point residual {max_residual:.1e}"
        + ("" if ordered else "; the bracket is not ordered: k = 1 not recovered or k = n recovered")
        + ("" if all_converged else "; some SE solves did not converge")
        + ")"
    )
    return DiagonalThresholdResult(
        threshold=0.5 * (low + high) / d, lower=low / d, upper=high / d, sample_ratio=n / d, d=d,
        evaluations=len(residuals), max_residual=max_residual, converged=converged, message=message,
    )  # fmt: skip
