"""Teachers: the diagonal coefficients θ* and the quadratic target S* (docs/theory.md §1.1–1.2).

The study's teachers are power laws (``power_law``); :data:`TEACHER_FAMILIES` adds three named
families for checks against known closed forms (:func:`family_values`): ``sparse`` (ones on a
fraction ε of the coordinates or eigenvalues), ``flat`` (d equal values) and ``wishart``
(S* = WWᵀ/√(rd), quadratic only).

Two normalisations of the power law ``k^{-γ}`` are offered:

* ``"unit"`` (default): the target has unit signal strength, Q* = Tr(S*²)/d = 1 for the
  quadratic model and (1/d) Σ_i v_i = 1 for the diagonal one;
* ``"paper"``: the raw scale ``s_i = √d i^{-γ}`` and ``v_i = d i^{-2γ}``, which differs from
  ``"unit"`` by a γ-dependent constant.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_choice, check_int, check_real
from .errors import InputError

__all__ = [
    "NORMALIZATIONS",
    "TEACHER_FAMILIES",
    "diagonal_variances",
    "draw_diagonal_teacher",
    "draw_haar_orthogonal",
    "draw_quadratic_teacher",
    "family_values",
    "power_law_spectrum",
    "sparse_count",
    "target_matrix",
    "unit_scale",
    "wishart_law",
]

NORMALIZATIONS = ("unit", "paper")
#: Atoms of the discretised exact Wishart law (:func:`wishart_law`): its functionals used by the
#: Bayes-optimal SE then agree with the continuous law to ~1e-4 (docs/theory.md §2.3).
WISHART_LAW_ATOMS = 400
#: Named teacher families; ``power_law`` is the study's (and the default everywhere).
TEACHER_FAMILIES = ("power_law", "sparse", "wishart", "flat")


def _check(d: int, gamma: float, normalization: str) -> tuple[int, float]:
    d = check_int(d, "d", "input dimension d", lower=2)
    gamma = check_real(gamma, "gamma", "teacher power-law exponent γ", lower=0.5, lower_inclusive=False)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    return d, gamma


def power_law_spectrum(d: int, gamma: float, normalization: str = "unit") -> np.ndarray:
    """Eigenvalues s_1 ≥ … ≥ s_d of the quadratic target S*.

    ``s_i = √d i^{-γ} / (Σ_j j^{-2γ})^{1/2}`` so that Q* = (1/d) Σ s_i² = 1 (``"unit"``), or
    ``s_i = √d i^{-γ}`` (``"paper"``). Shape ``(d,)``, decreasing.
    """
    d, gamma = _check(d, gamma, normalization)
    k = np.arange(1, d + 1, dtype=float)
    s = np.sqrt(d) * k ** (-gamma)
    if normalization == "unit":
        s /= np.sqrt(np.sum(k ** (-2.0 * gamma)))
    return s


def diagonal_variances(d: int, gamma: float, normalization: str = "unit") -> np.ndarray:
    """Prior variances v_i ∝ i^{-2γ} of the diagonal teacher, (1/d) Σ v_i = 1 for ``"unit"``."""
    d, gamma = _check(d, gamma, normalization)
    k = np.arange(1, d + 1, dtype=float)
    if normalization == "paper":
        return d * k ** (-2.0 * gamma)
    v = k ** (-2.0 * gamma)
    return v * (d / np.sum(v))


def draw_diagonal_teacher(d: int, gamma: float, rng: np.random.Generator, normalization: str = "unit") -> np.ndarray:
    """θ*_i ~ N(0, v_i) independently; shape ``(d,)``, index i = 1 is the strongest feature."""
    v = diagonal_variances(d, gamma, normalization)
    return np.sqrt(v) * rng.standard_normal(v.shape[0])


def draw_haar_orthogonal(d: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed orthogonal d×d matrix (QR of a Gaussian matrix with the sign fix).

    Without multiplying the columns of Q by sign(diag R) the QR factor is not Haar
    (Mezzadri 2007, "How to generate random matrices from the classical compact groups").
    """
    g = rng.standard_normal((d, d))
    q, r = np.linalg.qr(g)
    return q * np.sign(np.diag(r))


