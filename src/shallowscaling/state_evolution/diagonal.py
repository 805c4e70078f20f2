"""Non-asymptotic state evolution of the LASSO / diagonal network (spec §2.1).

The LASSO estimate ``θ̂ = argmin ½ Σ_μ (y_μ − θ·x_μ/√d)² + λ‖θ‖₁`` is described by two scalars,
the effective noise δ and the threshold t = λε: coordinate-wise ``θ̂_i ≈ η(θ*_i + δ z_i; t)`` with
η the soft threshold and z_i ~ N(0, 1). They solve, at the actual finite (n, d, λ, Δ) and the
actual sampled teacher θ*,

* (D-i)  ``(n/d) δ² = Δ + R(δ, t)``,  ``R(δ, t) = (1/d) Σ_i E_z (η(θ*_i + δz; t) − θ*_i)²``;
* (D-ii) ``t = λ d / (n − k)``,  ``k = Σ_i P(|θ*_i + δz| > t)``,

and the prediction of the excess risk ``‖θ̂ − θ*‖²/d`` is ``(n/d) δ² − Δ``.

Solver (the threshold parametrisation of spec §2.1): with κ = t/δ held fixed,
``h(δ) = n/d − Δ/δ² − (1/d) Σ_i m(θ*_i/δ; κ)`` is increasing in δ (m is the per-coordinate MSE in
units of δ², increasing in |θ/δ|), so δ(κ) is a unique bracketed root, which exists iff
``m(0; κ) < n/d``. Then ``λ(κ) = κ δ(κ) (n − k(κ))/d`` is increasing in κ on (κ_min, ∞), so κ is a
bracketed root of λ(κ) = λ. A plain damped iteration of (D-i, D-ii) diverges at small λ when
n < d, which is why it is not used. Both scalar solves are safeguarded Newton steps inside the
bracket (analytic derivatives, bisection fallback).

Cost: for large d the nested solve runs on a quantile summary of |θ*| (``_SUMMARY_SIZE`` groups)
to find a starting point, then a two-dimensional Newton iteration on the full vector polishes it
to the tolerance (O(d) per step, about four steps). Should Newton fail, the nested solver runs on
the full vector. One solve at d = 10⁵ takes a few hundredths of a second.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.optimize
from scipy.special import ndtr

from .._validation import check_int, check_real
from ..progress import Heartbeat
from ..results import warn_not_converged

__all__ = [
    "DiagonalSEResult",
    "expected_soft_threshold_mse",
    "soft_threshold_active_probability",
    "solve_diagonal_se",
]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)

#: Above this many coordinates the nested solve runs on a summary of |θ*| with at most this many
#: groups (see ``_summary``) before the full-vector Newton polish. 512 groups cost ~50 µs per map
#: evaluation and land within ~1e-5 of the exact fixed point, from where Newton needs 1–3 steps.
_SUMMARY_SIZE = 512

#: Newton iterations allowed on the full vector before falling back to the nested solver.
_NEWTON_MAX_ITER = 30


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    return _INV_SQRT_2PI * np.exp(-0.5 * x * x)


@dataclass(frozen=True)
class _Terms:
    """Sums over coordinates of the unit-noise soft-threshold moments at (δ, κ).

    ``mse`` = (1/d) Σ m(a_i; κ), ``active`` = Σ p(a_i; κ) (= k) with a_i = |θ*_i|/δ, and the
    derivative sums used by the Newton steps: ``mse_a`` = (1/d) Σ a_i ∂_a m, ``mse_kappa`` =
    (1/d) Σ ∂_κ m, ``active_a`` = Σ a_i ∂_a p, ``active_kappa`` = Σ ∂_κ p.
    """

    mse: float
    active: float
    mse_a: float
    mse_kappa: float
    active_a: float
    active_kappa: float


def _unit_terms(a: np.ndarray, kappa: float) -> tuple[np.ndarray, ...]:
    """Per-coordinate m, p and their derivatives for X = a + z, threshold κ, a ≥ 0.

    With u = κ − a, v = −κ − a (spec §2.1 closed forms divided by δ²):
    ``p = Q(u) + Φ(v)``, ``m = (1+κ²) p − (κ+a) φ(u) − (κ−a) φ(v) + a² (Φ(u) − Φ(v))``,
    ``∂_a m = 2a (Φ(u) − Φ(v))``, ``∂_κ m = 2κ p − 2 (φ(u) + φ(v))``,
    ``∂_a p = φ(u) − φ(v)``, ``∂_κ p = −(φ(u) + φ(v))``.
    """
    u = kappa - a
    v = -kappa - a
    # Q(u) and Φ(u) from one tail probability, so that whichever is tiny keeps full relative
    # accuracy (1 − Q(u) would lose it for large a, where it is multiplied by a²).
    tail_u = ndtr(-np.abs(u))
    upper_u = np.where(u >= 0.0, tail_u, 1.0 - tail_u)  # Q(u)
    lower_u = np.where(u >= 0.0, 1.0 - tail_u, tail_u)  # Φ(u)
    lower_v = ndtr(v)  # v ≤ −κ ≤ 0: a lower tail, accurate as is
    pdf_u = _normal_pdf(u)
    pdf_v = _normal_pdf(v)
    p = upper_u + lower_v
    inside = lower_u - lower_v
    m = (1.0 + kappa * kappa) * p - (kappa + a) * pdf_u - (kappa - a) * pdf_v + a * a * inside
    return m, p, inside, pdf_u, pdf_v


def _terms(abs_theta: np.ndarray, weights: np.ndarray | None, d: float, delta: float, kappa: float) -> _Terms:
    a = abs_theta / delta
    m, p, inside, pdf_u, pdf_v = _unit_terms(a, kappa)
    pdf_sum = pdf_u + pdf_v
    columns = np.stack([m, p, 2.0 * a * a * inside, 2.0 * kappa * p - 2.0 * pdf_sum, a * (pdf_u - pdf_v), pdf_sum])
    sums = columns.sum(axis=1) if weights is None else columns @ weights
    return _Terms(
        mse=sums[0] / d,
        active=sums[1],
        mse_a=sums[2] / d,
        mse_kappa=sums[3] / d,
        active_a=sums[4],
        active_kappa=-sums[5],
    )


def expected_soft_threshold_mse(theta: np.ndarray, delta: float, threshold: float) -> np.ndarray:
    """Per-coordinate ``E_z (η(θ + δz; t) − θ)²`` in closed form (spec §2.1).

    With u = (t − θ)/δ, v = (−t − θ)/δ, Φ the normal cdf, φ its density and Q = 1 − Φ:
    ``δ²[Q(u) + uφ(u)] − 2δtφ(u) + t²Q(u) + δ²[Φ(v) − vφ(v)] − 2δtφ(v) + t²Φ(v) + θ²[Φ(u) − Φ(v)]``.

    Parameters
    ----------
    theta : ndarray
        Signal values θ (any shape).
    delta : float
        Noise level δ > 0.
    threshold : float
        Soft threshold t >= 0.

    Returns
    -------
    ndarray
        The mean squared error, same shape as ``theta``.
    """
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)
    theta = np.asarray(theta, dtype=float)
    u = (threshold - theta) / delta
    v = (-threshold - theta) / delta
    upper_u, lower_u, lower_v = ndtr(-u), ndtr(u), ndtr(v)
    pdf_u, pdf_v = _normal_pdf(u), _normal_pdf(v)
    return (
        delta**2 * (upper_u + u * pdf_u)
        - 2.0 * delta * threshold * pdf_u
        + threshold**2 * upper_u
        + delta**2 * (lower_v - v * pdf_v)
        - 2.0 * delta * threshold * pdf_v
        + threshold**2 * lower_v
        + theta**2 * (lower_u - lower_v)
    )


def soft_threshold_active_probability(theta: np.ndarray, delta: float, threshold: float) -> np.ndarray:
    """Per-coordinate ``P(|θ + δz| > t) = Q(u) + Φ(v)`` (spec §2.1); same shape as ``theta``."""
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)
    theta = np.asarray(theta, dtype=float)
    return ndtr(-(threshold - theta) / delta) + ndtr((-threshold - theta) / delta)


@dataclass(frozen=True)
class DiagonalSEResult:
    """Fixed point of the LASSO state evolution (spec §2.1).

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


