"""The stored solution of a quadratic fit: the eigenpairs of Ŝ with non-zero eigenvalue.

The ``fit`` job writes it (``fit --solution-output``) so that the ``prune`` job can prune Ŝ
without refitting it (``prune --solution``): pruning needs the eigenvectors of Ŝ, and the weights
table holds only its eigenvalues.

Table layout (:data:`SOLUTION_COLUMNS`), one row per (replicate, component), in that order:

* ``replicate`` (int64);
* ``component`` (int64): k = 1, 2, ... in decreasing eigenvalue;
* ``eigenvalue`` (float64): s_k > 0;
* ``eigenvector`` (Arrow ``list<double>`` of length d): the unit eigenvector u_k.

Then Ŝ = Σ_k s_k u_k u_kᵀ = U diag(s) Uᵀ. A list rather than a fixed-size list because the repo's
Parquet writer converts from pandas, which cannot carry a fixed size through the file; the reader
checks every length instead. Eigenvalues at or below the numerical zero (:func:`nonzero_eigenpairs`)
are not stored, so a replicate has rank(Ŝ) rows — none where Ŝ = 0 (λ ≥ λ_max) — and a table with
no rows has an ``eigenvector`` column of Arrow type null.

The stored eigenvalues come from the same eigendecomposition as the eigenvectors (``eigh``); the
weights table's come from ``eigvalsh`` (another LAPACK driver) and differ from them by rounding
(~1e-15 relative).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import InputError

__all__ = ["SOLUTION_COLUMNS", "Eigenpairs", "eigenpairs_from_table", "nonzero_eigenpairs", "solution_table"]

SOLUTION_COLUMNS = ("replicate", "component", "eigenvalue", "eigenvector")


@dataclass(frozen=True)
class Eigenpairs:
    """The non-zero eigenpairs of a symmetric d × d matrix Ŝ = U diag(s) Uᵀ.

    Attributes
    ----------
    eigenvalues : ndarray, shape (k,)
        s, decreasing and > 0 (k = rank of Ŝ, possibly 0).
    eigenvectors : ndarray, shape (d, k)
        U, orthonormal columns, column j paired with ``eigenvalues[j]``.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray

    def matrix(self) -> np.ndarray:
        """Ŝ = U diag(s) Uᵀ, shape (d, d)."""
        return (self.eigenvectors * self.eigenvalues) @ self.eigenvectors.T


def nonzero_eigenpairs(s_hat: np.ndarray) -> Eigenpairs:
    """Eigenpairs of the symmetric matrix ``s_hat`` (d, d) whose eigenvalue exceeds the numerical zero.

    The numerical zero is d · ε · max|λ| (ε the float64 machine epsilon): the backward error of a
    symmetric eigensolver, and :func:`numpy.linalg.matrix_rank`'s default tolerance. Directions
    that the solvers set to exact zeros come out of ``eigh`` at ±(a few ε) · max|λ| and are dropped;
    the network's small but genuine eigenvalues (O(grad_norm²), far above it) are kept, so the
    count can exceed the fit table's ``rank`` (a 1e-6 relative cut). Rounding-level negative
    eigenvalues of a PSD Ŝ are dropped with the zeros.

    The decomposition is that of ½(Ŝ + Ŝᵀ), as the ``prune`` job's refit computed it, so the
    stored eigenpairs are those the refit found.
    """
    s_hat = np.asarray(s_hat, dtype=float)
    if s_hat.ndim != 2 or s_hat.shape[0] != s_hat.shape[1]:
        raise InputError(f"`s_hat` (the estimate Ŝ) must be a square matrix; got shape {s_hat.shape}")
    ascending, vectors = np.linalg.eigh(0.5 * (s_hat + s_hat.T))
    scale = float(np.max(np.abs(ascending), initial=0.0))
    keep = ascending > s_hat.shape[0] * np.finfo(float).eps * scale
    return Eigenpairs(eigenvalues=ascending[keep][::-1].copy(), eigenvectors=vectors[:, keep][:, ::-1].copy())


def solution_table(solutions: Sequence[Eigenpairs | None]) -> pd.DataFrame:
    """The solution table (:data:`SOLUTION_COLUMNS`) of replicates 0..R−1; ``None`` adds no rows.

    ``None`` stands for the diagonal model, whose whole solution θ̂ is the weights table's
    ``theta`` column already (module notes).
    """
    frames = []
    for replicate, pairs in enumerate(solutions):
        if pairs is None or pairs.eigenvalues.size == 0:
            continue
        k = pairs.eigenvalues.size
        frames.append(
            pd.DataFrame(
                {
                    "replicate": np.full(k, replicate, dtype=np.int64),
                    "component": np.arange(1, k + 1, dtype=np.int64),
                    "eigenvalue": pairs.eigenvalues.astype(np.float64),
                    "eigenvector": list(np.ascontiguousarray(pairs.eigenvectors.T, dtype=np.float64)),
                }
            )
        )
    if not frames:
        return pd.DataFrame(
            {
                "replicate": np.empty(0, dtype=np.int64),
                "component": np.empty(0, dtype=np.int64),
                "eigenvalue": np.empty(0, dtype=np.float64),
                "eigenvector": pd.Series([], dtype=object),
            }
        )
    return pd.concat(frames, ignore_index=True)


def eigenpairs_from_table(table: pd.DataFrame, replicate: int, d: int) -> Eigenpairs:
    """The eigenpairs of one replicate of a solution table (no rows: Ŝ = 0).

    Raises
    ------
    InputError
        If a column of :data:`SOLUTION_COLUMNS` is missing, an eigenvector's length is not d, the
        components are not 1..k or the eigenvalues not positive and decreasing.
    """
    missing = [c for c in SOLUTION_COLUMNS if c not in table.columns]
    if missing:
        raise InputError(
            f"the solution table lacks the column(s) {missing}; expected {list(SOLUTION_COLUMNS)} "
            "(written by `fit --solution-output`)"
        )
    rows = table[table["replicate"] == replicate].sort_values("component", kind="stable")
    k = len(rows)
    if k == 0:
        return Eigenpairs(eigenvalues=np.empty(0), eigenvectors=np.empty((d, 0)))
    components = rows["component"].to_numpy()
    if not np.array_equal(components, np.arange(1, k + 1)):
        raise InputError(
            f"the solution table's `component` of replicate {replicate} must run 1..{k}; "
            f"got {components[:5].tolist()}..."
        )
    lengths = sorted({len(v) for v in rows["eigenvector"]})
    if lengths != [d]:
        raise InputError(
            f"the solution table's `eigenvector` of replicate {replicate} must have length d = {d}; got {lengths}"
        )
    eigenvalues = rows["eigenvalue"].to_numpy(dtype=float)
    if not (np.all(eigenvalues > 0.0) and np.all(np.diff(eigenvalues) <= 0.0)):
        raise InputError(
            f"the solution table's `eigenvalue` of replicate {replicate} must be positive and decreasing "
            f"in `component`; got min {eigenvalues.min():.6g}"
        )
    vectors = np.stack([np.asarray(v, dtype=float) for v in rows["eigenvector"]], axis=1)
    return Eigenpairs(eigenvalues=eigenvalues, eigenvectors=vectors)
