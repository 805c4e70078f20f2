"""Checks and certificates shared by the convex PSD solver (:mod:`.psd_convex`) and the quadratic
network (:mod:`.quadratic_network`): design and λ checks, the rank count, the array backend and
the duality-gap bound.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._validation import check_real
from ..design import Design, as_design
from ..errors import InputError
from . import _psd_operators

#: An eigenvalue of Ŝ counts towards ``rank`` when it exceeds RANK_RTOL × max(largest eigenvalue,
#: RMS label). The prox sets discarded eigenvalues to exact zeros; the factored network leaves
#: them at O(grad_norm²)-sized values, far below 1e-6. The RMS label (in the units of S, since
#: y ≈ ⟨S, Z⟩) keeps a vanishing network estimate (λ ≥ λ_max) from counting rounding as rank.
RANK_RTOL = 1e-6


def check_design(x: object, y: object, block_rows: int | None = None) -> tuple[Design, np.ndarray]:
    """Return (x, y) as a design (:mod:`shallowscaling.design`) and a float64 (n,) array.

    ``x`` is an (n, d) array or a design. Double precision is required: the default tolerances
    (docs/theory.md §7, "float64 for small λ") are below single-precision rounding. An array is made
    C-contiguous (a copy only if it is not) so that every block of rows is a contiguous BLAS
    operand. Raises InputError for a bad shape, a non-finite entry or a bad ``block_rows``.
    """
    design = as_design(x, block_rows)
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (design.n,):
        raise InputError(f"`y` (labels y) must have shape (n,) = ({design.n},); got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise InputError("`y` (labels y) must be finite; got NaN or inf entries")
    return design, y


def check_lam(lam: object) -> float:
    return check_real(lam, "lam", "regularisation λ", lower=0.0)


def count_rank(eigenvalues: np.ndarray, y: np.ndarray) -> int:
    """Eigenvalues (descending) above RANK_RTOL × max(largest eigenvalue, RMS label)."""
    reference = max(float(eigenvalues[0]), float(np.sqrt(np.mean(y * y))))
    return int(np.count_nonzero(eigenvalues > RANK_RTOL * reference))


def select_backend(device: str | None):
    """The array backend of the solvers: :mod:`._psd_operators` (NumPy) or its PyTorch twin.

    ``None`` and ``"numpy"`` select NumPy; any other string is a PyTorch device (``"cpu"``,
    ``"cuda"``, ``"cuda:1"``), imported only here so that the NumPy path never loads torch.
    """
    if device is None or device == "numpy":
        return _psd_operators
    if not isinstance(device, str):
        raise InputError(f"`device` (array backend) must be None, 'numpy' or a PyTorch device string; got {device!r}")
    try:
        from ._torch_backend import TorchOperators
    except ImportError as error:
        raise InputError(
            f"`device` (array backend) {device!r} needs PyTorch (pip install 'shallowscaling[torch]'); "
            f"use device=None for NumPy. Import failed: {error}"
        ) from error
    return TorchOperators(device)


def duality_gap(
    grad: np.ndarray, s: np.ndarray, lam: float, objective: float, residual: np.ndarray, y: np.ndarray
) -> float:
    """Upper bound on F(S) − min F from G = ∇f(S) + (λ/d) I and the residual A(S) − y (:func:`gap_bound`)."""
    d = s.shape[0]
    g = grad + (lam / d) * np.eye(d)
    g_min = float(np.linalg.eigvalsh(0.5 * (g + g.T))[0])
    return gap_bound(float(np.sum(g * s)), g_min, lam, objective, d, residual, y)


def gap_bound(
    inner: float, g_min: float, lam: float, objective: float, d: int, residual: np.ndarray, y: np.ndarray
) -> float:
    """Upper bound on F(S) − F* from ⟨G, S⟩, (a lower bound on) λ_min(G) and the residual r = A(S) − y.

    λ_min(G) ≥ 0: the dual point u = −(2/d²) r is feasible and the gap is ⟨G, S⟩ (docs/theory.md
    §7.1). Otherwise the smaller of two bounds:

    * convexity: F(S*) ≥ F(S) + ⟨G, S* − S⟩ ≥ F(S) + λ_min(G) Tr S* − ⟨G, S⟩ with Tr S* ≤ d F(S)/λ,
      hence ⟨G, S⟩ + |λ_min(G)| · d F(S)/λ. Loose when λ is small: d F/λ is ~10⁶ at d = 800, λ = 1/d;
    * a scaled dual point: t·u is dual feasible for 0 ≤ t ≤ t_max = (λ/d)/(λ/d − λ_min(G)), and
      weak duality gives F* ≥ D(t u) = 2t ⟨−r, y⟩/d² − t² ‖r‖²/d², maximised over t in [0, t_max].
    """
    if g_min >= 0.0:
        return max(inner, 0.0)
    convexity = np.inf if lam == 0.0 else max(inner, 0.0) + (-g_min) * d * objective / lam
    loss = float(residual @ residual) / d**2
    label_inner = -float(residual @ y) / d**2
    t_max = (lam / d) / (lam / d - g_min)
    t = min(max(label_inner / loss, 0.0), t_max) if loss > 0.0 else t_max
    dual = 2.0 * t * label_inner - t**2 * loss
    return min(convexity, max(objective - dual, 0.0))


@dataclass(frozen=True)
class RangeCertificate:
    """KKT certificate of S ⪰ 0 with range Q (orthonormal, d×p) from the dual matrix G = ∇f(S) + (λ/d) I.

    With P = I − QQᵀ, Ξ = G − P[PGP]₊P lies in ∂F(S) (the second term is in the normal cone of
    the PSD cone at S), and ‖Ξ‖_F² = ‖GQ‖_F² + ‖PGQ‖_F² + ‖[PGP]₋‖_F²; ``kkt`` is ‖Ξ‖_F / scale.
    ``values`` and ``vectors`` are the eigenpairs (ascending) of PGP on range(P); ``gq`` is G Q.
    """

    kkt: float
    min_eigenvalue: float
    values: np.ndarray
    vectors: np.ndarray
    gq: np.ndarray
    q: np.ndarray

    def inner(self, weights: np.ndarray) -> float:
        """⟨G, Q diag(weights) Qᵀ⟩, the inner product of the duality gap for S = Q diag(weights) Qᵀ."""
        return float(np.sum(self.q * self.gq, axis=0) @ weights)


def complement_spectrum(g: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenpairs (ascending) of P G P on range(P), P = I − QQᵀ, as d-vectors."""
    d, p = q.shape
    if p == 0:
        return np.linalg.eigh(0.5 * (g + g.T))
    full = np.linalg.qr(np.hstack([q, np.eye(d)]))[0]
    basis = full[:, p:d]
    small = basis.T @ g @ basis
    values, inner = np.linalg.eigh(0.5 * (small + small.T))
    return values, basis @ inner


def range_certificate(g: np.ndarray, q: np.ndarray, scale: float) -> RangeCertificate:
    """The :class:`RangeCertificate` of S with range ``q`` from the full dual matrix ``g`` (d³ work)."""
    gq = g @ q
    values, vectors = complement_spectrum(g, q)
    pgq = gq - q @ (q.T @ gq)
    negative = values[values < 0.0]
    kkt = float(np.sqrt(np.sum(gq * gq) + np.sum(pgq * pgq) + np.sum(negative**2)) / scale)
    min_eigenvalue = float(np.linalg.eigvalsh(g)[0])
    return RangeCertificate(kkt, min_eigenvalue, values, vectors, gq, q)
