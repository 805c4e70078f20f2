"""Optimal weight decay: minimise a state-evolution risk over λ (docs/theory.md §3, Corollary 1).

The SE risk R(λ) of either model is a smooth function of log λ on each phase but may have
several local minima (for instance on both sides of the rank-collapse transition), so a plain
bracketing minimiser can stop in the wrong basin. :func:`minimize_se_risk_over_lam` scans a
log-spaced grid first, then refines the best grid point with bounded Brent minimisation
(``scipy.optimize.minimize_scalar(method="bounded")``) on log λ between its two neighbours.

Stopping rule: Brent's bounded method stops when the bracket on log λ is below ``xatol``
(absolute, in natural-log units: ``xatol = 1e-4`` locates λ* to a relative 1e-4, far below
the resolution of any figure; R is flat at its minimum so R(λ*) is accurate to ~1e-8 relative).
Points whose SE did not converge are treated as +∞ (a finite penalty inside Brent's method)
and counted in the result.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from .._validation import check_int, check_real
from ..errors import ConvergenceWarning, InputError
from ..progress import Heartbeat
from ..results import warn_not_converged

__all__ = ["OptimalLamResult", "minimize_se_risk_over_lam"]


@dataclass(frozen=True)
class OptimalLamResult:
    """Result of :func:`minimize_se_risk_over_lam`.

    Attributes
    ----------
    lam : float
        The minimising λ*.
    excess_risk : float
        R(λ*).
    result : object
        The solver's own result at λ* (e.g. a QuadraticSEResult).
    converged : bool
        Brent's method met ``xatol`` and the SE converged at λ*.
    status, message
        See :mod:`shallowscaling.results`.
    iterations : int
        Number of SE solves (grid plus Brent).
    at_boundary : bool
        λ* is the smallest or largest grid point: the minimum may lie outside ``lam_bounds``.
    failed_points : int
        SE solves that did not converge (treated as +∞).
    """

    lam: float
    excess_risk: float
    result: Any
    converged: bool
    status: str
    message: str
    iterations: int
    at_boundary: bool
    failed_points: int


def minimize_se_risk_over_lam(
    solve: Callable[[float], Any],
    lam_bounds: tuple[float, float],
    *,
    n_grid: int = 17,
    xatol: float = 1e-4,
    max_iter: int = 60,
) -> OptimalLamResult:
    """Minimise ``solve(λ).excess_risk`` over λ ∈ ``lam_bounds`` (log scale, grid + Brent).

    Parameters
    ----------
    solve : callable
        λ ↦ result with attributes ``excess_risk`` (float) and ``converged`` (bool).
    lam_bounds : (float, float)
        0 < λ_min < λ_max.
    n_grid : int, default 17
        Points of the log-spaced pre-scan (≥ 3): with the default bounds of the study
        (1e-6, 1e6) this is one point per 1.5 decades; each basin of R(log λ) wider than that is
        found.
    xatol : float, default 1e-4
        Absolute tolerance on log λ of the Brent refinement.
    max_iter : int, default 60
        Maximum Brent iterations.

    Returns
    -------
    OptimalLamResult

    Examples
    --------
    >>> class R:
    ...     def __init__(self, lam):
    ...         self.excess_risk, self.converged = (math.log(lam) - 1.0) ** 2, True
    >>> best = minimize_se_risk_over_lam(R, (1e-3, 1e3))
    >>> round(best.lam, 3)
    2.718
    """
    if not callable(solve):
        raise InputError(f"`solve` (λ ↦ SE result) must be callable; got {type(solve).__name__}")
    try:
        lo, hi = (float(v) for v in lam_bounds)
    except (TypeError, ValueError) as exc:
        raise InputError(f"`lam_bounds` (search interval of λ) must be two numbers; got {lam_bounds!r}") from exc
    lo = check_real(lo, "lam_bounds[0]", "smallest λ", lower=0.0, lower_inclusive=False)
    hi = check_real(hi, "lam_bounds[1]", "largest λ", lower=lo, lower_inclusive=False)
    n_grid = check_int(n_grid, "n_grid", "pre-scan points", lower=3)
    xatol = check_real(xatol, "xatol", "tolerance on log λ", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "Brent iterations", lower=1)

    beat = Heartbeat(
        "minimize_se_risk_over_lam", "fixed_point_residual", lam_min=lo, lam_max=hi, n_grid=n_grid, xatol=xatol
    )
    results: dict[float, Any] = {}
    failed = [0]

    def risk(log_lam: float) -> float:
        if log_lam not in results:
            # A probe that does not converge is excluded and counted in `failed_points`; the
            # search warns once for its own result, not for every probe.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                res = solve(math.exp(log_lam))
            results[log_lam] = res
            if not bool(res.converged) or not math.isfinite(float(res.excess_risk)):
                failed[0] += 1
            # The certificate of a probe is its SE's residual (NaN for solvers without one).
            beat.tick(
                len(results),
                float(res.excess_risk),
                float(getattr(res, "fixed_point_residual", math.nan)),
                lam=math.exp(log_lam),
                failed_points=failed[0],
            )
        res = results[log_lam]
        ok = bool(res.converged) and math.isfinite(float(res.excess_risk))
        return float(res.excess_risk) if ok else math.inf

    grid = np.linspace(math.log(lo), math.log(hi), n_grid)
    values = np.array([risk(float(g)) for g in grid])
    if not np.isfinite(values).any():
        message = f"the SE did not converge at any of the {n_grid} grid points in [{lo:g}, {hi:g}]"
        warn_not_converged("optimal-λ search", message, "Check the SE solver on this problem")
        res = results[float(grid[0])]
        beat.end("stalled", len(results), math.inf, float(getattr(res, "fixed_point_residual", math.nan)))
        return OptimalLamResult(lo, math.inf, res, False, "stalled", message, len(results), True, failed[0])
    best = int(np.argmin(values))
    a = float(grid[max(best - 1, 0)])
    b = float(grid[min(best + 1, n_grid - 1)])
    # Brent's parabolic steps cannot take +∞ (inf − inf): failed points get a finite penalty
    # above every converged grid value instead, which keeps them out of the minimum.
    finite = values[np.isfinite(values)]
    penalty = float(2.0 * np.max(np.abs(finite)) + 1.0)

    def penalised(log_lam: float) -> float:
        value = risk(log_lam)
        return value if math.isfinite(value) else penalty

    opt = minimize_scalar(penalised, bounds=(a, b), method="bounded", options={"xatol": xatol, "maxiter": max_iter})
    candidates = [float(grid[best])]
    if math.isfinite(risk(float(opt.x))):
        candidates.append(float(opt.x))
    log_star = min(candidates, key=risk)
    res = results[log_star]
    brent_ok = bool(opt.success)
    converged = brent_ok and bool(res.converged)
    at_boundary = best in (0, n_grid - 1) and abs(log_star - float(grid[best])) <= 2 * xatol
    status = "converged" if converged else ("max_iter" if not brent_ok else "stalled")
    message = (
        f"λ* = {math.exp(log_star):.6g}, R = {risk(log_star):.6g} after {len(results)} SE solves "
        f"({failed[0]} not converged); Brent: {opt.message}"
    )
    if at_boundary:
        message += "; the minimum is at the edge of lam_bounds"
    beat.end(
        status,
        len(results),
        risk(log_star),
        float(getattr(res, "fixed_point_residual", math.nan)),
        lam=math.exp(log_star),
        failed_points=failed[0],
    )
    if not converged:
        warn_not_converged("optimal-λ search", message, "Increase max_iter or widen lam_bounds")
    return OptimalLamResult(
        lam=math.exp(log_star),
        excess_risk=risk(log_star),
        result=res,
        converged=converged,
        status=status,
        message=message,
        iterations=len(results),
        at_boundary=at_boundary,
        failed_points=failed[0],
    )
