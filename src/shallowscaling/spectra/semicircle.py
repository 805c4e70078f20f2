"""The standard semicircle law on [−2, 2]: its CDF and quantile function."""

from __future__ import annotations

import numpy as np


def semicircle_cdf(y: np.ndarray) -> np.ndarray:
    """CDF of the standard semicircle law on [−2, 2] (density √(4 − y²)/(2π))."""
    y = np.clip(y, -2.0, 2.0)
    return 0.5 + (y * np.sqrt(4.0 - y * y) / 4.0 + np.arcsin(y / 2.0)) / np.pi


def semicircle_quantile(p: np.ndarray) -> np.ndarray:
    """Inverse of :func:`semicircle_cdf`, vectorised bisection to 1e-14 (60 halvings of [−2, 2])."""
    p = np.asarray(p, dtype=float)
    lo = np.full(p.shape, -2.0)
    hi = np.full(p.shape, 2.0)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = semicircle_cdf(mid) < p
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)
