"""Bayes-optimal state evolution of the diagonal model (docs/theory.md §2.3).

For labels ``y = θ*·x/√d + √Δ ξ`` with n samples, the Bayes-optimal (AMP) error is given by an
effective noise δ solving the scalar fixed point ::

    (n/d) δ² = Δ + mmse(δ),      R^BO = (n/d) δ² − Δ,

where mmse(δ) is the minimum mean squared error of estimating θ from θ + δz, z ~ N(0, 1), under
one of two priors built from the teacher variances v_i (docs/theory.md §1.2):

* ``"mixture"``: the exchangeable prior π = (1/d) Σ_i N(0, v_i), i.e. the statistician knows the
  variance profile but not which coordinate carries which variance (the same information a
  permutation-equivariant estimator such as the LASSO uses). Its posterior mean is
  ``E[θ | y] = y Σ_j π_j(y) v_j/(v_j + δ²)`` with ``π_j(y) ∝ N(y; 0, v_j + δ²)``, and
  ``mmse = (1/d) Σ v_i − E_y E[θ | y]²``, the outer expectation by a trapezoid rule in log|y|
  (Gauss–Hermite quadrature per component is the obvious choice, but it is not accurate enough
  for power-law mixtures because the posterior switches components inside each component's
  scale, while the log-grid trapezoid rule matches adaptive quadrature; measurements:
  docs/science.md, Notes moved from the source);
* ``"index_aware"``: θ_i ~ N(0, v_i) with i known, ``mmse = (1/d) Σ_i v_i δ²/(v_i + δ²)``.

The index-aware error is never larger than the mixture one (more information). The fixed point
returned is the largest root in δ², the one reached by AMP from an uninformative start; for the
index-aware prior the root is unique (the equation divided by δ² is increasing in δ²).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.special import logsumexp

from .._validation import check_choice, check_int, check_real
from ..progress import Heartbeat
from ..results import warn_not_converged

__all__ = ["PRIORS", "DiagonalBayesSEResult", "solve_diagonal_bayes_se"]

PRIORS = ("mixture", "index_aware")

#: Trapezoid step in log|y| for the mixture MMSE. The rule converges exponentially: at step 0.1
#: the MMSE of the d = 200, γ = 1 prior already agrees with adaptive quadrature to 1e-10
#: relative; 0.05 leaves a margin (agreement ~1e-12).
_LOG_Y_STEP = 0.05

#: Integration range in log|y| around the component scales √(c_j + δ²): 15 below the smallest
#: (the integrand vanishes like y³, e^{-45}) and log 12 above the largest (Gaussian tail e^{-72}).
_LOG_Y_BELOW = 15.0
_LOG_Y_ABOVE = math.log(12.0)

#: Step (in log δ²) of the downward scan for the largest root: a factor 4 in δ².
_SCAN_STEP = math.log(4.0)

#: Smallest δ² scanned relative to the starting value before δ = 0 is declared (Δ = 0 only).
_SCAN_DEPTH = 1e-30


@dataclass(frozen=True)
class DiagonalBayesSEResult:
    """Fixed point of the Bayes-optimal diagonal state evolution (docs/theory.md §2.3).

    Attributes
    ----------
    delta : float
        Effective noise δ.
    excess_risk : float
        R^BO = (n/d)δ² − Δ (= mmse(δ) at the fixed point).
    fixed_point_residual : float
        ``|(n/d)δ² − Δ − mmse(δ)| / ((n/d)δ²)`` recomputed at δ (0 when δ = 0 solves exactly).
    iterations : int
        Evaluations of mmse(δ).
    converged, status, message
        Whether ``fixed_point_residual <= tol``, the status word and the reason with numbers.
    prior : str
        ``"mixture"`` or ``"index_aware"``.
    """

    delta: float
    excess_risk: float
    fixed_point_residual: float
    iterations: int
    converged: bool
    status: str
    message: str
    prior: str


def _compress(variances: np.ndarray, max_components: int) -> tuple[np.ndarray, np.ndarray]:
    """Mixture (component variances, weights summing to 1); at most ``max_components`` of them.

    Beyond that, components are merged in equal-width bins of log v (zero variances kept apart),
    each bin's variance being its mean so that E θ² is preserved exactly. The merged mixture is
    an approximation whose error is second order in the bin width.
    """
    d = variances.size
    if d <= max_components:
        return variances.copy(), np.full(d, 1.0 / d)
    positive = variances[variances > 0.0]
    logs = np.log(positive)
    bins = max_components - 1
    span = logs.max() - logs.min()
    index = (
        np.zeros(positive.size, dtype=int)
        if span == 0.0
        else np.minimum(((logs - logs.min()) / span * bins).astype(int), bins - 1)
    )
    counts = np.bincount(index, minlength=bins).astype(float)
    sums = np.bincount(index, weights=positive, minlength=bins)
    keep = counts > 0
    components = sums[keep] / counts[keep]
    weights = counts[keep] / d
    zeros = d - positive.size
    if zeros:
        components = np.append(components, 0.0)
        weights = np.append(weights, zeros / d)
    return components, weights


def _mixture_mmse(components: np.ndarray, weights: np.ndarray, delta: float) -> float:
    """MMSE of θ ~ Σ_j w_j N(0, c_j) observed as y = θ + δz (trapezoid rule in u = log|y|).

    Two exact forms, each used where it does not cancel: for δ² >= E θ²,
    ``mmse = E θ² − E_y E[θ|y]²`` with ``E[θ|y] = y Σ_j π_j(y) c_j/s_j``; for δ² < E θ²
    (Tweedie), ``mmse = δ² − δ⁴ E_y (p'(y)/p(y))²`` with ``p'/p = −y Σ_j π_j(y)/s_j``; here
    s_j = c_j + δ², π_j(y) ∝ w_j N(y; 0, s_j) and p the marginal of y. Both expectations are
    ``2 ∫_0^∞ q(y)²/p(y) dy`` with ``q(y) = y Σ_j w_j N(y; 0, s_j) r_j`` (r_j = c_j/s_j or 1/s_j).
    In u = log y the integrand is analytic and decays exponentially at both ends, so the
    trapezoid rule converges exponentially in 1/step; sums are taken in log space.
    """
    total = components + delta**2
    signal = float(weights @ components)
    tweedie = delta**2 < signal
    logs = np.arange(
        0.5 * math.log(total.min()) - _LOG_Y_BELOW, 0.5 * math.log(total.max()) + _LOG_Y_ABOVE, _LOG_Y_STEP
    )
    y = np.exp(logs)
    log_terms = np.log(weights) - 0.5 * np.log(2.0 * math.pi * total) - 0.5 * (y[:, None] ** 2) / total
    log_marginal = logsumexp(log_terms, axis=1)
    if tweedie:
        log_numerator = logs + logsumexp(log_terms - np.log(total), axis=1)
    else:
        kept = components > 0.0
        log_numerator = logs + logsumexp(log_terms[:, kept] + np.log(components[kept] / total[kept]), axis=1)
    # dy = y du: one more factor y in the integrand.
    moment = 2.0 * _LOG_Y_STEP * float(np.sum(np.exp(2.0 * log_numerator - log_marginal + logs)))
    return delta**2 - delta**4 * moment if tweedie else signal - moment


def _index_aware_mmse(variances: np.ndarray, delta: float) -> float:
    """(1/d) Σ_i v_i δ²/(v_i + δ²): Gaussian prior with known index."""
    return float(np.mean(variances * delta**2 / (variances + delta**2)))


def solve_diagonal_bayes_se(
    variances: np.ndarray,
    n: int,
    noise: float,
    *,
    prior: str = "mixture",
    tol: float = 1e-10,
    max_iter: int = 200,
    max_components: int = 2048,
) -> DiagonalBayesSEResult:
    """Solve ``(n/d)δ² = Δ + mmse(δ)`` for the diagonal teacher's prior (docs/theory.md §2.3).

    Parameters
    ----------
    variances : ndarray, shape (d,)
        Prior variances v_i >= 0 of θ*_i (e.g. :func:`shallowscaling.targets.diagonal_variances`).
    n : int
        Number of samples n >= 1.
    noise : float
        Label-noise variance Δ >= 0.
    prior : {"mixture", "index_aware"}, default "mixture"
        Exchangeable mixture (1/d) Σ N(0, v_i), or independent N(0, v_i) with the index known.
    tol : float, default 1e-10
        Tolerance on ``fixed_point_residual``.
    max_iter : int, default 200
        Cap on mmse evaluations (bracketing scan plus Brent's method).
    max_components : int, default 2048
        Mixture components kept; more variances are merged in log-variance bins (``"mixture"``
        only; the cost is O(components × 500) per mmse evaluation).

    Returns
    -------
    DiagonalBayesSEResult

    Notes
    -----
    The largest root in δ² is returned (module docstring); with Δ = 0 and δ → 0 admissible
    (n large enough for exact recovery) the result is δ = 0 and R^BO = 0.

    Examples
    --------
    >>> import numpy as np
    >>> result = solve_diagonal_bayes_se(np.ones(50), n=100, noise=0.5, prior="index_aware")
    >>> bool(result.converged), round(result.excess_risk, 6)
    (True, 0.280776)
    """
    variances = np.asarray(variances, dtype=float)
    if variances.ndim != 1 or variances.size < 1 or not np.all(np.isfinite(variances)) or np.any(variances < 0):
        raise ValueError(
            f"`variances` (prior variances v_i) must be a finite non-negative 1-d array; got {variances!r}"
        )
    d = variances.size
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    check_choice(prior, "prior", PRIORS)
    tol = check_real(tol, "tol", "fixed-point tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "mmse evaluation cap", lower=1)
    max_components = check_int(max_components, "max_components", "mixture components kept", lower=2)

    ratio = n / d
    beat = Heartbeat("solve_diagonal_bayes_se", "fixed_point_residual", d=d, n=n, noise=noise, prior=prior, tol=tol)
    if prior == "mixture":
        components, weights = _compress(variances, max_components)

        def mmse(delta: float) -> float:
            return _mixture_mmse(components, weights, delta)

    else:

        def mmse(delta: float) -> float:
            return _index_aware_mmse(variances, delta)

    evaluations = 0

    def equation(log_delta2: float) -> float:
        """n/d − Δ/δ² − mmse(δ)/δ² as a function of s = log δ²."""
        nonlocal evaluations
        evaluations += 1
        delta2 = math.exp(log_delta2)
        error = mmse(math.sqrt(delta2))
        value = ratio - (noise + error) / delta2
        # |value|/(n/d) is the relative residual |(n/d)δ² − Δ − mmse|/((n/d)δ²); error ≈ R^BO.
        beat.tick(evaluations, error, abs(value) / ratio, delta=math.sqrt(delta2))
        return value

    signal = float(np.mean(variances))
    if noise + signal == 0.0:
        beat.end("converged", 0, 0.0, 0.0, delta=0.0)
        return DiagonalBayesSEResult(0.0, 0.0, 0.0, 0, True, "converged", "Δ = 0 and v = 0: δ = 0", prior)
    # At δ² = (Δ + E θ²)/(n/d) the equation is >= 0 because mmse <= E θ²; scan down to a sign change.
    upper = math.log((noise + signal) / ratio)
    lower = upper
    floor = upper + math.log(_SCAN_DEPTH)
    value = math.inf
    while lower > floor and evaluations < max_iter:
        lower -= _SCAN_STEP
        value = equation(lower)
        if value < 0.0:
            break
        upper = lower
    if value >= 0.0 and noise == 0.0 and lower <= floor:
        beat.end("converged", evaluations, 0.0, 0.0, delta=0.0)
        return DiagonalBayesSEResult(
            0.0, 0.0, 0.0, evaluations, True, "converged",
            f"Δ = 0 and (n/d)δ² > mmse(δ) down to δ² = {math.exp(lower):.1e}: exact recovery, δ = 0", prior,
        )  # fmt: skip
    if value >= 0.0:
        message = f"no sign change of (n/d)δ² − Δ − mmse(δ) found in {evaluations} evaluations"
        beat.end("stalled", evaluations, math.nan, math.nan)
        warn_not_converged("solve_diagonal_bayes_se", message, "Raise `max_iter`.")
        return DiagonalBayesSEResult(math.nan, math.nan, math.nan, evaluations, False, "stalled", message, prior)

    root, info = scipy.optimize.brentq(
        equation, lower, upper, xtol=1e-15, rtol=4 * np.finfo(float).eps,
        maxiter=max(max_iter - evaluations, 1), full_output=True, disp=False,
    )  # fmt: skip
    delta = math.sqrt(math.exp(root))
    lhs = ratio * delta**2
    residual = abs(lhs - noise - mmse(delta)) / lhs
    converged = bool(info.converged) and residual <= tol
    status = "converged" if converged else ("max_iter" if not info.converged else "stalled")
    message = (
        f"fixed-point residual {residual:.2e} (tol {tol:.0e}) after {evaluations} mmse evaluations "
        f"(Brent: {info.flag}), δ={delta:.6g}"
    )
    beat.end(status, evaluations, lhs - noise, residual, delta=delta)
    if not converged:
        warn_not_converged("solve_diagonal_bayes_se", message, "Raise `max_iter`.")
    return DiagonalBayesSEResult(
        delta=delta,
        excess_risk=lhs - noise,
        fixed_point_residual=residual,
        iterations=evaluations,
        converged=converged,
        status=status,
        message=message,
        prior=prior,
    )
