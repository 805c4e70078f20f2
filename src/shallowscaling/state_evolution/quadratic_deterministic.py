"""Quadratic-network state evolution, deterministic (free-convolution) route (docs/theory.md §2.2(b), §4).

Same fixed point as :mod:`.quadratic_mc` with the Monte-Carlo average over GOE draws replaced
by its deterministic equivalent: the spectrum of S* + δZ is described by
μ_δ = μ_{S*} ⊞ σ_δ (μ_{S*} = (1/d) Σ δ_{s_i}, σ_δ the semicircle of radius 2δ). With
J(δ, t) = ∫ (x − t)₊² μ_δ(dx),

    q = J,   m = J + t·∫(x − t)₊ dμ_δ − δ² D,   D = ∂_δ J/(2δ) = 2 ∫ (x − t)₊ Re G(x) μ_δ(dx),
    mse_S = Q* − J + t ∂_t J + δ ∂_δ J,

and the fixed point (docs/theory.md §2.2(b)) is

    (SE-1)  Q* + Δ/2 + 2αδ² − δ²/ε = J − λε ∂_t J      ⇔  mse_S + Δ/2 = 2αδ²,
    (SE-2)  4αδ − δ/ε = ∂_δ J(δ, λε)                     ⇔  λ = 2t(2α − D(δ, t)),  t = λε.

The expression for m follows from Euler's relation for the 2-homogeneous J(cS*, cδ, ct); the
identity D = ∂_δJ/(2δ) follows from Stein's lemma (E⟨Z, Ŝ⟩ = δ d D); ∂_δ J comes from the
complex Burgers equation of the semicircle flow (see :mod:`.free_convolution`).

mse_S is evaluated in the equivalent SURE form (Stein's unbiased risk estimate; F(Y) − S* =
δZ − U min(x, t) Uᵀ with Y = S* + δZ):

    mse_S = ∫ min(x, t)² μ_δ(dx) + 2δ² D − δ² E‖Z‖²_F/d,

with ∫ min(x, t)² = ∫_{x<t} (x − t)² + 2t ∫_{x<t} (x − t) + t² from a local contour on the left
of t (:meth:`.free_convolution.ThresholdContour.lower_integrals`). The form above, Q* − J + …,
subtracts O(Q*) numbers and has an absolute floor ~1e-12 Q*; the SURE form keeps relative
accuracy in the noiseless exact-recovery regime, where mse_S reaches 1e-14 (phase III at
d = 10⁴) and below. Both forms of (SE-1, SE-2) were checked against route (a) (tests).

Closed form. When t lies below the whole spectrum nothing is cut (Ŝ = S* + δZ − tI), D = E‖Z‖²/d
=: c and mse_S = t² + c δ², so t = λ/(2(2α − c)) and δ² = (t² + Δ/2)/(2α − c) (phase VIb, noiseless
III). The solver returns this point directly when it is consistent (t ≤ min s_i − 2δ), and the
inner t-solve uses it whenever it applies at the current δ; double precision could not resolve
the contour there anyway once δ √(1/d) ≲ 1e-14 s_i.

Numerics: J, ∂_t J and ∂_δ J at (δ, t) are contour integrals of the Stieltjes transform G
(:class:`.free_convolution.ThresholdContour`), O(n_atoms) per quadrature node and exact to
~1e-11. Outliers (target eigenvalues s_i > δ, isolated at ≈ s_i + δ²/s_i, docs/theory.md §4) need no grid:
the contour passes above them, and the only place it touches the real axis is t, where the
integrands carry a factor (x − t)^k. The solver is the threshold parametrisation of route (a):
for fixed δ, λ = 2t(2α − D) is solved for t by safeguarded Newton (∂_t D is also a contour
integral), then (SE-1) is solved for δ by Brent's method.

Finite-d correction (``finite_size_correction=True``, default). Route (a) averages over
GOE(d) draws at the actual d, whose mean spectral density differs from μ_δ at order 1/d (and whose
divergence carries the diagonal term 2Σf'/d² — Z_ii has variance 2/d). We integrate against
G + g_1/d, the first-order 1/d expansion of E (1/d) Tr (z − diag(s) − δZ)⁻¹ for the GOE
(:class:`.free_convolution.ThresholdContour`); it reproduces Monte-Carlo averages of J and D at
d = 20–40 within their statistical error (tests), where plain μ_δ does not. Near the
interpolation peak this matters, because 2α − D is small there and amplifies the O(1/d)
difference (numbers: docs/science.md, Notes moved from the source).

Compression (``compress=True``): target eigenvalues closer than a small fraction of
δ_ref = √(Δ/(4α)) (a lower bound of δ, since mse_S ≥ 0) are merged into weighted atoms
(:func:`.free_convolution.compress_spectrum`); the error is second order in the group width,
at most ~2e-5 relative on mse_S with the default ``rel_width=0.01`` (measurements: docs/science.md,
Notes moved from the source). Merging keeps each group's weight and mean;
the second moment it removes (Σ p_g var_g) is added back to ∫ min(x, t)² for the groups below
t. When Δ = 0 there is no a-priori bound and the solve is repeated with δ_ref = δ*/2 if the first
pass ends below δ_ref.

Cost: cheap enough that the whole (κ, ℓ) grid of the study, noisy and noiseless, is solved at
d up to 10⁵ (timings: docs/performance.md, Notes moved from the source).

Notes
-----
* docs/theory.md §2.2(b) states the mse as Q* − J + t∂_tJ + δ∂_δJ and the fixed point as above; both
  are confirmed numerically (route (a) vs (b), tests). No disagreement found.
* The ``eigenvalues`` field holds the quantiles of μ_δ at levels (k − ½)/d, shifted by −t and
  clipped at 0 (the predicted spectrum of Ŝ, docs/theory.md §4), computed on Biane's real parametrisation
  (:class:`.free_convolution.FreeConvolution`), only with ``with_spectrum=True`` (it dominates
  the cost at d ≳ 5·10³). The top entries sit at the finite-d BBP outliers s_i + δ² Σ_{j≠i}
  1/(d(s_i − s_j)) − t.
"""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_int, check_real
from ..progress import Heartbeat
from ._quadratic_fixed_point import FixedPoint, QuadraticSEResult, check_common, initial_delta, se_result, solve_delta
from .free_convolution import ThresholdContour, semicircle_free_convolution, spectral_atoms
from .free_convolution.atoms import compress_groups

