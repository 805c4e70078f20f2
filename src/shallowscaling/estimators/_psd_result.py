"""The result type of the convex PSD solvers and its construction from the factored and SSNAL routes.

:func:`.psd_convex.fit_psd_convex` returns a :class:`PSDConvexResult` whatever route solved the
problem (FISTA, :mod:`.psd_factored`, :mod:`.psd_ssnal`); the fields and their meanings are the
same for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..progress import Heartbeat
from ..results import warn_not_converged
from ._psd_common import count_rank, gap_bound
from .psd_ssnal import solve_ssnal

__all__ = ["PSDConvexResult", "factored_result", "ssnal_result"]


@dataclass(frozen=True)
class PSDConvexResult:
    """Result of :func:`fit_psd_convex`.

    Attributes
    ----------
    s : ndarray, shape (d, d)
        The estimate Ŝ (symmetric, PSD).
    eigenvalues : ndarray, shape (d,)
        Eigenvalues of Ŝ in descending order (exact zeros below the soft threshold).
    objective : float
        F(Ŝ) = (1/d²) Σ_μ (y_μ − ⟨Ŝ, Z_μ⟩)² + (λ/d) Tr Ŝ.
    train_loss : float
        (1/n) Σ_μ (y_μ − ⟨Ŝ, Z_μ⟩)².
    kkt_residual : float
        ‖Ξ‖_F / scale, where Ξ ∈ ∂F(Ŝ) is an explicit subgradient (see Notes) and
        scale = ‖∇f(0)‖_F + λ/√d. Converged iff ``kkt_residual <= tol``.
    duality_gap : float
        Upper bound on F(Ŝ) − min F from the dual matrix G = ∇f(Ŝ) + (λ/d) I (see Notes);
        ``inf`` when λ = 0 and G is not PSD.
    rank : int
        Number of eigenvalues above ``RANK_RTOL`` × max(largest eigenvalue, RMS label).
    iterations : int
        Passes of the solver over X: accepted FISTA iterations; L-BFGS iterations of the factored
        route; Newton steps plus CG products of the SSNAL route; their sum when ``method="auto"``
        hands over from one route to the next.
    converged : bool
    status : str
        One of ``results.STATUSES``.
    message : str
    lam : float
        The regularisation λ.
    """

    s: np.ndarray
    eigenvalues: np.ndarray
    objective: float
    train_loss: float
    kkt_residual: float
    duality_gap: float
    rank: int
    iterations: int
    converged: bool
    status: str
    message: str
    lam: float


def factored_result(solve, y: np.ndarray, lam: float, tol: float, beat: Heartbeat) -> PSDConvexResult:
    """The :class:`PSDConvexResult` of a factored solve (same fields and meanings as FISTA's)."""
    b = solve.b
    d = b.shape[0]
    s = b @ b.T
    s = 0.5 * (s + s.T)
    eigenvalues = np.zeros(d)
    singular = np.linalg.svd(b, compute_uv=False)
    eigenvalues[: singular.size] = singular**2
    # ⟨G, B Bᵀ⟩ = ⟨G B, B⟩ with G B = (2/d²) A*(r) B + (λ/d) B; r is the final residual A(S) − y,
    # so this is the exact inner product of the gap bound.
    inner = float(np.sum(solve.gb * b)) if solve.gb is not None else 0.0
    gap = gap_bound(inner, solve.gap_min_eigenvalue, lam, solve.objective, d, solve.residual, y)
    rank = count_rank(eigenvalues, y) if d else 0
    head = f"{solve.iterations} L-BFGS iterations (factored, width {b.shape[1]}, {solve.rounds} rounds)"
    return _finish(s, eigenvalues, solve, gap, rank, solve.iterations, head, tol, lam, beat, warn=True)


def ssnal_result(
    x, y: np.ndarray, lam: float, tol: float, max_iter: int, s0, grad_zero, quiet: bool = False
) -> PSDConvexResult:
    """Run :func:`.psd_ssnal.solve_ssnal`; return a :class:`PSDConvexResult` (fields as FISTA's).

    ``quiet``: no not-converged warning (the caller falls back to FISTA and reports the outcome).
    """
    n, d = x.shape
    beat = Heartbeat("fit_psd_convex[ssnal]", "kkt_residual", d=d, n=n, lam=lam, tol=tol)
    solve = solve_ssnal(x, y, lam, grad_zero, tol=tol, max_iter=max(max_iter, 1), s0=s0, beat=beat)
    s = (solve.vectors * solve.eigenvalues) @ solve.vectors.T
    s = 0.5 * (s + s.T)
    eigenvalues = np.zeros(d)
    eigenvalues[: solve.eigenvalues.size] = solve.eigenvalues
    gap = gap_bound(solve.inner, solve.gap_min_eigenvalue, lam, solve.objective, d, solve.residual, y)
    rank = count_rank(eigenvalues, y)
    head = f"{solve.iterations} Newton steps (SSNAL, {solve.cg_products} CG products, {solve.outer} outer)"
    # Newton steps and CG products: both are passes over X, as a FISTA iteration is.
    passes = solve.iterations + solve.cg_products
    return _finish(s, eigenvalues, solve, gap, rank, passes, head, tol, lam, beat, warn=not quiet)


def _finish(
    s: np.ndarray,
    eigenvalues: np.ndarray,
    solve,
    gap: float,
    rank: int,
    iterations: int,
    head: str,
    tol: float,
    lam: float,
    beat: Heartbeat,
    warn: bool,
) -> PSDConvexResult:
    """The message, the end line, the not-converged warning and the result of a factored or SSNAL solve."""
    status = solve.status
    converged = status == "converged"
    message = (
        f"{status} after {head}: kkt_residual {solve.kkt_residual:.3g} (tol {tol:.3g}), "
        f"duality_gap {gap:.3g}, objective {solve.objective:.10g}, rank {rank}"
    )
    beat.end(status, solve.iterations, solve.objective, solve.kkt_residual, duality_gap=gap, rank=rank)
    if not converged and warn:
        warn_not_converged("fit_psd_convex", message, "Increase max_iter, or use method='fista'.")
    return PSDConvexResult(
        s=s,
        eigenvalues=eigenvalues,
        objective=solve.objective,
        train_loss=float(solve.residual @ solve.residual) / solve.residual.shape[0],
        kkt_residual=solve.kkt_residual,
        duality_gap=gap,
        rank=rank,
        iterations=iterations,
        converged=converged,
        status=status,
        message=message,
        lam=lam,
    )
