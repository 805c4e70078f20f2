"""Private O(n d²) operators of the quadratic model: sensing map, adjoint, prox, factored loss.

The sensing operator of spec §1.1 maps a symmetric d×d matrix S to the n inner products

    A(S)_μ = ⟨S, Z_μ⟩ = (x_μᵀ S x_μ − Tr S)/√d,        Z_μ = (x_μ x_μᵀ − I)/√d,

and its adjoint maps r ∈ Rⁿ back to A*(r) = (Xᵀ diag(r) X − (Σ_μ r_μ) I)/√d. Both are computed
in blocks of rows, one BLAS-3 product per block, so that memory stays O(chunk·d + d²) on top of
the n×d design and the n sensing matrices (n×d² numbers) are never formed. The factored
(network) functions work the same way with B (d×p) in place of S; the L-BFGS driver additionally
keeps X B and X P (n×p each) between passes.

Every function here is a few array operations on its arguments (``@``, ``einsum``, ``eigh``) and
holds no state. This module is the NumPy *array backend* of the solvers: they call only the
functions listed in ``__all__`` (the operators above plus a few array utilities: ``to_backend``,
``to_numpy``, ``zeros``, ``empty``, ``copy``, ``norm``, ``inner``, ``all_finite``), so
:mod:`._torch_backend` provides the same names for PyTorch tensors (``device="cpu"`` or
``"cuda"``) without a second copy of the solvers.
"""

from __future__ import annotations

import numpy as np

from ..data import CHUNK_ROWS

__all__ = [
    "adjoint",
    "all_finite",
    "chunk_rows",
    "copy",
    "empty",
    "factor_loss_grad_from",
    "factor_products",
    "factor_step_gradient",
    "factored_loss_grad",
    "forward",
    "inner",
    "line_coefficients",
    "norm",
    "prox_psd_trace",
    "to_backend",
    "to_numpy",
    "zeros",
]

# Rows per block: ~64k numbers (512 KB in float64) per d-wide block keeps the block and its
# product with S in the L2/L3 cache while each GEMM stays large enough to run at full BLAS speed
# (a one-off sweep at d = 100, n = 4·10⁴, one thread: blocks of 256–1024 rows ran the forward
# and adjoint passes at 0.92–0.98 of a bare X @ S, blocks of 4096 at 0.97–1.09, one block of all
# rows at 1.1–1.4). Capped by data.CHUNK_ROWS, floored so that the GEMMs of large d keep a
# useful height.
_CHUNK_NUMBERS = 65536
_MIN_CHUNK_ROWS = 256


def to_backend(a: np.ndarray) -> np.ndarray:
    """``a`` as a C-contiguous float64 array (the backend's array type; a copy only if needed)."""
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