def draw_quadratic_teacher(
    d: int, gamma: float, rng: np.random.Generator, normalization: str = "unit"
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(s, O)``: the spectrum (decreasing, shape (d,)) and the Haar eigenbasis of S*."""
    s = power_law_spectrum(d, gamma, normalization)
    return s, draw_haar_orthogonal(d, rng)


def target_matrix(eigenvalues: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """S* = O diag(s) Oᵀ, symmetrised exactly."""
    s_star = (basis * eigenvalues) @ basis.T
    return 0.5 * (s_star + s_star.T)


def sparse_count(d: int, sparsity: float) -> int:
    """k = round(εd), the number of nonzero values of a ``sparse`` teacher; at least 1."""
    d = check_int(d, "d", "input dimension d", lower=2)
    sparsity = check_real(
        sparsity, "sparsity", "fraction ε of nonzero values", lower=0.0, upper=1.0, lower_inclusive=False
    )
    return max(1, round(sparsity * d))


def unit_scale(values: np.ndarray) -> np.ndarray:
    """``values`` times √(d/Σ v²): unit signal strength, (1/d) Σ v_i² = 1 (Q* = 1 for eigenvalues).

    The ``unit`` normalisation of a deterministic family: for the power law it fixes the prior
    variance, (1/d) Σ E θ*_i² = 1; a fixed vector has no prior, so its own mean square is used.
    """
    values = np.asarray(values, dtype=float)
    square = float(np.mean(values**2))
    if not square > 0.0:
        raise InputError("the teacher is identically zero; the unit normalisation (1/d) Σ v² = 1 needs a nonzero one")
    return values / np.sqrt(square)


def family_values(
    family: str,
    d: int,
    rng: np.random.Generator | None = None,
    *,
    sparsity: float | None = None,
    width_ratio: float | None = None,
    normalization: str = "unit",
) -> np.ndarray:
    """θ* (diagonal) or the eigenvalues of S* (quadratic) of a named non-power-law family, decreasing.

    * ``sparse``: k = round(εd) ones (k >= 1; ε = ``sparsity`` in (0, 1]), zeros elsewhere. The
      signs are all +1: only |θ*_i| enters the LASSO and its state evolution (docs/theory.md §2.1),
      and a PSD target has nonnegative eigenvalues;
    * ``flat``: d ones;
    * ``wishart``: the eigenvalues of S* = WWᵀ/√(rd), W ∈ R^{d×r} of N(0, 1) entries drawn from
      ``rng``, r = max(1, round(κd)) with κ = ``width_ratio`` > 0: the teacher of a quadratic
      network of width r; rank min(r, d), E Q* = (d + r + 1)/d.

    ``normalization="unit"`` rescales to (1/d) Σ v_i² = 1 (:func:`unit_scale`; for ``sparse`` the
    values become ε^{-1/2}); ``"paper"`` keeps the raw scale above.
    """
    check_choice(family, "family", TEACHER_FAMILIES[1:])
    check_choice(normalization, "normalization", NORMALIZATIONS)
    d = check_int(d, "d", "input dimension d", lower=2)
    if family == "sparse":
        if sparsity is None:
            raise InputError("the sparse teacher needs its fraction ε of nonzero values (`sparsity`); got none")
        values = np.zeros(d)
        values[: sparse_count(d, sparsity)] = 1.0
    elif family == "flat":
        values = np.ones(d)
    else:
        if width_ratio is None or rng is None:
            raise InputError("the wishart teacher needs its width ratio κ = r/d (`width_ratio`) and a generator")
        width_ratio = check_real(width_ratio, "width_ratio", "width ratio κ = r/d", lower=0.0, lower_inclusive=False)
        width = max(1, round(width_ratio * d))
        w = rng.standard_normal((d, width))
        # The nonzero eigenvalues of WWᵀ are the squared singular values of W (O(d r min(d, r))).
        singular = np.linalg.svd(w, compute_uv=False)
        values = np.zeros(d)
        values[: singular.size] = singular**2 / math.sqrt(width * d)
    return unit_scale(values) if normalization == "unit" else values


def wishart_law(
    width_ratio: float, n_atoms: int = WISHART_LAW_ATOMS, normalization: str = "unit"
) -> tuple[np.ndarray, np.ndarray]:
    """The d → ∞ spectral law of the ``wishart`` teacher S* = WWᵀ/√(rd) as weighted atoms.

    With κ = r/d the law is an atom (1 − κ)₊ at 0 plus the density
    √κ √((b − s)(s − a))/(2πs) on [a, b] = [(√κ − 1)²/√κ, (√κ + 1)²/√κ] (the Marchenko–Pastur
    law of WᵀW/d or WWᵀ/r, rescaled; second moment 1 + κ). The density is cut into ``n_atoms``
    bins of equal mass, each replaced by an atom at its mean, so mass and mean are exact and
    smooth functionals err at second order in the bin width. ``unit`` divides by √(1 + κ)
    (Q* = 1). Returns increasing positions and weights summing to 1.
    """
    kappa = check_real(width_ratio, "width_ratio", "width ratio κ = r/d", lower=0.0, lower_inclusive=False)
    n_atoms = check_int(n_atoms, "n_atoms", "number of atoms of the discretised law", lower=2)
    check_choice(normalization, "normalization", NORMALIZATIONS)
    root = math.sqrt(kappa)
    a, b = (root - 1.0) ** 2 / root, (root + 1.0) ** 2 / root
    mid, half = 0.5 * (a + b), 0.5 * (b - a)
    # s = mid − half·cos θ maps the square-root edges (and the 1/√s edge at κ = 1) to smooth
    # integrands in θ: ρ ds = √κ half² sin²θ/(2πs) dθ; a fine trapezoid rule is exact to ~1e-10.
    theta = np.linspace(0.0, math.pi, 200 * n_atoms + 1)
    s = mid - half * np.cos(theta)
    sin2 = np.sin(theta) ** 2
    # At κ = 1 the left edge is s = 0, where sin²θ/s → 2/half (the 1/√s edge of the density).
    mass_density = np.divide(sin2, s, out=np.full_like(s, 2.0 / half), where=s > 0)
    step = np.diff(theta)
    mass = np.concatenate(([0.0], np.cumsum(0.5 * step * (mass_density[1:] + mass_density[:-1]))))
    moment = np.concatenate(([0.0], np.cumsum(0.5 * step * (sin2[1:] + sin2[:-1]))))
    scale = min(kappa, 1.0) / mass[-1]  # the continuous part carries mass min(κ, 1)
    mass *= scale
    moment *= scale
    cuts = np.interp(np.linspace(0.0, mass[-1], n_atoms + 1), mass, moment)
    positions = np.diff(cuts) / (mass[-1] / n_atoms)
    weights = np.full(n_atoms, mass[-1] / n_atoms)
    if kappa < 1.0:
        positions, weights = np.concatenate(([0.0], positions)), np.concatenate(([1.0 - kappa], weights))
    if normalization == "unit":
        positions = positions / math.sqrt(1.0 + kappa)
    return positions, weights / weights.sum()
