"""Entry checks for public functions (a constraint table per function, one error shape)."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from .errors import InputError

__all__ = ["check_choice", "check_int", "check_real"]


def _label(name: str, symbol: str | None) -> str:
    return f"`{name}` ({symbol})" if symbol else f"`{name}`"


def check_real(
    value: object,
    name: str,
    symbol: str | None = None,
    *,
    lower: float | None = None,
    upper: float | None = None,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float or raise :class:`InputError` naming the constraint."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise InputError(f"{_label(name, symbol)} must be a real number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise InputError(f"{_label(name, symbol)} must be finite; got {value!r}")
    if lower is not None:
        bad = value < lower if lower_inclusive else value <= lower
        if bad:
            op = ">=" if lower_inclusive else ">"
            raise InputError(f"{_label(name, symbol)} must be {op} {lower:g}; got {value:g}")
    if upper is not None:
        bad = value > upper if upper_inclusive else value >= upper
        if bad:
            op = "<=" if upper_inclusive else "<"
            raise InputError(f"{_label(name, symbol)} must be {op} {upper:g}; got {value:g}")
    return value


def check_int(
    value: object,
    name: str,
    symbol: str | None = None,
    *,
    lower: int | None = None,
    upper: int | None = None,
) -> int:
    """Return ``value`` as an int or raise :class:`InputError` naming the constraint."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InputError(f"{_label(name, symbol)} must be an integer; got {value!r}")
    value = int(value)
    if lower is not None and value < lower:
        raise InputError(f"{_label(name, symbol)} must be >= {lower}; got {value}")
    if upper is not None and value > upper:
        raise InputError(f"{_label(name, symbol)} must be <= {upper}; got {value}")
    return value


def check_choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise listing the accepted names."""
    if value not in choices:
        raise InputError(f"`{name}` must be one of {', '.join(choices)}; got {value!r}")
    return str(value)


def check_real_vector(values: object, name: str, symbol: str) -> np.ndarray:
    """``values`` as a 1-D float array of finite numbers, or an InputError in the project shape."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise InputError(f"`{name}` ({symbol}) must be a 1-D array; got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        bad = int(np.count_nonzero(~np.isfinite(array)))
        raise InputError(f"`{name}` ({symbol}) must contain finite numbers only; got {bad} non-finite")
    return array
