"""Load and validate ``config.yaml``, expand sweeps, and format wildcard values canonically.

The schema (``workflow/schemas/config.schema.yaml``) closes every object, bounds every number and
describes every key; :func:`validate_config` turns the first schema violation into a
:class:`~shallowscaling.errors.ConfigError` that names the key path, the value and what is
allowed, then checks the cross-field rules the schema cannot express.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from .errors import ConfigError

__all__ = [
    "MODELS",
    "SCHEMA_PATH",
    "format_float",
    "lam_value",
    "load_config",
    "n_eff_value",
    "n_from_exponent",
    "n_grid",
    "parse_float",
    "se_n_grid",
    "tail_sweep",
    "validate_config",
]

MODELS = ("diagonal", "quadratic")
# The schema lives with the workflow (design card); the package is installed editable from
# the repository, so it is found relative to this file.
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"


@cache
def _schema() -> dict[str, Any]:
    with open(SCHEMA_PATH, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _path(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        return "accepted keys: " + ", ".join(sorted(schema.get("properties", {})))
    if error.validator == "enum":
        return "allowed: " + ", ".join(map(str, error.validator_value))
    parts = []
    for key, text in (
        ("type", "type {}"),
        ("minimum", ">= {}"),
        ("exclusiveMinimum", "> {}"),
        ("maximum", "<= {}"),
        ("exclusiveMaximum", "< {}"),
        ("minItems", "at least {} item(s)"),
    ):
        if key in schema:
            parts.append(text.format(schema[key]))
    if "description" in schema:
        parts.append(f"({schema['description']})")
    return "allowed: " + " ".join(parts) if parts else ""


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a configuration mapping and return it as a plain dict.

    Raises
    ------
    ConfigError
        On the first violation, e.g. ``diagonal.gamma[0]: 0.4 is less than or equal to the
        minimum of 0.5; allowed: type number > 0.5 (teacher power-law exponents γ (> 0.5) ...)``.
    """
    config = dict(config)
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        # Report the deepest error: a bad list item is more useful than "not valid under oneOf".
        error = max(errors, key=lambda e: len(e.absolute_path))
        if error.validator == "additionalProperties":
            message = error.message
        else:
            message = f"{error.instance!r} is not allowed ({error.message})"
        raise ConfigError(f"{_path(error)}: {message}; {_allowed(error)}".rstrip("; "))
    for model in MODELS:
        _check_n_grid(model, model, config[model]["n_eff_exponent"], config[model]["d"])
    _check_tail_sweep(config)
    se = config["quadratic"]["se"]
    if se["max_draws"] < se["n_draws"]:
        raise ConfigError(
            f"quadratic.se.max_draws: {se['max_draws']} is below quadratic.se.n_draws ({se['n_draws']}), the K the "
            "Monte-Carlo route starts with; raise max_draws or lower n_draws"
        )
    return config


def tail_sweep(config: Mapping[str, Any]) -> dict[str, Any]:
    """The optional ``spectra.tail`` sweep of a validated config (``d: []`` when there is none)."""
    tail = config["spectra"].get("tail")
    if tail is None:
        return {"d": [], "lam_exponent": [], "n_eff_exponent": {"start": 0.0, "stop": 0.0, "num": 1}}
    return dict(tail)


def _check_n_grid(key: str, model: str, grid: Mapping[str, Any], dims: Sequence[int]) -> None:
    """The n_eff grid at ``{key}.n_eff_exponent``: start <= stop, and n >= 1 at every d."""
    if grid["start"] > grid["stop"]:
        raise ConfigError(
            f"{key}.n_eff_exponent: start ({grid['start']}) must be <= stop ({grid['stop']}); "
            "swap them or use num: 1 for a single point"
        )
    for d in dims:
        n_min = n_from_exponent(model, d, grid["start"])
        if n_min < 1:
            raise ConfigError(
                f"{key}.n_eff_exponent.start: {grid['start']} gives n = {n_min} < 1 samples at d = {d}; "
                f"raise start to at least {-1.0 if model == 'quadratic' else 0.0}"
            )


def _check_tail_sweep(config: Mapping[str, Any]) -> None:
    tail = tail_sweep(config)
    for d in tail["d"]:
        # A sweep's files are named by (d, γ, Δ, ℓ) only: the same d in both sweeps would give one
        # spectra job two n grids.
        if d in config["quadratic"]["d"]:
            raise ConfigError(
                f"spectra.tail.d: {d} is also in quadratic.d {config['quadratic']['d']}; "
                "allowed: dimensions that are not in the main quadratic sweep (remove it from one of the two)"
            )
    _check_n_grid("spectra.tail", "quadratic", tail["n_eff_exponent"], tail["d"])


def load_config(*paths: str | Path) -> dict[str, Any]:
    """Read one or more YAML files (later ones overlay earlier ones, key by key) and validate."""
    merged: dict[str, Any] = {}
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: the top level must be a mapping of keys; got {type(data).__name__}")
        merged = _overlay(merged, data)
    return validate_config(merged)


def _overlay(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = value
    return out


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
