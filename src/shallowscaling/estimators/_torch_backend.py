"""PyTorch array backend of the quadratic-model solvers (``device="cpu"`` or ``"cuda"``).

:class:`TorchOperators` provides, as methods, every function of the NumPy backend
:mod:`._psd_operators` that the solvers call, with the same names, arguments and formulas, for
float64 tensors on one device:

    A(S)_μ = (x_μᵀ S x_μ − Tr S)/√d,        A*(r) = (Xᵀ diag(r) X − (Σ_μ r_μ) I)/√d,

the PSD soft-threshold prox, the factored network loss/gradient and the exact-line-search
coefficients (see :mod:`._psd_operators` for the equations). :func:`.fit_psd_convex` and
:func:`.fit_quadratic_network` select it with ``device=...``; this module is imported only then,
so the NumPy path never loads torch.

Differences from the NumPy backend, and why:

* No row blocks: on a GPU one large GEMM is fastest, so each pass is a single product. The
  temporaries are n×max(d, p) (one more copy of X) instead of one block.
* float64 throughout (the solvers' default tolerances are below single-precision rounding).
  An H100/H200 runs float64 GEMMs at tens of TFLOP/s, so nothing is gained by a lower precision
  that would then miss the tolerance.
* Scalars (norms, inner products) come back to the host with ``float(...)``, one device
  synchronisation each: a handful per iteration, negligible next to the O(n d²) products.

With ``device="cpu"`` the results equal the NumPy path's to rounding (different GEMM kernels sum in
a different order); the tests check ~1e-10 relative agreement of the operators and of full fits.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..design import ArrayDesign, StreamedDesign
from ..errors import InputError

__all__ = ["TorchOperators"]

DTYPE = torch.float64


class TorchOperators:
    """The operators of :mod:`._psd_operators` for float64 tensors on ``device``.

    Parameters
    ----------
    device : str
        A PyTorch device string (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...).

    Raises
    ------
    InputError
        If ``device`` is not a device string PyTorch understands, or names a CUDA device that is
        not available.
    """

    def __init__(self, device: str) -> None:
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise InputError(
                f"`device` (array backend) must be 'numpy' or a PyTorch device such as 'cpu' or 'cuda'; got {device!r}"
            ) from error
        if self.device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(
                f"`device` (array backend) {device!r} needs a CUDA GPU, but torch.cuda.is_available() is False; "
                "use device='cpu' or None"
            )

    # Array utilities -----------------------------------------------------------------------

    def to_backend(self, a: object) -> torch.Tensor:
        """A NumPy array, or a design of :mod:`shallowscaling.design` (drawn in full), as a tensor.

        A streamed design is materialised here: one device holds the whole X (15 GB in float64
        at d = 800, n = 2.4·10⁶, within an H100's 80 GB).
        """
        if isinstance(a, (ArrayDesign, StreamedDesign)):
            a = a.materialize()
        return torch.as_tensor(np.ascontiguousarray(a, dtype=np.float64), device=self.device)

    def to_numpy(self, a: torch.Tensor) -> np.ndarray:
        """A tensor as a NumPy array (copied to the host)."""
        return a.detach().cpu().numpy()

    def zeros(self, shape: int | tuple[int, ...]) -> torch.Tensor:
        return torch.zeros(shape, dtype=DTYPE, device=self.device)

    def empty(self, shape: int | tuple[int, ...]) -> torch.Tensor:
        return torch.empty(shape, dtype=DTYPE, device=self.device)

    def copy(self, a: torch.Tensor) -> torch.Tensor:
        return a.clone()

    def norm(self, a: torch.Tensor) -> float:
        """Euclidean (Frobenius for matrices) norm."""
        return float(torch.linalg.vector_norm(a))

    def inner(self, a: torch.Tensor, b: torch.Tensor) -> float:
        """Frobenius inner product Σ a_ij b_ij."""
        return float(torch.vdot(a.reshape(-1), b.reshape(-1)))

    def all_finite(self, a: torch.Tensor) -> bool:
        return bool(torch.isfinite(a).all())

    # Sensing operator and prox (convex solver) ------------------------------------------------

    def forward(self, x: torch.Tensor, s: torch.Tensor, single: bool = False) -> torch.Tensor:
        """A(S)_μ = (x_μᵀ S x_μ − Tr S)/√d for every row of ``x`` (n, d); ``single``: products in float32."""
        d = x.shape[1]
        xs = x.float() if single else x
        quad = torch.einsum("ij,ij->i", xs @ s.to(xs.dtype), xs).to(DTYPE)
        return (quad - torch.trace(s)) / math.sqrt(d)

    def adjoint(self, x: torch.Tensor, r: torch.Tensor, single: bool = False) -> torch.Tensor:
        """A*(r) = (Xᵀ diag(r) X − (Σ_μ r_μ) I)/√d, symmetrised; ``single``: the product in float32."""
        d = x.shape[1]
        xs = x.float() if single else x
        acc = (xs.T @ (xs * r.to(xs.dtype)[:, None])).to(DTYPE)
        # Symmetric only up to rounding; symmetrise so that eigh sees the matrix the maths describes.
        acc = 0.5 * (acc + acc.T)
        acc.diagonal().sub_(torch.sum(r))
        return acc / math.sqrt(d)

    def forward_adjoint(self, x: torch.Tensor, s: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A(S), A*(A(S) − y)): no fusion is needed with X resident on the device."""
        ax = self.forward(x, s)
        return ax, self.adjoint(x, ax - y)

    def forward_adjoint_factor(
        self, x: torch.Tensor, factor: torch.Tensor, y: torch.Tensor, single: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(A(F Fᵀ), A*(A(F Fᵀ) − y)) at cost n·d·r for the forward map; ``single``: products in float32."""
        d = x.shape[1]
        xs = x.float() if single else x
        xf = xs @ factor.to(xs.dtype)
        ax = (torch.einsum("ij,ij->i", xf, xf).to(DTYPE) - torch.sum(factor * factor)) / math.sqrt(d)
        # The cast X, not X: Tensor.float() of a float32 tensor is the tensor itself, so one cast per pass.
        return ax, self.adjoint(xs, ax - y, single=single)

    def gram_matmat(self, x: torch.Tensor, r: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """A*(r) V = (Xᵀ(r ⊙ X V) − (Σ r) V)/√d."""
        d = x.shape[1]
        return (x.T @ (r[:, None] * (x @ v)) - torch.sum(r) * v) / math.sqrt(d)

    def prox_psd_trace(self, v: torch.Tensor, shrink: float) -> tuple[torch.Tensor, torch.Tensor]:
        """(S, eigenvalues): S = U diag((μ_i − shrink)₊) Uᵀ from eigh((v + vᵀ)/2), eigenvalues descending."""
        s, lam, _ = self.prox_psd_trace_factor(v, shrink)
        return s, lam

    def prox_psd_trace_factor(self, v: torch.Tensor, shrink: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """:meth:`prox_psd_trace` and the factor F = U₊ diag(√λ₊) with S = F Fᵀ."""
        mu, u = torch.linalg.eigh(0.5 * (v + v.T))
        lam = torch.clamp(torch.flip(mu, dims=(0,)) - shrink, min=0.0)
        keep = int(torch.count_nonzero(lam))
        top = torch.flip(u, dims=(1,))[:, :keep]
        s = (top * lam[:keep]) @ top.T
        return 0.5 * (s + s.T), lam, top * torch.sqrt(lam[:keep])

    # Factored network S = B Bᵀ ---------------------------------------------------------------

    def _residual(self, xb: torch.Tensor, y: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """r = ŷ − y with ŷ_μ = (‖(XB)_μ‖² − ‖B‖_F²)/√d."""
        d = b.shape[0]
        return (torch.einsum("ij,ij->i", xb, xb) - torch.sum(b * b)) / math.sqrt(d) - y

    def factored_loss_grad(
        self, x: torch.Tensor, y: torch.Tensor, b: torch.Tensor, lam: float
    ) -> tuple[float, torch.Tensor, torch.Tensor]:
        """(L(B), ∇_B L, r) of :func:`._psd_operators.factored_loss_grad`."""
        xb = x @ b
        r = self._residual(xb, y, b)
        loss, grad = self.factor_loss_grad_from(x.T @ (xb * r[:, None]), r, b, lam)
        return loss, grad, r

    def factor_loss_grad_from(
        self, xtrxb: torch.Tensor, r: torch.Tensor, b: torch.Tensor, lam: float
    ) -> tuple[float, torch.Tensor]:
        """L(B) = (1/d²) Σ r² + (λ/d)‖B‖_F², ∇_B L = (4/(d²√d))(Xᵀ diag(r) X B − (Σ r) B) + (2λ/d) B."""
        d = b.shape[0]
        frob2 = self.inner(b, b)
        loss = self.inner(r, r) / d**2 + lam / d * frob2
        grad = (4.0 / (d**2 * math.sqrt(d))) * (xtrxb - torch.sum(r) * b) + (2.0 * lam / d) * b
        return loss, grad

    def factor_products(self, x: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> None:
        """out = X B."""
        torch.matmul(x, b, out=out)

    def line_coefficients(
        self, x: torch.Tensor, xb: torch.Tensor, b: torch.Tensor, direction: torch.Tensor, xp_out: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(c, q) with ŷ(B + tP) = ŷ(B) + 2t c + t² q, and X P into ``xp_out``."""
        d = x.shape[1]
        torch.matmul(x, direction, out=xp_out)
        c = (torch.einsum("ij,ij->i", xb, xp_out) - torch.sum(b * direction)) / math.sqrt(d)
        q = (torch.einsum("ij,ij->i", xp_out, xp_out) - torch.sum(direction * direction)) / math.sqrt(d)
        return c, q

    def factor_step_gradient(
        self, x: torch.Tensor, y: torch.Tensor, b: torch.Tensor, xb: torch.Tensor, xp: torch.Tensor, step: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Move X B to X B + step·X P in place (``b`` is the new factor); return (r, Xᵀ diag(r) X B)."""
        if step != 0.0:
            xb.add_(xp, alpha=step)
        r = self._residual(xb, y, b)
        return r, x.T @ (xb * r[:, None])
