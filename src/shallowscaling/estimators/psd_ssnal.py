"""The convex PSD problem by a semismooth Newton augmented Lagrangian (SSNAL) in the n-dimensional dual.

Same objective and certificate as :mod:`.psd_convex` (the convex estimator, not a new one).
Multiplied by d²/2 it reads (docs/theory.md §7.1)

    min over S ⪰ 0 of  ½ ‖A(S) − y‖² + c Tr S,        c = dλ/2,

whose dual is  max over u ∈ Rⁿ of ⟨y, u⟩ − ½ ‖u‖²  subject to  c I − A*(u) ⪰ 0,  with u = y − A(Ŝ)
at the optimum. The augmented Lagrangian method on the dual (Zhao, Sun & Toh 2010; Li, Sun &
Toh 2018 for the LASSO) keeps S as the multiplier of the constraint and alternates

    u ← argmin φ(u),   φ(u) = ½‖u‖² − ⟨y, u⟩ + ‖Π₊(W(u))‖²/(2σ),   W(u) = S + σ(A*(u) − c I),
    S ← Π₊(W(u)),      σ ← min(2σ, σ_max),

with Π₊ the projection onto the PSD cone. φ is convex and once differentiable,
∇φ(u) = u − y + A(Π₊(W(u))), and it is minimised by a semismooth Newton method: the direction
solves (I + σ A J A*) Δu = −∇φ(u) by conjugate gradients, J the generalised Jacobian of Π₊ at W
(W = P diag(w) Pᵀ, α = {w > 0}, β the rest):

    J(H) = P [[H̃_αα, Ω∘H̃_αβ], [(Ω∘H̃_αβ)ᵀ, 0]] Pᵀ,   H̃ = Pᵀ H P,   Ω_kl = w_k/(w_k − w_l),

then an Armijo line search on φ. One CG product costs 2·n·d·r (r = |α|, the rank of the current
S) instead of FISTA's n·d²/2 + n·d·r per iteration, and its count does not blow up where FISTA's
does, near the interpolation peak (measurements: docs/performance.md).

Why it is not the default everywhere: where Ŝ has high rank and FISTA needs a few dozen
iterations, the ~1000 CG products cost more than the whole FISTA solve. :func:`.fit_psd_convex`
(``method="auto"``) therefore starts with FISTA and hands its iterate over to this solver only
when the decay of its residual after ``AUTO_HANDOVER`` iterations predicts many more.

Precision: the CG products run in float32 (a copy of X; the Newton system is solved to 10 %
relative accuracy, far above float32 rounding); ∇φ, the line search, the multiplier and the
certificate are float64. Memory beyond the in-memory design: the float32 copy of X (half the
design) and three n×r float32 arrays (at most 1.5 designs at full rank).

Certificate: the same ``kkt_residual`` and duality gap as the factored route
(:func:`._psd_common.range_certificate`), from one adjoint pass at S.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from ..progress import Heartbeat
from . import _psd_operators as ops
from ._psd_common import range_certificate

__all__ = ["SSNALSolve", "solve_ssnal"]

#: Starting penalty σ₀ = SIGMA_START · ‖y‖ / ‖A*(y)‖ (scale-free: S and σA*(u) then start two
#: orders of magnitude apart, so the first subproblems are nearly quadratic and cheap).
SIGMA_START = 1e-2
#: σ doubles after every outer iteration up to SIGMA_START_RATIO_MAX · σ₀. Faster growth (3×,
#: 10×) or no cap needed fewer outer iterations but more CG products in all (docs/performance.md).
SIGMA_GROWTH = 2.0
SIGMA_MAX_RATIO = 2.0**17
#: Relative accuracy of each Newton system (inexact Newton: a forcing term of 0.1).
CG_RTOL = 0.1
#: An inner solve stops when ‖∇φ‖ ≤ INNER_RATIO × (the last outer step's dual infeasibility),
#: both relative to their scales; tighter inner solves bought nothing at the next outer step.
INNER_RATIO = 0.1
_CG_MAX = 500
_NEWTON_MAX = 50
_OUTER_MAX = 200
_ARMIJO = 1e-4
_LINE_SEARCH_MAX = 30
_LINE_SEARCH_FAILURES = 3
# Relative rounding slack of the Armijo test on φ.
_PHI_RTOL = 1e-13


@dataclass(frozen=True)
class SSNALSolve:
    """Outcome of :func:`solve_ssnal`.

    ``eigenvalues`` and ``vectors`` give Ŝ = V diag(w) Vᵀ on its range (w > 0, descending);
    ``residual`` is A(Ŝ) − y; ``inner`` is ⟨G, Ŝ⟩ and ``gap_min_eigenvalue`` λ_min(G) for the
    duality gap; ``iterations`` counts Newton steps, ``cg_products`` the CG products (each a
    pass over X, the solver's unit of work).
    """

    eigenvalues: np.ndarray
    vectors: np.ndarray
    residual: np.ndarray
    objective: float
    kkt_residual: float
    inner: float
    gap_min_eigenvalue: float
    iterations: int
    cg_products: int
    outer: int
    status: str


class _Newton:
    """The generalised Jacobian of Π₊ at W and the Newton operator v ↦ v + σ A J A*(v)."""

    def __init__(self, x32: np.ndarray, values: np.ndarray, vectors: np.ndarray, sigma: float) -> None:
        d = vectors.shape[0]
        self.alpha = values > 0.0
        self.p_alpha = vectors[:, self.alpha]
        self.p_beta = vectors[:, ~self.alpha]
        w_alpha, w_beta = values[self.alpha], values[~self.alpha]
        self.omega = w_alpha[:, None] / (w_alpha[:, None] - w_beta[None, :])
        self.x32 = x32
        self.z_alpha32 = x32 @ self.p_alpha.astype(np.float32)
        self.vectors = vectors
        self.sigma = sigma
        self.root_d = np.sqrt(d)

    def apply(self, v: np.ndarray) -> np.ndarray:
        """v + σ A(J(A*(v))), with A*(v) only on the rows α of the eigenbasis (cost 2·n·d·r)."""
        r = self.p_alpha.shape[1]
        if r == 0:
            return v.copy()
        v32 = v.astype(np.float32)
        # Rows α of Pᵀ (Xᵀ diag(v) X) P, then the identity part of A*: −(Σ v) on the αα block.
        rows = ((self.z_alpha32 * v32[:, None]).T @ self.x32).astype(np.float64) @ self.vectors
        total = float(v.sum())
        h_aa = rows[:, self.alpha]
        h_aa[np.diag_indices(r)] -= total
        m_ab = self.omega * rows[:, ~self.alpha]
        # z_iᵀ M z_i with M = [[h_aa, m_ab], [m_abᵀ, 0]] is z_iαᵀ (h_aa z_iα + 2 m_ab z_iβ).
        mix = (self.p_alpha @ h_aa + 2.0 * self.p_beta @ m_ab.T).astype(np.float32)
        quad = np.einsum("ik,ik->i", self.x32 @ mix, self.z_alpha32, dtype=np.float64)
        # h_aa and m_ab still carry A*'s 1/√d; A's own 1/√d and trace term follow.
        return v + self.sigma * (quad - float(np.trace(h_aa))) / self.root_d**2


def _conjugate_gradients(
    newton: _Newton, rhs: np.ndarray, rtol: float, max_products: int, on_product: Callable[[int], None]
) -> tuple[np.ndarray, int]:
    """Approximate solution of newton.apply(Δ) = rhs to ‖residual‖ ≤ rtol ‖rhs‖; returns (Δ, products).

    ``on_product(products)`` is called after every product (the heartbeat of long solves).
    """
    solution = np.zeros_like(rhs)
    residual = rhs.copy()
    direction = residual.copy()
    rho = float(residual @ residual)
    target = (rtol * np.linalg.norm(rhs)) ** 2
    products = 0
    while rho > target and products < max_products:
        image = newton.apply(direction)
        products += 1
        on_product(products)
        step = rho / float(direction @ image)
        solution += step * direction
        residual -= step * image
        rho_next = float(residual @ residual)
        direction = residual + (rho_next / rho) * direction
        rho = rho_next
    return solution, products


def _forward_factor(x, vectors: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A(V diag(w) Vᵀ) in float64, block by block (memory O(block·r), not n·r)."""
    out = np.empty(x.n)
    shift = float(values.sum())
    root_d = np.sqrt(x.d)
    for start, block in x.blocks():
        z = block @ vectors
        out[start : start + block.shape[0]] = ((z * z) @ values - shift) / root_d
    return out


def _cg_heartbeat(
    beat: Heartbeat,
    steps: int,
    objective: float,
    kkt: float,
    outer: int,
    sigma: float,
    done: int,
    norm: float,
    used: int,
) -> None:
    """A heartbeat line from inside a CG solve, if one is due (the clock read is all it costs otherwise)."""
    if beat.due():
        beat.tick(steps, objective, kkt, outer=outer, sigma=sigma, cg_products=done + used, inner_gradient=norm)


def _eigh(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs of the symmetric part of ``w``, eigenvalues descending."""
    values, vectors = np.linalg.eigh(0.5 * (w + w.T))
    return values[::-1], vectors[:, ::-1]


def solve_ssnal(
    x,
    y: np.ndarray,
    lam: float,
    grad_zero: np.ndarray,
    *,
    tol: float,
    max_iter: int,
    s0: np.ndarray | None,
    beat: Heartbeat,
) -> SSNALSolve:
    """Minimise F over S ⪰ 0 by SSNAL until ``kkt_residual <= tol`` (module notes).

    Parameters
    ----------
    x : ArrayDesign
        An in-memory design (the CG products need X in float32 besides it).
    y : ndarray, shape (n,)
    lam : float
        λ > 0.
    grad_zero : ndarray, shape (d, d)
        ∇f(0) = −(2/d²) A*(y), from the caller's one full pass.
    tol : float
        Relative KKT tolerance, as in :func:`.fit_psd_convex`.
    max_iter : int
        Cap on Newton steps and on CG products, each counted over the whole solve.
    s0 : ndarray, shape (d, d), optional
        Warm start (PSD, e.g. FISTA's last iterate); the dual start is u = y − A(S₀).
    """
    d = x.shape[1]
    c = 0.5 * d * lam
    c_eye = c * np.eye(d)
    scale = float(np.linalg.norm(grad_zero)) + lam / np.sqrt(d)
    x32 = x.materialize().astype(np.float32)
    s = np.zeros((d, d)) if s0 is None else s0
    u = y - ops.forward(x, s)
    adj_u = ops.adjoint(x, u)
    y_scale = 1.0 + float(np.linalg.norm(y))
    sigma = SIGMA_START * float(np.linalg.norm(y)) / max(0.5 * d**2 * float(np.linalg.norm(grad_zero)), 1e-300)
    if not sigma > 0.0:
        # y = 0: Ŝ = 0 and any penalty works.
        sigma = 1.0
    sigma_max = SIGMA_MAX_RATIO * sigma
    newton_steps, products, outer = 0, 0, 0
    inner_tol = None
    status = "max_iter"
    kkt, objective = np.inf, np.nan
    certificate = None
    stalled, failures = False, 0
    # The budget max_iter counts Newton steps and CG products together (``iterations`` of the result).
    while outer < _OUTER_MAX and newton_steps + products < max_iter and not stalled:
        outer += 1
        search_failed = False
        for _ in range(_NEWTON_MAX):
            values, vectors = _eigh(s + sigma * (adj_u - c_eye))
            newton = _Newton(x32, values, vectors, sigma)
            positive = values[newton.alpha]
            gradient = u - y + _forward_factor(x, newton.p_alpha, positive)
            phi = 0.5 * float(u @ u) - float(y @ u) + float(positive @ positive) / (2.0 * sigma)
            grad_norm = float(np.linalg.norm(gradient))
            if inner_tol is None:
                inner_tol = INNER_RATIO * grad_norm
            if grad_norm <= inner_tol or newton_steps + products >= max_iter - 1:
                break
            # Between outer steps the last certificate stands; the inner gradient shows progress.
            heartbeat = partial(_cg_heartbeat, beat, newton_steps, objective, kkt, outer, sigma, products, grad_norm)
            direction, used = _conjugate_gradients(
                newton, -gradient, CG_RTOL, min(_CG_MAX, max_iter - newton_steps - products - 1), heartbeat
            )
            products += used
            newton_steps += 1
            adj_direction = ops.adjoint(x, direction)
            slope = float(gradient @ direction)
            step = 1.0
            for _ in range(_LINE_SEARCH_MAX):
                u_trial = u + step * direction
                w_trial = s + sigma * (adj_u + step * adj_direction - c_eye)
                trial = np.maximum(np.linalg.eigvalsh(0.5 * (w_trial + w_trial.T)), 0.0)
                phi_trial = 0.5 * float(u_trial @ u_trial) - float(y @ u_trial) + float(trial @ trial) / (2.0 * sigma)
                # The slack: a violation by rounding in φ is not an increase.
                if phi_trial <= phi + _ARMIJO * step * slope + _PHI_RTOL * abs(phi):
                    break
                step *= 0.5
            else:
                # No decrease along a descent direction: end this inner solve (and stall after
                # _LINE_SEARCH_FAILURES outer steps in a row that ended so).
                search_failed = True
                break
            u = u + step * direction
            adj_u = adj_u + step * adj_direction
        failures = failures + 1 if search_failed else 0
        stalled = failures >= _LINE_SEARCH_FAILURES
        # The multiplier update S ← Π₊(W(u)), from the last eigendecomposition (at the final u).
        s_previous = s
        keep = values > 0.0
        eig, vec = values[keep], vectors[:, keep]
        s = (vec * eig) @ vec.T
        residual = _forward_factor(x, vec, eig) - y
        g = (2.0 / d**2) * ops.adjoint(x, residual) + (lam / d) * np.eye(d)
        certificate = range_certificate(g, vec, scale)
        kkt = certificate.kkt
        objective = float(residual @ residual) / d**2 + lam / d * float(eig.sum())
        beat.tick(newton_steps, objective, kkt, outer=outer, sigma=sigma, cg_products=products)
        if kkt <= tol:
            status = "converged"
            break
        if not (np.isfinite(kkt) and np.isfinite(objective)):
            status = "diverged"
            break
        if stalled:
            status = "stalled"
            break
        # Dual infeasibility of the outer step, ‖A*(u) + Z − cI‖ = ‖S − S_previous‖/σ, relative
        # to the size of the dual matrix; the next inner solve is asked for a tenth of it.
        infeasibility = float(np.linalg.norm(s - s_previous)) / sigma
        dual_scale = 1.0 + c * np.sqrt(d) + float(np.linalg.norm(adj_u))
        inner_tol = INNER_RATIO * infeasibility / dual_scale * y_scale
        sigma = min(SIGMA_GROWTH * sigma, sigma_max)
    # The loop ran at least once (max_iter ≥ 1), so S, its residual and certificate exist.
    inner = certificate.inner(eig)
    return SSNALSolve(
        eig, vec, residual, objective, kkt, inner, certificate.min_eigenvalue, newton_steps, products, outer, status
    )
