"""The quadratic network trained to its global minimum by full-batch L-BFGS (spec §1.1, §7).

The network is parametrised by B ∈ R^{d×p} (S = B Bᵀ; in the paper's notation
B = Wᵀ/(pd)^{1/4}) and trained on

    L(B) = (1/d²) Σ_μ (ŷ_μ − y_μ)² + (λ/d) ‖B‖_F²,      ŷ_μ = (‖Bᵀx_μ‖² − ‖B‖_F²)/√d,

which equals the convex objective F(B Bᵀ) of :mod:`.psd_convex` because Tr(B Bᵀ) = ‖B‖_F².
``device="cpu"`` or ``"cuda"`` runs the passes over X on PyTorch tensors (:mod:`._torch_backend`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..errors import InputError
from ..results import warn_not_converged
from .psd_convex import _backend, _check_design, _check_lam, _duality_gap, _rank

__all__ = ["QuadraticNetworkResult", "fit_quadratic_network"]

# L-BFGS memory (pairs of d×p matrices); more than the usual 10 speeds up the final,
# tight-tolerance phase on this ill-conditioned problem.
_LBFGS_MEMORY = 30
# X B is updated in place along each step (X B ← X B + t X P); it is recomputed from B every
# this many iterations so that rounding cannot accumulate (cost: one extra pass per 100).
_REFRESH_EVERY = 100


@dataclass(frozen=True)
class QuadraticNetworkResult:
    """Result of :func:`fit_quadratic_network`.

    Attributes
    ----------
    b : ndarray, shape (d, width)
        Trained factor B (first-layer weights up to the scale (pd)^{1/4}).
    s : ndarray, shape (d, d)
        Ŝ = B Bᵀ.
    eigenvalues : ndarray, shape (d,)
        Eigenvalues of Ŝ in descending order (the squared singular values of B, zero-padded).
    objective : float
        L(B) = F(B Bᵀ), the convex objective of :func:`.fit_psd_convex`.
    train_loss : float
        (1/n) Σ_μ (ŷ_μ − y_μ)².
    grad_norm : float
        ‖∇_B L(B)‖_F. Converged iff ``grad_norm <= gtol``.
    kkt_min_eigenvalue : float
        λ_min(G) with G = ∇f(Ŝ) + (λ/d) I the gradient of the convex objective at Ŝ. A stationary
        B with λ_min(G) ≥ 0 is a global minimiser of the convex problem; a clearly negative
        value flags a spurious point (typically width < rank of the convex optimum).
    duality_gap : float
        Upper bound on F(Ŝ) − min_{S⪰0} F (same bound as ``PSDConvexResult.duality_gap``).
    rank : int
        Eigenvalues of Ŝ above ``RANK_RTOL`` × max(largest eigenvalue, RMS label).
    iterations : int
        L-BFGS iterations.
    converged : bool
    status : str
        One of ``results.STATUSES``.
    message : str
    lam : float
    width : int
        Number of hidden units p (columns of B).
    """

    b: np.ndarray
    s: np.ndarray
    eigenvalues: np.ndarray
    objective: float
    train_loss: float
    grad_norm: float
    kkt_min_eigenvalue: float
    duality_gap: float
    rank: int
    iterations: int
    converged: bool
    status: str
    message: str
    lam: float
    width: int


def fit_quadratic_network(
    x: np.ndarray,
    y: np.ndarray,
    lam: float,
    rng: np.random.Generator,
    *,
    width: int | None = None,
    gtol: float = 1e-9,
    max_iter: int = 20000,
    b0: np.ndarray | None = None,
    device: str | None = None,
) -> QuadraticNetworkResult:
    """Train the quadratic network S = B Bᵀ by full-batch L-BFGS (spec §1.1, §7).

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Design, rows x_μ. Used in float64.
    y : ndarray, shape (n,)
        Labels y_μ.
    lam : float
        Weight decay λ ≥ 0 (spec §1.1 normalisation).
    rng : numpy.random.Generator
        Draws the initialisation B_ij ~ N(0, 1/d) (spec §7) when ``b0`` is not given.
    width : int, optional
        Hidden units p ≥ 1. Default: the columns of ``b0`` if given, else d (the paper's p ≥ d
        case, where the network and the convex problem share their minimum).
    gtol : float, default 1e-9
        Tolerance on ‖∇_B L‖_F (see Notes).
    max_iter : int, default 20000
        Cap on L-BFGS iterations (each two passes over X of cost n·d·p).
    b0 : ndarray, shape (d, width), optional
        Initial factor; overrides the random initialisation (``rng`` is then unused).
    device : str, optional
        Array backend: None or ``"numpy"`` (default) for NumPy, otherwise a PyTorch device
        (``"cpu"``, ``"cuda"``; needs the ``torch`` extra), as in :func:`.fit_psd_convex`. The
        initialisation is still drawn from ``rng`` with NumPy, so both backends start from the
        same B₀.

    Returns
    -------
    QuadraticNetworkResult

    Notes
    -----
    Loss and gradient, with r = ŷ − y:

        L(B) = (1/d²) Σ_μ r_μ² + (λ/d) ‖B‖_F²,
        ∇_B L = (4/(d²√d)) (Xᵀ diag(r) X B − (Σ_μ r_μ) B) + (2λ/d) B,

    L(B) = F(B Bᵀ), the convex objective of :func:`.fit_psd_convex`, and
    ∇_B L = 2 (∇f(S) + (λ/d) I) B with S = B Bᵀ.

    Optimiser: full-batch L-BFGS (memory 30) with an exact line search. Because ŷ is quadratic in
    B, the loss along a search direction P is the quartic
    L(B + tP) − L(B) = k₁t + k₂t² + k₃t³ + k₄t⁴ with coefficients from one pass over X
    (:func:`._psd_operators.line_coefficients`); the step is its global minimiser over t > 0,
    which meets the strong Wolfe curvature condition exactly (spec §7) and, unlike a line search on computed
    loss values, keeps decreasing the loss below the rounding level of L itself. One iteration
    costs two GEMMs of n·d·p; X B and X P are kept, so memory is two n×p arrays beyond X.

    Stopping rule: converged iff ‖∇_B L(B)‖_F ≤ gtol (absolute: the loss is already
    normalised by d², spec §1.1), checked on a gradient recomputed from scratch at the returned
    B. ``stalled`` means the exact line search found no decrease above the tolerance.

    When it reaches the convex optimum (Burer–Monteiro): the network reaches the convex
    optimum only when width ≥ rank(Ŝ) of the convex solution. With p ≥ rank(Ŝ) a second-order
    stationary B is a global minimiser of the convex problem (and for p ≥ d no spurious local
    minima exist generically); with width < rank(Ŝ) the network stops at a rank-constrained
    point whose ``kkt_min_eigenvalue`` is clearly negative. ``kkt_min_eigenvalue ≥ 0`` (up to
    the tolerance) certifies the global minimum; otherwise compare with :func:`.fit_psd_convex`.

    Examples
    --------
    >>> from shallowscaling.seeding import make_rng
    >>> rng = make_rng(0, "doctest")
    >>> x = rng.standard_normal((200, 8))
    >>> y = rng.standard_normal(200)
    >>> fit_quadratic_network(x, y, lam=1.0, rng=rng).converged
    True
    """
    x, y = _check_design(x, y)
    lam = _check_lam(lam)
    gtol = check_real(gtol, "gtol", "gradient-norm tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "iteration cap", lower=1)
    n, d = x.shape
    if width is None:
        width = d if b0 is None else np.shape(b0)[-1]
    width = check_int(width, "width", "hidden units p", lower=1)
    ops = _backend(device)
    if b0 is None:
        b0 = rng.standard_normal((d, width)) / np.sqrt(d)
    else:
        b0 = np.asarray(b0, dtype=np.float64)
        if b0.shape != (d, width) or not np.all(np.isfinite(b0)):
            raise InputError(f"`b0` (initial factor B₀) must be a finite ({d}, {width}) matrix; got shape {b0.shape}")

    x_dev, y_dev = ops.to_backend(x), ops.to_backend(y)
    b_dev, iterations, status = _lbfgs(x_dev, y_dev, lam, ops.to_backend(b0), gtol, max_iter, ops)
    objective, grad, r = ops.factored_loss_grad(x_dev, y_dev, b_dev, lam)
    grad_norm = ops.norm(grad)
    b = ops.to_numpy(b_dev)
    s = b @ b.T
    s = 0.5 * (s + s.T)
    # Squared singular values of B are the eigenvalues of B Bᵀ, without its rounding.
    singular = np.linalg.svd(b, compute_uv=False)
    eigenvalues = np.zeros(d)
    eigenvalues[: singular.size] = singular**2
    # One extra adjoint pass gives the convex gradient ∇f(Ŝ) = (2/d²) A*(r): the global
    # optimality certificate of the factorisation.
    grad_convex = (2.0 / d**2) * ops.to_numpy(ops.adjoint(x_dev, r))
    squared = ops.inner(r, r)
    g = grad_convex + (lam / d) * np.eye(d)
    kkt_min = float(np.linalg.eigvalsh(g)[0])
    gap = _duality_gap(grad_convex, s, lam, objective)
    rank = _rank(eigenvalues, y)

    # The certificate is the freshly recomputed gradient, not the solver's running one.
    if not (np.isfinite(objective) and np.isfinite(grad_norm)):
        status = "diverged"
    elif status == "converged" and grad_norm > gtol:
        status = "stalled"
    converged = status == "converged"
    message = (
        f"{status} after {iterations} L-BFGS iterations: "
        f"grad_norm {grad_norm:.3g} (gtol {gtol:.3g}), kkt_min_eigenvalue {kkt_min:.3g}, "
        f"duality_gap {gap:.3g}, objective {objective:.10g}, rank {rank}"
    )
    if not converged:
        warn_not_converged(
            "fit_quadratic_network",
            message,
            "Increase max_iter, loosen gtol, or cross-check with fit_psd_convex.",
        )
    return QuadraticNetworkResult(
        b=b,
        s=s,
        eigenvalues=eigenvalues,
        objective=objective,
        train_loss=squared / n,
        grad_norm=grad_norm,
        kkt_min_eigenvalue=kkt_min,
        duality_gap=gap,
        rank=rank,
        iterations=iterations,
        converged=converged,
        status=status,
        message=message,
        lam=lam,
        width=width,
    )


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


def _two_loop(grad, history: deque, ops):
    """L-BFGS two-loop recursion: an approximation of H⁻¹ ∇ from the stored (s, Δg) pairs."""
    q = ops.copy(grad)
    alphas = []
    for s, dg, rho in reversed(history):
        a = rho * ops.inner(s, q)
        q -= a * dg
        alphas.append(a)
    if history:
        s, dg, rho = history[-1]
        q *= 1.0 / (rho * ops.inner(dg, dg))
    for (s, dg, rho), a in zip(history, reversed(alphas), strict=True):
        q += (a - rho * ops.inner(dg, q)) * s
    return q


def _lbfgs(x, y, lam: float, b, gtol: float, max_iter: int, ops) -> tuple[object, int, str]:
    """L-BFGS with exact line search on the quartic L(B + tP); returns (B, iterations, status).

    ``x``, ``y`` and ``b`` are arrays of the backend ``ops``. Memory: X B and X P are kept (two
    n×p arrays) so that an iteration costs two GEMMs of n·d·p (X P for the line search,
    Xᵀ diag(r) X B for the gradient).
    """
    n, d = x.shape
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
        grad_norm = ops.norm(grad)
        if not np.isfinite(grad_norm):
            return b, iterations, "diverged"
        if grad_norm <= gtol:
            if since_refresh == 0:
                return b, iterations, "converged"
            (r, grad), since_refresh = fresh_gradient(), 0
            continue
        if iterations >= max_iter:
            return b, iterations, "max_iter"
        direction = -_two_loop(grad, history, ops)
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
        if since_refresh >= _REFRESH_EVERY:
            (r, grad), since_refresh = fresh_gradient(), 0