def _safeguarded_newton(
    func: Callable[[float], tuple[float, float]],
    lower: float,
    upper: float,
    start: float,
    ftol: float,
    max_iter: int,
) -> tuple[float, bool, int]:
    """Root of an increasing ``func`` (value, derivative) with func(lower) < 0 < func(upper).

    Newton steps that stay inside the shrinking bracket, bisection otherwise; stops when
    |func| <= ftol or the bracket is below float resolution. Returns (root, success, calls).
    """
    x = min(max(start, lower), upper)
    if not lower < x < upper:
        x = 0.5 * (lower + upper)
    for call in range(1, max_iter + 1):
        value, slope = func(x)
        if abs(value) <= ftol:
            return x, True, call
        if value < 0.0:
            lower = x
        else:
            upper = x
        if upper - lower <= 4.0 * np.finfo(float).eps * max(abs(lower), abs(upper), 1.0):
            return x, abs(value) <= 1e3 * ftol, call
        step = x - value / slope if slope > 0.0 else math.nan
        # Require the Newton point strictly inside the bracket, else bisect.
        x = step if lower < step < upper else 0.5 * (lower + upper)
    return x, False, max_iter


class _EvaluationCapError(RuntimeError):
    """Raised inside a solve when the cap on full-vector map evaluations is reached."""


