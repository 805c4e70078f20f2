"""Martin–Mahoney "5+1 phases" of a weight spectrum, by documented rules (docs/theory.md §4).

Martin & Mahoney (2021) sort the empirical spectral densities (ESD) of trained weight matrices
into five phases of increasing implicit self-regularisation plus rank collapse. In the SE
picture of docs/theory.md §4 (a mass at zero, a soft-thresholded noise bulk, BBP outliers) they read:

============== ====================================================== =====================
phase          what the spectrum shows                                paper phase (docs/theory.md §4)
============== ====================================================== =====================
random-like    a bulk and nothing above it                            Ia
bleeding-out   a bulk and outliers just beyond its edge               IV
bulk+spikes    a bulk and well separated outliers                     IV, VIa
bulk-decay     a bulk that carries almost all the weight (bulk-       V, interpolation peak
               dominated), outliers decaying out of it
heavy-tailed   no noise bulk; the non-zero eigenvalues follow a       II, VIb
               power law with exponent ≤ 6
rank-collapse  (almost) every eigenvalue at zero                      Ib
============== ====================================================== =====================

The mapping to the paper's phases is the proposal of docs/theory.md §4; the rules below are ours. The
thresholds are module constants so that a study can change them and say so.
"""

from __future__ import annotations

import math
from typing import Protocol

from .._validation import check_int
from .edge_estimate import MIN_BULK

__all__ = [
    "BLEEDING_RATIO",
    "BULK_DOMINATED_MASS",
    "HEAVY_TAIL_MAX_EXPONENT",
    "MIN_BULK_FRACTION",
    "MIN_TAIL_RANGE",
    "MIN_ZERO_FRACTION_WITH_BULK",
    "PHASES",
    "RANK_COLLAPSE_FRACTION",
    "SPIKE_DOMINATED_MASS",
    "SpectrumFeatures",
    "classify_spectrum",
]

PHASES = ("random-like", "bleeding-out", "bulk+spikes", "bulk-decay", "heavy-tailed", "rank-collapse")

#: At most this fraction of non-zero eigenvalues: rank collapse (Ŝ is zero up to a handful of
#: directions, the Θ(1) plateau of phase Ib).
RANK_COLLAPSE_FRACTION = 0.01

#: Tail exponents at or below this are heavy tails. WeightWatcher's ranges (Martin, Peng &
#: Mahoney 2021): α > 6 random-like / bulk (no heavy tail), 2 < α < 6 moderately heavy tailed
#: (well trained), α < 2 very heavy tailed. The learned power law s_i ∝ i^{-γ} has α = 1 + 1/γ,
#: in (1, 3) for γ > 1/2.
HEAVY_TAIL_MAX_EXPONENT = 6.0

#: Fewer non-zero bulk eigenvalues than this fraction of d: no bulk to speak of (a noise bulk
#: thresholded at t has a fraction 1 − F_sc(t/δ) non-zero: 50 % at t = 0, 6 % at t = 1.5δ).
MIN_BULK_FRACTION = 0.1

#: A soft-thresholded noise bulk is symmetric about ≈ 0 before the shift, so at least about half
#: of its eigenvalues are at zero; with fewer zeros than this the non-zero spectrum of Ŝ cannot be
#: mostly a noise bulk (phase VIb: every target eigenvalue is learned), unless the spectrum is not
#: a thresholded one at all (a Gaussian W has no zeros and a compact bulk): MIN_TAIL_RANGE tells.
MIN_ZERO_FRACTION_WITH_BULK = 0.25

#: A fitted tail counts as a power law only if it spans at least this factor, top_eigenvalue /
#: xmin. A bulk has a bounded support: the Clauset–Shalizi–Newman fit on a Marchenko–Pastur or
#: semicircle spectrum picks its top edge and returns α̂ = 3–12 over a factor ≤ 2.7 (Gaussian W,
#: p/d = 0.25–4, d = 50–400, also with 3 spikes: ≤ 3.1), while learned power laws s_i ∝ i^{-γ}
#: (phase VIb: every target eigenvalue learned, no zeros) and Student-t weights with ≤ 2 degrees
#: of freedom span a factor 9–10⁵ at the same sizes (tests/spectra/test_phases.py).
MIN_TAIL_RANGE = 4.0

#: Share of the trace (Σλ, i.e. ‖W‖_F² up to the normalisation) above which the bulk dominates.
BULK_DOMINATED_MASS = 0.9

#: Bulk share of the trace below which the outliers dominate: bulk+spikes rather than bleeding.
SPIKE_DOMINATED_MASS = 0.5

#: Outliers all below this multiple of the bulk edge are "bleeding out" of the bulk.
BLEEDING_RATIO = 1.5


