"""The grids of a study: canonical wildcard floats, n for a sample-size exponent κ, n_eff, κ, λ
and the n grids of a sweep (plain functions of numbers; :mod:`shallowscaling.config` reads them
from a config and re-exports them)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = [
    "format_float",
    "kappa_value",
    "lam_value",
    "n_eff_value",
    "n_from_exponent",
    "n_grid",
    "parse_float",
    "se_n_grid",
]


def format_float(value: float) -> str:
    """Canonical text of a wildcard float: shortest round-trip repr, no trailing ``.0``.

    >>> format_float(0.5), format_float(-1.0), format_float(1e-3)
    ('0.5', '-1', '0.001')
    """
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"wildcard floats must be finite; got {value!r}")
    text = np.format_float_positional(value, trim="-")
    return "0" if text in ("-0", "0") else text


def parse_float(text: str) -> float:
    """Inverse of :func:`format_float` (refuses non-canonical spellings so paths stay unique)."""
    value = float(text)
    if format_float(value) != text:
        raise ValueError(f"{text!r} is not the canonical spelling {format_float(value)!r}")
    return value


def n_from_exponent(model: str, d: int, kappa: float) -> int:
    """Sample size for n_eff = d^κ: n = round(d^κ) (diagonal) or round(d^{κ+1}) (quadratic)."""
    power = kappa + (1.0 if model == "quadratic" else 0.0)
    return round(d**power)


def n_eff_value(model: str, d: int, n: int) -> float:
    """n_eff = n (diagonal) or n/d (quadratic)."""
    return n / d if model == "quadratic" else float(n)


def kappa_value(model: str, d: int, n: int) -> float:
    """κ = log_d n_eff, the sample-size exponent of a fit point."""
    return math.log(n_eff_value(model, d, n)) / math.log(d)


def lam_value(d: int, lam_exponent: float) -> float:
    """λ = d^ℓ."""
    return float(d) ** lam_exponent


def n_grid(model: str, d: int, grid: Mapping[str, Any]) -> list[int]:
    """The simulated sample sizes: distinct n on the log grid κ ∈ [start, stop]."""
    kappas = np.linspace(grid["start"], grid["stop"], grid["num"])
    return sorted({n_from_exponent(model, d, float(k)) for k in kappas})


def se_n_grid(model: str, d: int, grid: Mapping[str, Any], num: int) -> list[int]:
    """The denser sample-size grid on which state-evolution curves are drawn."""
    return n_grid(model, d, {"start": grid["start"], "stop": grid["stop"], "num": num})
