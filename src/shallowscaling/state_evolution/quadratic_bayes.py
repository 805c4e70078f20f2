"""Bayes-optimal error of the quadratic model, GAMP-RIE state evolution (docs/theory.md §2.3).

For a rotation-invariant prior on S* with spectrum μ_{S*} (here the d eigenvalues s_i) the
Bayes-optimal matrix error is given by the scalar fixed point

    δ² = (2 mmse_S(δ) + Δ)/(4α),     mmse_S(δ) = δ² − (4π²/3) δ⁴ ∫ μ_δ(x)³ dx,

with α = n/d², μ_δ = μ_{S*} ⊞ σ_δ (semicircle of radius 2δ; μ_{S*} the empirical law of the s_i,
or any law given as weighted atoms, such as a family's exact law) and mmse_S the error of the
optimal rotation-invariant estimator (RIE) of S* from S* + δZ; (4π²/3)∫μ³ is the free Fisher
information of μ_δ. Predictions: ``matrix_mse`` = mmse_S(δ*) (= ‖Ŝ_BO − S*‖²_F/d) and
``excess_risk`` = 2 mmse_S. The δ-equation is the same as the ERM one (mse_S + Δ/2 = 2αδ²), so
Bayes-optimal and ERM errors are directly comparable.

Solver. F(δ) = 4αδ² − 2 mmse_S(δ) − Δ is positive at δ_0² = (2Q* + Δ)/(4α) (since
mmse_S ≤ Q*), which is where AMP started from an uninformative point sits; we descend
geometrically from δ_0 to the first sign change and refine with Brent's method. This selects
the largest root, the one reached by the algorithm (the relevant one if several exist). With
Δ = 0, δ = 0 (exact recovery) is the answer when F(δ)/δ² stays positive down to
``_DELTA_FLOOR`` · √Q*; the perfect-recovery threshold is α_PR = ½ lim_{δ→0} mmse_S(δ)/δ²,
= κ − κ²/2 for a Wishart target of rank κd, κ ≤ 1 (Maillard et al. 2024; test).

∫μ_δ³ is computed on Biane's real parametrisation of μ_δ with isolated components (outliers)
in closed form (:class:`.free_convolution.FreeConvolution`). At finite d each isolated outlier
of weight 1/d contributes δ²/d² to δ² − mmse_S, an O(1/d) artefact of applying the d → ∞ RIE
formula to a finite spectrum (the formula is derived, not quoted from the paper: docs/theory.md §2.3,
§9); it is kept, not hidden.

Notes
-----
* Compression (``compress=True``) merges target eigenvalues only where μ_δ is a continuous bulk
  at every δ ≥ δ_ref (group width ≤ ``rel_width`` · min(δ_ref, π δ_ref² ρ_s)), because ∫μ³ is not
  a smooth functional of the atoms: merging k isolated outliers into one would multiply their
  contribution by k.
* No disagreement with docs/theory.md §2.3 was found; the formula reproduces the Gaussian (semicircle
  prior) closed form vδ²/(v + δ²) and the Wishart recovery threshold (tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from .._validation import check_int, check_real
from ..errors import InputError
from ..progress import Heartbeat
from ..results import warn_not_converged
from .free_convolution import compress_spectrum, semicircle_free_convolution, spectral_atoms
from .free_convolution.biane import far_field_sums

__all__ = ["QuadraticBayesSEResult", "rie_mmse", "solve_quadratic_bayes_se"]

#: With Δ = 0 the descent stops here (relative to √Q*): below, F(δ)/δ² has reached its δ → 0
#: limit 4α − 2 lim mmse/δ² to many digits for every spectrum we use.
_DELTA_FLOOR = 1e-6


@dataclass(frozen=True)
class QuadraticBayesSEResult:
    """Bayes-optimal (GAMP-RIE) prediction for the quadratic model.

    Attributes
    ----------
    delta : float
        Effective noise δ at the fixed point (0 for exact recovery).
    matrix_mse : float
        mmse_S(δ) = ‖Ŝ_BO − S*‖²_F/d.
    excess_risk : float
        2 mmse_S.
    sample_ratio : float
        α = n/d².
    fixed_point_residual : float
        |δ² − (2 mmse_S + Δ)/(4α)| / δ² (0 for exact recovery).
    iterations : int
        Evaluations of mmse_S (each builds μ_δ).
    converged, status, message
        See :mod:`shallowscaling.results`.
    """

    delta: float
    matrix_mse: float
    excess_risk: float
    sample_ratio: float
    fixed_point_residual: float
    iterations: int
    converged: bool
    status: str
    message: str


def rie_mmse(positions: np.ndarray, weights: np.ndarray, delta: float, far_field=None) -> float:
    """mmse_S(δ) = δ² − (4π²/3) δ⁴ ∫ μ_δ³ for the atoms (positions, weights) (docs/theory.md §2.3)."""
    fc = semicircle_free_convolution(positions, weights, delta, far_field=far_field)
    return delta**2 - (4.0 * math.pi**2 / 3.0) * delta**4 * fc.cubic_integral()


def solve_quadratic_bayes_se(
    s: np.ndarray,
    n: int,
    noise: float,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    compress: bool = True,
    rel_width: float = 0.02,
    weights: np.ndarray | None = None,
    d: int | None = None,
) -> QuadraticBayesSEResult:
    """Bayes-optimal error of learning S* (spectrum ``s``) from n quadratic measurements (docs/theory.md §2.3).

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues of S* (the prior is rotation invariant with this spectrum).
    n : int
        Number of samples; α = n/d².
    noise : float
        Label-noise variance Δ ≥ 0.
    tol : float, default 1e-10
        Stopping rule: |δ² − (2 mmse_S + Δ)/(4α)| ≤ tol · δ².
    max_iter : int, default 100
        Maximum number of evaluations of mmse_S.
    compress : bool, default True
        Merge eigenvalues inside the continuous bulk (module Notes); needs Δ > 0 (the bound
        δ ≥ √(Δ/(4α)) sets the scale), otherwise the exact atoms are used.
    rel_width : float, default 0.02
        Group width of the compression relative to the local smoothing scale.
    weights : ndarray, optional
        A spectral law given as weighted atoms: ``s`` are then its positions and ``weights``
        their masses (normalised to 1), e.g. a family's exact law
        (:func:`shallowscaling.targets.wishart_law`); ``d`` (for α = n/d²) is then required.
        Default: the empirical law of the d values ``s``.
    d : int, optional
        Input dimension, with ``weights`` only.

    Returns
    -------
    QuadraticBayesSEResult

    Examples
    --------
    >>> from shallowscaling.targets import power_law_spectrum
    >>> res = solve_quadratic_bayes_se(power_law_spectrum(40, 1.0), 960, 0.5)
    >>> res.converged, res.matrix_mse < 0.15
    (True, True)
    """
    s = np.asarray(s, dtype=float)
    if s.ndim != 1 or s.size < 2 or not np.all(np.isfinite(s)):
        raise InputError(f"`s` (eigenvalues of S*) must be a finite 1-D array of length >= 2; got shape {s.shape}")
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    tol = check_real(tol, "tol", "fixed-point tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "maximum map evaluations", lower=2)
    rel_width = check_real(rel_width, "rel_width", "relative group width", lower=0.0, upper=1.0, lower_inclusive=False)
    if weights is None:
        if d is not None:
            raise InputError(f"`d` is given by the {s.size} eigenvalues `s`; pass it only with `weights`; got d = {d}")
        d = s.size
        target_q = float(np.mean(s * s))
    else:
        if d is None:
            raise InputError("`weights` (a spectral law as weighted atoms) needs `d` (input dimension, for α = n/d²)")
        d = check_int(d, "d", "input dimension d", lower=2)
        try:
            exact_pos, exact_w = spectral_atoms(s, weights)
        except ValueError as error:
            raise InputError(f"`weights` of the atoms `s`: {error}") from None
        target_q = float(np.sum(exact_w * exact_pos**2))
    sample_ratio = n / d**2
    beat = Heartbeat("solve_quadratic_bayes_se", "fixed_point_residual", d=d, n=n, noise=noise, tol=tol)
    delta_lower = math.sqrt(noise / (4.0 * sample_ratio))
    if compress and noise > 0:
        pos, w = compress_spectrum(s, delta_lower, rel_width=rel_width, weights=weights)
    else:
        pos, w = spectral_atoms(s, weights)
    far = far_field_sums(pos, w)
    cache: dict[float, float] = {}

    def mmse(delta: float) -> float:
        if delta not in cache:
            if len(cache) >= max_iter:
                raise _Budget
            cache[delta] = rie_mmse(pos, w, delta, far)
            # Relative residual |δ² − (2 mmse_S + Δ)/(4α)|/δ² of this δ, as in the result.
            residual = abs(delta**2 - (2.0 * cache[delta] + noise) / (4.0 * sample_ratio)) / delta**2
            beat.tick(len(cache), 2.0 * cache[delta], residual, delta=delta)
        return cache[delta]

    def scaled(delta: float) -> float:
        # F(δ)/δ² = 4α − (2 mmse_S + Δ)/δ²: same sign as F, finite as δ → 0 when Δ = 0.
        return 4.0 * sample_ratio - (2.0 * mmse(delta) + noise) / delta**2

    delta_hi = math.sqrt((2.0 * target_q + noise) / (4.0 * sample_ratio))
    floor = _DELTA_FLOOR * math.sqrt(target_q)
    status = "converged"
    try:
        # Descend from δ_0 (F ≥ 0 there) to the first sign change. With Δ > 0 it is found at
        # the latest at δ = √(Δ/(4α)), where F = −2 mmse_S ≤ 0.
        hi, lo, f_lo = delta_hi, delta_hi, scaled(delta_hi)
        while f_lo > 0:
            lo = max(0.5 * hi, delta_lower, floor)
            if lo >= hi:
                message = (
                    f"exact recovery: F(δ)/δ² ≥ {f_lo:.3g} > 0 down to δ = {hi:.2e} "
                    f"(α = {sample_ratio:.4g} is above the perfect-recovery threshold)"
                )
                beat.end("converged", len(cache), 0.0, 0.0, delta=0.0)
                return QuadraticBayesSEResult(0.0, 0.0, 0.0, sample_ratio, 0.0, len(cache), True, "converged", message)
            f_lo = scaled(lo)
            if f_lo > 0:
                hi = lo
        root = lo
        if f_lo < 0:
            root, info = brentq(
                scaled, lo, hi, xtol=1e-300, rtol=max(tol * 1e-2, 4.5e-16), maxiter=max_iter, full_output=True
            )
            status = "converged" if info.converged else "max_iter"
        value = mmse(root)
    except _Budget:
        root = max(cache)
        value, status = cache[root], "max_iter"
    residual = abs(root**2 - (2.0 * value + noise) / (4.0 * sample_ratio)) / root**2
    if status == "converged" and residual > tol:
        status = "stalled"
    message = f"δ = {root:.6g} after {len(cache)} evaluations of mmse_S, relative residual {residual:.2e}"
    beat.end(status, len(cache), 2.0 * value, residual, delta=root)
    if status != "converged":
        warn_not_converged(
            "quadratic Bayes-optimal state evolution",
            f"{message} (tol {tol:.1e})",
            "Increase max_iter or pass compress=False",
        )
    return QuadraticBayesSEResult(
        delta=root,
        matrix_mse=value,
        excess_risk=2.0 * value,
        sample_ratio=sample_ratio,
        fixed_point_residual=residual,
        iterations=len(cache),
        converged=status == "converged",
        status=status,
        message=message,
    )


class _Budget(Exception):
    """Raised inside the Brent callback when the evaluation budget is spent."""
