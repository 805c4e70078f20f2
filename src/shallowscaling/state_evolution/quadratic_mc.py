"""Quadratic-network state evolution, Monte-Carlo route (spec §2.2(a)).

The convex ERM ``L(S) = (1/d²) Σ_μ (y_μ − ⟨S, Z_μ⟩)² + (λ/d) Tr S`` over S ⪰ 0 (spec §1.1) is
described by the effective noise δ and the threshold t = λε: Ŝ is the PSD soft threshold at t of
S* + δZ, Z ~ GOE(d) with semicircle on [−2, 2],

    Ŝ = U diag((x_i − t)₊) Uᵀ,   x_i, U = eigenvalues/vectors of S* + δZ,

and (δ, ε) solve, with α = n/d² (``sample_ratio``) and Q* = (1/d) Σ s_i²,

    (SE-1)  mse_S(δ, t) + Δ/2 = 2αδ²,        mse_S = Q* + q − 2m = E‖Ŝ − S*‖²_F/d,
    (SE-2)  D(δ, t) = 2α − 1/(2ε),           D = E (1/d²)[2 Σ_i f'(x_i) + Σ_{i≠j} (f(x_i) − f(x_j))/(x_i − x_j)],

f(x) = (x − t)₊. These are the (q, m, σ) equations of spec §2.2 with δ = √q̂/m̂, ε = 2/m̂,
σ = Dε/2: q̂ = 2α(mse_S + Δ/2)/(σ + 1/4)², m̂ = σ̂ = 2α/(σ + 1/4). D is the GOE-weighted divergence
of the denoiser, E⟨Z, Ŝ⟩ = δ d D (Stein), checked against finite differences in the tests.
Predictions: ``matrix_mse`` = mse_S and ``excess_risk`` = 2 mse_S (Wick, spec §1.1).

Width p < d (an extension): only the top p eigenvalues of Ŝ are kept, f_i = (x_i − t)₊ 1{i ≤ p}
with x sorted decreasingly; the divergence keeps the same form with these f_i.

Solver (threshold parametrisation). The expectations are averaged over K = ``n_draws`` GOE
matrices drawn once from ``rng``, so the map is deterministic. By rotation invariance S* may be
taken diagonal, Y = diag(s) + δZ_k. For a fixed δ the eigendecompositions do not depend on t, and
in t the divergence is piecewise linear between consecutive eigenvalues (pairs straddling t
contribute (x_i − t)/(x_i − x_j)): its coefficients for every cut follow from row sums of
1/(x_i − x_j) in O(Kd²). Hence, for fixed δ, (SE-2) written as λ = g(t) := 2t(2α − D(δ, t)) is
solved exactly: g is increasing where it is positive, so the root is the unique crossing of a
piecewise quadratic (or, at an eigenvalue where D jumps by 2/(Kd²), the jump itself: the equation
then holds as the inclusion g(t⁻) ≤ λ ≤ g(t⁺) and ε := t/λ). The outer equation (SE-1),
h(δ) = (mse_S(δ, t(δ)) + Δ/2)/(2αδ²) − 1 = 0, is solved by Brent's method after bracketing:
h ≥ 0 at δ = √(Δ/(4α)) since mse_S ≥ 0, and as δ → ∞ at fixed λ, t/δ → κ₀ with D_sc(κ₀) = 2α
(κ₀ = 0 if α > 1/4) and 2αδ²(h + 1) ≈ δ² J_sc(κ₀) with J_sc(κ₀) ≤ D_sc(κ₀) ≤ 2α, one of them
strict (semicircle values of J and D), so h < 0 there. One map evaluation costs K symmetric
eigendecompositions; for d ≥ 300 a cold start begins at the deterministic route's δ, which differs
from the Monte-Carlo root by O(1/(d√K)), so Brent needs ~5 evaluations. ``method="hybr"`` instead solves
the (q, m, σ) equations with ``scipy.optimize.root(method="hybr")``; it is also the fallback when
bracketing fails.

Notes
-----
* The fixed-point residual is ``|mse_S + Δ/2 − 2αδ²| / (2αδ²)``; (SE-2) holds by construction
  (exactly, or as the inclusion above).
* The equations were re-derived here from the standard Gaussian-design SE of regularised least
  squares in the svec coordinates of symmetric matrices (dimension d(d+1)/2, ρ = n/(d(d+1)/2)):
  δ² = (2 mse_S + Δ)/(4α) and t = λd²/(4(n − df)) with df = d²D/2 follow exactly at any d,
  confirming spec §2.2 including λ(t) = 2t(2α − D).
* Spec §8 (d = 40, Δ = 0.5): reproduced within the K = 3 spread at (α, λ) = (0.1, 0.3),
  (0.3, 0.05), (0.6, 1), (1.5, 0.1), but not at (0.1, 0.01), where the spec's SE is 0.752 and
  ours 0.58–0.59, nor at (0.6, 0.01): 0.274 vs 0.29 (unique roots; K = 50 and route (b) agree
  with us). ERM simulations with GOE sensing matrices, the model this SE describes exactly, give
  0.565 ± 0.012 and 0.303 ± 0.007 (20/10 seeds), confirming our values; with the actual sensing
  (xxᵀ − I)/√d they give 0.721 ± 0.018 and 0.308 ± 0.004 (30 seeds). At α < 1/4 and small λ the
  SE thus underestimates the d = 40–100 ERM error by ~25 % (a non-Gaussian-sensing finite-size
  effect: 61 % of the signal sits in one direction, sensed through a χ² variable).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.optimize import brentq, root

from .._validation import check_choice, check_int, check_real
from ..errors import ConvergenceWarning, InputError
from ..progress import Heartbeat
from ..results import warn_not_converged

__all__ = ["MAX_DRAWS_DEFAULT", "MC_RTOL_DEFAULT", "QuadraticSEResult", "solve_quadratic_se_mc"]

METHODS = ("threshold", "hybr")
#: From this d on, a cold start first solves the deterministic route (~0.3 s at d = 400) for its
#: δ: it saves ~4 evaluations of K eigendecompositions, which only pays off once those dominate
#: (measured: a net loss at d ≤ 200, a gain of ~1/3 of the solve time at d = 400).
_WARM_START_MIN_D = 300
#: Default cap on K when the draws adapt to ``mc_rtol``: 200 eigendecompositions per map
#: evaluation, ~10 s per evaluation at d = 400 on one core.
MAX_DRAWS_DEFAULT = 200
#: Default target of the relative Monte-Carlo error of ``predict`` and the study (0.5 %): below
#: the ~1–2 % differences between neighbouring points of a sweep that the figures resolve.
MC_RTOL_DEFAULT = 0.005
#: Fewest draws whose error estimate may stop the adaptation: from K draws it has K − 1 degrees of
#: freedom, and at K = 3 it is below half its true value one time in four (χ²₂), so an early stop
#: would often be false (seen at d = 20: 1.5 % estimated at K = 3, 15 %/√K measured at K = 200).
#: With 15 degrees of freedom that happens about one time in 50.
_MIN_DRAWS_FOR_ERROR = 16
#: Relative step of the forward difference in δ of the standard error. Large enough that the
#: jumps of D (2/(Kd²) each time an eigenvalue crosses t) average out over the ~K d h crossings,
#: small enough that the O(h) bias of the derivative (≈ 1 %) is negligible for an error bar.
_DELTA_STEP = 1e-2


@dataclass(frozen=True)
class QuadraticSEResult:
    """State-evolution prediction for the quadratic network / PSD nuclear-norm ERM.

    Attributes
    ----------
    delta : float
        Effective noise δ.
    epsilon : float
        ε (Ŝ = soft threshold of S* + δZ at t = λε).
    threshold : float
        t = λε.
    q, m, sigma : float
        Order parameters of spec §2.2: q = ‖Ŝ‖²_F/d, m = ⟨S*, Ŝ⟩/d, σ = Dε/2.
    matrix_mse : float
        mse_S = Q* + q − 2m = ‖Ŝ − S*‖²_F/d.
    excess_risk : float
        2 mse_S.
    nonzero_fraction : float
        Fraction of non-zero eigenvalues of Ŝ (rank/d).
    divergence : float
        D = 2α − 1/(2ε).
    sample_ratio : float
        α = n/d².
    fixed_point_residual : float
        |mse_S + Δ/2 − 2αδ²| / (2αδ²) at the returned point.
    iterations : int
        Evaluations of the map at a new δ (each costs K eigendecompositions, route "mc", or one
        free-convolution contour, route "deterministic").
    converged, status, message
        See :mod:`shallowscaling.results`.
    route : str
        ``"mc"`` or ``"deterministic"``.
    n_draws : int
        K, the number of GOE draws the answer averages over (route "mc": the final K after the
        adaptation to ``mc_rtol``; 0 for the deterministic route).
    mc_standard_error : float
        Monte-Carlo standard error of ``matrix_mse`` over the K draws (route "mc"; NaN for the
        deterministic route and for K = 1): the delta-method (sandwich) error of the fixed point
        of the draw-averaged equations, see :func:`solve_quadratic_se_mc`. The error of
        ``excess_risk`` is twice it.
    eigenvalues : ndarray, shape (d,)
        SE-predicted eigenvalues of Ŝ, decreasing (route "mc": those of the first draw; route
        "deterministic": quantiles of μ_δ at levels (k − ½)/d shifted by −t, clipped at 0, only
        with ``with_spectrum=True``, else shape (0,)).
    """

    delta: float
    epsilon: float
    threshold: float
    q: float
    m: float
    sigma: float
    matrix_mse: float
    excess_risk: float
    nonzero_fraction: float
    divergence: float
    sample_ratio: float
    fixed_point_residual: float
    iterations: int
    converged: bool
    status: str
    message: str
    route: str
    n_draws: int
    mc_standard_error: float
    eigenvalues: np.ndarray


@dataclass(frozen=True)
class _Point:
    """The map at one δ: threshold, order parameters and the residual of (SE-1)."""

    delta: float
    threshold: float
    epsilon: float
    q: float
    m: float
    matrix_mse: float
    divergence: float
    nonzero_fraction: float
    residual: float  # h(δ) = (mse_S + Δ/2)/(2αδ²) − 1


def _check_common(s, n, lam, noise) -> tuple[np.ndarray, int, float, float]:
    s = np.asarray(s, dtype=float)
    if s.ndim != 1 or s.size < 2 or not np.all(np.isfinite(s)):
        raise InputError(f"`s` (eigenvalues of S*) must be a finite 1-D array of length >= 2; got shape {s.shape}")
    n = check_int(n, "n", "number of samples n", lower=1)
    lam = check_real(lam, "lam", "weight decay λ", lower=0.0, lower_inclusive=False)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    return s, n, lam, noise


def _initial_delta(initial: object, target_q: float, sample_ratio: float, noise: float) -> tuple[float, bool]:
    """Starting δ and whether it is a warm start (a result or a positive float)."""
    if initial is not None:
        value = getattr(initial, "delta", initial)
        if isinstance(value, (int, float, np.floating)) and math.isfinite(value) and value > 0:
            return float(value), True
    # δ of the rank-collapsed solution Ŝ = 0 (mse_S = Q*); the bracket search moves from there.
    return math.sqrt((target_q + 0.5 * noise) / (2.0 * sample_ratio)), False


def _solve_delta(
    evaluate: Callable[[float], _Point],
    *,
    delta_start: float,
    warm: bool,
    delta_lower: float,
    tol: float,
    max_iter: int,
) -> tuple[_Point | None, int, str, str]:
    """Bracket and solve h(δ) = 0 by Brent's method; returns (point, evaluations, status, message).

    Shared by the Monte-Carlo and deterministic routes. ``delta_lower`` = √(Δ/(4α)) is a point
    where h ≥ 0 (0 when Δ = 0, where h → +∞ as δ → 0 because t > 0 biases Ŝ).
    """
    cache: dict[float, _Point] = {}

    def h(delta: float) -> float:
        if delta not in cache:
            if len(cache) >= max_iter:
                raise _BudgetExceeded
            cache[delta] = evaluate(delta)
        return cache[delta].residual

    # Bracket search: steps of 2 % around a warm start (the root is usually that close), doubling
    # in log scale after each failure; factor 2 from a cold start.
    factor = 1.02 if warm else 2.0
    try:
        a = max(delta_start, delta_lower)
        ha = h(a)
        if abs(ha) <= tol:
            return cache[a], len(cache), "converged", f"root at the starting point, |h(δ)| = {abs(ha):.2e}"
        b = a
        for _ in range(200):
            factor = min(factor, 2.0)
            if ha > 0:
                b = a * factor
            else:
                b = max(a / factor, delta_lower)
                if b == a:
                    break
            hb = h(b)
            if (hb > 0) != (ha > 0) or hb == 0.0:
                break
            a, ha = b, hb
            factor *= factor
        else:
            return None, len(cache), "stalled", f"no sign change of h(δ) found from δ = {delta_start:.3g}"
        hb = h(b)
        if hb == 0.0:
            return cache[b], len(cache), "converged", "exact root"
        if (hb > 0) == (ha > 0):
            return None, len(cache), "stalled", f"h(δ) keeps the sign of h({a:.3g}) = {ha:.3g} down to δ_min"
        lo, hi = (a, b) if a < b else (b, a)
        rtol = max(tol * 1e-2, 4.5e-16)
        root_delta, info = brentq(h, lo, hi, xtol=1e-300, rtol=rtol, maxiter=max_iter, full_output=True)
    except _BudgetExceeded:
        return None, len(cache), "max_iter", f"{max_iter} map evaluations used before convergence"
    point = cache.get(root_delta) or cache.setdefault(root_delta, evaluate(root_delta))
    status = "converged" if info.converged and abs(point.residual) <= tol else "max_iter"
    message = f"Brent on δ: {info.iterations} iterations, |h(δ)| = {abs(point.residual):.2e} (tol {tol:.1e})"
    return point, len(cache), status, message


class _BudgetExceeded(Exception):
    """Raised inside the Brent callback when the evaluation budget is spent."""


class _Draws:
    """K fixed GOE draws and the per-δ spectral data of diag(s) + δZ_k."""

    def __init__(self, s: np.ndarray, n_draws: int, rng: np.random.Generator) -> None:
        self.s = s
        self.z: list[np.ndarray] = []
        self.z_norm2: list[float] = []
        self.z_trace: list[float] = []
        self.extend(n_draws, rng)

    def extend(self, count: int, rng: np.random.Generator) -> None:
        """Append ``count`` draws; drawn in order, so the first K draws never depend on the final K."""
        d = self.s.size
        for _ in range(count):
            g = rng.standard_normal((d, d))
            z = (g + g.T) / math.sqrt(2.0 * d)
            self.z.append(z)
            self.z_norm2.append(float(np.sum(z * z)))
            self.z_trace.append(float(np.trace(z)))

    def spectra(self, delta: float) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
        """Per draw: eigenvalues (decreasing), w_k = u_kᵀ diag(s) u_k, ‖δZ‖²_F and δ Tr Z."""
        out = []
        for z, z_norm2, z_trace in zip(self.z, self.z_norm2, self.z_trace, strict=True):
            y = delta * z
            y[np.diag_indices_from(y)] += self.s
            x, u = scipy.linalg.eigh(y, driver="evd", overwrite_a=True, check_finite=False)
            w = (u * u).T @ self.s
            out.append((x[::-1].copy(), w[::-1].copy(), delta * delta * z_norm2, delta * z_trace))
        return out


def _cut_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """V_c = Σ_{i<c≤j} 1/(x_i − x_j) and U_c = Σ_{i<c≤j} x_i/(x_i − x_j), c = 0..d (x decreasing).

    Moving index r = c − 1 from the lower to the upper block adds Σ_{j>r} A_rj and removes
    Σ_{i<r} A_ir for A_ij = 1/(x_i − x_j); both are row/column sums of A, hence O(d²) for all c.
    """
    d = x.size
    diff = x[:, None] - x[None, :]
    np.fill_diagonal(diff, np.inf)
    a = 1.0 / diff
    upper = np.triu(a, 1)
    row_upper = upper.sum(axis=1)
    col_upper = upper.sum(axis=0)
    col_upper_x = x @ upper
    v = np.zeros(d + 1)
    u = np.zeros(d + 1)
    v[1:] = np.cumsum(row_upper - col_upper)
    u[1:] = np.cumsum(x * row_upper - col_upper_x)
    v[d] = u[d] = 0.0  # no pair straddles the cut once every eigenvalue is above it
    return v, u


def _threshold_for_lam(
    spectra: list[tuple[np.ndarray, np.ndarray]], cuts: list, sample_ratio: float, lam: float, width: int
) -> float:
    """Exact solution t > 0 of λ = 2t(2α − D(t)) with D piecewise linear between eigenvalues."""
    d = spectra[0][0].size
    k_draws = len(spectra)
    allx = np.concatenate([sp[0] for sp in spectra])
    bp = np.concatenate(([0.0], np.sort(allx[allx > 0.0])))
    # Coefficients of D(t) = a − c t on each interval (bp[m], bp[m+1]) (right limits at bp[m]).
    a_coef = np.zeros(bp.size)
    c_coef = np.zeros(bp.size)
    for (x, *_), (v, u) in zip(spectra, cuts, strict=True):
        above = d - np.searchsorted(x[::-1], bp, side="right")
        kk = np.minimum(above, width)
        a_coef += (2.0 * kk + kk * (kk - 1.0) + 2.0 * u[kk]) / d**2
        c_coef += 2.0 * v[kk] / d**2
    a_coef /= k_draws
    c_coef /= k_draws
    slope = 2.0 * sample_ratio - a_coef  # 2α − D = slope + c t on each interval
    right = np.append(bp[1:], np.inf)
    with np.errstate(invalid="ignore"):
        g_right = 2.0 * right * (slope + c_coef * right)
    g_right[-1] = np.inf
    m = int(np.argmax(g_right >= lam))
    g_left = 2.0 * bp[m] * (slope[m] + c_coef[m] * bp[m])
    if m > 0 and g_left >= lam:
        return float(bp[m])  # λ falls in the jump of D at this eigenvalue
    b, c = slope[m], c_coef[m]
    disc = math.sqrt(max(b * b + 2.0 * c * lam, 0.0))
    t = lam / (b + disc) if b + disc > 0 else bp[m]
    return float(min(max(t, bp[m]), right[m]))


def _divergence(spectra, cuts, t: float, width: int) -> float:
    d = spectra[0][0].size
    total = 0.0
    for (x, *_), (v, u) in zip(spectra, cuts, strict=True):
        kk = min(int(np.count_nonzero(x > t)), width)
        total += (2.0 * kk + kk * (kk - 1.0) + 2.0 * (u[kk] - t * v[kk])) / d**2
    return total / len(spectra)


def _order_parameters(spectra, t: float, width: int) -> tuple[float, float, float, float]:
    """(q, m, mse_S, nonzero_fraction) averaged over draws.

    mse_S uses ‖Ŝ − S*‖² = ‖δZ − U r Uᵀ‖² = Σ r_i² − 2 Σ r_i (x_i − w_i) + ‖δZ‖², r = x − f (the
    part removed by the denoiser) and x_i − w_i = δ u_iᵀZu_i: every term is O(δ², t²), unlike
    Q* + q − 2m, which cancels O(Q*) numbers and loses all digits when mse_S ≲ 1e-12 Q*. On the
    kept eigenvalues r_i = t, and Σ_i (x_i − w_i) = δ Tr Z exactly, so only the cut ones carry
    eigenvalue rounding (which matters once δ ≲ 1e-8).
    """
    d = spectra[0][0].size
    q = m = mse = nz = 0.0
    for x, w, noise_norm2, noise_trace in spectra:
        f = np.maximum(x - t, 0.0)
        f[width:] = 0.0
        cut = f == 0.0
        kept = int(d - np.count_nonzero(cut))
        xc, dc = x[cut], x[cut] - w[cut]
        cross = t * (noise_trace - float(dc.sum())) + float(xc @ dc)
        q += float(f @ f) / d
        m += float(f @ w) / d
        mse += (kept * t * t + float(xc @ xc) - 2.0 * cross + noise_norm2) / d
        nz += kept / d
    k = len(spectra)
    return q / k, m / k, mse / k, nz / k


def solve_quadratic_se_mc(
    s: np.ndarray,
    n: int,
    lam: float,
    noise: float,
    *,
    n_draws: int = 3,
    rng: np.random.Generator,
    width: int | None = None,
    tol: float = 1e-10,
    max_iter: int = 100,
    initial: object = None,
    method: str = "threshold",
    mc_rtol: float | None = None,
    max_draws: int | None = None,
) -> QuadraticSEResult:
    """Solve the quadratic state evolution with Monte-Carlo GOE draws (spec §2.2(a)).

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues of the target S* (e.g. :func:`shallowscaling.targets.power_law_spectrum`).
    n : int
        Number of samples; α = n/d².
    lam : float
        Weight decay λ > 0 (loss (1/d²)Σ(y − ⟨S, Z⟩)² + (λ/d) Tr S).
    noise : float
        Label-noise variance Δ ≥ 0.
    n_draws : int, default 3
        K, the number of GOE matrices the solve starts with (drawn from ``rng``); with
        ``mc_rtol=None`` the only K.
    rng : numpy.random.Generator
        Source of the draws (keyword only; use :func:`shallowscaling.seeding.make_rng`). Draws
        are taken in order, so a run that ends at K draws used the first K of the stream.
    width : int, optional
        Student width p (1 ≤ p ≤ d); only the top p eigenvalues of Ŝ are kept. Default d.
    tol : float, default 1e-10
        Stopping rule of each fixed-point solve: |mse_S + Δ/2 − 2αδ²| ≤ tol · 2αδ².
    max_iter : int, default 100
        Maximum number of map evaluations per solve (each: K eigendecompositions of size d).
    initial : QuadraticSEResult or float, optional
        Warm start (its δ), e.g. the previous point of a sweep. Without it (and for p = d ≥ 300)
        the deterministic route provides the starting δ.
    method : {"threshold", "hybr"}
        Threshold parametrisation (default; robust), or ``scipy.optimize.root(method="hybr")``
        on (q, m, σ). The threshold route falls back to "hybr" if it cannot bracket δ.
    mc_rtol : float, optional
        Target relative Monte-Carlo error: K grows until
        ``mc_standard_error ≤ mc_rtol · matrix_mse``. Default None: K stays at ``n_draws``.
    max_draws : int, optional
        Cap on K when ``mc_rtol`` is given (≥ ``n_draws``; default ``max(n_draws, 200)``). If the
        cap is reached with the error still above ``mc_rtol``, the result has
        ``status="max_draws"`` and ``converged=False``.

    Returns
    -------
    QuadraticSEResult
        With ``route="mc"``; non-converged results also emit a ConvergenceWarning.

    Notes
    -----
    Equations (SE-1, SE-2) of the module docstring. Cost O(K d³) per evaluation of the map, about
    12 evaluations per solve from a cold start (one point at d = 400, K = 3 takes well under 2 s).
    The answer fluctuates with the draws, by O(1/d) relative for the bulk and more where a few
    large eigenvalues of S* dominate mse_S (their outliers fluctuate by O(δ/√d)).

    *Standard error.* The answer θ̂ = (δ, t) solves the average over draws of per-draw equations
    Φ_k(θ) = (mse_k + Δ/2 − 2αδ², 2t(2α − D_k) − λ) = 0, a Z-estimator; to first order
    θ̂ − θ_∞ = −J⁻¹ (1/K) Σ_k Φ_k(θ_∞), J = ∂Φ̄/∂θ. The reported ``matrix_mse`` M̂ = (1/K) Σ_k
    mse_k(θ̂) then has the influence values ψ_k = (mse_k − M̄) − ∇M̄ᵀ J⁻¹ (Φ_k − Φ̄) and
    ``mc_standard_error`` = (Σ_k ψ_k² / (K(K − 1)))^{1/2}, the sandwich (delta-method) error
    (van der Vaart, *Asymptotic Statistics*, Thm 5.21). It costs one more evaluation of the map:
    the t-derivatives are exact (D is piecewise linear in t, ∂mse/∂t = (2/d) Σ_kept (w_i − f_i)),
    the δ-derivatives are forward differences with step δ·``_DELTA_STEP``. The spread of the K
    per-draw mse_k at the pooled root alone is wrong by the feedback through (δ, t); solving each
    draw on its own (batch means) costs K solves and is biased at K = 1. The tests check that twice
    the error covers the K = 50 answer at ≥ 90 % of seeds.

    *Adaptive K.* With ``mc_rtol``, after each solve K grows to the number the error predicts
    (the error falls as 1/√K), at least K + 1 and at most 4K and ``max_draws``, and the fixed
    point is re-solved from the previous δ. The error estimate from few draws is itself noisy
    (K − 1 degrees of freedom), hence the factor 1.1 of margin, the growth limit, and the rule that
    the adaptation stops only once K ≥ 16 (or K = ``max_draws`` if smaller).

    Examples
    --------
    >>> from shallowscaling.targets import power_law_spectrum
    >>> res = solve_quadratic_se_mc(power_law_spectrum(40, 1.0), 960, 1.0, 0.5, rng=np.random.default_rng(0))
    >>> res.converged, round(res.matrix_mse, 2)
    (True, 0.14)
    """
    s, n, lam, noise = _check_common(s, n, lam, noise)
    d = s.size
    n_draws = check_int(n_draws, "n_draws", "number of GOE draws K", lower=1)
    width = d if width is None else check_int(width, "width", "student width p", lower=1, upper=d)
    tol = check_real(tol, "tol", "fixed-point tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "maximum map evaluations", lower=2)
    check_choice(method, "method", METHODS)
    if mc_rtol is not None:
        mc_rtol = check_real(mc_rtol, "mc_rtol", "relative Monte-Carlo error", lower=0.0, lower_inclusive=False)
    if max_draws is None:
        max_draws = max(n_draws, MAX_DRAWS_DEFAULT)
    max_draws = check_int(max_draws, "max_draws", "cap on the GOE draws K", lower=1)
    if max_draws < n_draws:
        raise InputError(
            f"`max_draws` (cap on the GOE draws K) must be >= `n_draws` = {n_draws} (the starting K); got "
            f"{max_draws}: raise max_draws or lower n_draws"
        )
    if not isinstance(rng, np.random.Generator):
        raise InputError(f"`rng` (source of the GOE draws) must be a numpy.random.Generator; got {type(rng).__name__}")
    sample_ratio = n / d**2
    beat = Heartbeat(
        "solve_quadratic_se_mc", "fixed_point_residual", d=d, n=n, lam=lam, noise=noise, n_draws=n_draws,
        width=width, method=method, tol=tol, mc_rtol=mc_rtol, max_draws=max_draws,
    )  # fmt: skip
    target_q = float(np.mean(s * s))
    delta_start, warm = _initial_delta(initial, target_q, sample_ratio, noise)
    if not warm and width == d and d >= _WARM_START_MIN_D:
        # Cold start: the deterministic equivalent (route (b)) has the same fixed point up to
        # O(1/(d√K)) and costs a few eigendecompositions' worth of time; it saves the bracket search.
        from .quadratic_deterministic import solve_quadratic_se_deterministic

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            guess = solve_quadratic_se_deterministic(s, n, lam, noise, tol=1e-6)
        if guess.converged:
            delta_start, warm = guess.delta, True
    problem = _Problem(s, target_q, sample_ratio, lam, noise, width, tol, max_iter, method, beat)
    draws = _Draws(s, n_draws, rng)
    evaluations = 0
    while True:
        point, spent, status, message, spectral = _solve_fixed_point(problem, draws, delta_start, warm)
        evaluations += spent
        spectra, _ = spectral(point.delta)
        eig = np.maximum(spectra[0][0] - point.threshold, 0.0)
        eig[width:] = 0.0
        standard_error = _mc_standard_error(problem, draws, spectral, point)
        k = len(draws.z)
        relative = standard_error / point.matrix_mse if point.matrix_mse > 0 else math.inf
        if (
            mc_rtol is None
            or status != "converged"
            or (relative <= mc_rtol and k >= min(_MIN_DRAWS_FOR_ERROR, max_draws))
        ):
            break
        if k >= max_draws:
            status = "max_draws"
            message = (
                f"{message}; Monte-Carlo error {relative:.2e} of matrix_mse > mc_rtol {mc_rtol:.1e} "
                f"at the cap K = max_draws = {max_draws}"
            )
            break
        # The error falls as 1/√K; NaN (K = 1) or a noisy small-K estimate are bounded by [K+1, 4K].
        wanted = k * (relative / mc_rtol) ** 2 * 1.1 if math.isfinite(relative) else 4 * k
        grown = min(max_draws, max(_MIN_DRAWS_FOR_ERROR, min(4 * k, max(k + 1, math.ceil(wanted)))))
        draws.extend(grown - k, rng)
        delta_start, warm = point.delta, True
    return _result(
        point, lam, noise, sample_ratio, evaluations, status, message, "mc", len(draws.z), eig, tol, beat,
        mc_standard_error=standard_error,
    )  # fmt: skip


@dataclass(frozen=True)
class _Problem:
    """The fixed data of one Monte-Carlo solve, shared by its rounds of draws."""

    s: np.ndarray
    target_q: float
    sample_ratio: float
    lam: float
    noise: float
    width: int
    tol: float
    max_iter: int
    method: str
    beat: Heartbeat


def _solve_fixed_point(problem: _Problem, draws: _Draws, delta_start: float, warm: bool):
    """Solve (SE-1, SE-2) on the current draws; returns (point, evaluations, status, message, spectral)."""
    p = problem
    memo: dict[float, tuple] = {}
    calls = [0]  # map evaluations, for the heartbeat lines

    def spectral(delta: float):
        if delta not in memo:
            spectra = draws.spectra(delta)
            memo.clear()  # keep one δ: the final evaluation reuses the last one
            memo[delta] = (spectra, [_cut_sums(sp[0]) for sp in spectra])
        return memo[delta]

    def evaluate(delta: float) -> _Point:
        spectra, cuts = spectral(delta)
        t = _threshold_for_lam(spectra, cuts, p.sample_ratio, p.lam, p.width)
        current = _point(spectra, delta, t, p)
        calls[0] += 1
        p.beat.tick(calls[0], 2.0 * current.matrix_mse, abs(current.residual), delta=delta)
        return current

    delta_lower = math.sqrt(p.noise / (4.0 * p.sample_ratio))
    point, evaluations, status, message = None, 0, "stalled", "not run"
    if p.method == "threshold":
        point, evaluations, status, message = _solve_delta(
            evaluate, delta_start=delta_start, warm=warm, delta_lower=delta_lower, tol=p.tol, max_iter=p.max_iter
        )
    if point is None or p.method == "hybr":
        start = point.delta if point is not None else delta_start
        point, extra, status, hybr_message = _solve_hybr(
            spectral, p.s, p.target_q, p.sample_ratio, p.lam, p.noise, p.width, start, p.tol, p.max_iter, p.beat
        )
        evaluations += extra
        message = f"{message}; hybr on (q, m, σ): {hybr_message}" if p.method == "threshold" else hybr_message
    message = f"K = {len(draws.z)}: {message}"
    return point, evaluations, status, message, spectral


def _point(spectra, delta: float, t: float, p: _Problem) -> _Point:
    q, m, mse, nz = _order_parameters(spectra, t, p.width)
    return _Point(
        delta=delta,
        threshold=t,
        epsilon=t / p.lam,
        q=q,
        m=m,
        matrix_mse=mse,
        divergence=2.0 * p.sample_ratio - p.lam / (2.0 * t) if t > 0 else -math.inf,
        nonzero_fraction=nz,
        residual=(mse + 0.5 * p.noise) / (2.0 * p.sample_ratio * delta**2) - 1.0,
    )


def _mc_standard_error(p: _Problem, draws: _Draws, spectral, point: _Point) -> float:
    """Sandwich standard error of ``matrix_mse`` at the pooled root (see solve_quadratic_se_mc)."""
    spectra, cuts = spectral(point.delta)
    k = len(spectra)
    if k < 2:
        return math.nan
    d, t, delta, alpha = p.s.size, point.threshold, point.delta, p.sample_ratio
    mse_k = np.array([_order_parameters([sp], t, p.width)[2] for sp in spectra])
    div_k = np.array([_divergence([sp], [cut], t, p.width) for sp, cut in zip(spectra, cuts, strict=True)])
    mse_bar, div_bar = float(mse_k.mean()), float(div_k.mean())
    # Exact t-derivatives at fixed eigendecompositions (D = a − c t between eigenvalues).
    mse_t = div_t = 0.0
    for (x, w, *_), (v, _u) in zip(spectra, cuts, strict=True):
        f = np.maximum(x - t, 0.0)
        f[p.width :] = 0.0
        kept = f > 0.0
        mse_t += 2.0 * float(np.sum(w[kept] - f[kept])) / d
        div_t -= 2.0 * v[min(int(np.count_nonzero(x > t)), p.width)] / d**2
    mse_t, div_t = mse_t / k, div_t / k
    # δ-derivatives by a forward difference on the same draws.
    step = delta * _DELTA_STEP
    shifted = draws.spectra(delta + step)
    mse_d = (_order_parameters(shifted, t, p.width)[2] - mse_bar) / step
    div_d = (_divergence(shifted, [_cut_sums(sp[0]) for sp in shifted], t, p.width) - div_bar) / step
    jacobian = np.array(
        [[mse_d - 4.0 * alpha * delta, mse_t], [-2.0 * t * div_d, 2.0 * (2.0 * alpha - div_bar) - 2.0 * t * div_t]]
    )
    deviations = np.stack([mse_k - mse_bar, -2.0 * t * (div_k - div_bar)])
    try:
        response = np.linalg.solve(jacobian, deviations)
    except np.linalg.LinAlgError:
        return math.nan
    influence = (mse_k - mse_bar) - np.array([mse_d, mse_t]) @ response
    return float(math.sqrt(float(influence @ influence) / (k * (k - 1))))


def _result(
    point: _Point, lam, noise, sample_ratio, evaluations, status, message, route, n_draws, eig, tol, beat,
    *, mc_standard_error: float = math.nan,
):  # fmt: skip
    converged = status == "converged"
    beat.end(status, evaluations, 2.0 * point.matrix_mse, abs(point.residual), delta=point.delta)
    if status == "max_draws":
        warn_not_converged(
            "quadratic state evolution (mc)",
            message,
            "Raise max_draws (--max-draws), loosen mc_rtol (--mc-rtol), or use the deterministic route",
        )
    elif not converged:
        warn_not_converged(
            f"quadratic state evolution ({route})",
            f"{message}; residual {abs(point.residual):.2e} > tol {tol:.1e} at δ = {point.delta:.4g}",
            "Increase max_iter, pass a warm start (initial=) from a neighbouring point, or try the other route",
        )
    eps = point.epsilon
    return QuadraticSEResult(
        delta=point.delta,
        epsilon=eps,
        threshold=point.threshold,
        q=point.q,
        m=point.m,
        sigma=point.divergence * eps / 2.0,
        matrix_mse=point.matrix_mse,
        excess_risk=2.0 * point.matrix_mse,
        nonzero_fraction=point.nonzero_fraction,
        divergence=point.divergence,
        sample_ratio=sample_ratio,
        fixed_point_residual=abs(point.residual),
        iterations=evaluations,
        converged=converged,
        status=status,
        message=message,
        route=route,
        n_draws=n_draws,
        mc_standard_error=mc_standard_error,
        eigenvalues=np.sort(np.asarray(eig, dtype=float))[::-1],
    )


def _solve_hybr(spectral, s, target_q, sample_ratio, lam, noise, width, delta_start, tol, max_iter, beat):
    """(q, m, σ) equations of spec §2.2 with scipy's hybr; returns (point, evaluations, status, message)."""
    count = [0]

    def params(x):
        q, m, sigma = x
        denom = sigma + 0.25
        q_hat = 2.0 * sample_ratio * (target_q - 2.0 * m + q + 0.5 * noise) / denom**2
        m_hat = 2.0 * sample_ratio / denom
        return q_hat, m_hat

    def fun(x):
        count[0] += 1
        q_hat, m_hat = params(x)
        if not (q_hat > 0 and m_hat > 0 and np.all(np.isfinite(x))):
            return np.full(3, 1e3)
        delta, t = math.sqrt(q_hat) / m_hat, 2.0 * lam / m_hat
        spectra, cuts = spectral(delta)
        q, m, mse, _ = _order_parameters(spectra, t, width)
        sigma = _divergence(spectra, cuts, t, width) * t / lam / 2.0
        step = np.array([q, m, sigma]) - x
        # Here the certificate is the residual of the (q, m, σ) map, max |Φ(x) − x|.
        beat.tick(count[0], 2.0 * mse, float(np.max(np.abs(step))), delta=delta)
        return step

    # Start from the point at delta_start: its threshold and order parameters.
    spectra, cuts = spectral(delta_start)
    t0 = _threshold_for_lam(spectra, cuts, sample_ratio, lam, width)
    q0, m0, _, _ = _order_parameters(spectra, t0, width)
    x0 = np.array([q0, m0, _divergence(spectra, cuts, t0, width) * t0 / lam / 2.0])
    sol = root(fun, x0, method="hybr", options={"xtol": 1e-13, "maxfev": max_iter * 4})
    q_hat, m_hat = params(sol.x)
    ok_params = q_hat > 0 and m_hat > 0
    delta = math.sqrt(q_hat) / m_hat if ok_params else delta_start
    t = 2.0 * lam / m_hat if ok_params else t0
    spectra, cuts = spectral(delta)
    q, m, mse, nz = _order_parameters(spectra, t, width)
    point = _Point(
        delta=delta,
        threshold=t,
        epsilon=t / lam,
        q=q,
        m=m,
        matrix_mse=mse,
        divergence=_divergence(spectra, cuts, t, width),
        nonzero_fraction=nz,
        residual=(mse + 0.5 * noise) / (2.0 * sample_ratio * delta**2) - 1.0,
    )
    step = float(np.max(np.abs(sol.fun))) if sol.fun is not None else math.inf
    status = "converged" if sol.success and abs(point.residual) <= max(tol, 1e-8) else "stalled"
    message = f"{sol.message.strip()} ({count[0]} evaluations, max |Φ(x) − x| = {step:.2e})"
    return point, count[0], status, message
