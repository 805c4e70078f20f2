"""The row schema of the Figure 9 tables (:mod:`.classic`; docs/data.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = ["CLASSIC_COLUMNS", "classic_rows", "finish_table"]

#: Columns of a classic table, in order (docs/data.md).
CLASSIC_COLUMNS = (
    "model", "panel", "curve", "parameter_name", "parameter", "x", "y", "y_se", "d", "n_replicates",
    "converged", "certificate", "certificate_name",
)  # fmt: skip


def classic_rows(
    model: str, panel: str, curve: str, parameter_name: str, parameter: float, x: ArrayLike, y: ArrayLike, **columns
) -> pd.DataFrame:
    """Rows of one curve: x, y arrays with the scalar or per-point columns broadcast."""
    x = np.atleast_1d(np.asarray(x, dtype=float))
    defaults = {"y_se": 0.0, "d": 0, "n_replicates": 0, "converged": True, "certificate": 0.0,
                "certificate_name": "closed_form"}  # fmt: skip
    frame = pd.DataFrame({"x": x, "y": np.atleast_1d(np.asarray(y, dtype=float))})
    for key, value in {**defaults, **columns}.items():
        frame[key] = value
    frame["model"], frame["panel"], frame["curve"] = model, panel, curve
    frame["parameter_name"], frame["parameter"] = parameter_name, float(parameter)
    return frame


def finish_table(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` in schema order and types; raises on any non-finite number."""
    table = pd.concat(frames, ignore_index=True)[list(CLASSIC_COLUMNS)]
    table = table.astype({"d": "int64", "n_replicates": "int64", "converged": bool})
    numbers = table[["x", "y", "y_se", "certificate"]].to_numpy()
    if not np.all(np.isfinite(numbers)):
        bad = table[~np.isfinite(numbers).all(axis=1)][["panel", "curve", "x"]].to_dict(orient="records")
        raise FloatingPointError(f"non-finite numbers in the classic table at {bad}")
    return table
