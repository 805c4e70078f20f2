"""The LASSO through its sufficient statistics, for designs too large to hold (docs/theory.md §7).

With A = X/√d, the objective ½‖y − Aθ‖² + λ‖θ‖₁, its gradient and the duality-gap certificate
of :mod:`shallowscaling.estimators.lasso` depend on the data only through

    G = AᵀA (d × d),   b = Aᵀy (d),   ‖y‖²,

since ‖y − Aθ‖² = ‖y‖² − 2θ·b + θᵀGθ and Aᵀ(y − Aθ) = b − Gθ. One pass over the blocks of a
:class:`~shallowscaling.design.StreamedDesign` accumulates them (memory O(d² + block·d)), after
which coordinate descent, the active-set polish and the certificate cost O(d²) per step whatever
n. Only n > d is streamed (:func:`~shallowscaling.data.diagonal_design_streamed`): then
|support| <= d < n and the null-space step of the polish, the one place needing X itself, never
runs.

‖y − Aθ‖² from the statistics loses about ε‖y‖² (absolute) to cancellation, which matters only
when the residual is tiny next to y (noiseless labels, λ → 0). So the certificate a streamed fit
reports is recomputed at the end from the residual itself, in one more pass
(:func:`streamed_certificate`), as the in-memory fit computes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..design import StreamedDesign

__all__ = ["Certificate", "GramStatistics", "certificate_of", "gram_statistics", "streamed_certificate"]


@dataclass(frozen=True)
class Certificate:
    objective: float
    train_loss: float
    duality_gap: float
    kkt_residual: float


@dataclass(frozen=True)
class GramStatistics:
    """G = AᵀA (C-ordered), b = Aᵀy and ‖y‖² of n samples, A = X/√d: all the LASSO uses of (X, y)."""

    gram: np.ndarray
    target: np.ndarray
    y_norm2: float
    n: int

    @property
    def shape(self) -> tuple[int, int]:
        """(n, d) of the design they summarise (the solver's loops read n and d from it)."""
        return (self.n, int(self.target.shape[0]))

    def stand_in(self) -> np.ndarray:
        """An (n, d) array of zeros taking no memory (zero strides), for scikit-learn's Gram route.

        With a precomputed Gram matrix and ``check_input=False`` scikit-learn reads only the
        shape of X (n sets its penalty scale), never its entries.
        """
        return np.lib.stride_tricks.as_strided(np.zeros(1), shape=self.shape, strides=(0, 0), writeable=False)

    def correlation(self, theta: np.ndarray) -> np.ndarray:
        """Aᵀ(y − Aθ) = b − Gθ."""
        return self.target - self.gram @ theta

    def penalised(self, theta: np.ndarray, support: np.ndarray, lam: float) -> float:
        """P(θ) for θ supported on ``support``: ½(‖y‖² − 2θ_S·b_S + θ_SᵀG_SSθ_S) + λ‖θ_S‖₁."""
        values = theta[support]
        quadratic = float(values @ self.gram[np.ix_(support, support)] @ values)
        squared = max(self.y_norm2 - 2.0 * float(values @ self.target[support]) + quadratic, 0.0)
        return 0.5 * squared + lam * float(np.abs(values).sum())

    def certificate(self, theta: np.ndarray, lam: float) -> Certificate:
        """:func:`certificate_of` with ‖r‖² = ‖y‖² − θ·b − θ·g and g = b − Gθ."""
        correlation = self.correlation(theta)
        squared = max(self.y_norm2 - float(theta @ self.target) - float(theta @ correlation), 0.0)
        return certificate_of(correlation, squared, theta, lam, self.n)


def certificate_of(correlation: np.ndarray, squared: float, theta: np.ndarray, lam: float, n: int) -> Certificate:
    """Objective, relative duality gap and KKT residual from g = Aᵀr and ‖r‖² (lasso module docstring)."""
    objective = 0.5 * squared + lam * float(np.abs(theta).sum())
    max_correlation = float(np.max(np.abs(correlation)))
    scale = 1.0 if max_correlation <= lam else lam / max_correlation
    # P − D as a sum of non-negative terms: no cancellation between ½‖y‖² and D.
    gap = 0.5 * (1.0 - scale) ** 2 * squared + float(
        np.sum(np.abs(theta) * (lam - scale * correlation * np.sign(theta)))
    )
    active = theta != 0.0
    violation = np.where(active, np.abs(correlation - lam * np.sign(theta)), np.maximum(np.abs(correlation) - lam, 0.0))
    return Certificate(
        objective=objective,
        train_loss=squared / n,
        duality_gap=gap / objective if objective > 0.0 else 0.0,
        kkt_residual=float(np.max(violation)) / lam,
    )


def gram_statistics(design: StreamedDesign, y: np.ndarray) -> GramStatistics:
    """G, b and ‖y‖² of a streamed design, in one pass of its blocks (BLAS-3 per block)."""
    n, d = design.shape
    gram = np.zeros((d, d))
    target = np.zeros(d)
    for start, block in design.blocks():
        gram += block.T @ block
        target += block.T @ y[start : start + block.shape[0]]
    # The 1/√d of A applied once at the end: G = XᵀX/d, b = Xᵀy/√d.
    gram /= d
    target /= math.sqrt(d)
    return GramStatistics(gram=gram, target=target, y_norm2=float(y @ y), n=n)


def streamed_certificate(design: StreamedDesign, y: np.ndarray, theta: np.ndarray, lam: float) -> Certificate:
    """The certificate of θ from the residual r = y − Aθ itself, in one pass (no cancellation)."""
    n, d = design.shape
    root = math.sqrt(d)
    correlation = np.zeros(d)
    squared = 0.0
    for start, block in design.blocks():
        residual = y[start : start + block.shape[0]] - block @ theta / root
        correlation += block.T @ residual
        squared += float(residual @ residual)
    return certificate_of(correlation / root, squared, theta, lam, n)