__all__ = ["solve_quadratic_se_deterministic"]

#: Inner solve: |2t(2α − D) − λ| ≤ this · λ, or the bracket on t shrinks below 1e-15 t.
_INNER_RTOL = 1e-13
_INNER_MAX_ITER = 100


def _solve_threshold(contour: ThresholdContour, sample_ratio: float, lam: float, t_guess: float | None):
    """t > 0 with λ = g(t) = 2t(2α − D(t)), D = 2·cross; returns (t, integrals at t)."""
    top = contour.upper
    t_collapse = lam / (4.0 * sample_ratio)
    if t_collapse >= top:
        # Above the support D = 0 and g(t) = 4αt: Ŝ = 0 (rank collapse, docs/theory.md §3 phase Ib).
        return t_collapse, contour.threshold_integrals(t_collapse)
    noise_moment = contour.noise_second_moment
    if 2.0 * sample_ratio > noise_moment:
        t_free = lam / (2.0 * (2.0 * sample_ratio - noise_moment))
        if t_free <= contour.lower:
            # Below the support no eigenvalue is cut: Ŝ = S* + δZ − tI, D = E‖Z‖²/d exactly and
            # g is linear (the exact-recovery regime of the noiseless diagram).
            return t_free, contour.threshold_integrals(t_free)
    # g < λ on [0, lower] (else the branch above returned), and g(top) = 4α·top > λ.
    lo, hi = max(0.0, contour.lower), top
    t = t_guess if t_guess is not None and lo < t_guess < hi else 0.5 * (lo + hi)
    ti = contour.threshold_integrals(t)
    for _ in range(_INNER_MAX_ITER):
        d_val = 2.0 * ti.cross
        g = 2.0 * t * (2.0 * sample_ratio - d_val) - lam
        if abs(g) <= _INNER_RTOL * lam:
            break
        if g < 0:
            lo = t
        else:
            hi = t
        if hi - lo <= 1e-15 * hi:
            break
        slope = 2.0 * (2.0 * sample_ratio - d_val) + 4.0 * t * ti.tail_re_g
        new = t - g / slope if slope > 0 else 0.5 * (lo + hi)
        t = new if lo < new < hi else 0.5 * (lo + hi)
        ti = contour.threshold_integrals(t)
    return t, ti


def _closed_form_point(s: np.ndarray, sample_ratio: float, lam: float, noise: float, noise_moment: float):
    """The fixed point when the threshold lies below the whole spectrum, or None.

    Then nothing is cut: Ŝ = S* + δZ − tI, D = E‖Z‖²/d =: c, mse_S = t² + c δ², and the
    equations give t = λ/(2(2α − c)) and δ² = (t² + Δ/2)/(2α − c) (phases VIb and noiseless III,
    where R is the Gaussian-channel error d/n_eff-like or (λd/n_eff)²). Valid iff 2α > c and
    t ≤ min s_i − 2δ (the support of μ_δ lies above min s_i − 2δ).
    """
    if 2.0 * sample_ratio <= noise_moment:
        return None
    t = lam / (2.0 * (2.0 * sample_ratio - noise_moment))
    delta2 = (t * t + 0.5 * noise) / (2.0 * sample_ratio - noise_moment)
    delta = math.sqrt(delta2)
    if delta == 0.0 or t > float(s.min()) - 2.0 * delta:
        return None
    mse = t * t + noise_moment * delta2
    # J = E (x − t)² over the whole spectrum = Q* + cδ² − 2t mean(s) + t².
    target_q = float(np.mean(s * s))
    q = target_q + noise_moment * delta2 - 2.0 * t * float(np.mean(s)) + t * t
    return FixedPoint(
        delta=delta,
        threshold=t,
        epsilon=t / lam,
        q=q,
        m=0.5 * (target_q + q - mse),
        matrix_mse=mse,
        divergence=noise_moment,
        nonzero_fraction=1.0,
        residual=(mse + 0.5 * noise) / (2.0 * sample_ratio * delta2) - 1.0,
    )