class SpectrumFeatures(Protocol):
    """What :func:`classify_spectrum` reads (``summary.SpectrumSummary`` provides it)."""

    d: int
    n_nonzero: int
    fraction_zero: float
    n_bulk: int
    n_outliers: int
    bulk_edge: float
    bulk_mass: float
    top_eigenvalue: float
    tail_exponent: float
    xmin: float


def _heavy(tail_exponent: float) -> bool:
    return math.isfinite(tail_exponent) and tail_exponent <= HEAVY_TAIL_MAX_EXPONENT


def _wide_power_law(summary: SpectrumFeatures) -> bool:
    return _heavy(summary.tail_exponent) and summary.top_eigenvalue >= MIN_TAIL_RANGE * summary.xmin


def classify_spectrum(summary: SpectrumFeatures) -> str:
    """Martin–Mahoney phase of a spectrum summary, by the first rule that applies (docs/theory.md §4).

    Parameters
    ----------
    summary : SpectrumFeatures
        Usually a :class:`shallowscaling.spectra.summary.SpectrumSummary`.

    Returns
    -------
    str
        One of :data:`PHASES`.

    Notes
    -----
    Rules, in order (constants of this module in capitals):

    1. n_nonzero ≤ RANK_COLLAPSE_FRACTION · d → ``rank-collapse``.
    2. No bulk: n_bulk < MIN_BULK_FRACTION · d, or a bulk too small for an edge fit (n_bulk <
       :data:`~shallowscaling.spectra.edge_estimate.MIN_BULK`, the "small bulk" of the estimator, which a
       run of learned eigenvalues can mimic) → ``heavy-tailed`` if tail_exponent ≤
       HEAVY_TAIL_MAX_EXPONENT, else ``rank-collapse`` (a few compact eigenvalues: low rank
       without a power law).
    3. Few zeros, fraction_zero < MIN_ZERO_FRACTION_WITH_BULK, and a power-law tail over a wide
       range, tail_exponent ≤ HEAVY_TAIL_MAX_EXPONENT and top_eigenvalue ≥ MIN_TAIL_RANGE · xmin
       → ``heavy-tailed``: a spectrum made of learned eigenvalues (phase VIb), which the bulk
       estimator, always finding a "bulk", would otherwise call a bulk. A Gaussian W (no zeros,
       a compact bulk) fails the range test and goes on to the bulk rules.
    4. No outliers → ``random-like``.
    5. bulk_mass < SPIKE_DOMINATED_MASS → ``bulk+spikes`` (the learned features carry the weight).
    6. top_eigenvalue < BLEEDING_RATIO · bulk_edge → ``bleeding-out``.
    7. bulk_mass ≥ BULK_DOMINATED_MASS → ``bulk-decay`` (bulk-dominated).
    8. Otherwise ``bulk+spikes``.

    A NaN tail exponent (no tail could be fitted) is not heavy. Without zeros, a bulk with a few
    strong spikes (several times its edge, e.g. a Gaussian W plus rank-3 directions 4× the edge)
    has a tail fit that starts inside the bulk and runs through the spikes (α̂ ≈ 3–4 over a
    factor > 4) and reads ``heavy-tailed``, as WeightWatcher's α, lowered by spikes, does. These are heuristics: at
    d = 200–800 the phases of the paper are regions of (n, λ) whose spectra change gradually
    across the boundaries, and the labels near a boundary depend on the thresholds.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> classify_spectrum(SimpleNamespace(d=400, n_nonzero=0, fraction_zero=1.0, n_bulk=0,
    ...     n_outliers=0, bulk_edge=0.0, bulk_mass=0.0, top_eigenvalue=0.0,
    ...     tail_exponent=float("nan"), xmin=float("nan")))
    'rank-collapse'
    """
    d = check_int(summary.d, "d", "dimension d", lower=1)
    if summary.n_nonzero <= RANK_COLLAPSE_FRACTION * d:
        return "rank-collapse"
    if summary.n_bulk < max(MIN_BULK_FRACTION * d, MIN_BULK):
        return "heavy-tailed" if _heavy(summary.tail_exponent) else "rank-collapse"
    if summary.fraction_zero < MIN_ZERO_FRACTION_WITH_BULK and _wide_power_law(summary):
        return "heavy-tailed"
    if summary.n_outliers == 0:
        return "random-like"
    if summary.bulk_mass < SPIKE_DOMINATED_MASS:
        return "bulk+spikes"
    if summary.top_eigenvalue < BLEEDING_RATIO * summary.bulk_edge:
        return "bleeding-out"
    if summary.bulk_mass >= BULK_DOMINATED_MASS:
        return "bulk-decay"
    return "bulk+spikes"