class _Problem:
    """The fixed-point equations for one (θ*, n, λ, Δ), on a possibly summarised |θ*|."""

    def __init__(
        self,
        abs_theta: np.ndarray,
        weights: np.ndarray | None,
        d: int,
        n: int,
        lam: float,
        noise: float,
        max_evaluations: float = math.inf,
        heartbeat: Heartbeat | None = None,
        stage: str = "full",
    ):
        self.max_evaluations = max_evaluations
        self.heartbeat = heartbeat
        self.stage = stage  # names the problem in heartbeat lines: evaluations count per problem
        self.abs_theta = abs_theta
        self.weights = weights
        self.d = float(d)
        self.n = float(n)
        self.lam = lam
        self.noise = noise
        self.ratio = n / d
        self.evaluations = 0
        self.signal_count = float(np.count_nonzero(abs_theta) if weights is None else weights[abs_theta > 0].sum())

    def tick(self, log_delta: float, residual: float, kappa: float) -> None:
        """Heartbeat line (if due) at an iterate: predicted excess risk (n/d)δ² − Δ and a residual."""
        if self.heartbeat is not None and self.heartbeat.due():
            risk = self.ratio * math.exp(2.0 * log_delta) - self.noise if math.isfinite(log_delta) else math.nan
            self.heartbeat.tick(self.evaluations, risk, residual, kappa=kappa, stage=self.stage)

    def _scaled_noise(self, log_delta: float) -> float:
        """Δ/δ²; exactly 0 when Δ = 0 (the bracketing in the noiseless case goes to log δ ≪ 0,
        where exp(−2 log δ) overflows)."""
        return 0.0 if self.noise == 0.0 else self.noise * math.exp(-2.0 * log_delta)

    def terms(self, log_delta: float, kappa: float) -> _Terms:
        if self.evaluations >= self.max_evaluations:
            raise _EvaluationCapError
        self.evaluations += 1
        # At Δ = 0 the bracketing probes δ → 0, where θ/δ overflows to inf (and inf·0 to NaN)
        # for a few probe points. Only the returned solution matters, and it is certified by its
        # residual recomputed from scratch, so these arithmetic warnings are noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _terms(self.abs_theta, self.weights, self.d, math.exp(log_delta), kappa)

    # -- inner solve: δ(κ) ------------------------------------------------------------------
    def zero_signal_mse(self, kappa: float) -> float:
        """m(0; κ) = 2[(1+κ²)Q(κ) − κφ(κ)]: the per-coordinate MSE as δ → ∞."""
        return 2.0 * ((1.0 + kappa**2) * float(ndtr(-kappa)) - kappa * _INV_SQRT_2PI * math.exp(-0.5 * kappa**2))

    def solve_delta(self, kappa: float, start: float, ftol: float) -> tuple[float, bool]:
        """log δ(κ); +inf when no root (κ <= κ_min), −inf when δ = 0 solves (Δ = 0)."""

        def h(log_delta: float) -> tuple[float, float]:
            terms = self.terms(log_delta, kappa)
            scaled_noise = self._scaled_noise(log_delta)
            return self.ratio - scaled_noise - terms.mse, 2.0 * scaled_noise + terms.mse_a

        if self.ratio - self.zero_signal_mse(kappa) <= 0.0:
            return math.inf, True
        if self.noise == 0.0:
            # As δ → 0 every nonzero θ*_i contributes 1 + κ² and every zero one m(0; κ).
            limit = (
                self.ratio
                - (self.signal_count * (1.0 + kappa**2) + (self.d - self.signal_count) * self.zero_signal_mse(kappa))
                / self.d
            )
            if limit >= 0.0:
                return -math.inf, True
        value, _ = h(start)
        lower = upper = start
        step = 1.0
        for _ in range(200):
            if value < 0.0:
                lower, upper = upper, upper + step
                value, _ = h(upper)
                if value >= 0.0:
                    break
            else:
                upper, lower = lower, lower - step
                value, _ = h(lower)
                if value <= 0.0:
                    break
            step *= 2.0
        else:
            return math.nan, False
        root, success, _ = _safeguarded_newton(h, lower, upper, 0.5 * (lower + upper), ftol, 200)
        return root, success

    # -- outer solve: κ(λ) ------------------------------------------------------------------
    def kappa_min(self) -> float:
        """Left end of the admissible κ interval: m(0; κ_min) = n/d when n < d, else 0."""
        if self.ratio >= 1.0:
            return 0.0
        lower, upper = 0.0, 1.0
        while self.zero_signal_mse(upper) >= self.ratio:
            upper *= 2.0
        for _ in range(200):
            mid = 0.5 * (lower + upper)
            if self.zero_signal_mse(mid) >= self.ratio:
                lower = mid
            else:
                upper = mid
            if upper - lower <= 1e-15 * upper:
                break
        return upper

    def lam_of_kappa(self, kappa: float, start: float, ftol: float) -> tuple[float, float, float, bool]:
        """(λ(κ) − λ, dλ/dκ, log δ, inner success) along the curve δ = δ(κ)."""
        log_delta, success = self.solve_delta(kappa, start, ftol)
        if math.isinf(log_delta) and log_delta > 0:
            return -math.inf, math.nan, log_delta, success
        if math.isinf(log_delta):
            return -self.lam, math.nan, log_delta, success
        terms = self.terms(log_delta, kappa)
        delta = math.exp(log_delta)
        free = self.n - terms.active
        lam_kappa = kappa * delta * free / self.d
        h_s = 2.0 * self._scaled_noise(log_delta) + terms.mse_a
        ds_dkappa = terms.mse_kappa / h_s
        dk_dkappa = terms.active_kappa - terms.active_a * ds_dkappa
        slope = (delta * free + kappa * delta * ds_dkappa * free - kappa * delta * dk_dkappa) / self.d
        return lam_kappa - self.lam, slope, log_delta, success

    def solve_nested(self, kappa_start: float, log_delta_start: float, rtol: float) -> tuple[float, float, bool]:
        """The robust threshold-parametrised solve; returns (log δ, κ, success)."""
        kappa_floor = self.kappa_min()
        state = {"log_delta": log_delta_start}
        ftol_inner = 0.1 * rtol * self.ratio

        def outer(kappa: float) -> tuple[float, float]:
            value, slope, log_delta, _ = self.lam_of_kappa(kappa, state["log_delta"], ftol_inner)
            if math.isfinite(log_delta):
                state["log_delta"] = log_delta
            self.tick(log_delta, abs(value) / self.lam, kappa)
            return value, slope

        kappa = max(kappa_start, kappa_floor * (1.0 + 1e-3) + 1e-3)
        value, _ = outer(kappa)
        if value < 0.0:
            lower = kappa
            upper = kappa * 2.0
            while outer(upper)[0] < 0.0:
                lower, upper = upper, upper * 2.0
                if upper > 1e300:
                    return math.nan, math.nan, False
        else:
            upper = kappa
            for j in range(1, 1100):
                lower = kappa_floor + (kappa - kappa_floor) * 2.0**-j
                if lower <= kappa_floor or outer(lower)[0] < 0.0:
                    break
            else:
                return math.nan, math.nan, False
        kappa, success, _ = _safeguarded_newton(outer, lower, upper, 0.5 * (lower + upper), 0.1 * rtol * self.lam, 200)
        log_delta, inner_ok = self.solve_delta(kappa, state["log_delta"], ftol_inner)
        return log_delta, kappa, success and inner_ok and math.isfinite(log_delta)

    # -- full-vector Newton polish ----------------------------------------------------------
    def equations(self, log_delta: float, kappa: float) -> tuple[np.ndarray, np.ndarray]:
        """F = (G1, G2) with G1 = n/d − Δ/δ² − M, G2 = log(κδ(n − k)/(λd)), and its Jacobian."""
        terms = self.terms(log_delta, kappa)
        scaled_noise = self._scaled_noise(log_delta)
        free = self.n - terms.active
        if free <= 0.0:
            return np.full(2, math.inf), np.full((2, 2), math.nan)
        g1 = self.ratio - scaled_noise - terms.mse
        g2 = math.log(kappa) + log_delta + math.log(free / (self.lam * self.d))
        jacobian = np.array(
            [
                [(2.0 * scaled_noise + terms.mse_a) / self.ratio, -terms.mse_kappa / self.ratio],
                [1.0 + terms.active_a / free, 1.0 / kappa - terms.active_kappa / free],
            ]
        )
        return np.array([g1 / self.ratio, g2]), jacobian

    def solve_newton(self, log_delta: float, kappa: float, rtol: float) -> tuple[float, float, bool]:
        residual, jacobian = self.equations(log_delta, kappa)
        for _ in range(_NEWTON_MAX_ITER):
            norm = float(np.max(np.abs(residual)))
            self.tick(log_delta, norm, kappa)
            if norm <= 0.5 * rtol:
                return log_delta, kappa, True
            try:
                step = np.linalg.solve(jacobian, -residual)
            except np.linalg.LinAlgError:
                return log_delta, kappa, False
            if not np.all(np.isfinite(step)):
                return log_delta, kappa, False
            scale = 1.0
            for _ in range(30):
                trial_kappa = kappa + scale * step[1]
                if trial_kappa > 0.0:
                    trial = self.equations(log_delta + scale * step[0], trial_kappa)
                    if float(np.max(np.abs(trial[0]))) < norm:
                        break
                scale *= 0.5
            else:
                return log_delta, kappa, False
            log_delta, kappa = log_delta + scale * step[0], trial_kappa
            residual, jacobian = trial
        return log_delta, kappa, bool(np.max(np.abs(residual)) <= 0.5 * rtol)


