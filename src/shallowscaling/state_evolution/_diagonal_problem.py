"""The diagonal SE map on a fixed |θ*| (:class:`DiagonalProblem`): its evaluations, the nested
solve on λ and the Newton polish, with the evaluation cap of the solver in :mod:`.diagonal`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.special import ndtr

from ..progress import Heartbeat
from .soft_threshold import INV_SQRT_2PI, Terms, soft_threshold_terms

#: Newton iterations allowed on the full vector before falling back to the nested solver.
NEWTON_MAX_ITER = 30


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


class EvaluationCapError(RuntimeError):
    """Raised inside a solve when the cap on full-vector map evaluations is reached."""


class DiagonalProblem:
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

    def terms(self, log_delta: float, kappa: float) -> Terms:
        if self.evaluations >= self.max_evaluations:
            raise EvaluationCapError
        self.evaluations += 1
        # At Δ = 0 the bracketing probes δ → 0, where θ/δ overflows to inf (and inf·0 to NaN)
        # for a few probe points. Only the returned solution matters, and it is certified by its
        # residual recomputed from scratch, so these arithmetic warnings are noise.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return soft_threshold_terms(self.abs_theta, self.weights, self.d, math.exp(log_delta), kappa)

    # -- inner solve: δ(κ) ------------------------------------------------------------------
    def zero_signal_mse(self, kappa: float) -> float:
        """m(0; κ) = 2[(1+κ²)Q(κ) − κφ(κ)]: the per-coordinate MSE as δ → ∞."""
        return 2.0 * ((1.0 + kappa**2) * float(ndtr(-kappa)) - kappa * INV_SQRT_2PI * math.exp(-0.5 * kappa**2))

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

    def equations_across_basis_pursuit(self, log_delta: float, kappa: float) -> tuple[np.ndarray, np.ndarray]:
        """F = (G1, G2') with (D-ii) as G2' = (n − k − λd/t)/n, t = κδ, and its Jacobian.

        Same root as :meth:`equations`, but smooth across n = k: near the basis-pursuit limit
        (λ → 0 at n < d, k → n) a start on the wrong side of n = k, where log(n − k) is undefined,
        still converges. Its residual is relative to n, not to n − k, so it only brings Newton
        close; the certificate and the final polish use :meth:`equations`.
        """
        terms = self.terms(log_delta, kappa)
        scaled_noise = self._scaled_noise(log_delta)
        slack = self.lam * self.d / (kappa * math.exp(log_delta))  # λd/t, the n − k at the root
        g1 = self.ratio - scaled_noise - terms.mse
        g2 = (self.n - terms.active - slack) / self.n
        # ∂k/∂log δ = −active_a (a = θ/δ), ∂(λd/t)/∂log δ = −λd/t, ∂(λd/t)/∂κ = −λd/(tκ).
        jacobian = np.array(
            [
                [(2.0 * scaled_noise + terms.mse_a) / self.ratio, -terms.mse_kappa / self.ratio],
                [(terms.active_a + slack) / self.n, (slack / kappa - terms.active_kappa) / self.n],
            ]
        )
        return np.array([g1 / self.ratio, g2]), jacobian

    def solve_newton(
        self, log_delta: float, kappa: float, rtol: float, across_basis_pursuit: bool = False
    ) -> tuple[float, float, bool]:
        """Damped Newton in (log δ, κ) until max |F| <= rtol/2; ``across_basis_pursuit`` picks
        :meth:`equations_across_basis_pursuit` instead of :meth:`equations`."""
        equations = self.equations_across_basis_pursuit if across_basis_pursuit else self.equations
        residual, jacobian = equations(log_delta, kappa)
        for _ in range(NEWTON_MAX_ITER):
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
                    trial = equations(log_delta + scale * step[0], trial_kappa)
                    if float(np.max(np.abs(trial[0]))) < norm:
                        break
                scale *= 0.5
            else:
                return log_delta, kappa, False
            log_delta, kappa = log_delta + scale * step[0], trial_kappa
            residual, jacobian = trial
        return log_delta, kappa, bool(np.max(np.abs(residual)) <= 0.5 * rtol)