def _wide_margin(s: np.ndarray, delta: float) -> float:
    """Right-leg margin of the wide contour: half the largest |s_i| (plus δ, its lower bound)."""
    return 0.5 * float(np.max(np.abs(s))) + delta


def solve_quadratic_se_deterministic(
    s: np.ndarray,
    n: int,
    lam: float,
    noise: float,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    compress: bool = True,
    rel_width: float = 0.01,
    initial: object = None,
    finite_size_correction: bool = True,
    with_spectrum: bool = False,
    wide_contour: bool = False,
) -> QuadraticSEResult:
    """Solve the quadratic state evolution with free convolution (docs/theory.md §2.2(b)).

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues of the target S*.
    n : int
        Number of samples; α = n/d².
    lam : float
        Weight decay λ > 0.
    noise : float
        Label-noise variance Δ ≥ 0.
    tol : float, default 1e-10
        Stopping rule: |mse_S + Δ/2 − 2αδ²| ≤ tol · 2αδ².
    max_iter : int, default 100
        Maximum number of δ at which the map is evaluated (per compression pass).
    compress : bool, default True
        Merge target eigenvalues much closer than δ (module docstring); False uses the exact
        d atoms (O(d) per quadrature node).
    rel_width : float, default 0.01
        Group width of the compression as a fraction of the local smoothing scale; the error
        on mse_S scales as rel_width² (~1e-5 relative at the default, tests).
    initial : QuadraticSEResult or float, optional
        Warm start (its δ).
    finite_size_correction : bool, default True
        Integrate against the mean spectrum of diag(s) + δZ, Z ~ GOE(d), to first order in 1/d
        (module docstring) rather than against μ_δ alone. This makes the result the
        deterministic equivalent of route (a) at the same d up to O(1/d²); without it the two
        differ by O(1/d), which is amplified near the interpolation peak (α ≈ 1/4, small λ)
        where 2α − D = 1/(2ε) is small.
    with_spectrum : bool, default False
        Fill ``eigenvalues`` with the predicted spectrum of Ŝ (else it is an empty array). This
        resolves μ_δ on the real axis (Biane's parametrisation), which at large d costs more than
        the solve itself (timings: docs/performance.md, Notes moved from the source).

    wide_contour : bool, default False
        Integrate along the contour that keeps its right leg half the largest |s_i| away from
        the spectrum from the start. By default it is used only when the first solve fails
        (tiny δ next to far atoms: the noiseless exact-recovery branch of a low-rank teacher,
        docs/science.md item 15); asking for it up front saves that failed solve.

    Returns
    -------
    QuadraticSEResult
        With ``route="deterministic"`` and ``n_draws=0``.

    Examples
    --------
    >>> from shallowscaling.targets import power_law_spectrum
    >>> res = solve_quadratic_se_deterministic(power_law_spectrum(40, 1.0), 960, 1.0, 0.5)
    >>> res.converged, round(res.matrix_mse, 2)
    (True, 0.15)
    """
    s, n, lam, noise = check_common(s, n, lam, noise)
    d = s.size
    tol = check_real(tol, "tol", "fixed-point tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "maximum map evaluations", lower=2)
    rel_width = check_real(rel_width, "rel_width", "relative group width", lower=0.0, upper=1.0, lower_inclusive=False)
    sample_ratio = n / d**2
    beat = Heartbeat(
        "solve_quadratic_se_deterministic", "fixed_point_residual", d=d, n=n, lam=lam, noise=noise, tol=tol
    )
    target_q = float(np.mean(s * s))
    delta_lower = math.sqrt(noise / (4.0 * sample_ratio))
    delta_start, warm = initial_delta(initial, target_q, sample_ratio, noise)
    closed = _closed_form_point(s, sample_ratio, lam, noise, 1.0 + 1.0 / d if finite_size_correction else 1.0)
    if closed is not None:
        eig = np.maximum(s - closed.threshold, 0.0) if with_spectrum else np.zeros(0)
        message = "closed form: no eigenvalue is cut (t ≤ min s_i − 2δ), Ŝ = S* + δZ − tI"
        return se_result(closed, lam, noise, sample_ratio, 1, "converged", message, "deterministic", 0, eig, tol, beat)
    goe_size = d if finite_size_correction else None
    calls = [0]  # map evaluations over all compression passes, for the heartbeat lines

    def solve_passes(right_margin: float | None, delta_start: float, warm: bool):
        """The Brent solve on δ, repeated with finer atoms while Δ = 0 pushes δ below their scale."""
        delta_ref = delta_lower if noise > 0 else 0.25 * delta_start
        evaluations = 0
        point = None
        status, message = "stalled", "not run"
        for _ in range(4):
            if compress:
                pos, w, var = compress_groups(s, delta_ref, rel_width)
            else:
                pos, w = spectral_atoms(s)
                var = np.zeros(pos.size)
            # Second moment removed by the merging, cumulated from the bottom (pos is increasing).
            lost = np.concatenate(([0.0], np.cumsum(w * var)))
            last_t: list[float | None] = [None]

            def evaluate(delta: float, pos=pos, w=w, lost=lost, last_t=last_t) -> FixedPoint:
                contour = ThresholdContour(pos, w, delta, t_min=0.0, goe_size=goe_size, right_margin=right_margin)
                t, ti = _solve_threshold(contour, sample_ratio, lam, last_t[0])
                last_t[0] = t
                div = 2.0 * ti.cross
                # SURE form (module docstring): no cancellation between O(Q*) terms.
                if t >= contour.upper:
                    # Whole spectrum below t: ∫ min(x, t)² = E x² = Q* + δ² E‖Z‖²/d exactly.
                    min_sq = target_q + delta**2 * contour.noise_second_moment
                else:
                    _, low_first, low_second = contour.lower_integrals(t)
                    # + the within-group variance of merged atoms below t (compression keeps means).
                    min_sq = low_second + 2.0 * t * low_first + t * t + float(lost[np.searchsorted(pos, t)])
                mse = min_sq + delta**2 * (2.0 * div - contour.noise_second_moment)
                current = FixedPoint(
                    delta=delta,
                    threshold=t,
                    epsilon=t / lam,
                    q=ti.second,
                    m=0.5 * (target_q + ti.second - mse),
                    matrix_mse=mse,
                    divergence=div,
                    nonzero_fraction=ti.mass,
                    residual=(mse + 0.5 * noise) / (2.0 * sample_ratio * delta**2) - 1.0,
                )
                calls[0] += 1
                beat.tick(calls[0], 2.0 * mse, abs(current.residual), delta=delta, atoms=pos.size)
                return current

            point, used, status, message = solve_delta(
                evaluate, delta_start=delta_start, warm=warm, delta_lower=delta_lower, tol=tol, max_iter=max_iter
            )
            evaluations += used
            if point is None or not compress or point.delta >= delta_ref:
                break
            if point.threshold <= float(s.min()) - 2.0 * point.delta:
                # Nothing is cut (t below the spectrum): the fixed point depends on the atoms only
                # through Q* (closed form of _solve_threshold), so finer atoms cannot change it.
                break
            # Δ = 0: the compression scale must stay below the solution's δ; redo from there.
            delta_ref, delta_start, warm = 0.5 * point.delta, point.delta, True
        if point is None:
            # Bracketing failed: report the starting point as not converged.
            point = evaluate(delta_start)
        return point, evaluations, status, message, (pos, w)

    if wide_contour:
        point, evaluations, status, message, (pos, w) = solve_passes(_wide_margin(s, delta_start), delta_start, warm)
    else:
        point, evaluations, status, message, (pos, w) = solve_passes(None, delta_start, warm)
        if status != "converged":
            # Tiny δ next to far atoms (the noiseless exact-recovery branch of a low-rank teacher):
            # the default right leg of the contour, 3δ from the top atom, loses relative accuracy
            # (ThresholdContour, right_margin). Redo from where the first solve ended with the wide
            # leg; taken only on failure, so every point that converged before is unchanged.
            retry = solve_passes(_wide_margin(s, point.delta), point.delta, True)
            evaluations += retry[1]
            if retry[2] == "converged" or abs(retry[0].residual) < abs(point.residual):
                point, _, status, message, (pos, w) = retry
                message = f"{message} (wide contour)"
    message = f"{message}; {pos.size} atoms for d = {d}"
    eig = np.zeros(0)
    if with_spectrum:
        fc = semicircle_free_convolution(pos, w, point.delta, panel_tol=1e-10)
        levels = (np.arange(1, d + 1) - 0.5) / d
        eig = np.maximum(fc.upper_quantiles(levels) - point.threshold, 0.0)
    return se_result(point, lam, noise, sample_ratio, evaluations, status, message, "deterministic", 0, eig, tol, beat)
