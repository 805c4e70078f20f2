"""Non-asymptotic state evolution of the LASSO / diagonal network (docs/theory.md §2.1).

The LASSO estimate ``θ̂ = argmin ½ Σ_μ (y_μ − θ·x_μ/√d)² + λ‖θ‖₁`` is described by two scalars,
the effective noise δ and the threshold t = λε: coordinate-wise ``θ̂_i ≈ η(θ*_i + δ z_i; t)`` with
η the soft threshold and z_i ~ N(0, 1). They solve, at the actual finite (n, d, λ, Δ) and the
actual sampled teacher θ*,

* (D-i)  ``(n/d) δ² = Δ + R(δ, t)``,  ``R(δ, t) = (1/d) Σ_i E_z (η(θ*_i + δz; t) − θ*_i)²``;
* (D-ii) ``t = λ d / (n − k)``,  ``k = Σ_i P(|θ*_i + δz| > t)``,

and the prediction of the excess risk ``‖θ̂ − θ*‖²/d`` is ``(n/d) δ² − Δ``.

Solver (the threshold parametrisation of docs/theory.md §2.1): with κ = t/δ held fixed,
``h(δ) = n/d − Δ/δ² − (1/d) Σ_i m(θ*_i/δ; κ)`` is increasing in δ (m is the per-coordinate MSE in
units of δ², increasing in |θ/δ|), so δ(κ) is a unique bracketed root, which exists iff
``m(0; κ) < n/d``. Then ``λ(κ) = κ δ(κ) (n − k(κ))/d`` is increasing in κ on (κ_min, ∞), so κ is a
bracketed root of λ(κ) = λ. A plain damped iteration of (D-i, D-ii) diverges at small λ when
n < d, which is why it is not used. Both scalar solves are safeguarded Newton steps inside the
bracket (analytic derivatives, bisection fallback).

Cost: for large d the nested solve runs on a quantile summary of |θ*| (``_SUMMARY_SIZE`` groups)
to find a starting point, then a two-dimensional Newton iteration on the full vector polishes it
to the tolerance (O(d) per step, about four steps). Should Newton fail, the nested solver runs on
the full vector (timing: docs/performance.md, Notes moved from the source). Should that fail too,
Newton restarts from the summary's last iterate: near the basis-pursuit limit (λ → 0 at n < d,
docs/theory.md §2.1) the nested solve cannot meet its tolerance although its iterate is close.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.special import ndtr

from .._validation import check_int, check_real
from ..progress import Heartbeat
from ..results import warn_not_converged
from ._diagonal_problem import NEWTON_MAX_ITER, DiagonalProblem, EvaluationCapError
from .soft_threshold import INV_SQRT_2PI, expected_soft_threshold_mse, soft_threshold_active_probability

__all__ = [
    "DiagonalSEResult",
    "expected_soft_threshold_mse",
    "soft_threshold_active_probability",
    "solve_diagonal_se",
]


#: Above this many coordinates the nested solve runs on a summary of |θ*| with at most this many
#: groups (see ``_summary``) before the full-vector Newton polish. 512 groups keep a map evaluation
#: cheap and land close enough to the exact fixed point that Newton needs only a few steps
#: (measurements: docs/performance.md, Notes moved from the source).
_SUMMARY_SIZE = 512
#: Stopping level of the rescue's first Newton stage (residuals relative to n/d and to n): about
#: the float resolution of k/n, so that the log-form polish starts next to the root.
_RESCUE_RTOL = 1e-14


@dataclass(frozen=True)
class DiagonalSEResult:
    """Fixed point of the LASSO state evolution (docs/theory.md §2.1).

    Attributes
    ----------
    delta : float
        Effective noise δ.
    epsilon : float
        ε = d/(n − k), so that the threshold is t = λε.
    threshold : float
        t = λε = κδ.
    excess_risk : float
        Predicted ``‖θ̂ − θ*‖²/d = (n/d)δ² − Δ``.
    nonzero_fraction : float
        k/d, the predicted fraction of nonzero coordinates of θ̂.
    fixed_point_residual : float
        max of the relative residuals of (D-i), ``|(n/d)δ² − Δ − R(δ,t)| / ((n/d)δ²)``, and of
        (D-ii), ``|t − λd/(n−k)| / t``, recomputed from the physical-unit closed forms.
    iterations : int
        Evaluations of the fixed-point map on the full θ* vector.
    converged, status, message
        Whether ``fixed_point_residual <= tol``, the status word and the reason with numbers.
    lam : float
        The regularisation λ solved for.
    """

    delta: float
    epsilon: float
    threshold: float
    excess_risk: float
    nonzero_fraction: float
    fixed_point_residual: float
    iterations: int
    converged: bool
    status: str
    message: str
    lam: float


def _noiseless_start(abs_theta: np.ndarray, n: int, lam: float) -> tuple[float, float] | None:
    """Newton start for Δ = 0 on the exact-recovery branch (δ ∝ λ as λ → 0).

    As δ → 0 at fixed κ, (D-i) divided by δ² tends to ``n/d = F(κ)`` with
    ``F(κ) = f(1 + κ²) + (1 − f) m(0; κ)`` (f the fraction of nonzero θ*_i, m(0; κ) =
    2[(1 + κ²)Q(κ) − κφ(κ)]), up to terms of order exp(−(|θ*_i|/δ − κ)²/2). F is convex,
    F'(κ) = 2κ k(κ)/d − 4(1 − f)φ(κ) with k(κ)/d = f + 2(1 − f)Q(κ), and
    ``F(κ) − k(κ)/d = κF'(κ)/2``: at a root of F = n/d, n − k > 0 iff F'(κ) > 0. The admissible
    root κ_c is therefore the larger one; it exists iff ``min F < n/d`` (the Donoho–Maleki–Montanari
    phase transition, :func:`shallowscaling.rates.dmm_transition`). Near κ_c, δ(κ) rises from 0 to
    O(1) within exp(−O(1/δ²)) of κ_c, so bracketing κ in float64 fails at small λ (the
    threshold parametrisation sits on its limit); but δ itself is well determined: with κ = κ_c
    and every nonzero coordinate active, (D-ii) gives ``δ ≈ λd/(κ_c (n − k_c))``, and the
    two-dimensional Newton step in (log δ, κ) is well conditioned there (∂G1/∂κ = −F'(κ_c) ≠ 0).
    Returns (log δ, κ_c), or None beyond the transition.
    """
    d = abs_theta.size
    fraction = np.count_nonzero(abs_theta) / d

    def limit(kappa: float) -> float:
        zero_mse = 2.0 * ((1.0 + kappa**2) * float(ndtr(-kappa)) - kappa * INV_SQRT_2PI * math.exp(-0.5 * kappa**2))
        return fraction * (1.0 + kappa**2) + (1.0 - fraction) * zero_mse - n / d

    lower = 0.0
    if limit(0.0) >= 0.0:
        # F(0) = 1 >= n/d (n <= d): the admissible root lies right of the minimiser of F, where
        # F' = 0; F' < 0 at κ = 0 whenever f < 1 and F' is increasing (F'' = 2k/d > 0).
        def slope(kappa: float) -> float:
            active = fraction + (1.0 - fraction) * 2.0 * float(ndtr(-kappa))
            return 2.0 * kappa * active - 4.0 * (1.0 - fraction) * INV_SQRT_2PI * math.exp(-0.5 * kappa**2)

        if fraction >= 1.0:
            return None
        upper = 1.0
        while slope(upper) < 0.0:
            upper *= 2.0
        lower = scipy.optimize.brentq(slope, 0.0, upper, xtol=1e-15)
        if limit(lower) >= 0.0:
            return None
    upper = max(1.0, 2.0 * lower)
    while limit(upper) < 0.0:
        upper *= 2.0
    kappa = scipy.optimize.brentq(limit, lower, upper, xtol=1e-15)
    free = n - d * (fraction + (1.0 - fraction) * 2.0 * float(ndtr(-kappa)))
    if kappa <= 0.0 or free <= 0.0:
        return None
    return math.log(lam * d / (kappa * free)), kappa


def _summary(abs_theta: np.ndarray, groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Group sorted |θ*| into at most ``groups`` bins, each represented by its root-mean-square.

    Bin edges are the union of equal-count edges and equal-ratio edges in |θ*|, so that both the
    bulk and the few large coordinates of a power-law teacher stay resolved.
    """
    ordered = np.sort(abs_theta)
    half = groups // 2
    count_edges = np.linspace(0, ordered.size, half + 1).round().astype(int)
    positive = ordered[ordered > 0.0]
    if positive.size:
        value_edges = np.geomspace(positive[0], positive[-1], half + 1)[1:-1]
        count_edges = np.concatenate([count_edges, np.searchsorted(ordered, value_edges)])
    edges = np.unique(count_edges)
    counts = np.diff(edges).astype(float)
    squares = np.add.reduceat(ordered**2, edges[:-1])
    return np.sqrt(squares / counts), counts


def _residual(
    theta_star: np.ndarray, n: int, lam: float, noise: float, delta: float, threshold: float
) -> tuple[float, float, float]:
    """(relative residual, R(δ, t), k) from the physical-unit closed forms, independent of the solver."""
    d = theta_star.size
    risk = float(np.mean(expected_soft_threshold_mse(theta_star, delta, threshold)))
    active = float(np.sum(soft_threshold_active_probability(theta_star, delta, threshold)))
    lhs = n / d * delta**2
    first = abs(lhs - noise - risk) / lhs
    second = abs(threshold - lam * d / (n - active)) / threshold if n > active else math.inf
    return max(first, second), risk, active


def _certificate(theta_star: np.ndarray, n: int, lam: float, noise: float, log_delta: float, kappa: float) -> float:
    """The relative residual of :func:`_residual` at (log δ, κ); inf where δ or t is not positive and finite."""
    if not (math.isfinite(log_delta) and math.isfinite(kappa) and kappa > 0.0):
        return math.inf
    delta = math.exp(log_delta)
    return _residual(theta_star, n, lam, noise, delta, kappa * delta)[0] if delta > 0.0 else math.inf


def _rescue(
    abs_theta: np.ndarray,
    n: int,
    lam: float,
    noise: float,
    start: tuple[float, float],
    tol: float,
    beat: Heartbeat,
) -> tuple[float, float, int]:
    """Newton on the full vector from the summary's last iterate: (log δ, κ, evaluations).

    The fallback when the other solves end uncertified, although the summary's nested solve
    reported failure. As λ → 0 at n < d (basis-pursuit limit, docs/theory.md §2.1) k → n and
    λ(κ) = κδ(n − k)/d amplifies the float noise of the inner root δ(κ) by n/(n − k) (8e5 at
    d = 1e5, n = 5623, λ = d^-1.5): the nested solve cannot meet its tolerance there, but its
    iterate is close, and the joint Newton step on (log δ, κ) does not need δ(κ) solved to that
    precision. The iterate may have k > n on the full vector, where the log form of (D-ii) is
    undefined: the first stage uses the form that is smooth across n = k, the second polishes
    in the log form.
    """
    d = abs_theta.size
    rescue = DiagonalProblem(
        abs_theta, None, d, n, lam, noise, max_evaluations=(NEWTON_MAX_ITER + 1) * 4, heartbeat=beat, stage="rescue"
    )
    log_delta, kappa = start
    try:
        log_delta, kappa, _ = rescue.solve_newton(log_delta, kappa, _RESCUE_RTOL, across_basis_pursuit=True)
        log_delta, kappa, _ = rescue.solve_newton(log_delta, kappa, tol)
    except EvaluationCapError:
        pass  # the iterate before the interrupted stage stands; its certificate decides
    return log_delta, kappa, rescue.evaluations


def solve_diagonal_se(
    theta_star: np.ndarray,
    n: int,
    lam: float,
    noise: float,
    *,
    tol: float = 1e-10,
    max_iter: int = 200,
) -> DiagonalSEResult:
    """Solve the non-asymptotic LASSO state evolution (D-i, D-ii) for the sampled teacher.

    Parameters
    ----------
    theta_star : ndarray, shape (d,)
        The sampled teacher coefficients θ* (only the empirical distribution of |θ*_i| matters).
    n : int
        Number of samples n >= 1.
    lam : float
        Regularisation λ > 0 of ``½ Σ_μ (y_μ − θ·x_μ/√d)² + λ‖θ‖₁``.
    noise : float
        Label-noise variance Δ >= 0.
    tol : float, default 1e-10
        Tolerance on ``fixed_point_residual`` (relative residuals of (D-i) and (D-ii)).
    max_iter : int, default 200
        Cap on the evaluations of the fixed-point map on the full vector by the fallback solver
        (the Newton polish uses at most 30).

    Returns
    -------
    DiagonalSEResult

    Notes
    -----
    Equations (docs/theory.md §2.1): ``(n/d)δ² = Δ + (1/d) Σ_i E(η(θ*_i + δz; t) − θ*_i)²`` and
    ``t = λd/(n − k)``, ``k = Σ_i P(|θ*_i + δz| > t)``; ε = d/(n − k); predicted excess risk
    ``(n/d)δ² − Δ``. Solved in the threshold parametrisation κ = t/δ (module docstring).
    With Δ = 0 and θ* = 0 the solution is δ = 0 and the risk is 0.
    The prediction is a conjecture far outside the proportional regime (paper Sec. 2.4, Eq. 19)
    and is least accurate near the interpolation peak n ≈ d at small λ.

    Examples
    --------
    >>> import numpy as np
    >>> result = solve_diagonal_se(np.ones(100), n=200, lam=1.0, noise=0.5)
    >>> result.converged, round(result.excess_risk, 3) > 0
    (True, True)
    """
    theta_star = np.asarray(theta_star, dtype=float)
    if theta_star.ndim != 1 or theta_star.size < 1 or not np.all(np.isfinite(theta_star)):
        raise ValueError(f"`theta_star` (teacher θ*) must be a finite 1-d array; got shape {theta_star.shape}")
    d = theta_star.size
    n = check_int(n, "n", "number of samples n", lower=1)
    lam = check_real(lam, "lam", "regularisation λ", lower=0.0, lower_inclusive=False)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    tol = check_real(tol, "tol", "fixed-point tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "evaluation cap", lower=1)
    beat = Heartbeat("solve_diagonal_se", "fixed_point_residual", d=d, n=n, lam=lam, noise=noise, tol=tol)

    abs_theta = np.abs(theta_star)
    if noise == 0.0 and not np.any(abs_theta):
        beat.end("converged", 0, 0.0, 0.0, delta=0.0)
        return DiagonalSEResult(
            delta=0.0, epsilon=d / n, threshold=lam * d / n, excess_risk=0.0, nonzero_fraction=0.0,
            fixed_point_residual=0.0, iterations=0, converged=True, status="converged",
            message="Δ = 0 and θ* = 0: δ = 0 solves (D-i) exactly", lam=lam,
        )  # fmt: skip

    # Start: κ from the large-κ limit (every coordinate thresholded, δ² = (Δ + Q)d/n).
    log_delta0 = 0.5 * math.log((noise + float(np.mean(abs_theta**2))) / (n / d))
    kappa0 = lam * d / (n * math.exp(log_delta0))
    if d > _SUMMARY_SIZE:
        summary = DiagonalProblem(*_summary(abs_theta, _SUMMARY_SIZE), d, n, lam, noise, heartbeat=beat, stage="start")
    else:
        summary = DiagonalProblem(abs_theta, None, d, n, lam, noise, heartbeat=beat, stage="start")
    # The summary's start only needs to be within Newton's basin: 1e-8 is ample.
    log_delta, kappa, ok = summary.solve_nested(kappa0, log_delta0, max(tol, 1e-8))
    summary_point = (log_delta, kappa)
    starts = [summary_point] if ok else []
    if noise == 0.0:
        starts.append(_noiseless_start(abs_theta, n, lam))
    full = DiagonalProblem(
        abs_theta, None, d, n, lam, noise, max_evaluations=(NEWTON_MAX_ITER + 1) * 2 + max_iter, heartbeat=beat
    )
    try:
        ok = False
        for start in starts:
            if start is not None and not ok:
                log_delta, kappa, ok = full.solve_newton(*start, tol)
        if not ok:
            if not (math.isfinite(kappa) and math.isfinite(log_delta)):
                kappa, log_delta = kappa0, log_delta0
            log_delta, kappa, ok = full.solve_nested(kappa, log_delta, tol)
    except EvaluationCapError:
        pass  # uncertified; the certificate below decides
    iterations = full.evaluations
    current = _certificate(theta_star, n, lam, noise, log_delta, kappa)
    if current > tol and all(map(math.isfinite, summary_point)):
        # Taken only when the solves above end uncertified, so converged points keep their floats.
        rescued_log_delta, rescued_kappa, spent = _rescue(abs_theta, n, lam, noise, summary_point, tol, beat)
        iterations += spent
        if _certificate(theta_star, n, lam, noise, rescued_log_delta, rescued_kappa) < current:
            log_delta, kappa = rescued_log_delta, rescued_kappa
    if not (math.isfinite(log_delta) and math.isfinite(kappa)):
        message = f"no bracketed fixed point found for n={n}, d={d}, λ={lam:g}, Δ={noise:g}"
        nan = math.nan
        beat.end("stalled", iterations, nan, nan)
        warn_not_converged("solve_diagonal_se", message, "Check the inputs (λ > 0, n >= 1).")
        return DiagonalSEResult(nan, nan, nan, nan, nan, nan, iterations, False, "stalled", message, lam)

    delta = math.exp(log_delta)
    threshold = float(kappa * delta)
    residual, _, active = _residual(theta_star, n, lam, noise, delta, threshold)
    converged = residual <= tol
    status = "converged" if converged else ("max_iter" if iterations >= max_iter else "stalled")
    message = (
        f"fixed-point residual {residual:.2e} (tol {tol:.0e}) after {iterations} full-vector "
        f"evaluations: δ={delta:.6g}, t={threshold:.6g}, κ={kappa:.6g}"
    )
    beat.end(status, iterations, n / d * delta**2 - noise, residual, delta=delta, threshold=threshold)
    if not converged:
        warn_not_converged(
            "solve_diagonal_se", message, "Loosen `tol` or report the inputs; the map may be ill-conditioned here."
        )
    return DiagonalSEResult(
        delta=delta,
        epsilon=d / (n - active),
        threshold=threshold,
        excess_risk=n / d * delta**2 - noise,
        nonzero_fraction=active / d,
        fixed_point_residual=residual,
        iterations=iterations,
        converged=converged,
        status=status,
        message=message,
        lam=lam,
    )
