"""Phase diagram of excess-risk exponents (paper Result 1 and Corollary 1; docs/theory.md §3).

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

Phase V (κ → 1⁻, the overfitting term ρ(n_eff/d) dominating) has no power-law exponent of its
own: it is the approach of IV to the peak and is labelled IV here. The term is model dependent,
ρ(t) = −Δ/log t (diagonal) and Δ t^{2/5} (quadratic) with t = n_eff/d (docs/theory.md §3); see
:func:`overfitting_exponent`. The exponent returned for IV is the signal term's.

Noiseless case (Δ = 0, paper Result 4) [derived in docs/theory.md §3, checked here with the diagonal SE at
d = 10³–10⁵]: no overfitting term and no peak. Over-regularised points keep the rates of Ib and
II; under-regularised ones are

=====  ==========================================  ===========================
phase  region (Δ = 0)                              exponent r
=====  ==========================================  ===========================
II     κ ≤ 1: κ(1 − γ) − ½ < ℓ < κ − ½              (2 − 1/γ)(κ − ℓ − ½)
       κ > 1: κ − γ − ½ < ℓ < κ − ½
IV     0 ≤ κ ≤ 1, ℓ < κ(1 − γ) − ½                 (2γ − 1) κ   (R ≍ n_eff^{1−2γ})
III    κ > 1, ℓ < κ − γ − ½                        2(κ − ℓ − 1) (R = (λd/n_eff)² → 0)
=====  ==========================================  ===========================

The II/IV boundary λ = n_eff^{1−γ}/√d is where (λ√d/n_eff)^{2−1/γ} meets n_eff^{1−2γ}; the rate
jumps across κ = 1 below ℓ = ½ − γ (from (2γ−1)κ to 2(κ − ℓ − 1): exact recovery as λ → 0 once
n_eff > d).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.optimize

from ._validation import check_real

__all__ = [
    "NOISELESS_PHASES",
    "NOISY_PHASES",
    "PHASES",
    "boundary_distance",
    "boundary_segments",
    "classify_phase",
    "dmm_transition",
    "phase_boundaries",
    "predicted_exponent",
    "rate_shape",
]

PHASES = ("Ia", "Ib", "II", "III", "IV", "peak", "VIa", "VIb")
#: The phases of the noisy (Δ > 0) and noiseless (Δ = 0) diagrams, in the order of the tables.
NOISY_PHASES = PHASES
NOISELESS_PHASES = ("Ia", "Ib", "II", "III", "IV")
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
    if noiseless:
        # Over/under-regularised boundary at Δ = 0: λ = n_eff^{1−γ}/√d (κ ≤ 1), λ = n_eff/d^{γ+½} beyond.
        if kappa <= 1.0:
            return "II" if ell > kappa * (1.0 - gamma) - 0.5 else "IV"
        return "II" if ell > kappa - gamma - 0.5 else "III"
    if ell > (kappa - 1.0) / 2.0:
        return "II" if ell > kappa - gamma - 0.5 else "III"
    # Under-regularised: ℓ below the λ = √(n_eff/d) boundary.
    if abs(kappa - 1.0) <= PEAK_HALF_WIDTH:
        return "peak"
    if kappa < 1.0:
        return "IV"
    return "VIa" if kappa < 2.0 * gamma else "VIb"


def predicted_exponent(kappa: float, ell: float, gamma: float, noiseless: bool = False) -> float:
    """The exponent r with R = Θ(d^{-r}) at (κ, ℓ) (the signal term's in phase IV).

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
    (λ = n_eff/d^{γ+½}), ``"noiseless_regularisation"`` ℓ = κ(1 − γ) − ½ (λ = n_eff^{1−γ}/√d,
    the II/IV boundary at Δ = 0). The vertical lines κ = 0, 1 and 2γ are left to the caller;
    :func:`boundary_segments` gives only the parts that separate two phases.
    """
    kappa = np.asarray(kappa, dtype=float)
    return {
        "regularisation": (kappa - 1.0) / 2.0,
        "rank_collapse": kappa - 0.5,
        "all_features": kappa - gamma - 0.5,
        "noiseless_regularisation": kappa * (1.0 - gamma) - 0.5,
    }


#: Far end of the rays of the diagram, in units of κ and ℓ; any drawing or distance query lies
#: well inside (the config bounds κ and ℓ to [−4, 4]).
_FAR = 50.0


Segment = tuple[str, tuple[float, float, float, float], bool]


def boundary_segments(gamma: float, noiseless: bool = False) -> list[Segment]:
    """The phase boundaries of the (κ, ℓ) diagram as straight segments, for drawing and distances.

    Returns
    -------
    list of (name, (κ0, ℓ0, κ1, ℓ1), discontinuous)
        Each segment separates two different phases of :func:`classify_phase`. ``discontinuous``
        marks the paper's red lines, across which r jumps: ℓ = (κ−1)/2 for 1 < κ < 2γ and
        κ = 1 below ℓ = 0 (Δ > 0); κ = 1 below ℓ = ½ − γ (Δ = 0). Rays end at |κ|, |ℓ| = 50.

    Examples
    --------
    >>> [name for name, _, jump in boundary_segments(1.0) if jump]
    ['regularisation (VIa | II)', 'interpolation']
    """
    far = _FAR
    segments = [
        ("n_eff = 1", (0.0, -far, 0.0, far), False),
        ("rank collapse", (0.0, -0.5, far, far - 0.5), False),
    ]
    if noiseless:
        corner = 0.5 - gamma  # where κ(1 − γ) − ½ and κ − γ − ½ meet, at κ = 1
        return [
            *segments,
            ("regularisation (IV | II)", (0.0, -0.5, 1.0, corner), False),
            ("all features (III | II)", (1.0, corner, far, far - gamma - 0.5), False),
            ("interpolation", (1.0, -far, 1.0, corner), True),
        ]
    top = 2.0 * gamma
    return [
        *segments,
        ("regularisation (IV | II)", (0.0, -0.5, 1.0, 0.0), False),
        ("regularisation (VIa | II)", (1.0, 0.0, top, (top - 1.0) / 2.0), True),
        ("regularisation (VIb | III)", (top, (top - 1.0) / 2.0, far, (far - 1.0) / 2.0), False),
        ("all features (III | II)", (top, (top - 1.0) / 2.0, far, far - gamma - 0.5), False),
        ("interpolation", (1.0, -far, 1.0, 0.0), True),
        ("n_eff = d^{2γ}", (top, -far, top, (top - 1.0) / 2.0), False),
    ]


def _chebyshev_to_segment(kappa: float, ell: float, segment: tuple[float, float, float, float]) -> float:
    """min over the segment of max(|Δκ|, |Δℓ|): convex and piecewise linear in the position s
    along the segment, so its minimum is at an end or where one of its pieces changes."""
    k0, l0, k1, l1 = segment
    dk, dl = k1 - k0, l1 - l0
    candidates = [0.0, 1.0]
    for a, b in ((dk, k0 - kappa), (dl, l0 - ell), (dk - dl, k0 - kappa - l0 + ell), (dk + dl, k0 - kappa + l0 - ell)):
        if a != 0.0:
            candidates.append(-b / a)
    return min(max(abs(k0 + s * dk - kappa), abs(l0 + s * dl - ell)) for s in candidates if 0.0 <= s <= 1.0)


def boundary_distance(kappa: float, ell: float, gamma: float, noiseless: bool = False) -> float:
    """Distance from (κ, ℓ) to the nearest phase boundary, in the max norm max(|Δκ|, |Δℓ|).

    A point at distance > m has the same phase everywhere in the square of half-width m around
    it ("farther than m in κ or ℓ from a boundary").

    >>> round(boundary_distance(1.5, -1.0, 1.0), 6)   # nearest: the interpolation line κ = 1
    0.5
    """
    return min(_chebyshev_to_segment(kappa, ell, seg) for _, seg, _ in boundary_segments(gamma, noiseless))


def _minimax_sparsity(tau: float) -> tuple[float, float]:
    """(ε, n/d) on the transition curve, parametrised by the threshold ratio τ = t/δ (see below)."""
    pdf = math.exp(-0.5 * tau * tau) / math.sqrt(2.0 * math.pi)
    tail = 0.5 * math.erfc(tau / math.sqrt(2.0))
    excess = pdf - tau * tail  # φ(τ) − τQ(τ) > 0
    sparsity = 2.0 * excess / (tau + 2.0 * excess)
    return sparsity, 2.0 * pdf / (tau + 2.0 * excess)


def dmm_transition(sample_ratio: float) -> float:
    """Noiseless LASSO phase transition: the largest sparsity ε recovered exactly as λ → 0⁺.

    For a teacher whose fraction ε of coordinates is nonzero (any values, any signs: only |θ*|
    enters the state evolution, and the LASSO does not know the signs) and Δ = 0, the diagonal
    state evolution (docs/theory.md §2.1) has a fixed point with δ ∝ λ → 0 iff

        n/d > min_τ F_ε(τ),   F_ε(τ) = ε(1 + τ²) + (1 − ε) 2[(1 + τ²)Q(τ) − τφ(τ)],

    the minimax soft-thresholding risk (Q = 1 − Φ). F_ε is convex; at its minimiser
    F'_ε(τ) = 2τ[ε + 2(1 − ε)Q(τ)] − 4(1 − ε)φ(τ) = 0, and F_ε − [ε + 2(1 − ε)Q] = τF'_ε/2, so
    on the transition curve

        ε = 2(φ(τ) − τQ(τ)) / (τ + 2(φ(τ) − τQ(τ))),   n/d = 2φ(τ) / (τ + 2(φ(τ) − τQ(τ))),

    which is the weak ℓ1 (cross-polytope) threshold ρ = ε d/n = 1 − τQ(τ)/φ(τ) of Donoho, Maleki and
    Montanari (PNAS 2009). n/d decreases from 1 (τ = 0) to 0 (τ → ∞), so τ is a bracketed root.

    Parameters
    ----------
    sample_ratio : float
        n/d in (0, 1); at n/d >= 1 every sparsity is recovered (returns 1.0).

    Returns
    -------
    float
        ε_c(n/d); for example ε_c(0.5) ≈ 0.1924 (ρ_c = ε_c/(n/d) ≈ 0.3848).
    """
    sample_ratio = check_real(sample_ratio, "sample_ratio", "sample ratio n/d", lower=0.0, lower_inclusive=False)
    if sample_ratio >= 1.0:
        return 1.0
    upper = 1.0
    while _minimax_sparsity(upper)[1] > sample_ratio:
        upper *= 2.0
    tau = scipy.optimize.brentq(lambda t: _minimax_sparsity(t)[1] - sample_ratio, 0.0, upper, xtol=1e-15, rtol=1e-15)
    return _minimax_sparsity(tau)[0]
