"""Power-law teachers: the diagonal coefficients θ* and the quadratic target S* (docs/theory.md §1.1–1.2).

Two normalisations of the power law ``k^{-γ}`` are offered:

* ``"unit"`` (default): the target has unit signal strength, Q* = Tr(S*²)/d = 1 for the
  quadratic model and (1/d) Σ_i v_i = 1 for the diagonal one;
* ``"paper"``: the raw scale ``s_i = √d i^{-γ}`` and ``v_i = d i^{-2γ}``, which differs from
  ``"unit"`` by a γ-dependent constant.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_choice, check_int, check_real

__all__ = [
    "NORMALIZATIONS",
    "diagonal_variances",
    "draw_diagonal_teacher",
    "draw_haar_orthogonal",
    "draw_quadratic_teacher",
    "power_law_spectrum",
    "target_matrix",
]

NORMALIZATIONS = ("unit", "paper")


def _check(d: int, gamma: float, normalization: str) -> tuple[int, float]:
    d = check_int(d, "d", "input dimension d", lower=2)
    gamma = check_real(gamma, "gamma", "teacher power-law exponent γ", lower=0.5, lower_inclusive=False)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    return d, gamma


def power_law_spectrum(d: int, gamma: float, normalization: str = "unit") -> np.ndarray:
    """Eigenvalues s_1 ≥ … ≥ s_d of the quadratic target S*.

    ``s_i = √d i^{-γ} / (Σ_j j^{-2γ})^{1/2}`` so that Q* = (1/d) Σ s_i² = 1 (``"unit"``), or
    ``s_i = √d i^{-γ}`` (``"paper"``). Shape ``(d,)``, decreasing.
    """
    d, gamma = _check(d, gamma, normalization)
    k = np.arange(1, d + 1, dtype=float)
    s = np.sqrt(d) * k ** (-gamma)
    if normalization == "unit":
        s /= np.sqrt(np.sum(k ** (-2.0 * gamma)))
    return s


def diagonal_variances(d: int, gamma: float, normalization: str = "unit") -> np.ndarray:
    """Prior variances v_i ∝ i^{-2γ} of the diagonal teacher, (1/d) Σ v_i = 1 for ``"unit"``."""
    d, gamma = _check(d, gamma, normalization)
    k = np.arange(1, d + 1, dtype=float)
    if normalization == "paper":
        return d * k ** (-2.0 * gamma)
    v = k ** (-2.0 * gamma)
    return v * (d / np.sum(v))


def draw_diagonal_teacher(d: int, gamma: float, rng: np.random.Generator, normalization: str = "unit") -> np.ndarray:
    """θ*_i ~ N(0, v_i) independently; shape ``(d,)``, index i = 1 is the strongest feature."""
    v = diagonal_variances(d, gamma, normalization)
    return np.sqrt(v) * rng.standard_normal(v.shape[0])


def draw_haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal d×d matrix (QR of a Gaussian matrix with the sign fix).

    Without multiplying the columns of Q by sign(diag R) the QR factor is not Haar
    (Mezzadri 2007, "How to generate random matrices from the classical compact groups").
    """
    g = rng.standard_normal((d, d))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diag(r))


def draw_quadratic_teacher(
    d: int, gamma: float, rng: np.random.Generator, normalization: str = "unit"
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(s, O)``: the spectrum (decreasing, shape (d,)) and the Haar eigenbasis of S*."""
    s = power_law_spectrum(d, gamma, normalization)
    return s, draw_haar_orthogonal(d, rng)


def target_matrix(eigenvalues: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """S* = O diag(s) Oᵀ, symmetrised exactly."""
    s_star = (basis * eigenvalues) @ basis.T
    return 0.5 * (s_star + s_star.T)
