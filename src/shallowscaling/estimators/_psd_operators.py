"""Private O(n d²) operators of the quadratic model: sensing map, adjoint, prox, factored loss.

The sensing operator of docs/theory.md §1.1 maps a symmetric d×d matrix S to the n inner products

    A(S)_μ = ⟨S, Z_μ⟩ = (x_μᵀ S x_μ − Tr S)/√d,        Z_μ = (x_μ x_μᵀ − I)/√d,

and its adjoint maps r ∈ Rⁿ back to A*(r) = (Xᵀ diag(r) X − (Σ_μ r_μ) I)/√d. Both are computed
in blocks of rows of the design (:mod:`shallowscaling.design`: an in-memory array or one redrawn
at every pass), one BLAS-3 product per block, so that memory stays O(block·d + d²) beyond the
design and the n sensing matrices (n×d² numbers) are never formed. The factored (network)
functions work the same way with B (d×p) in place of S; the L-BFGS driver additionally keeps
X B and X P (n×p each) between passes.

Costs per pass: the adjoint is a symmetric rank-k update (BLAS ``syrk``, n·d²/2 multiply-adds,
half a GEMM's); the forward map of a PSD iterate given by its factor F (S = F Fᵀ, d×r) costs
n·d·r; the fused :func:`forward_adjoint_factor` does both in one pass, which is what a streamed
design needs (one redraw per iteration). With ``single=True`` the products with X run in float32
(each block cast once; residuals and sums over blocks stay float64), which FISTA uses until its
residual is small (:mod:`.psd_convex`).

Every function here is a few array operations on its arguments (``@``, ``einsum``, ``eigh``) and
holds no state. This module is the NumPy *array backend* of the solvers: they call only the
functions listed in ``__all__`` (the operators above plus a few array utilities: ``to_backend``,
``to_numpy``, ``zeros``, ``empty``, ``copy``, ``norm``, ``inner``, ``all_finite``), so
:mod:`._torch_backend` provides the same names for PyTorch tensors (``device="cpu"`` or
``"cuda"``) without a second copy of the solvers.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg.blas import dsyrk, ssyrk

from .._kernels import quadratic_forms
from ..design import ArrayDesign, StreamedDesign, default_block_rows

__all__ = [
    "adjoint",
    "all_finite",
    "copy",
    "design_of",
    "empty",
    "factor_loss_grad_from",
    "factor_products",
    "factor_step_gradient",
    "factored_loss_grad",
    "forward",
    "forward_adjoint",
    "forward_adjoint_factor",
    "gram_matmat",
    "inner",
    "line_coefficients",
    "norm",
    "prox_psd_trace",
    "prox_psd_trace_factor",
    "to_backend",
    "to_numpy",
    "zeros",
]


def to_backend(a: object) -> np.ndarray | ArrayDesign | StreamedDesign:
    """``a`` as a C-contiguous float64 array (a copy only if needed); a design is kept as it is."""
    if isinstance(a, (ArrayDesign, StreamedDesign)):
        return a
    return np.ascontiguousarray(a, dtype=np.float64)


def to_numpy(a: np.ndarray) -> np.ndarray:
    """A backend array as a NumPy array (the identity here)."""
    return a


def zeros(shape: int | tuple[int, ...]) -> np.ndarray:
    """A float64 array of zeros."""
    return np.zeros(shape)


def empty(shape: int | tuple[int, ...]) -> np.ndarray:
    """An uninitialised float64 array."""
    return np.empty(shape)


def copy(a: np.ndarray) -> np.ndarray:
    """A copy of ``a``."""
    return a.copy()


def norm(a: np.ndarray) -> float:
    """Euclidean (Frobenius for matrices) norm of ``a``."""
    return float(np.linalg.norm(a))


def inner(a: np.ndarray, b: np.ndarray) -> float:
    """Frobenius inner product Σ a_ij b_ij of two arrays of the same shape."""
    return float(np.vdot(a, b))


def all_finite(a: np.ndarray) -> bool:
    """Whether every entry of ``a`` is finite."""
    return bool(np.all(np.isfinite(a)))


def design_of(x: object) -> ArrayDesign | StreamedDesign:
    """``x`` as a design (no check, no copy of a C-contiguous float64 array).

    The solvers validate their input once (:func:`shallowscaling.design.as_design`); this is the
    cheap per-pass conversion for callers that pass a plain array.
    """
    if isinstance(x, (ArrayDesign, StreamedDesign)):
        return x
    array = np.ascontiguousarray(x, dtype=np.float64)
    return ArrayDesign(array, default_block_rows(array.shape[1]))


def forward(x: object, s: np.ndarray, single: bool = False) -> np.ndarray:
    """A(S)_μ = (x_μᵀ S x_μ − Tr S)/√d for every row of the design ``x`` (n, d); ``s`` symmetric.

    ``single``: the products in float32 (see :func:`adjoint`).
    """
    design = design_of(x)
    if single:
        s = s.astype(np.float32)
    return quadratic_forms(_blocks(design, None, single), design.n, design.d, s)


#: From this d on the adjoint uses two syrk updates per block instead of one GEMM: syrk does half
#: the arithmetic, which pays once it outweighs the extra call overheads (measurements:
#: docs/performance.md, Notes moved from the source).
SYRK_MIN_D = 64
#: ... and only for blocks of at least this many rows per column (a short block is dominated by
#: the masks and call overheads). The passes that form Xᵀ diag(r) X therefore ask the design for
#: blocks of at least this many rows per column (:func:`_syrk_rows`), while the skinny products of
#: the factored solver keep the design's own blocks, which taller ones slowed (measurements:
#: docs/performance.md, Notes moved from the source).
SYRK_MIN_ROWS_PER_D = 4


def _syrk_rows(design) -> int:
    """Rows per block of a pass that accumulates Xᵀ diag(r) X (tall enough for syrk from d = 64)."""
    if design.d < SYRK_MIN_D:
        return design.block_rows
    return max(design.block_rows, SYRK_MIN_ROWS_PER_D * design.d)


class _SymmetricAccumulator:
    """Σ_blocks Xᵀ diag(r) X by two ``syrk`` updates per block (rows with r > 0 and r < 0).

    A rank-k update reads only one triangle, so it costs half the multiply-adds of the GEMM
    Xᵀ(r ⊙ X); the two signs are split because syrk needs a Gram form W Wᵀ, W = X·√|r|.
    """

    def __init__(self, d: int) -> None:
        # Fortran order: syrk updates its output in place only when it is F-contiguous.
        self.upper = np.zeros((d, d), order="F")
        self.full: np.ndarray | None = None
        self.syrk_used = False

    def add(self, block: np.ndarray, r: np.ndarray) -> None:
        """Add blockᵀ diag(r) block; a float32 block is multiplied in float32, summed in float64."""
        d = block.shape[1]
        single = block.dtype == np.float32
        if single:
            r = r.astype(np.float32)
        if d < SYRK_MIN_D or block.shape[0] < SYRK_MIN_ROWS_PER_D * d:
            # Small blocks: one GEMM beats the masks and two calls.
            product = block.T @ (block * r[:, None])
            if self.full is None:
                self.full = product.astype(np.float64, copy=False)
            else:
                self.full += product
            return
        self.syrk_used = True
        for sign, mask in ((1.0, r > 0.0), (-1.0, r < 0.0)):
            if not mask.any():
                continue
            weighted = block[mask]
            weighted *= np.sqrt(np.abs(r[mask]))[:, None]
            # weighted.T is F-contiguous (d × rows): syrk forms weighted.T @ weighted.
            if single:
                # Each block's product is summed in float64, so the rounding does not grow with n.
                self.upper += ssyrk(sign, weighted.T, trans=0, lower=0)
            else:
                self.upper = dsyrk(sign, weighted.T, beta=1.0, c=self.upper, overwrite_c=1, trans=0, lower=0)

    def result(self, r_sum: float) -> np.ndarray:
        """(Xᵀ diag(r) X − (Σ r) I)/√d as a symmetric C-ordered matrix."""
        d = self.upper.shape[0]
        # Accumulated GEMMs are symmetric only up to rounding; symmetrise so that eigh sees the
        # matrix the maths describes.
        acc = 0.5 * (self.full + self.full.T) if self.full is not None else None
        if self.syrk_used:
            upper = np.triu(self.upper)
            upper += np.triu(upper, 1).T
            acc = upper if acc is None else acc + upper
        elif acc is None:
            acc = np.zeros((d, d))
        acc[np.diag_indices(d)] -= r_sum
        acc /= np.sqrt(d)
        return np.ascontiguousarray(acc)


def _blocks(design, rows: int | None, single: bool):
    """The design's (first row, block) pairs, each block cast to float32 if ``single``."""
    for start, block in design.blocks(rows):
        yield start, (block.astype(np.float32) if single else block)


