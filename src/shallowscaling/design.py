"""The design matrix X (n, d) of a fit, held in memory or regenerated block by block.

The quadratic solvers touch X only through passes over blocks of rows (each pass is a few
BLAS-3 products per block). A design is therefore anything that yields its rows in order, in
blocks of ``block_rows``:

* :class:`ArrayDesign` wraps an in-memory array (blocks are views, no copy);
* :class:`StreamedDesign` keeps only the state of the random generator that drew X and redraws
  the rows during every pass, so that memory is O(block_rows·d) whatever n. At d = 800,
  n = 2.4·10⁶ the design alone would be 15 GB in float64.

Both give exactly the same numbers: X is drawn row after row from one PCG64 stream
(``Generator.standard_normal`` fills an array element by element, so drawing rows in blocks
of any size reproduces one draw of the whole matrix bit for bit). The drawn data therefore do
not depend on the block size, and a streamed fit sees the same X as an in-memory one. What the
block size does change is the order of the floating-point sums inside a pass, i.e. results
agree to rounding across block sizes (and are bit-identical for a fixed block size).

Cost of streaming: redrawing X in every pass costs a sizeable fraction of an n·d² product pass
(timings: docs/performance.md, Notes moved from the source), so the solvers fuse their products
so that each iteration needs as few passes as possible.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_int, check_real
from .errors import InputError

__all__ = [
    "DEFAULT_DESIGN_MEMORY_GB",
    "ArrayDesign",
    "StreamedDesign",
    "as_design",
    "default_block_rows",
    "design_bytes",
]

#: Designs up to this size (GB) are drawn once and kept in memory; larger ones are streamed.
#: 1 GB keeps a d = 800 paper-scale job under 2 GB in all (the design is the only object that
#: grows with n·d; labels and residuals are O(n), the iterates O(d²)).
DEFAULT_DESIGN_MEMORY_GB = 1.0

# Rows per block: ~64k numbers (512 KB in float64) per d-wide block keeps the block and its
# product with S in the L2/L3 cache while each GEMM stays large enough to run at full BLAS speed
# (block-size sweep: docs/performance.md, Notes moved from the source). Capped at 4096 rows,
# floored so that the GEMMs of large d keep a useful height.
_BLOCK_NUMBERS = 65536
_MIN_BLOCK_ROWS = 256
_MAX_BLOCK_ROWS = 4096


def default_block_rows(d: int) -> int:
    """Rows per block for a design of width ``d`` (see the comment on the constants)."""
    return int(min(_MAX_BLOCK_ROWS, max(_MIN_BLOCK_ROWS, _BLOCK_NUMBERS // max(d, 1))))


def design_bytes(n: int, d: int) -> int:
    """Bytes of an (n, d) float64 design held in memory."""
    return 8 * int(n) * int(d)


def _check_block_rows(block_rows: object, d: int) -> int:
    if block_rows is None:
        return default_block_rows(d)
    return check_int(block_rows, "block_size", "rows per block of the design", lower=1)


@dataclass(frozen=True)
class ArrayDesign:
    """An in-memory design ``x`` (n, d), C-contiguous float64, passed over in row blocks."""

    x: np.ndarray
    block_rows: int

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def d(self) -> int:
        return int(self.x.shape[1])

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.d)

    def blocks(self, rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, X[start:start + rows])`` for every block, in order (views; rows default block_rows)."""
        rows = rows or self.block_rows
        for start in range(0, self.n, rows):
            yield start, self.x[start : start + rows]

    def materialize(self) -> np.ndarray:
        """The design as one (n, d) array (no copy)."""
        return self.x


@dataclass(frozen=True)
class StreamedDesign:
    """A Gaussian design X (n, d) redrawn from a saved PCG64 state at every pass.

    Parameters
    ----------
    state : dict
        ``Generator.bit_generator.state`` of a PCG64 generator just before X was drawn.
    n, d : int
        Shape of X.
    block_rows : int
        Rows per block of a pass.

    Notes
    -----
    Each call of :meth:`blocks` starts a fresh generator from ``state``, so passes are
    independent and reproducible. The yielded block is a buffer reused by the next block:
    consume it before advancing the iterator.
    """

    state: dict = field(repr=False)
    n: int
    d: int
    block_rows: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.d)

    def _generator(self) -> np.random.Generator:
        bit_generator = np.random.PCG64()
        bit_generator.state = self.state
        return np.random.Generator(bit_generator)

    def blocks(self, rows: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
        """``(start, X[start:start + rows])`` for every block, drawn in order (rows default block_rows)."""
        rows = rows or self.block_rows
        rng = self._generator()
        buffer = np.empty((min(rows, self.n), self.d))
        for start in range(0, self.n, rows):
            block = buffer[: min(rows, self.n - start)]
            rng.standard_normal(out=block)
            yield start, block

    def materialize(self) -> np.ndarray:
        """The whole design as one (n, d) array (n·d·8 bytes: for small designs and GPUs)."""
        return self._generator().standard_normal((self.n, self.d))


Design = ArrayDesign | StreamedDesign


def as_design(x: object, block_rows: int | None = None) -> Design:
    """``x`` as a design: a design is returned as is (with ``block_rows`` if given), an array wrapped.

    Raises :class:`~shallowscaling.errors.InputError` for anything but a finite 2-D array of
    shape (n, d) with n ≥ 1, d ≥ 2, or for a block size that is not a positive integer.
    """
    if isinstance(x, (ArrayDesign, StreamedDesign)):
        if block_rows is None:
            return x
        rows = _check_block_rows(block_rows, x.d)
        if isinstance(x, ArrayDesign):
            return ArrayDesign(x.x, rows)
        return StreamedDesign(x.state, x.n, x.d, rows)
    array = np.ascontiguousarray(x, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 2:
        raise InputError(f"`x` (design X) must be a 2-D array of shape (n, d) with d >= 2; got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise InputError("`x` (design X) must be finite; got NaN or inf entries")
    return ArrayDesign(array, _check_block_rows(block_rows, array.shape[1]))


def check_design_memory(value: object) -> float:
    """The design memory budget in GB (a finite number > 0), or InputError naming it."""
    return check_real(value, "design_memory", "GB of design kept in memory", lower=0.0, lower_inclusive=False)
