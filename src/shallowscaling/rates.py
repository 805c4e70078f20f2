"""Phase diagram of excess-risk exponents (paper Result 1 and Corollary 1; spec §3).

Coordinates are the paper's powers of d: κ = log_d n_eff and ℓ = log_d λ, with n_eff = n for
the diagonal network and n/d for the quadratic one; the diagram is the same for both models.
The excess risk scales as R = Θ(d^{-r(κ, ℓ)}).

Noisy case (Δ > 0):

=====  ==========================================  ===========================
phase  region                                      exponent r
=====  ==========================================  ===========================
Ia     κ < 0                                       0 (plateau)
Ib     ℓ > κ − ½                                   0 (rank collapse)
II     max((κ−1)/2, κ−γ−½) < ℓ < κ − ½             (2 − 1/γ)(κ − ℓ − ½)
III    (κ−1)/2 < ℓ < κ − γ − ½  (needs κ > 2γ)     2(κ − ℓ − 1)
IV     0 < κ < 1, ℓ < (κ−1)/2                      (1 − 1/(2γ)) κ
peak   κ = 1, ℓ < 0                                (2/3) ℓ   (R = λ^{-2/3})
VIa    1 < κ < 2γ, ℓ < (κ−1)/2                     κ − 1
VIb    κ > 2γ, ℓ < (κ−1)/2                         κ − 1
=====  ==========================================  ===========================

Phase V (κ → 1⁻, the overfitting term ρ(n_eff/d) dominating) has no power-law exponent: it is
the approach of IV to the peak and is labelled IV here.

Noiseless case (Δ = 0, paper Result 4) [derived in the spec]: no overfitting term and no peak.
IV becomes R ≍ n_eff^{1−2γ} (r = (2γ − 1)κ) for n_eff ≪ d; II and III keep their rates; beyond
n_eff = d at weak λ the target is recovered exactly ("exact", r = ∞).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "PHASES",
    "classify_phase",
    "phase_boundaries",
    "predicted_exponent",
    "rate_shape",
]

PHASES = ("Ia", "Ib", "II", "III", "IV", "peak", "VIa", "VIb", "exact")
# Half-width in κ of the band around the interpolation threshold n_eff = d labelled "peak".
PEAK_HALF_WIDTH = 1e-9


def classify_phase(kappa: float, ell: float, gamma: float, noiseless: bool = False) -> str:
    """Phase label of the point (κ, ℓ) for a teacher exponent γ > 1/2.

    Examples
    --------
    >>> classify_phase(1.5, 0.5, 1.0), classify_phase(0.5, -1.0, 1.0), classify_phase(1.5, -1.0, 1.0)
    ('II', 'IV', 'VIa')
    """
    if kappa < 0:
        return "Ia"
    if ell > kappa - 0.5:
        return "Ib"
    if ell > (kappa - 1.0) / 2.0:
        return "II" if ell > kappa - gamma - 0.5 else "III"
    # Under-regularised: ℓ below the λ = √(n_eff/d) boundary.
    if abs(kappa - 1.0) <= PEAK_HALF_WIDTH:
        return "exact" if noiseless else "peak"
    if kappa < 1.0:
        return "IV"
    if noiseless:
        return "exact"
    return "VIa" if kappa < 2.0 * gamma else "VIb"


def predicted_exponent(kappa: float, ell: float, gamma: float, noiseless: bool = False) -> float:
    """The exponent r with R = Θ(d^{-r}) at (κ, ℓ); ``inf`` for exact recovery.

    >>> round(predicted_exponent(1.5, 0.5, 1.0), 6)   # phase II: (2 - 1/γ)(κ - ℓ - 1/2)
    0.5
    """
    phase = classify_phase(kappa, ell, gamma, noiseless)
    if phase in ("Ia", "Ib"):
        return 0.0
    if phase == "II":
        return (2.0 - 1.0 / gamma) * (kappa - ell - 0.5)
    if phase == "III":
        return 2.0 * (kappa - ell - 1.0)
    if phase == "IV":
        return (2.0 * gamma - 1.0) * kappa if noiseless else (1.0 - 1.0 / (2.0 * gamma)) * kappa
    if phase == "peak":
        return 2.0 * ell / 3.0
    if phase == "exact":
        return math.inf
    return kappa - 1.0


def rate_shape(n_eff: np.ndarray, lam: float, d: int, gamma: float, noise: float) -> np.ndarray:
    """The Result-1 rate of each point as a function of (n_eff, λ, d), without its constant.

    Returns ``nan`` in plateau phases and at the peak band; used to draw the rate lines, whose
    constants are not predicted by the theory and are fitted by the caller.
    """
    n_eff = np.asarray(n_eff, dtype=float)
    ell = math.log(lam) / math.log(d)
    out = np.full(n_eff.shape, np.nan)
    noiseless = noise == 0
    for i, value in enumerate(n_eff.flat):
        kappa = math.log(value) / math.log(d)
        phase = classify_phase(kappa, ell, gamma, noiseless)
        if phase == "II":
            out.flat[i] = (lam * math.sqrt(d) / value) ** (2.0 - 1.0 / gamma)
        elif phase == "III":
            out.flat[i] = (lam * d / value) ** 2
        elif phase == "IV":
            out.flat[i] = value ** ((1.0 - 2.0 * gamma) if noiseless else (-1.0 + 1.0 / (2.0 * gamma)))
        elif phase in ("VIa", "VIb"):
            out.flat[i] = d / value
    return out


def phase_boundaries(kappa: np.ndarray, gamma: float) -> dict[str, np.ndarray]:
    """The boundary lines ℓ(κ) of the diagram, for drawing.

    Keys: ``"regularisation"`` ℓ = (κ−1)/2 (λ = √(n_eff/d), under/over-regularised),
    ``"rank_collapse"`` ℓ = κ − ½ (λ = n_eff/√d), ``"all_features"`` ℓ = κ − γ − ½
    (λ = n_eff/d^{γ+½}). The vertical lines κ = 0, 1 and 2γ are left to the caller.
    """
    kappa = np.asarray(kappa, dtype=float)
    return {
        "regularisation": (kappa - 1.0) / 2.0,
        "rank_collapse": kappa - 0.5,
        "all_features": kappa - gamma - 0.5,
    }
