"""The ``teacher`` job: one table with the teacher of every replicate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..targets import diagonal_variances
from .problem import draw_teacher

__all__ = ["teacher_from_table", "teacher_table", "teacher_table_bytes"]


def teacher_table(
    model: str, d: int, gamma: float, seed: int, replicates: int, normalization: str = "unit"
) -> pd.DataFrame:
    """Rows (replicate, index): θ*_i and its prior variance v_i (diagonal), or s_i (quadratic).

    The Haar eigenbasis of S* is not stored: it is regenerated from (seed, replicate).
    """
    frames = []
    for replicate in range(replicates):
        teacher = draw_teacher(model, d, gamma, seed, replicate, normalization)
        frame = pd.DataFrame({"replicate": np.full(d, replicate, dtype=np.int64), "index": np.arange(1, d + 1)})
        if model == "diagonal":
            frame["theta_star"] = teacher["theta_star"]
            frame["variance"] = diagonal_variances(d, gamma, normalization)
        else:
            frame["eigenvalue"] = teacher["eigenvalues"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def teacher_table_bytes(model: str, d: int) -> float:
    """Estimated peak memory (bytes) of :func:`teacher_table` per replicate: a few float64 copies
    of one teacher (d² numbers quadratic, d diagonal)."""
    per_replicate = d * d if model == "quadratic" else d
    return 8.0 * 4 * per_replicate


def teacher_from_table(table: pd.DataFrame, replicate: int, column: str) -> np.ndarray:
    """The column of one replicate, ordered by index; raises if that replicate is absent."""
    rows = table[table["replicate"] == replicate].sort_values("index")
    if rows.empty:
        raise KeyError(f"replicate {replicate} is not in the teacher table")
    return rows[column].to_numpy(dtype=float)
