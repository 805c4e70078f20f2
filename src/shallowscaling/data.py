"""Datasets drawn from a teacher: Gaussian inputs and noisy labels (docs/theory.md §1).

Designs are regenerated from their seed rather than cached (they are the largest objects of
the study and cost less to draw than to read back). The quadratic labels are computed in
chunks of rows, so that memory stays O(chunk·d + d²) on top of the n×d design: the n
sensing matrices Z_μ = (x_μ x_μᵀ − I)/√d are never formed.
"""

from __future__ import annotations

import numpy as np

from ._kernels import quadratic_forms
from ._validation import check_int, check_real
from .design import (
    DEFAULT_DESIGN_MEMORY_GB,
    StreamedDesign,
    check_design_memory,
    default_block_rows,
    design_bytes,
)
from .errors import InputError

__all__ = [
    "CHUNK_ROWS",
    "diagonal_design_streamed",
    "draw_diagonal_data",
    "draw_diagonal_design",
    "draw_quadratic_data",
    "draw_quadratic_design",
    "quadratic_forward",
]

# Rows per block in the O(n d²) quadratic products: 4096×d doubles stay within a few MB for
# d ≤ 800, small enough for cache-friendly BLAS-3 calls and bounded temporaries.
CHUNK_ROWS = 4096


def draw_diagonal_data(
    theta_star: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``X`` (n, d) with N(0, 1) entries and ``y = X θ*/√d + √Δ ξ`` (docs/theory.md §1.2)."""
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    d = theta_star.shape[0]
    x = rng.standard_normal((n, d))
    y = x @ theta_star / np.sqrt(d) + np.sqrt(noise) * rng.standard_normal(n)
    return x, y


def diagonal_design_streamed(n: int, d: int, design_memory: float) -> bool:
    """Whether a diagonal design of shape (n, d) is streamed under a budget of ``design_memory`` GB.

    Only for n > d: the LASSO then needs the d × d sufficient statistics alone, smaller than X.
    With n <= d they would be larger than X, which is then kept in memory whatever its size.
    """
    return n > d and design_bytes(n, d) > design_memory * 1e9


def draw_diagonal_design(
    theta_star: np.ndarray,
    n: int,
    noise: float,
    rng: np.random.Generator,
    *,
    design_memory: float = DEFAULT_DESIGN_MEMORY_GB,
) -> tuple[np.ndarray | StreamedDesign, np.ndarray]:
    """:func:`draw_diagonal_data` with the design in memory or streamed, same numbers either way.

    Parameters
    ----------
    design_memory : float, default 1
        GB: a design of n·d·8 bytes up to this (or any design with n <= d,
        :func:`diagonal_design_streamed`) is returned as an (n, d) array, a larger one as a
        :class:`~shallowscaling.design.StreamedDesign`.

    Returns
    -------
    (design, y)
        X and y are bit-identical to :func:`draw_diagonal_data` with the same ``rng``: X is drawn
        row after row from the same stream, and each label is the dot product of its own row
        with θ*, which the matrix-vector kernel computes the same way whatever the number of
        rows of the block (blocks of ``CHUNK_ROWS`` rows, a multiple of the kernel's unrolling;
        checked by the tests), followed by the same division and noise.
    """
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    design_memory = check_design_memory(design_memory)
    d = theta_star.shape[0]
    if not diagonal_design_streamed(n, d, design_memory):
        return draw_diagonal_data(theta_star, n, noise, rng)
    design = StreamedDesign(_pcg64_state(rng), n, d, default_block_rows(d))
    buffer = np.empty((min(CHUNK_ROWS, n), d))
    signal = np.empty(n)
    for start in range(0, n, CHUNK_ROWS):
        rows = buffer[: min(CHUNK_ROWS, n - start)]
        rng.standard_normal(out=rows)
        signal[start : start + rows.shape[0]] = rows @ theta_star
    y = signal / np.sqrt(d) + np.sqrt(noise) * rng.standard_normal(n)
    return design, y


def _pcg64_state(rng: np.random.Generator) -> dict:
    """The state a streamed design is redrawn from (only PCG64 streams are saved and replayed)."""
    state = rng.bit_generator.state
    if state["bit_generator"] != "PCG64":
        raise InputError(
            f"`rng` (data generator) must be a PCG64 Generator to stream a design; got {state['bit_generator']}"
        )
    return state


def quadratic_forward(x: np.ndarray, s: np.ndarray, chunk_rows: int = CHUNK_ROWS) -> np.ndarray:
    """⟨S, Z_μ⟩ = (x_μᵀ S x_μ − Tr S)/√d for every row of ``x``, in chunks; shape (n,)."""
    n, d = x.shape
    blocks = ((start, x[start : start + chunk_rows]) for start in range(0, n, chunk_rows))
    return quadratic_forms(blocks, n, d, s)


def draw_quadratic_data(
    s_star: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``X`` (n, d) and ``y_μ = Tr[S*(x_μx_μᵀ − I)]/√d + √Δ ξ_μ`` (docs/theory.md §1.1)."""
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    d = s_star.shape[0]
    x = rng.standard_normal((n, d))
    y = quadratic_forward(x, s_star) + np.sqrt(noise) * rng.standard_normal(n)
    return x, y


def draw_quadratic_design(
    s_star: np.ndarray,
    n: int,
    noise: float,
    rng: np.random.Generator,
    *,
    design_memory: float = DEFAULT_DESIGN_MEMORY_GB,
) -> tuple[np.ndarray | StreamedDesign, np.ndarray]:
    """:func:`draw_quadratic_data` with the design in memory or streamed, same numbers either way.

    Parameters
    ----------
    design_memory : float, default 1
        GB: a design of n·d·8 bytes up to this is returned as an (n, d) array, a larger one as
        a :class:`~shallowscaling.design.StreamedDesign` redrawn at every pass of a solver
        (the solvers' ``block_size`` sets its rows per block).

    Returns
    -------
    (design, y)
        X and y are bit-identical to :func:`draw_quadratic_data` with the same ``rng``: the
        labels are computed in blocks of ``CHUNK_ROWS`` rows in both routes, and X is drawn
        row after row from the same stream, so how X is held never changes the data.
    """
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    design_memory = check_design_memory(design_memory)
    d = s_star.shape[0]
    if design_bytes(n, d) <= design_memory * 1e9:
        x, y = draw_quadratic_data(s_star, n, noise, rng)
        return x, y
    design = StreamedDesign(_pcg64_state(rng), n, d, default_block_rows(d))
    buffer = np.empty((min(CHUNK_ROWS, n), d))

    def drawn_blocks():
        # X row after row from the stream, into one reused buffer (the kernel consumes each block).
        for start in range(0, n, CHUNK_ROWS):
            rows = buffer[: min(CHUNK_ROWS, n - start)]
            rng.standard_normal(out=rows)
            yield start, rows

    y = quadratic_forms(drawn_blocks(), n, d, s_star) + np.sqrt(noise) * rng.standard_normal(n)
    return design, y