def adjoint(x: object, r: np.ndarray, single: bool = False) -> np.ndarray:
    """A*(r) = (Xᵀ diag(r) X − (Σ_μ r_μ) I)/√d, symmetric (d, d), for ``r`` of shape (n,).

    ``single``: the products in float32 (about twice as fast; relative error ~1e-7 per block),
    summed over blocks in float64.
    """
    design = design_of(x)
    acc = _SymmetricAccumulator(design.d)
    for start, block in _blocks(design, _syrk_rows(design), single):
        acc.add(block, r[start : start + block.shape[0]])
    return acc.result(float(np.sum(r)))


def forward_adjoint(x: object, s: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(A(S), A*(A(S) − y)) in one pass over the design, for a symmetric (d, d) ``s``."""
    design = design_of(x)
    d = design.d
    ax = np.empty(design.n)
    acc = _SymmetricAccumulator(d)
    shift = float(np.trace(s))
    for start, block in design.blocks(_syrk_rows(design)):
        stop = start + block.shape[0]
        ax_block = ax[start:stop]
        np.einsum("ij,ij->i", block @ s, block, out=ax_block)
        ax_block -= shift
        ax_block /= np.sqrt(d)
        acc.add(block, ax_block - y[start:stop])
    return ax, acc.result(float(np.sum(ax) - np.sum(y)))


def forward_adjoint_factor(
    x: object, factor: np.ndarray, y: np.ndarray, single: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(A(S), A*(A(S) − y)) in one pass for S = F Fᵀ given by its factor ``factor`` (d, r).

    A(S)_μ = (‖Fᵀx_μ‖² − ‖F‖_F²)/√d costs n·d·r instead of n·d² (r = 0 gives A(0) = 0).
    ``single``: the products with X in float32, everything else in float64 (see :func:`adjoint`).
    """
    design = design_of(x)
    d = design.d
    frob2 = float(np.sum(factor * factor))
    if single:
        factor = factor.astype(np.float32)
    single_gemm_block = design.n <= _syrk_rows(design) and (d < SYRK_MIN_D or design.n < SYRK_MIN_ROWS_PER_D * d)
    if isinstance(design, ArrayDesign) and single_gemm_block:
        # One small block: the same arithmetic without the block machinery, whose per-call
        # overhead is visible on the smallest problems (docs/performance.md, Notes moved from the source).
        xm = design.x.astype(np.float32) if single else design.x
        if factor.shape[1]:
            xf = xm @ factor
            ax = (np.einsum("ij,ij->i", xf, xf).astype(np.float64, copy=False) - frob2) / np.sqrt(d)
        else:
            ax = np.zeros(design.n)
        r = ax - y
        acc = (xm.T @ (xm * r.astype(xm.dtype, copy=False)[:, None])).astype(np.float64, copy=False)
        acc = 0.5 * (acc + acc.T)
        acc[np.diag_indices(d)] -= np.sum(r)
        acc /= np.sqrt(d)
        return ax, acc
    ax = np.empty(design.n)
    acc = _SymmetricAccumulator(d)
    for start, block in _blocks(design, _syrk_rows(design), single):
        stop = start + block.shape[0]
        ax_block = ax[start:stop]
        if factor.shape[1]:
            xf = block @ factor
            np.einsum("ij,ij->i", xf, xf, out=ax_block)
            ax_block -= frob2
            ax_block /= np.sqrt(d)
        else:
            ax_block[:] = 0.0
        acc.add(block, ax_block - y[start:stop])
    return ax, acc.result(float(np.sum(ax) - np.sum(y)))


def gram_matmat(x: object, r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """A*(r) V = (Xᵀ(r ⊙ X V) − (Σ r) V)/√d for V (d, k), in one pass of cost 2·n·d·k.

    The product of the dual matrix with a block of vectors, for Lanczos-type eigensolvers that
    never form the d×d matrix A*(r).
    """
    design = design_of(x)
    out = np.zeros_like(v)
    for start, block in design.blocks():
        xv = block @ v
        xv *= r[start : start + block.shape[0], None]
        out += block.T @ xv
    out -= float(np.sum(r)) * v
    out /= np.sqrt(design.d)
    return out


def prox_psd_trace(v: np.ndarray, shrink: float) -> tuple[np.ndarray, np.ndarray]:
    """Prox of ``shrink · Tr S + indicator(S ⪰ 0)`` at the symmetric part of ``v``.

    Returns ``(S, eigenvalues)`` with S = U diag((μ_i − shrink)₊) Uᵀ, where (μ_i, U) is the
    eigendecomposition of (v + vᵀ)/2, and the eigenvalues (μ_i − shrink)₊ in descending order.
    Cost O(d³).
    """
    s, lam, _ = prox_psd_trace_factor(v, shrink)
    return s, lam


def prox_psd_trace_factor(v: np.ndarray, shrink: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`prox_psd_trace` and the factor F = U_+ diag(√λ_+) (d, rank) with S = F Fᵀ."""
    mu, u = np.linalg.eigh(0.5 * (v + v.T))
    lam = np.maximum(mu[::-1] - shrink, 0.0)
    keep = int(np.count_nonzero(lam))
    top = u[:, ::-1][:, :keep]
    s = (top * lam[:keep]) @ top.T
    return 0.5 * (s + s.T), lam, top * np.sqrt(lam[:keep])


def factored_loss_grad(x: object, y: np.ndarray, b: np.ndarray, lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, gradient and residual of the network S = B Bᵀ (docs/theory.md §1.1), in one pass over ``x``.

    With ŷ_μ = (‖Bᵀx_μ‖² − ‖B‖_F²)/√d and r = ŷ − y:

        L(B) = (1/d²) Σ_μ r_μ² + (λ/d) ‖B‖_F²,
        ∇_B L = (4/(d²√d)) (Xᵀ diag(r) X B − (Σ_μ r_μ) B) + (2λ/d) B.

    The block product X B is reused for the gradient, so the cost is two GEMMs of n·d·p and the
    memory O(block·p + d·p) beyond the design. Returns ``(L, ∇_B L, r)``.
    """
    design = design_of(x)
    d, p = design.d, b.shape[1]
    frob2 = float(np.sum(b * b))
    r = np.empty(design.n)
    xtrxb = np.zeros((d, p))
    for start, block in design.blocks():
        xb = block @ b
        r_block = r[start : start + block.shape[0]]
        _factor_residual(xb, y[start : start + block.shape[0]], frob2, d, r_block)
        xb *= r_block[:, None]
        xtrxb += block.T @ xb
    loss, grad = factor_loss_grad_from(xtrxb, r, b, lam)
    return loss, grad, r


def _factor_residual(xb: np.ndarray, y: np.ndarray, frob2: float, d: int, out: np.ndarray) -> None:
    """out = ŷ − y with ŷ_μ = (‖(XB)_μ‖² − ‖B‖_F²)/√d, for one block of rows of XB."""
    np.einsum("ij,ij->i", xb, xb, out=out)
    out -= frob2
    out /= np.sqrt(d)
    out -= y


def factor_loss_grad_from(xtrxb: np.ndarray, r: np.ndarray, b: np.ndarray, lam: float) -> tuple[float, np.ndarray]:
    """L(B) and ∇_B L from Xᵀ diag(r) X B and r (the formulas of :func:`factored_loss_grad`)."""
    d = b.shape[0]
    frob2 = float(np.sum(b * b))
    loss = float(r @ r) / d**2 + lam / d * frob2
    grad = (4.0 / (d**2 * np.sqrt(d))) * (xtrxb - np.sum(r) * b) + (2.0 * lam / d) * b
    return loss, grad


def factor_products(x: object, b: np.ndarray, out: np.ndarray) -> None:
    """out = X B (n, p), computed in blocks of rows."""
    for start, block in design_of(x).blocks():
        np.matmul(block, b, out=out[start : start + block.shape[0]])


def line_coefficients(
    x: object, xb: np.ndarray, b: np.ndarray, direction: np.ndarray, xp_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample coefficients of ŷ(B + tP) = ŷ(B) + 2t c + t² q, and X P into ``xp_out``.

    c_μ = ((XB)_μ·(XP)_μ − ⟨B, P⟩)/√d and q_μ = (‖(XP)_μ‖² − ‖P‖_F²)/√d, so the network loss is
    an exact quartic polynomial in t along the direction P. ``xb`` must hold X B.
    """
    design = design_of(x)
    c = np.empty(design.n)
    q = np.empty(design.n)
    for start, block in design.blocks():
        stop = start + block.shape[0]
        xp = xp_out[start:stop]
        np.matmul(block, direction, out=xp)
        np.einsum("ij,ij->i", xb[start:stop], xp, out=c[start:stop])
        np.einsum("ij,ij->i", xp, xp, out=q[start:stop])
    c -= float(np.sum(b * direction))
    q -= float(np.sum(direction * direction))
    c /= np.sqrt(design.d)
    q /= np.sqrt(design.d)
    return c, q


def factor_step_gradient(
    x: object, y: np.ndarray, b: np.ndarray, xb: np.ndarray, xp: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Move X B to X B + step·X P in place (``b`` is the new factor) and return (r, Xᵀ diag(r) X B).

    One GEMM per block: the updated block of X B stays in cache for the residual and the
    weighted product.
    """
    design = design_of(x)
    d, p = design.d, b.shape[1]
    frob2 = float(np.sum(b * b))
    r = np.empty(design.n)
    xtrxb = np.zeros((d, p))
    for start, block in design.blocks():
        stop = start + block.shape[0]
        xb_block = xb[start:stop]
        if step != 0.0:
            xb_block += step * xp[start:stop]
        r_block = r[start:stop]
        _factor_residual(xb_block, y[start:stop], frob2, d, r_block)
        xtrxb += block.T @ (xb_block * r_block[:, None])
    return r, xtrxb
