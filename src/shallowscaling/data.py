"""Datasets drawn from a teacher: Gaussian inputs and noisy labels (spec §1).

Designs are regenerated from their seed rather than cached (they are the largest objects of
the study and cost less to draw than to read back). The quadratic labels are computed in
chunks of rows, so that memory stays O(chunk·d + d²) on top of the n×d design: the n
sensing matrices Z_μ = (x_μ x_μᵀ − I)/√d are never formed.
"""

from __future__ import annotations

import numpy as np

from ._validation import check_int, check_real

__all__ = ["CHUNK_ROWS", "draw_diagonal_data", "draw_quadratic_data", "quadratic_forward"]

# Rows per block in the O(n d²) quadratic products: 4096×d doubles stay within a few MB for
# d ≤ 800, small enough for cache-friendly BLAS-3 calls and bounded temporaries.
CHUNK_ROWS = 4096


def draw_diagonal_data(
    theta_star: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``X`` (n, d) with N(0, 1) entries and ``y = X θ*/√d + √Δ ξ`` (spec §1.2)."""
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    d = theta_star.shape[0]
    x = rng.standard_normal((n, d))
    y = x @ theta_star / np.sqrt(d) + np.sqrt(noise) * rng.standard_normal(n)
    return x, y


def quadratic_forward(x: np.ndarray, s: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """⟨S, Z_μ⟩ = (x_μᵀ S x_μ − Tr S)/√d for every row of ``x``, in chunks; shape (n,)."""
    n, d = x.shape
    out = np.empty(n)
    trace = np.trace(s)
    for start in range(0, n, chunk_rows):
        block = x[start : start + chunk_rows]
        out[start : start + chunk_rows] = np.einsum("ij,ij->i", block @ s, block)
    return (out - trace) / np.sqrt(d)


def draw_quadratic_data(
    s_star: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``X`` (n, d) and ``y_μ = Tr[S*(x_μx_μᵀ − I)]/√d + √Δ ξ_μ`` (spec §1.1)."""
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    d = s_star.shape[0]
    x = rng.standard_normal((n, d))
    y = quadratic_forward(x, s_star) + np.sqrt(noise) * rng.standard_normal(n)
    return x, y
