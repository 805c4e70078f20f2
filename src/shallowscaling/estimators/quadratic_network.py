"""The quadratic network trained to its global minimum by full-batch L-BFGS (docs/theory.md §1.1, §7).

The network is parametrised by B ∈ R^{d×p} (S = B Bᵀ; in the paper's notation
B = Wᵀ/(pd)^{1/4}) and trained on

    L(B) = (1/d²) Σ_μ (ŷ_μ − y_μ)² + (λ/d) ‖B‖_F²,      ŷ_μ = (‖Bᵀx_μ‖² − ‖B‖_F²)/√d,

which equals the convex objective F(B Bᵀ) of :mod:`.psd_convex` because Tr(B Bᵀ) = ‖B‖_F².
``device="cpu"`` or ``"cuda"`` runs the passes over X on PyTorch tensors (:mod:`._torch_backend`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_int, check_real
from ..errors import InputError
from ..progress import Heartbeat
from ..results import warn_not_converged
from ._lbfgs import lbfgs_factored
from ._psd_common import check_design, check_lam, count_rank, duality_gap, select_backend

__all__ = ["GTOL_PER_TOL", "QuadraticNetworkResult", "fit_quadratic_network"]


#: The pipeline's solver tolerance ``tol`` (config ``quadratic.solver.tol``, ``fit --tol``) reaches this
#: network as its gradient tolerance ``gtol = tol · GTOL_PER_TOL``. A gradient norm is not a duality
#: gap: the factor keeps the study's default ``tol = 1e-7`` at ``gtol = 1e-9``, this solver's
#: tolerance before ``tol`` reached it, so the default study's fits are unchanged (``1e-7 * 1e-2``
#: is exactly ``1e-9`` in floating point, where ``1e-7 / 100`` is not).
GTOL_PER_TOL = 1e-2


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
    block_size: int | None = None,
) -> QuadraticNetworkResult:
    """Train the quadratic network S = B Bᵀ by full-batch L-BFGS (docs/theory.md §1.1, §7).

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Design, rows x_μ. Used in float64.
    y : ndarray, shape (n,)
        Labels y_μ.
    lam : float
        Weight decay λ ≥ 0 (docs/theory.md §1.1 normalisation).
    rng : numpy.random.Generator
        Draws the initialisation B_ij ~ N(0, 1/d) (docs/theory.md §7) when ``b0`` is not given.
    width : int, optional
        Hidden units p ≥ 1. Default: the columns of ``b0`` if given, else d (the paper's p ≥ d
        case, where the network and the convex problem share their minimum).
    gtol : float, default 1e-9
        (The ``fit`` job passes ``tol · GTOL_PER_TOL``: 1e-9 at the study's default ``tol``.)
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
    block_size : int, optional
        Rows of X per block of a pass (NumPy backend); see :mod:`shallowscaling.design`.

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
    which meets the strong Wolfe curvature condition exactly (docs/theory.md §7) and, unlike a line search on computed
    loss values, keeps decreasing the loss below the rounding level of L itself. One iteration
    costs two GEMMs of n·d·p; X B and X P are kept, so memory is two n×p arrays beyond X.

    Stopping rule: converged iff ‖∇_B L(B)‖_F ≤ gtol (absolute: the loss is already
    normalised by d², docs/theory.md §1.1), checked on a gradient recomputed from scratch at the returned
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
    x, y = check_design(x, y, block_size)
    lam = check_lam(lam)
    gtol = check_real(gtol, "gtol", "gradient-norm tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "iteration cap", lower=1)
    n, d = x.shape
    if width is None:
        width = d if b0 is None else np.shape(b0)[-1]
    width = check_int(width, "width", "hidden units p", lower=1)
    ops = select_backend(device)
    if b0 is None:
        b0 = rng.standard_normal((d, width)) / np.sqrt(d)
    else:
        b0 = np.asarray(b0, dtype=np.float64)
        if b0.shape != (d, width) or not np.all(np.isfinite(b0)):
            raise InputError(f"`b0` (initial factor B₀) must be a finite ({d}, {width}) matrix; got shape {b0.shape}")

    x_dev, y_dev = ops.to_backend(x), ops.to_backend(y)
    beat = Heartbeat("fit_quadratic_network", "grad_norm", d=d, n=n, width=width, lam=lam)
    b_dev, iterations, status = lbfgs_factored(x_dev, y_dev, lam, ops.to_backend(b0), gtol, max_iter, ops, beat)
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
    gap = duality_gap(grad_convex, s, lam, objective, ops.to_numpy(r), np.asarray(y, dtype=float))
    rank = count_rank(eigenvalues, y)

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
    beat.end(status, iterations, objective, grad_norm, duality_gap=gap, rank=rank)
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
