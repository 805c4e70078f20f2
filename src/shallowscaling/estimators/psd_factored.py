"""The convex PSD problem solved in factored form S = B Bᵀ, growing the width until certified.

Same objective as :mod:`.psd_convex` (the convex estimator, not a new one):

    F(S) = (1/d²) ‖y − A(S)‖² + (λ/d) Tr S,      S ⪰ 0,

solved over S = B Bᵀ with B of p columns, p grown until the convex optimum is certified. Each
L-BFGS iteration costs O(n·d·p) instead of FISTA's O(n·d²), which pays where Ŝ has low rank
(strong λ; the phases Ib, II, III of the paper). The steps:

1. One pass forms G₀ = ∇f(0) + (λ/d) I = −(2/d²) A*(y) + (λ/d) I (the only n·d² pass, shared
   with FISTA, which needs it too). If G₀ ⪰ 0, Ŝ = 0 is optimal. Otherwise B starts from the
   eigenvectors of G₀'s most negative eigenvalues (at most ``INITIAL_WIDTH`` of them), each
   scaled to the minimiser of the objective along it.
2. L-BFGS with an exact line search (:func:`._lbfgs.lbfgs_factored`) on L(B) = F(B Bᵀ).
3. Certificate at S = B Bᵀ, with Q an orthonormal basis of range(B), P = I − QQᵀ and
   G = ∇f(S) + (λ/d) I = (2/d²) A*(A(S) − y) + (λ/d) I, formed by one symmetric pass (n·d²/2)
   and read by its exact spectrum (:func:`._psd_common.range_certificate`):
   * the KKT residual: Ξ = G − P[PGP]₊P lies in ∂F(S), and ‖Ξ‖_F² = ‖GQ‖_F² + ‖PGQ‖_F² +
     ‖[PGP]₋‖_F²; it is divided by FISTA's scale ‖∇f(0)‖_F + λ/√d, so ``kkt_residual`` means
     the same in both routes;
   * λ_min(G), which enters the duality gap of :func:`._psd_common.duality_gap` (the same bound
     FISTA reports). An iterative eigensolver with products by X only was tried and rejected: it
     could not resolve eigenvalues of size ~tol at less cost than the pass (docs/performance.md).
4. If PGP has eigenvalues below −(tol·scale)/(2√(d − p)), their eigenvectors are descent
   directions that B cannot reach: they are appended as new columns (again scaled to the
   minimiser along them) and L-BFGS resumes. Otherwise, if the residual is still above tol,
   the L-BFGS tolerance is tightened. The solve stops when ``kkt_residual <= tol``.

When it breaks: when Ŝ has high rank (p would exceed ``max_width``), the factored iteration
costs as much as FISTA's and converges more slowly; :func:`.fit_psd_convex` then hands the
current B Bᵀ to FISTA as a warm start (``method="auto"``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..progress import Heartbeat
from . import _psd_operators as ops
from ._lbfgs import DROP_RTOL, lbfgs_factored
from ._psd_common import range_certificate

__all__ = ["INITIAL_WIDTH", "FactoredSolve", "solve_factored"]

#: Columns of the first B: the most negative directions of G₀, at most this many. A start
#: much wider than the final rank costs n·d per column per pass; one narrower than it costs
#: an extra LOBPCG round per missing block.
INITIAL_WIDTH = 16
#: L-BFGS's initial inverse Hessian is H₀(Q) = γ Q (BᵀB + ε I)⁻¹ with ε = PRECONDITION · Tr BᵀB:
#: the scaled-gradient metric of Tong, Ma & Chi (2021), which removes the condition number of Ŝ
#: from the factored problem (small eigenvalues of Ŝ make ∇_B L tiny along their columns). The
#: shift keeps vanishing columns from getting huge steps; too small a shift is worse than none,
#: and 1e-2 needed the fewest iterations among those tried (iteration counts: docs/performance.md,
#: Notes moved from the source).
PRECONDITION = 1e-2
#: Most columns one growth step adds (the most negative directions of P G P first).
BLOCK = 8
# Outer rounds (L-BFGS, certificate, growth or tighter tolerance) before giving up.
_MAX_ROUNDS = 40


@dataclass(frozen=True)
class FactoredSolve:
    """Outcome of :func:`solve_factored`: the factor and its certificate (see the module notes)."""

    b: np.ndarray
    residual: np.ndarray
    objective: float
    kkt_residual: float
    gap_min_eigenvalue: float
    iterations: int
    status: str
    rounds: int
    gb: np.ndarray | None


def _scaled_directions(vectors: np.ndarray, eigenvalues: np.ndarray, n: int, d: int) -> np.ndarray:
    """Columns √ε_i v_i with ε_i = −θ_i d³/(4n), the minimiser of F(S + ε vvᵀ) for unit v.

    Along S + ε vvᵀ the objective changes by εθ + ε² ‖A(vvᵀ)‖²/d², and E‖A(vvᵀ)‖² = 2n/d for a
    Gaussian design, so the one-dimensional minimiser is ε = −θ d³/(4n).
    """
    eps = np.maximum(-eigenvalues, 0.0) * d**3 / (4.0 * n)
    return vectors * np.sqrt(eps)


def _compress(b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(B', Q, σ) with B' = U_k diag(σ_k) the factor of B Bᵀ on its numerically non-zero range."""
    u, sigma, _ = np.linalg.svd(b, full_matrices=False)
    if sigma.size == 0 or sigma[0] == 0.0:
        return b[:, :0], u[:, :0], sigma[:0]
    keep = int(np.count_nonzero(sigma**2 > DROP_RTOL * sigma[0] ** 2))
    return u[:, :keep] * sigma[:keep], u[:, :keep], sigma[:keep]


