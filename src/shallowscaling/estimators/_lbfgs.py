"""L-BFGS with an exact line search for the factored quadratic loss L(B), S = B Bᵀ (the paper's quadratic network).

Shared by the network estimator (:mod:`.quadratic_network`) and the factored convex solver
(:mod:`.psd_factored`). Because ŷ is quadratic in B, the loss along a direction P is an exact
quartic in the step, whose global minimiser is the line search (see :func:`lbfgs_factored`).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from ..progress import Heartbeat

__all__ = ["DROP_RTOL", "lbfgs_factored"]

#: A column direction of B whose squared singular value is below this fraction of the largest
#: is treated as zero: it is an eigenvalue of Ŝ below anything the objective can resolve.
DROP_RTOL = 1e-14

# L-BFGS memory (pairs of d×p matrices); more than the usual 10 speeds up the final,
# tight-tolerance phase on this ill-conditioned problem.
_LBFGS_MEMORY = 30
# X B is updated in place along each step (X B ← X B + t X P); it is recomputed from B every
# this many iterations so that rounding cannot accumulate (cost: one extra pass per 100).
_REFRESH_EVERY = 100


def _quartic_step(k1: float, k2: float, k3: float, k4: float) -> tuple[float, float]:
    """Global minimiser t > 0 of φ(t) = k1 t + k2 t² + k3 t³ + k4 t⁴ (k1 < 0), and φ(t).

    Returns ``(0.0, 0.0)`` when no positive stationary point lowers φ (a degenerate direction).
    """
    derivative = np.array([4.0 * k4, 3.0 * k3, 2.0 * k2, k1])
    best_step, best_value = 0.0, 0.0
    for root in np.roots(derivative):
        # Companion-matrix roots of a real cubic: keep the (numerically) real ones and polish
        # them with Newton steps on φ' (the companion eigenvalues lose a few digits).
        if abs(root.imag) > 1e-6 * max(abs(root.real), 1e-300):
            continue
        step = float(root.real)
        for _ in range(3):
            slope = ((4.0 * k4 * step + 3.0 * k3) * step + 2.0 * k2) * step + k1
            curvature = (12.0 * k4 * step + 6.0 * k3) * step + 2.0 * k2
            if curvature <= 0.0:
                break
            step -= slope / curvature
        if step <= 0.0:
            continue
        value = (((k4 * step + k3) * step + k2) * step + k1) * step
        if value < best_value:
            best_step, best_value = step, value
    return best_step, best_value


def _two_loop(grad, history: deque, ops, metric=None):
    """L-BFGS two-loop recursion: an approximation of H⁻¹ ∇ from the stored (s, Δg) pairs.

    ``metric`` (p × p, symmetric positive definite, or None) makes the initial inverse Hessian
    H₀(Q) = γ Q metric⁻¹ instead of γ Q (see :func:`lbfgs_factored`).
    """
    q = ops.copy(grad)
    alphas = []
    for s, dg, rho in reversed(history):
        a = rho * ops.inner(s, q)
        q -= a * dg
        alphas.append(a)
    if metric is None:
        if history:
            s, dg, rho = history[-1]
            q *= 1.0 / (rho * ops.inner(dg, dg))
    else:
        q = q @ metric
        if history:
            s, dg, rho = history[-1]
            q *= 1.0 / (rho * ops.inner(dg, dg @ metric))
    for (s, dg, rho), a in zip(history, reversed(alphas), strict=True):
        q += (a - rho * ops.inner(dg, q)) * s
    return q


def _scaled_norm(grad: np.ndarray, b: np.ndarray) -> float:
    """‖∇_B L · V Σ⁻¹‖_F / 2 = ‖G Q‖_F, over the columns of B = Q Σ Vᵀ above the drop threshold.

    Since ∇_B L = 2 G B, this is the size of the dual matrix G on the range of B, the first
    term of the factored KKT residual (:mod:`.psd_factored`); unlike ‖∇_B L‖ it does not shrink
    with the small singular values of B.
    """
    _, sigma, vt = np.linalg.svd(b, full_matrices=False)
    if sigma.size == 0 or sigma[0] == 0.0:
        return float(np.linalg.norm(grad))
    keep = sigma**2 > DROP_RTOL * sigma[0] ** 2
    return 0.5 * float(np.linalg.norm((grad @ vt[keep].T) / sigma[keep]))


def lbfgs_factored(
    x,
    y,
    lam: float,
    b,
    gtol: float,
    max_iter: int,
    ops,
    beat: Heartbeat | None = None,
    precondition: float | None = None,
    scaled_gtol: bool = False,
) -> tuple[object, int, str]:
    """L-BFGS with exact line search on the quartic L(B + tP); returns (B, iterations, status).

    ``x`` (an array or design), ``y`` and ``b`` are arrays of the backend ``ops``; ``beat`` gets
    a tick per iteration (the caller writes the start and end lines). Memory: X B and X P are kept (two
    n×p arrays) so that an iteration costs two GEMMs of n·d·p (X P for the line search,
    Xᵀ diag(r) X B for the gradient).
    """
    n, d = x.shape[0], x.shape[1]
    width = b.shape[1]
    b = ops.copy(b)
    xb = ops.empty((n, width))
    xp = ops.empty((n, width))
    history: deque = deque(maxlen=_LBFGS_MEMORY)

    def fresh_gradient():
        ops.factor_products(x, b, xb)
        r, xtrxb = ops.factor_step_gradient(x, y, b, xb, xp, 0.0)
        return r, ops.factor_loss_grad_from(xtrxb, r, b, lam)[1]

    r, grad = fresh_gradient()
    iterations = 0
    since_refresh = 0
    while True:
        grad_norm = _scaled_norm(ops.to_numpy(grad), ops.to_numpy(b)) if scaled_gtol else ops.norm(grad)
        if not np.isfinite(grad_norm):
            return b, iterations, "diverged"
        if grad_norm <= gtol:
            if since_refresh == 0:
                return b, iterations, "converged"
            (r, grad), since_refresh = fresh_gradient(), 0
            continue
        if iterations >= max_iter:
            return b, iterations, "max_iter"
        metric = None
        if precondition is not None:
            gram = ops.to_numpy(b).T @ ops.to_numpy(b)
            shift = precondition * max(float(np.trace(gram)), 1e-300)
            metric = ops.to_backend(np.linalg.inv(gram + shift * np.eye(gram.shape[0])))
        direction = -_two_loop(grad, history, ops, metric)
        if ops.inner(direction, grad) >= 0.0:
            history.clear()
            direction = -grad
        c, q = ops.line_coefficients(x, xb, b, direction, xp)
        # L(B + tP) − L(B) = k1 t + k2 t² + k3 t³ + k4 t⁴ exactly (ŷ is quadratic in B): the
        # decrease is computed without the cancellation of L(B + tP) − L(B) in floating point,
        # so the line search keeps working far below the rounding level of L itself.
        k1 = (4.0 * ops.inner(r, c)) / d**2 + 2.0 * lam / d * ops.inner(b, direction)
        k2 = (4.0 * ops.inner(c, c) + 2.0 * ops.inner(r, q)) / d**2 + lam / d * ops.inner(direction, direction)
        k3 = 4.0 * ops.inner(c, q) / d**2
        k4 = ops.inner(q, q) / d**2
        step, decrease = _quartic_step(k1, k2, k3, k4) if k1 < 0.0 else (0.0, 0.0)
        if step == 0.0 or decrease >= 0.0:
            if history:
                history.clear()
                continue
            return b, iterations, "stalled"
        b += step * direction
        r, xtrxb = ops.factor_step_gradient(x, y, b, xb, xp, step)
        since_refresh += 1
        grad_new = ops.factor_loss_grad_from(xtrxb, r, b, lam)[1]
        dg = grad_new - grad
        curvature = step * ops.inner(direction, dg)
        # With an exact line search sᵀΔg = −t Pᵀ∇L(B) > 0; the guard only drops pairs spoilt
        # by rounding.
        if curvature > 0.0:
            history.append((step * direction, dg, 1.0 / curvature))
        grad = grad_new
        iterations += 1
        if beat is not None and beat.due():
            beat.tick(iterations, ops.inner(r, r) / d**2 + lam / d * ops.inner(b, b), ops.norm(grad))
        if since_refresh >= _REFRESH_EVERY:
            (r, grad), since_refresh = fresh_gradient(), 0