def _noiseless_start(abs_theta: np.ndarray, n: int, lam: float) -> tuple[float, float] | None:
    """Newton start for Δ = 0 when n exceeds the δ → 0 limit of (D-i) (exact-recovery side).

    There δ(κ) vanishes at a finite κ_c solving ``n/d = f(1 + κ²) + (1 − f) m(0; κ)`` (f the
    fraction of nonzero θ*_i) and rises so steeply above it that bracketing κ in float64 fails
    at small λ; but δ itself is well determined: with κ ≈ κ_c and every nonzero coordinate
    active, (D-ii) gives ``δ ≈ λd/(κ_c (n − k_c))``. Returns (log δ, κ) or None.
    """
    d = abs_theta.size
    fraction = np.count_nonzero(abs_theta) / d

    def limit(kappa: float) -> float:
        zero_mse = 2.0 * ((1.0 + kappa**2) * float(ndtr(-kappa)) - kappa * _INV_SQRT_2PI * math.exp(-0.5 * kappa**2))
        return fraction * (1.0 + kappa**2) + (1.0 - fraction) * zero_mse - n / d

    if limit(0.0) >= 0.0:
        return None
    upper = 1.0
    while limit(upper) < 0.0:
        upper *= 2.0
    kappa = scipy.optimize.brentq(limit, 0.0, upper, xtol=1e-15)
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
    Equations (spec §2.1): ``(n/d)δ² = Δ + (1/d) Σ_i E(η(θ*_i + δz; t) − θ*_i)²`` and
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
        summary = _Problem(*_summary(abs_theta, _SUMMARY_SIZE), d, n, lam, noise, heartbeat=beat, stage="start")
    else:
        summary = _Problem(abs_theta, None, d, n, lam, noise, heartbeat=beat, stage="start")
    # The summary's start only needs to be within Newton's basin: 1e-8 is ample.
    log_delta, kappa, ok = summary.solve_nested(kappa0, log_delta0, max(tol, 1e-8))
    starts = [(log_delta, kappa)] if ok else []
    if noise == 0.0:
        starts.append(_noiseless_start(abs_theta, n, lam))
    full = _Problem(
        abs_theta, None, d, n, lam, noise, max_evaluations=(_NEWTON_MAX_ITER + 1) * 2 + max_iter, heartbeat=beat
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
    except _EvaluationCapError:
        ok = False
    iterations = full.evaluations
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