def solve_factored(
    x,
    y: np.ndarray,
    lam: float,
    grad_zero: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    max_width: int,
    beat: Heartbeat,
) -> FactoredSolve:
    """Minimise F over S = B Bᵀ with p grown until ``kkt_residual <= tol`` (module notes).

    Parameters
    ----------
    x : design or ndarray, shape (n, d)
        NumPy backend only (:mod:`shallowscaling.design`).
    y : ndarray, shape (n,)
    lam : float
        λ > 0.
    grad_zero : ndarray, shape (d, d)
        ∇f(0) = −(2/d²) A*(y), from the caller's one full pass.
    tol : float
        Relative KKT tolerance, as in :func:`.fit_psd_convex`.
    max_iter : int
        Cap on L-BFGS iterations, all rounds together.
    max_width : int
        Stop with status ``"width"`` when the certificate asks for more columns than this.

    Returns
    -------
    FactoredSolve
        ``status`` is ``"converged"``, ``"max_iter"``, ``"stalled"``, ``"diverged"`` or
        ``"width"`` (hand over to FISTA).
    """
    n, d = x.shape
    shrink = lam / d
    scale = float(np.linalg.norm(grad_zero)) + lam / np.sqrt(d)
    g0 = grad_zero + shrink * np.eye(d)
    theta0, v0 = np.linalg.eigh(0.5 * (g0 + g0.T))
    negative = int(np.count_nonzero(theta0 < 0.0))
    if negative > max_width:
        # G₀'s negative directions are those the first proximal step would keep: far more of
        # them than max_width predicts a high-rank Ŝ (observed ranks: docs/performance.md, Notes moved from the source).
        empty = np.zeros((d, 0))
        return FactoredSolve(empty, -y, np.nan, np.inf, -np.inf, 0, "width", 0, None)
    p0 = min(negative, INITIAL_WIDTH)
    b = _scaled_directions(v0[:, :p0], theta0[:p0], n, d)
    iterations, rounds = 0, 0
    status = "converged"
    # L-BFGS stops when ‖G Q‖_F ≤ tol·scale/2: with ‖PGQ‖ ≤ ‖GQ‖ the first two KKT terms are
    # then within tol·scale/√2, leaving the rest of the budget to the negative part.
    gtol_b = 0.5 * tol * scale
    kkt, gap_min = np.inf, -np.inf
    objective, r, gq, sigma = np.nan, -y, None, None
    while True:
        rounds += 1
        if b.shape[1]:
            b, its, status = lbfgs_factored(
                x,
                y,
                lam,
                b,
                gtol_b,
                max(max_iter - iterations, 1),
                ops,
                beat,
                precondition=PRECONDITION,
                scaled_gtol=True,
            )
            iterations += its
            if status == "diverged":
                break
        b, q, sigma = _compress(b)
        objective, _, r = ops.factored_loss_grad(x, y, b, lam)
        p = q.shape[1]
        threshold = tol * scale / (2.0 * np.sqrt(max(d - p, 1)))
        # The dual matrix in full, by one symmetric pass (n·d²/2): its exact spectrum makes the
        # certificate rigorous (an iterative eigensolver would have to resolve eigenvalues of
        # size ~threshold, which took more block passes than this one; docs/performance.md).
        g = (2.0 / d**2) * ops.adjoint(x, r) + shrink * np.eye(d)
        certificate = range_certificate(g, q, scale)
        kkt, gap_min, gq = certificate.kkt, certificate.min_eigenvalue, certificate.gq
        values, vectors = certificate.values, certificate.vectors
        beat.tick(iterations, objective, kkt, width=p, round=rounds)
        if kkt <= tol:
            status = "converged"
            break
        if iterations >= max_iter:
            status = "max_iter"
            break
        if rounds >= _MAX_ROUNDS:
            status = "stalled"
            break
        grow = values < -threshold
        grow[BLOCK:] = False
        if grow.any():
            if p + int(np.count_nonzero(grow)) > max_width:
                status = "width"
                break
            new = _scaled_directions(vectors[:, grow], values[grow], n, d)
            b = np.hstack([b, new])
        else:
            # Every direction is certified: only B's own stationarity is short of tol.
            gtol_b = min(gtol_b, float(np.linalg.norm(gq))) * 0.5
    gb = None if gq is None or not gq.shape[1] else gq * sigma
    return FactoredSolve(b, r, float(objective), kkt, gap_min, iterations, status, rounds, gb)
