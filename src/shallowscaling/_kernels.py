"""Numerical kernels with one copy in the package, shared by the data, the solvers and SE.

* :func:`goe_matrix`: one GOE(d) draw Z = (G + Gᵀ)/√(2d), semicircle on [−2, 2] (the Monte-Carlo
  state evolution and the cleaned-error draws of :mod:`shallowscaling.spectra.decomposition`);
* :func:`quadratic_forms`: A(S)_μ = (x_μᵀ S x_μ − Tr S)/√d over the blocks of rows of a design
  (the labels of :mod:`shallowscaling.data` and the forward operator of the PSD solvers).

The Biane edge of μ_{S*} ⊞ semicircle has its one home in
:mod:`shallowscaling.state_evolution.free_convolution.biane`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["goe_matrix", "quadratic_forms"]


def goe_matrix(d: int, rng: np.random.Generator) -> np.ndarray:
    """Z = (G + Gᵀ)/√(2d), G (d, d) with i.i.d. N(0, 1) entries: one d² draw from ``rng``."""
    g = rng.standard_normal((d, d))
    return (g + g.T) / math.sqrt(2.0 * d)


def quadratic_forms(blocks: Iterable[tuple[int, np.ndarray]], n: int, d: int, s: np.ndarray) -> np.ndarray:
    """A(S)_μ = (x_μᵀ S x_μ − Tr S)/√d for n rows given as (first row, block of rows) pairs.

    Each block is consumed before the next is requested, so a generator may reuse one buffer
    for the rows it draws.
    """
    out = np.empty(n)
    for start, block in blocks:
        out[start : start + block.shape[0]] = np.einsum("ij,ij->i", block @ s, block)
    out -= np.trace(s)
    out /= np.sqrt(d)
    return out
