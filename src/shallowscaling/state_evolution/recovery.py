"""Exact-recovery thresholds located on the noiseless state evolutions (docs/theory.md §10).

Quadratic model. With Δ = 0 and a rank-ρd target S* (the ``sparse`` family: k = round(ρd) equal eigenvalues), the
quadratic state evolution at λ → 0⁺ has two branches. Above a threshold α_c = n_c/d² it recovers
S* exactly: δ ∝ λ and the excess risk R ∝ λ² (the noiseless phase III of docs/theory.md §3).
Below it, R tends to a positive limit as λ → 0. :func:`quadratic_recovery_threshold` locates
α_c by bisection, classifying each α by the ratio R(λ)/R(λ/10) (100 on the exact-recovery
branch, 1 on the other). The reference :func:`shallowscaling.references.statistical_dimension.
psd_trace_threshold` computes the same threshold from convex geometry, without state evolution.

Diagonal model. With Δ = 0 and a sparse teacher (k = εd ones, zeros elsewhere), the diagonal state evolution
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
from ..targets import family_values, sparse_count
from .diagonal import solve_diagonal_se
from .quadratic_deterministic import solve_quadratic_se_deterministic

__all__ = [
    "DiagonalRecoveryThreshold",
    "QuadraticRecoveryThreshold",
    "diagonal_recovery_threshold",
    "quadratic_recovery_threshold",
]

#: R(λ)/R(λ/10) above this is the exact-recovery branch (R ∝ λ² gives 100, a positive limit 1);
#: the geometric middle, so that the classification fails only where neither branch is clean.
_RATIO_SPLIT = 10.0

#: Bisection steps at most: [0, ½ + 2/d] shrinks below 1e-3 in 9.
_MAX_STEPS = 60


@dataclass(frozen=True)
class QuadraticRecoveryThreshold:
    """Where the noiseless quadratic SE starts to recover a rank-ρd target exactly.

    Attributes
    ----------
    threshold : float
        α_c = n_c/d², the midpoint of ``bracket``; NaN (with ``converged`` False) when not even
        α = ½ + 2/d, where every rank is recovered, shows exact recovery.
    bracket : tuple of float
        (α without exact recovery, α with exact recovery), at most ``tol`` apart when converged.
    solves : int
        State-evolution solves used (two per α: at λ and λ/10).
    converged : bool
        True iff every solve converged and the bracket is narrower than ``tol``.
    rank : int
        round(ρd), the rank of the target actually used.
    d : int
        Dimension.
    lam : float
        The smaller-λ pair is (λ, λ/10).
    message : str
        What stopped the bisection.
    """

    threshold: float
    bracket: tuple[float, float]
    solves: int
    converged: bool
    rank: int
    d: int
    lam: float
    message: str


def quadratic_recovery_threshold(
    rank_ratio: float, d: int, *, lam: float = 1e-6, tol: float = 1e-3
) -> QuadraticRecoveryThreshold:
    """Bisect on α = n/d² for the exact-recovery threshold of the noiseless quadratic SE.

    The target is the ``sparse`` family with ε = ρ (a rank-round(ρd) projector, unit
    normalisation; the threshold depends only on the rank), Δ = 0, and the deterministic route
    with the wide contour (:func:`.quadratic_deterministic.solve_quadratic_se_deterministic`).
    At each α the excess risks R at λ and λ/10 are compared: R(λ)/R(λ/10) > 10 is exact
    recovery (R ∝ λ²). Since n = round(αd²) is an integer, the bracket is resolved to 1/d² at
    best.

    Parameters
    ----------
    rank_ratio : float
        ρ = rank/d in (0, 1].
    d : int
        Dimension, ≥ 2.
    lam : float, default 1e-6
        λ of the first solve at each α; small enough that the exact-recovery risk (λd/n)²-like
        is far below the limit of the other branch near the threshold.
    tol : float, default 1e-3
        Width of the final bracket in α.

    Returns
    -------
    QuadraticRecoveryThreshold

    Examples
    --------
    >>> res = quadratic_recovery_threshold(0.2, 400)  # 20 solves, ~20 s
    >>> res.converged, round(res.threshold, 3), res.rank
    (True, 0.256, 80)
    """
    rho = check_real(rank_ratio, "rank_ratio", "rank ratio ρ = rank(S*)/d", lower=0.0, upper=1.0, lower_inclusive=False)
    d = check_int(d, "d", "input dimension d", lower=2)
    lam = check_real(lam, "lam", "weight decay λ", lower=0.0, lower_inclusive=False)
    tol = check_real(tol, "tol", "bracket width in α", lower=1.0 / d**2, lower_inclusive=False)
    s = family_values("sparse", d, sparsity=rho)
    solves = 0
    all_converged = True

    def recovers(alpha: float) -> bool:
        nonlocal solves, all_converged
        n = max(1, round(alpha * d * d))
        risks = []
        for scale in (1.0, 0.1):
            res = solve_quadratic_se_deterministic(s, n, lam * scale, 0.0, wide_contour=True)
            solves += 1
            all_converged = all_converged and res.converged
            risks.append(res.excess_risk)
        # A risk of exactly 0 cannot occur for λ > 0 (t > 0 biases Ŝ); guard the division anyway.
        return risks[1] <= 0.0 or risks[0] / risks[1] > _RATIO_SPLIT

    # Below α = 0 nothing is recovered; the full-rank closed form recovers iff 2α > 1 + 1/d
    # (quadratic_deterministic, closed form), so ½ + 2/d recovers every rank.
    lo, hi = 0.0, 0.5 + 2.0 / d
    if not recovers(hi):
        message = f"no exact recovery even at α = {hi:.4g}"
        return QuadraticRecoveryThreshold(math.nan, (lo, hi), solves, False, sparse_count(d, rho), d, lam, message)
    steps = 0
    while hi - lo > tol and steps < _MAX_STEPS:
        mid = 0.5 * (lo + hi)
        if recovers(mid):
            hi = mid
        else:
            lo = mid
        steps += 1
    narrow = hi - lo <= tol
    message = f"{steps} bisection steps, bracket width {hi - lo:.2e} (tol {tol:.1e})"
    if not all_converged:
        message += "; some state-evolution solves did not converge"
    return QuadraticRecoveryThreshold(
        0.5 * (lo + hi), (lo, hi), solves, narrow and all_converged, sparse_count(d, rho), d, lam, message
    )


@dataclass(frozen=True)
class DiagonalRecoveryThreshold:
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
) -> DiagonalRecoveryThreshold:
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
    return DiagonalRecoveryThreshold(
        threshold=0.5 * (low + high) / d, lower=low / d, upper=high / d, sample_ratio=n / d, d=d,
        evaluations=len(residuals), max_residual=max_residual, converged=converged, message=message,
    )  # fmt: skip
