"""What the spectral jobs (``spectra``, ``prune``) share: a sweep point's identifying columns and
paper phase, and one replicate's rows of a weights table."""

from __future__ import annotations

import math

import pandas as pd

from ..config import kappa_value, n_eff_value
from ..errors import InputError
from ..rates import classify_phase

__all__ = [
    "rate_phase",
]

POINT_COLUMNS = ("model", "estimator", "d", "gamma", "noise", "lam", "lam_exponent", "n", "n_eff", "seed")


def rate_phase(model: str, d: int, n: int, lam: float, gamma: float, noise: float) -> str:
    """Paper phase (Result 1, :func:`shallowscaling.rates.classify_phase`) of one point."""
    return classify_phase(kappa_value(model, d, n), math.log(lam) / math.log(d), gamma, noiseless=noise == 0)


def point_record(model, estimator, d, gamma, noise, lam_exponent, n, seed) -> dict:
    lam = float(d) ** lam_exponent
    return {
        "model": model,
        "estimator": estimator,
        "d": d,
        "gamma": float(gamma),
        "noise": float(noise),
        "lam": lam,
        "lam_exponent": float(lam_exponent),
        "n": int(n),
        "n_eff": n_eff_value(model, d, n),
        "seed": int(seed),
    }


def replicate_rows(weights: pd.DataFrame, replicate: int) -> pd.DataFrame:
    rows = weights[weights["replicate"] == replicate].sort_values("index", kind="stable")
    if rows.empty:
        raise InputError(f"the weights table has no replicate {replicate}")
    return rows
