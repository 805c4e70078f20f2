"""Frozen result types and the vocabulary they share.

Every solver returns a frozen dataclass with the estimate, ``converged``, ``status`` (one of
:data:`STATUSES`), ``message`` (the reason, with its numbers), ``iterations`` and the certificate
that defines success, named for what it measures (``duality_gap``, ``kkt_residual``,
``grad_norm``, ``fixed_point_residual``). Scalar fields are the CLI ``--json`` keys and the
Parquet columns; :func:`scalar_fields` extracts them (arrays stay out of the flat record).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np

from .errors import ConvergenceWarning

__all__ = ["STATUSES", "json_safe", "scalar_fields", "warn_not_converged"]

#: ``converged``: the stated tolerance was met; ``max_iter``: the iteration cap was hit;
#: ``stalled``: no further progress possible (line search / bracketing failed);
#: ``diverged``: non-finite values appeared; ``max_draws``: the Monte-Carlo state evolution solved
#: its fixed point but its standard error stayed above ``mc_rtol`` at the cap on the draws.
STATUSES = ("converged", "max_iter", "stalled", "diverged", "max_draws")


def scalar_fields(result: Any) -> dict[str, Any]:
    """The scalar (bool, int, float, str) fields of a result dataclass, in declaration order.

    NumPy scalars are turned into Python ones so the record is JSON-serialisable; non-finite
    floats are kept (``NaN`` means "not applicable" in Parquet and ``null`` in JSON).
    """
    record: dict[str, Any] = {}
    for field in dataclasses.fields(result):
        value = getattr(result, field.name)
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (bool, int, float, str)) or value is None:
            record[field.name] = value
    return record


def warn_not_converged(solver: str, message: str, advice: str) -> None:
    """Emit the one :class:`ConvergenceWarning` shape: what failed, by how much, what to try."""
    warnings.warn(f"{solver} did not converge: {message}. {advice}", ConvergenceWarning, stacklevel=3)


def json_safe(value: Any) -> Any:
    """Map NaN/inf to ``None``, in nested dicts, lists and tuples too, so ``json.dumps`` writes
    strict JSON (a NaN inside a list of records used to end in a traceback)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
