"""The diagonal network trained to its global minimum by full-batch L-BFGS (docs/theory.md §1.2, §7).

Network ``f(x; a, w) = aᵀ(w ⊙ x)/√d`` with both layers trained and no bias, loss (paper Eq. 1)::

    L(a, w) = Σ_μ (y_μ − f(x_μ; a, w))² + λ (‖w‖² + ‖a‖²).

Since ``‖w‖² + ‖a‖² ≥ 2 Σ_i |a_i w_i|`` with equality iff ``|a_i| = |w_i|`` (AM-GM), for θ = a ⊙ w::

    min_{a ⊙ w = θ} L(a, w) = Σ_μ (y_μ − θ·x_μ/√d)² + 2λ‖θ‖₁ = 2 [½ Σ_μ (y_μ − θ·x_μ/√d)² + λ‖θ‖₁],

twice the LASSO objective of :mod:`shallowscaling.estimators.lasso` **with the same λ**: the
network's global minimisers are the balanced factorisations ``|a_i| = |w_i| = √|θ̂_i|`` of the
LASSO solution θ̂, and at the minimum ``objective = 2 × LASSO objective``. The loss is non-convex
but every local minimum is global (spurious critical points are saddles, e.g. a = w = 0), so
L-BFGS from a random start reaches the LASSO solution; the tests check it against
:func:`~shallowscaling.estimators.lasso.fit_lasso`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from .._validation import check_int, check_real
from ..progress import Heartbeat
from ..results import warn_not_converged

__all__ = ["GTOL_PER_TOL", "DiagonalNetworkResult", "fit_diagonal_network"]

#: L-BFGS memory. 50 pairs (vs scipy's default 10) cut the iteration count at small λ, where the
#: balanced directions are poorly conditioned, for a negligible O(50·d) cost per step.
_MEMORY = 50

#: Newton polish (exact Hessian, 2d×2d Cholesky) is done up to this d: O(n d² + d³) per step,
#: affordable up to here (timing: docs/performance.md, Notes moved from the source). Beyond it the
#: result stays at L-BFGS's floating-point floor.
_NEWTON_MAX_D = 2000

#: Newton polish steps allowed (quadratic convergence from L-BFGS's floor needs 2–3).
_NEWTON_STEPS = 20


#: The pipeline's solver tolerance ``tol`` (config ``diagonal.solver.tol``, ``fit --tol``) reaches this
#: network as its gradient tolerance ``gtol = tol · GTOL_PER_TOL``. A gradient norm is not a duality
#: gap: the factor keeps the study's default ``tol = 1e-8`` at ``gtol = 1e-10``, this solver's
#: tolerance before ``tol`` reached it, so the default study's fits are unchanged (``1e-8 * 1e-2``
#: is exactly ``1e-10`` in floating point, where ``1e-8 / 100`` is not).
GTOL_PER_TOL = 1e-2

#: Warm restarts of L-BFGS (memory cleared) when it stops above ``gtol`` on a line-search failure
#: or a stagnating objective; a restart discards curvature pairs spoilt by rounding.
_RESTARTS = 5


@dataclass(frozen=True)
class DiagonalNetworkResult:
    """A trained diagonal network (docs/theory.md §1.2).

    Attributes
    ----------
    a, w : ndarray, shape (d,)
        Second- and first-layer weights.
    theta : ndarray, shape (d,)
        Effective linear predictor θ = a ⊙ w.
    lam : float
        Regularisation λ.
    objective : float
        L(a, w) = Σ_μ (y_μ − f(x_μ))² + λ(‖w‖² + ‖a‖²) (= 2 × the LASSO objective at the optimum).
    train_loss : float
        (1/n) Σ_μ (y_μ − f(x_μ))².
    grad_norm : float
        max-abs entry of ∇L at the returned weights (what ``gtol`` bounds).
    balance : float
        max_i ||a_i| − |w_i||; 0 at every global minimiser.
    iterations : int
        L-BFGS iterations over all restarts.
    newton_steps : int
        Newton polish steps (see Notes of :func:`fit_diagonal_network`).
    converged, status, message
        Whether ``grad_norm <= gtol``, the status word and the reason with numbers.
    """

    a: np.ndarray
    w: np.ndarray
    theta: np.ndarray
    lam: float
    objective: float
    train_loss: float
    grad_norm: float
    balance: float
    iterations: int
    newton_steps: int
    converged: bool
    status: str
    message: str


def _loss_and_gradient(weights: np.ndarray, design: np.ndarray, y: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
    """L(a, w) and its gradient (∇_a = g ⊙ w + 2λa, ∇_w = g ⊙ a + 2λw, g = −2 Aᵀr)."""
    d = design.shape[1]
    a, w = weights[:d], weights[d:]
    residual = y - design @ (a * w)
    loss = float(residual @ residual) + lam * float(a @ a + w @ w)
    correlation = -2.0 * (design.T @ residual)
    gradient = np.concatenate([correlation * w + 2.0 * lam * a, correlation * a + 2.0 * lam * w])
    return loss, gradient


def _hessian(weights: np.ndarray, design: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """Exact Hessian of L(a, w), shape (2d, 2d).

    With K = 2AᵀA, g = −2Aᵀr: ``[[W K W + 2λI, W K Â + diag(g)], [Â K W + diag(g), Â K Â + 2λI]]``,
    W = diag(w), Â = diag(a) (the diag(g) blocks come from ∂²(a_i w_i)/∂a_i∂w_i = 1).
    """
    d = design.shape[1]
    a, w = weights[:d], weights[d:]
    curvature = 2.0 * (design.T @ design)
    correlation = -2.0 * (design.T @ (y - design @ (a * w)))
    hessian = np.empty((2 * d, 2 * d))
    hessian[:d, :d] = curvature * np.outer(w, w)
    hessian[:d, d:] = curvature * np.outer(w, a)
    hessian[d:, :d] = hessian[:d, d:].T
    hessian[d:, d:] = curvature * np.outer(a, a)
    diagonal = np.arange(d)
    hessian[diagonal, diagonal] += 2.0 * lam
    hessian[diagonal + d, diagonal + d] += 2.0 * lam
    hessian[diagonal, diagonal + d] += correlation
    hessian[diagonal + d, diagonal] += correlation
    return hessian


def _positive_definite(weights: np.ndarray, design: np.ndarray, y: np.ndarray, lam: float) -> bool:
    """Whether the Hessian of L admits a Cholesky factorisation (second-order optimality)."""
    try:
        scipy.linalg.cho_factor(_hessian(weights, design, y, lam))
    except scipy.linalg.LinAlgError:
        return False
    return True


def _newton_polish(
    weights: np.ndarray, design: np.ndarray, y: np.ndarray, lam: float, gtol: float
) -> tuple[np.ndarray, int]:
    """Newton steps with the gradient norm as merit; only where the Hessian is positive definite.

    Function values stop resolving progress near the minimum (L-BFGS's sufficient-decrease test
    then fails at max-abs gradients ~1e-8 for losses of order n), while the gradient itself is
    still accurate to ~1e-14; a positive-definite Hessian also certifies a strict local (hence,
    for this loss, global) minimum. Returns (weights, steps taken).
    """
    _, gradient = _loss_and_gradient(weights, design, y, lam)
    norm = float(np.max(np.abs(gradient)))
    steps = 0
    while steps < _NEWTON_STEPS and norm > gtol:
        try:
            factor = scipy.linalg.cho_factor(_hessian(weights, design, y, lam))
        except scipy.linalg.LinAlgError:
            break
        trial = weights - scipy.linalg.cho_solve(factor, gradient)
        _, trial_gradient = _loss_and_gradient(trial, design, y, lam)
        trial_norm = float(np.max(np.abs(trial_gradient)))
        if not trial_norm < norm:
            break
        weights, gradient, norm = trial, trial_gradient, trial_norm
        steps += 1
    return weights, steps


def fit_diagonal_network(
    x: np.ndarray,
    y: np.ndarray,
    lam: float,
    rng: np.random.Generator,
    *,
    gtol: float = 1e-10,
    max_iter: int = 100_000,
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> DiagonalNetworkResult:
    """Train ``f(x) = aᵀ(w ⊙ x)/√d`` on ``Σ_μ (y_μ − f(x_μ))² + λ(‖w‖² + ‖a‖²)`` with L-BFGS.

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Inputs (the 1/√d is applied here).
    y : ndarray, shape (n,)
        Labels.
    lam : float
        λ > 0. The minimiser's θ = a ⊙ w is the LASSO solution for the same λ (module docstring).
    rng : numpy.random.Generator
        Draws the initialisation a, w ~ N(0, 1) entries (zero is a saddle point), unless ``init``.
    gtol : float, default 1e-10
        Stop when max_i |∂L/∂(a, w)_i| <= gtol (scipy's projected-gradient test; no bounds).
        The ``fit`` job passes ``tol · GTOL_PER_TOL``: 1e-10 at the study's default ``tol``.
    max_iter : int, default 100000
        Cap on L-BFGS iterations over all restarts.
    init : (a, w), optional
        Starting weights, each of shape (d,).

    Returns
    -------
    DiagonalNetworkResult

    Notes
    -----
    Full batch, float64, scipy's L-BFGS-B without bounds (its line search enforces the strong
    Wolfe conditions), analytic gradient, memory ``_MEMORY``; scipy's relative-decrease test is
    disabled (``ftol=0``) so that only the gradient test declares success. Near the minimum the
    loss (of order n) stops resolving progress and L-BFGS halts at max-abs gradients ~1e-8; then,
    for d <= ``_NEWTON_MAX_D``, Newton steps with the exact Hessian (accepted only while it is
    positive definite and the gradient norm decreases) take the gradient below ``gtol``.
    Otherwise L-BFGS is restarted with fresh memory, at most ``_RESTARTS`` times. For
    d <= ``_NEWTON_MAX_D`` success also requires a positive-definite Hessian, so a start at the
    saddle a = w = 0 is reported as not converged. docs/theory.md §7 (training protocol). Small λ is the hard case: the
    inactive coordinates decay at a rate set by λ − |(Aᵀr)_i|, so the iteration count grows;
    compare with :func:`~shallowscaling.estimators.lasso.fit_lasso` when in doubt.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((40, 10)); y = x[:, 0]
    >>> result = fit_diagonal_network(x, y, lam=1.0, rng=rng)
    >>> result.converged
    True
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"`x` must be (n, d) and `y` (n,) with the same n; got {x.shape} and {y.shape}")
    lam = check_real(lam, "lam", "regularisation λ", lower=0.0, lower_inclusive=False)
    gtol = check_real(gtol, "gtol", "gradient tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "L-BFGS iteration cap", lower=1)
    n, d = x.shape
    design = x / math.sqrt(d)
    if init is None:
        weights = rng.standard_normal(2 * d)
    else:
        a0, w0 = (np.asarray(part, dtype=float) for part in init)
        if a0.shape != (d,) or w0.shape != (d,):
            raise ValueError(f"`init` must be two arrays of shape ({d},); got {a0.shape} and {w0.shape}")
        weights = np.concatenate([a0, w0])

    beat = Heartbeat("fit_diagonal_network", "grad_norm", d=d, n=n, lam=lam, gtol=gtol, max_iter=max_iter)
    iterations = newton_steps = 0
    lbfgs_iterations = [0]  # L-BFGS iterations of the current call, counted by the callback

    def heartbeat(intermediate_result: scipy.optimize.OptimizeResult) -> None:
        # Called by scipy once per L-BFGS iteration with its own iterate array, which is only read
        # here (so the iterates are unchanged); the gradient costs a pass over the data, so it is
        # recomputed only when a heartbeat line is due.
        lbfgs_iterations[0] += 1
        if beat.due():
            _, current = _loss_and_gradient(intermediate_result.x, design, y, lam)
            beat.tick(
                iterations + lbfgs_iterations[0],
                intermediate_result.fun,
                float(np.max(np.abs(current))),
                newton_steps=newton_steps,
            )

    status = "max_iter"
    scipy_message = ""
    for _ in range(_RESTARTS + 1):
        remaining = max_iter - iterations
        if remaining <= 0:
            break
        lbfgs_iterations[0] = 0
        outcome = scipy.optimize.minimize(
            _loss_and_gradient,
            weights,
            args=(design, y, lam),
            jac=True,
            method="L-BFGS-B",
            callback=heartbeat,
            options={
                "maxiter": remaining,
                "maxfun": 2 * remaining,
                "maxcor": _MEMORY,
                "gtol": gtol,
                "ftol": 0.0,
                "maxls": 50,
            },
        )
        iterations += int(outcome.nit)
        scipy_message = str(outcome.message)
        if not np.all(np.isfinite(outcome.x)):
            status = "diverged"
            break
        weights = outcome.x
        loss, gradient = _loss_and_gradient(weights, design, y, lam)
        beat.tick(iterations, loss, float(np.max(np.abs(gradient))), newton_steps=newton_steps)
        if float(np.max(np.abs(gradient))) <= gtol:
            status = "converged"
            break
        # scipy status 1: iteration/evaluation cap; anything else is a stopped line search.
        status = "max_iter" if outcome.status == 1 else "stalled"
        if status == "max_iter":
            break
        if d <= _NEWTON_MAX_D:
            weights, steps = _newton_polish(weights, design, y, lam, gtol)
            newton_steps += steps
            loss, gradient = _loss_and_gradient(weights, design, y, lam)
            beat.tick(iterations, loss, float(np.max(np.abs(gradient))), newton_steps=newton_steps)
            if float(np.max(np.abs(gradient))) <= gtol:
                status = "converged"
                break

    loss, gradient = _loss_and_gradient(weights, design, y, lam)
    grad_norm = float(np.max(np.abs(gradient)))
    a, w = weights[:d].copy(), weights[d:].copy()
    residual = y - design @ (a * w)
    saddle = ""
    if status == "converged" and d <= _NEWTON_MAX_D and not _positive_definite(weights, design, y, lam):
        # A zero gradient with an indefinite Hessian is a saddle (e.g. a = w = 0 for λ < λ_max).
        status, saddle = "stalled", "; the Hessian is not positive definite (saddle point)"
    converged = grad_norm <= gtol and status == "converged"
    message = (
        f"max-abs gradient {grad_norm:.2e} (gtol {gtol:.0e}) after {iterations} L-BFGS iterations "
        f"(cap {max_iter}) and {newton_steps} Newton steps, λ={lam:g}{saddle}; scipy: {scipy_message}"
    )
    balance = float(np.max(np.abs(np.abs(a) - np.abs(w))))
    beat.end(status, iterations, loss, grad_norm, newton_steps=newton_steps, balance=balance)
    if not converged:
        warn_not_converged(
            "fit_diagonal_network",
            message,
            "Raise `max_iter`, loosen `gtol`, or cross-check with fit_lasso (same λ).",
        )
    return DiagonalNetworkResult(
        a=a,
        w=w,
        theta=a * w,
        lam=lam,
        objective=loss,
        train_loss=float(residual @ residual) / n,
        grad_norm=grad_norm,
        balance=balance,
        iterations=iterations,
        newton_steps=newton_steps,
        converged=converged,
        status=status,
        message=message,
    )
