"""Exact-recovery threshold of the noiseless quadratic state evolution (docs/theory.md, classic results).

With Δ = 0 and a rank-ρd target S* (the ``sparse`` family: k = round(ρd) equal eigenvalues), the
quadratic state evolution at λ → 0⁺ has two branches. Above a threshold α_c = n_c/d² it recovers
S* exactly: δ ∝ λ and the excess risk R ∝ λ² (the noiseless phase III of docs/theory.md §3).
Below it, R tends to a positive limit as λ → 0. :func:`quadratic_recovery_threshold` locates
α_c by bisection, classifying each α by the ratio R(λ)/R(λ/10) (100 on the exact-recovery
branch, 1 on the other). The reference :func:`shallowscaling.references.statistical_dimension.
psd_trace_threshold` computes the same threshold from convex geometry, without state evolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._validation import check_int, check_real
from ..targets import family_values, sparse_count
from .quadratic_deterministic import solve_quadratic_se_deterministic

__all__ = ["RecoveryThreshold", "quadratic_recovery_threshold"]

#: R(λ)/R(λ/10) above this is the exact-recovery branch (R ∝ λ² gives 100, a positive limit 1);
#: the geometric middle, so that the classification fails only where neither branch is clean.
_RATIO_SPLIT = 10.0

#: Bisection steps at most: [0, ½ + 2/d] shrinks below 1e-3 in 9.
_MAX_STEPS = 60


@dataclass(frozen=True)
class RecoveryThreshold:
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
) -> RecoveryThreshold:
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
    RecoveryThreshold

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
        return RecoveryThreshold(math.nan, (lo, hi), solves, False, sparse_count(d, rho), d, lam, message)
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
    return RecoveryThreshold(
        0.5 * (lo + hi), (lo, hi), solves, narrow and all_converged, sparse_count(d, rho), d, lam, message
    )