def chunk_rows(d: int) -> int:
    """Rows per block for a design of width ``d``."""
    return int(min(CHUNK_ROWS, max(_MIN_CHUNK_ROWS, _CHUNK_NUMBERS // max(d, 1))))


def forward(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """A(S)_μ = (x_μᵀ S x_μ − Tr S)/√d for every row of ``x`` (n, d); ``s`` symmetric (d, d)."""
    n, d = x.shape
    rows = chunk_rows(d)
    out = np.empty(n, dtype=x.dtype)
    buf = np.empty((min(rows, n), d), dtype=x.dtype)
    for start in range(0, n, rows):
        block = x[start : start + rows]
        xs = buf[: block.shape[0]]
        np.matmul(block, s, out=xs)
        out[start : start + rows] = np.einsum("ij,ij->i", xs, block)
    out -= np.trace(s)
    out /= np.sqrt(d)
    return out


def adjoint(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    """A*(r) = (Xᵀ diag(r) X − (Σ_μ r_μ) I)/√d, symmetric (d, d), for ``r`` of shape (n,)."""
    n, d = x.shape
    rows = chunk_rows(d)
    acc = np.zeros((d, d), dtype=x.dtype)
    buf = np.empty((min(rows, n), d), dtype=x.dtype)
    for start in range(0, n, rows):
        block = x[start : start + rows]
        weighted = buf[: block.shape[0]]
        np.multiply(block, r[start : start + rows, None], out=weighted)
        acc += block.T @ weighted
    # Accumulated blocks are symmetric only up to rounding; symmetrise so that eigh sees the
    # matrix the maths describes.
    acc = 0.5 * (acc + acc.T)
    acc[np.diag_indices(d)] -= np.sum(r)
    acc /= np.sqrt(d)
    return acc


def prox_psd_trace(v: np.ndarray, shrink: float) -> tuple[np.ndarray, np.ndarray]:
    """Prox of ``shrink · Tr S + indicator(S ⪰ 0)`` at the symmetric part of ``v``.

    Returns ``(S, eigenvalues)`` with S = U diag((μ_i − shrink)₊) Uᵀ, where (μ_i, U) is the
    eigendecomposition of (v + vᵀ)/2, and the eigenvalues (μ_i − shrink)₊ in descending order.
    Cost O(d³).
    """
    mu, u = np.linalg.eigh(0.5 * (v + v.T))
    lam = np.maximum(mu[::-1] - shrink, 0.0)
    keep = int(np.count_nonzero(lam))
    top = u[:, ::-1][:, :keep]
    s = (top * lam[:keep]) @ top.T
    return 0.5 * (s + s.T), lam


def factored_loss_grad(x: np.ndarray, y: np.ndarray, b: np.ndarray, lam: float) -> tuple[float, np.ndarray, np.ndarray]:
    """Loss, gradient and residual of the network S = B Bᵀ (spec §1.1), in one pass over ``x``.

    With ŷ_μ = (‖Bᵀx_μ‖² − ‖B‖_F²)/√d and r = ŷ − y:

        L(B) = (1/d²) Σ_μ r_μ² + (λ/d) ‖B‖_F²,
        ∇_B L = (4/(d²√d)) (Xᵀ diag(r) X B − (Σ_μ r_μ) B) + (2λ/d) B.

    The block product X B is reused for the gradient, so the cost is two GEMMs of n·d·p and the
    memory O(chunk·p + d·p) beyond ``x``. Returns ``(L, ∇_B L, r)``.
    """
    n, d = x.shape
    p = b.shape[1]
    rows = chunk_rows(max(d, p))
    frob2 = float(np.sum(b * b))
    r = np.empty(n, dtype=x.dtype)
    xtrxb = np.zeros((d, p), dtype=x.dtype)
    buf = np.empty((min(rows, n), p), dtype=x.dtype)
    for start in range(0, n, rows):
        block = x[start : start + rows]
        xb = buf[: block.shape[0]]
        np.matmul(block, b, out=xb)
        r_block = r[start : start + rows]
        _factor_residual(xb, y[start : start + rows], frob2, d, r_block)
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


def factor_products(x: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """out = X B (n, p), computed in blocks of rows."""
    n, d = x.shape
    rows = chunk_rows(max(d, b.shape[1]))
    for start in range(0, n, rows):
        np.matmul(x[start : start + rows], b, out=out[start : start + rows])


def line_coefficients(
    x: np.ndarray, xb: np.ndarray, b: np.ndarray, direction: np.ndarray, xp_out: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample coefficients of ŷ(B + tP) = ŷ(B) + 2t c + t² q, and X P into ``xp_out``.

    c_μ = ((XB)_μ·(XP)_μ − ⟨B, P⟩)/√d and q_μ = (‖(XP)_μ‖² − ‖P‖_F²)/√d, so the network loss is
    an exact quartic polynomial in t along the direction P. ``xb`` must hold X B.
    """
    n, d = x.shape
    rows = chunk_rows(max(d, b.shape[1]))
    c = np.empty(n, dtype=x.dtype)
    q = np.empty(n, dtype=x.dtype)
    for start in range(0, n, rows):
        xp = xp_out[start : start + rows]
        np.matmul(x[start : start + rows], direction, out=xp)
        np.einsum("ij,ij->i", xb[start : start + rows], xp, out=c[start : start + rows])
        np.einsum("ij,ij->i", xp, xp, out=q[start : start + rows])
    c -= float(np.sum(b * direction))
    q -= float(np.sum(direction * direction))
    c /= np.sqrt(d)
    q /= np.sqrt(d)
    return c, q


def factor_step_gradient(
    x: np.ndarray, y: np.ndarray, b: np.ndarray, xb: np.ndarray, xp: np.ndarray, step: float
) -> tuple[np.ndarray, np.ndarray]:
    """Move X B to X B + step·X P in place (``b`` is the new factor) and return (r, Xᵀ diag(r) X B).

    One GEMM per block: the updated block of X B stays in cache for the residual and the
    weighted product.
    """
    n, d = x.shape
    p = b.shape[1]
    rows = chunk_rows(max(d, p))
    frob2 = float(np.sum(b * b))
    r = np.empty(n, dtype=x.dtype)
    xtrxb = np.zeros((d, p), dtype=x.dtype)
    buf = np.empty((min(rows, n), p), dtype=x.dtype)
    for start in range(0, n, rows):
        block = x[start : start + rows]
        xb_block = xb[start : start + rows]
        weighted = buf[: block.shape[0]]
        if step != 0.0:
            np.multiply(xp[start : start + rows], step, out=weighted)
            xb_block += weighted
        r_block = r[start : start + rows]
        _factor_residual(xb_block, y[start : start + rows], frob2, d, r_block)
        np.multiply(xb_block, r_block[:, None], out=weighted)
        xtrxb += block.T @ weighted
    return r, xtrxb
