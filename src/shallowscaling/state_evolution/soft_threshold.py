"""Closed forms of the soft threshold η(x; t) = sign(x)(|x| − t)₊ applied to a Gaussian channel
x = θ + δz: expected error, active probability and the per-coordinate terms of the diagonal SE map.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from .._validation import check_real

INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_pdf(x: np.ndarray) -> np.ndarray:
    return INV_SQRT_2PI * np.exp(-0.5 * x * x)


@dataclass(frozen=True)
class Terms:
    """Sums over coordinates of the unit-noise soft-threshold moments at (δ, κ).

    ``mse`` = (1/d) Σ m(a_i; κ), ``active`` = Σ p(a_i; κ) (= k) with a_i = |θ*_i|/δ, and the
    derivative sums used by the Newton steps: ``mse_a`` = (1/d) Σ a_i ∂_a m, ``mse_kappa`` =
    (1/d) Σ ∂_κ m, ``active_a`` = Σ a_i ∂_a p, ``active_kappa`` = Σ ∂_κ p.
    """

    mse: float
    active: float
    mse_a: float
    mse_kappa: float
    active_a: float
    active_kappa: float


def unit_terms(a: np.ndarray, kappa: float) -> tuple[np.ndarray, ...]:
    """Per-coordinate m, p and their derivatives for X = a + z, threshold κ, a ≥ 0.

    With u = κ − a, v = −κ − a (docs/theory.md §2.1 closed forms divided by δ²):
    ``p = Q(u) + Φ(v)``, ``m = (1+κ²) p − (κ+a) φ(u) − (κ−a) φ(v) + a² (Φ(u) − Φ(v))``,
    ``∂_a m = 2a (Φ(u) − Φ(v))``, ``∂_κ m = 2κ p − 2 (φ(u) + φ(v))``,
    ``∂_a p = φ(u) − φ(v)``, ``∂_κ p = −(φ(u) + φ(v))``.
    """
    u = kappa - a
    v = -kappa - a
    # Q(u) and Φ(u) from one tail probability, so that whichever is tiny keeps full relative
    # accuracy (1 − Q(u) would lose it for large a, where it is multiplied by a²).
    tail_u = ndtr(-np.abs(u))
    upper_u = np.where(u >= 0.0, tail_u, 1.0 - tail_u)  # Q(u)
    lower_u = np.where(u >= 0.0, 1.0 - tail_u, tail_u)  # Φ(u)
    lower_v = ndtr(v)  # v ≤ −κ ≤ 0: a lower tail, accurate as is
    pdf_u = normal_pdf(u)
    pdf_v = normal_pdf(v)
    p = upper_u + lower_v
    inside = lower_u - lower_v
    m = (1.0 + kappa * kappa) * p - (kappa + a) * pdf_u - (kappa - a) * pdf_v + a * a * inside
    return m, p, inside, pdf_u, pdf_v


def soft_threshold_terms(
    abs_theta: np.ndarray, weights: np.ndarray | None, d: float, delta: float, kappa: float
) -> Terms:
    a = abs_theta / delta
    m, p, inside, pdf_u, pdf_v = unit_terms(a, kappa)
    pdf_sum = pdf_u + pdf_v
    columns = np.stack([m, p, 2.0 * a * a * inside, 2.0 * kappa * p - 2.0 * pdf_sum, a * (pdf_u - pdf_v), pdf_sum])
    sums = columns.sum(axis=1) if weights is None else columns @ weights
    return Terms(
        mse=sums[0] / d,
        active=sums[1],
        mse_a=sums[2] / d,
        mse_kappa=sums[3] / d,
        active_a=sums[4],
        active_kappa=-sums[5],
    )


def expected_soft_threshold_mse(theta: np.ndarray, delta: float, threshold: float) -> np.ndarray:
    """Per-coordinate ``E_z (η(θ + δz; t) − θ)²`` in closed form (docs/theory.md §2.1).

    With u = (t − θ)/δ, v = (−t − θ)/δ, Φ the normal cdf, φ its density and Q = 1 − Φ:
    ``δ²[Q(u) + uφ(u)] − 2δtφ(u) + t²Q(u) + δ²[Φ(v) − vφ(v)] − 2δtφ(v) + t²Φ(v) + θ²[Φ(u) − Φ(v)]``.

    Parameters
    ----------
    theta : ndarray
        Signal values θ (any shape).
    delta : float
        Noise level δ > 0.
    threshold : float
        Soft threshold t >= 0.

    Returns
    -------
    ndarray
        The mean squared error, same shape as ``theta``.
    """
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)
    theta = np.asarray(theta, dtype=float)
    u = (threshold - theta) / delta
    v = (-threshold - theta) / delta
    upper_u, lower_u, lower_v = ndtr(-u), ndtr(u), ndtr(v)
    pdf_u, pdf_v = normal_pdf(u), normal_pdf(v)
    return (
        delta**2 * (upper_u + u * pdf_u)
        - 2.0 * delta * threshold * pdf_u
        + threshold**2 * upper_u
        + delta**2 * (lower_v - v * pdf_v)
        - 2.0 * delta * threshold * pdf_v
        + threshold**2 * lower_v
        + theta**2 * (lower_u - lower_v)
    )


def soft_threshold_active_probability(theta: np.ndarray, delta: float, threshold: float) -> np.ndarray:
    """Per-coordinate ``P(|θ + δz| > t) = Q(u) + Φ(v)`` (docs/theory.md §2.1); same shape as ``theta``."""
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)
    theta = np.asarray(theta, dtype=float)
    return ndtr(-(threshold - theta) / delta) + ndtr((-threshold - theta) / delta)
