"""Argument types of the command line: numbers bounded as their config keys, and shared flags."""

from __future__ import annotations

import argparse
import math
from typing import Any

from ..config import cli_bound


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the usage itself is one `--help` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def _within(value: float, bound: dict[str, Any]) -> str | None:
    """What ``value`` violates in a schema bound (``cli_bound``), or None."""
    for key, op, bad in (
        ("minimum", ">=", lambda v, b: v < b),
        ("exclusiveMinimum", ">", lambda v, b: v <= b),
        ("maximum", "<=", lambda v, b: v > b),
        ("exclusiveMaximum", "<", lambda v, b: v >= b),
    ):
        if key in bound and bad(value, bound[key]):
            return op
    return None


def _allowed_range(bound: dict[str, Any]) -> str:
    ops = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    return " and ".join(
        f"{ops[key]} {value if isinstance(value, int) else f'{value:g}'}" for key, value in bound.items()
    )


def schema_int(name: str, offset: int = 0):
    """An integer flag bounded as the config key ``name`` (``offset`` shifts the bounds: an index)."""

    def parse(text: str) -> int:
        value = integer_arg(text)
        bound = {key: limit + offset for key, limit in cli_bound(name).items()}
        if _within(value, bound) is not None:
            raise argparse.ArgumentTypeError(f"must be {_allowed_range(bound)} (as config key {name}); got {value}")
        return value

    return parse


def schema_real(name: str):
    """A finite real flag bounded as the config key ``name`` (src/shallowscaling/resources/config.schema.yaml)."""

    def parse(text: str) -> float:
        value = real_arg()(text)
        bound = cli_bound(name)
        if _within(value, bound) is not None:
            raise argparse.ArgumentTypeError(f"must be {_allowed_range(bound)} (as config key {name}); got {value:g}")
        return value

    return parse


def integer_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None


def positive_int(text: str) -> int:
    value = integer_arg(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def real_arg(lower: float | None = None, strict: bool = False, name: str = "value"):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
        if lower is not None and (value <= lower if strict else value < lower):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {lower:g}; got {value:g}")
        return value

    return parse


def _lam(text: str) -> float | str:
    if text == "optimal":
        return text
    return real_arg(0.0, strict=True)(text)


def add_point_flags(parser: argparse.ArgumentParser, many_n: bool) -> None:
    parser.add_argument(
        "model",
        choices=("diagonal", "quadratic"),
        help="diagonal network (≡ LASSO, n_eff = n) or quadratic network (≡ PSD matrix sensing, n_eff = n/d)",
    )
    parser.add_argument("--d", type=schema_int("d"), required=True, help="input dimension d (>= 2)")
    parser.add_argument(
        "--gamma",
        type=schema_real("gamma"),
        help="teacher power-law exponent γ (> 0.5): spectrum s_k ∝ k^-γ; required for the power-law "
        "teacher, optional (default 1, a key of the random draws only) with another teacher",
    )
    parser.add_argument("--noise", type=schema_real("noise"), required=True, help="label-noise variance Δ (>= 0)")
    parser.add_argument(
        "--n",
        type=positive_int,
        required=True,
        nargs="+" if many_n else None,
        help="number of samples n (n_eff = n diagonal, n/d quadratic)" + ("; several for a sweep" if many_n else ""),
    )
    # Required for ERM; the Bayes-optimal error (predict --method bayes) does not depend on λ.
    lam = parser.add_mutually_exclusive_group(required=not many_n)
    lam.add_argument(
        "--lam",
        type=_lam,
        help="weight decay λ (> 0) of the ERM objective (docs/theory.md §1)"
        + ("; `optimal` minimises the SE risk" if many_n else ""),
    )
    lam.add_argument(
        "--lam-exponent", type=schema_real("lam_exponent"), help="ℓ, for λ = d^ℓ (the paper's panels: -1, 0, 0.5)"
    )
    parser.add_argument(
        "--seed", type=schema_int("seed"), default=0, help="base seed of the teacher (and data) draws (default 0)"
    )
    parser.add_argument(
        "--normalization",
        choices=("unit", "paper"),
        help="teacher scale: unit (default, Q* = 1) or paper (s_i = √d i^-γ); a --teacher-file is used as given "
        "unless unit is named",
    )
    parser.add_argument("--width", type=schema_int("width"), help="quadratic network width p (default p = d)")
    parser.add_argument("--teacher", help="teacher Parquet of the workflow (checked against / used as the draw)")
    parser.add_argument("--output", help="write the rows to this Parquet file (atomically)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def add_job_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", choices=("diagonal", "quadratic"))
    parser.add_argument("--estimator", required=True, choices=("lasso", "network", "convex"))
    parser.add_argument("--d", type=schema_int("d"), required=True, help="input dimension d")
    parser.add_argument("--gamma", type=schema_real("gamma"), required=True, help="teacher exponent γ (> 0.5)")
    parser.add_argument("--noise", type=schema_real("noise"), required=True, help="label-noise variance Δ (>= 0)")
    parser.add_argument("--lam-exponent", type=schema_real("lam_exponent"), required=True, help="ℓ, for λ = d^ℓ")
    parser.add_argument("--seed", type=schema_int("seed"), required=True, help="base seed")
    parser.add_argument("--width", type=schema_int("width"), help="quadratic network width p (default p = d)")
    parser.add_argument("--n-draws", type=schema_int("n_draws"), default=3, help="K, GOE draws of the quadratic SE")
    parser.add_argument("--teacher", required=True, help="the teacher Parquet of the sweep")


def add_max_memory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-memory",
        type=real_arg(0.0, strict=True),
        help="GB this command may plan to use (default: half of the machine's memory); a job estimated above "
        "it is refused before anything is allocated",
    )
