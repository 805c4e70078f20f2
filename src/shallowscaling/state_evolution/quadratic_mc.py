"""Quadratic-network state evolution, Monte-Carlo route (docs/theory.md §2.2(a)).

The convex ERM ``L(S) = (1/d²) Σ_μ (y_μ − ⟨S, Z_μ⟩)² + (λ/d) Tr S`` over S ⪰ 0 (docs/theory.md §1.1) is
described by the effective noise δ and the threshold t = λε: Ŝ is the PSD soft threshold at t of
S* + δZ, Z ~ GOE(d) with semicircle on [−2, 2],

    Ŝ = U diag((x_i − t)₊) Uᵀ,   x_i, U = eigenvalues/vectors of S* + δZ,

and (δ, ε) solve, with α = n/d² (``sample_ratio``) and Q* = (1/d) Σ s_i²,

    (SE-1)  mse_S(δ, t) + Δ/2 = 2αδ²,        mse_S = Q* + q − 2m = E‖Ŝ − S*‖²_F/d,
    (SE-2)  D(δ, t) = 2α − 1/(2ε),           D = E (1/d²)[2 Σ_i f'(x_i) + Σ_{i≠j} (f(x_i) − f(x_j))/(x_i − x_j)],

f(x) = (x − t)₊. These are the (q, m, σ) equations of docs/theory.md §2.2 with δ = √q̂/m̂, ε = 2/m̂,
σ = Dε/2: q̂ = 2α(mse_S + Δ/2)/(σ + 1/4)², m̂ = σ̂ = 2α/(σ + 1/4). D is the GOE-weighted divergence
of the denoiser, E⟨Z, Ŝ⟩ = δ d D (Stein), checked against finite differences in the tests.
Predictions: ``matrix_mse`` = mse_S and ``excess_risk`` = 2 mse_S (Wick, docs/theory.md §1.1).

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
from the Monte-Carlo root by O(1/(d√K)), so Brent needs only a few evaluations (counts:
docs/performance.md, Notes moved from the source). ``method="hybr"`` instead solves
the (q, m, σ) equations with ``scipy.optimize.root(method="hybr")``; it is also the fallback when
bracketing fails.

Notes
-----
* The fixed-point residual is ``|mse_S + Δ/2 − 2αδ²| / (2αδ²)``; (SE-2) holds by construction
  (exactly, or as the inclusion above).
* The equations were re-derived here from the standard Gaussian-design SE of regularised least
  squares in the svec coordinates of symmetric matrices (dimension d(d+1)/2, ρ = n/(d(d+1)/2)):
  δ² = (2 mse_S + Δ)/(4α) and t = λd²/(4(n − df)) with df = d²D/2 follow exactly at any d,
  confirming docs/theory.md §2.2 including λ(t) = 2t(2α − D).
* docs/theory.md §8 (d = 40, Δ = 0.5): reproduced at most points, but not at two small-λ points
  (α < 1/4 and α = 0.6 at λ = 0.01), where GOE-sensing ERM simulations confirm our values: there the
  SE describes GOE sensing exactly, and the actual sensing (xxᵀ − I)/√d has a non-Gaussian
  finite-size effect the SE does not capture (numbers: docs/science.md, Notes moved from the source).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import root

from .._validation import check_choice, check_int, check_real
from ..errors import ConvergenceWarning, InputError
from ..progress import Heartbeat
from ._quadratic_fixed_point import FixedPoint, QuadraticSEResult, check_common, initial_delta, se_result, solve_delta
from ._quadratic_mc_draws import Draws, cut_sums, mean_divergence, order_parameters, threshold_for_lam

__all__ = ["MAX_DRAWS_DEFAULT", "MC_RTOL_DEFAULT", "QuadraticSEResult", "solve_quadratic_se_mc"]

METHODS = ("threshold", "hybr")
#: From this d on, a cold start first solves the deterministic route for its δ: it saves a few
#: evaluations of K eigendecompositions, which only pays off once those dominate the cost of the
#: deterministic solve (measurements: docs/performance.md, Notes moved from the source).
_WARM_START_MIN_D = 300
#: Default cap on K when the draws adapt to ``mc_rtol``: 200 eigendecompositions per map
#: evaluation, which bounds the cost of one evaluation at large d (timing: docs/performance.md,
#: Notes moved from the source).
MAX_DRAWS_DEFAULT = 200
#: Default target of the relative Monte-Carlo error of ``predict`` and the study (0.5 %): below
#: the ~1–2 % differences between neighbouring points of a sweep that the figures resolve.
MC_RTOL_DEFAULT = 0.005
#: Fewest draws whose error estimate may stop the adaptation: from K draws it has K − 1 degrees of
#: freedom, and at K = 3 it is below half its true value one time in four (χ²₂), so an early stop
#: would often be false (an example: docs/science.md, Notes moved from the source).
#: With 15 degrees of freedom that happens about one time in 50.
_MIN_DRAWS_FOR_ERROR = 16
#: Relative step of the forward difference in δ of the standard error. Large enough that the
#: jumps of D (2/(Kd²) each time an eigenvalue crosses t) average out over the ~K d h crossings,
#: small enough that the O(h) bias of the derivative (≈ 1 %) is negligible for an error bar.
_DELTA_STEP = 1e-2


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
    """Solve the quadratic state evolution with Monte-Carlo GOE draws (docs/theory.md §2.2(a)).

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
    Equations (SE-1, SE-2) of the module docstring. Cost O(K d³) per evaluation of the map, times
    the map evaluations of one solve (counts and timings: docs/performance.md, Notes moved from the
    source).
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
    s, n, lam, noise = check_common(s, n, lam, noise)
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
    delta_start, warm = initial_delta(initial, target_q, sample_ratio, noise)
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
    draws = Draws(s, n_draws, rng)
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
    return se_result(
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


def _solve_fixed_point(problem: _Problem, draws: Draws, delta_start: float, warm: bool):
    """Solve (SE-1, SE-2) on the current draws; returns (point, evaluations, status, message, spectral)."""
    p = problem
    memo: dict[float, tuple] = {}
    calls = [0]  # map evaluations, for the heartbeat lines

    def spectral(delta: float):
        if delta not in memo:
            spectra = draws.spectra(delta)
            memo.clear()  # keep one δ: the final evaluation reuses the last one
            memo[delta] = (spectra, [cut_sums(sp[0]) for sp in spectra])
        return memo[delta]

    def evaluate(delta: float) -> FixedPoint:
        spectra, cuts = spectral(delta)
        t = threshold_for_lam(spectra, cuts, p.sample_ratio, p.lam, p.width)
        current = _point(spectra, delta, t, p)
        calls[0] += 1
        p.beat.tick(calls[0], 2.0 * current.matrix_mse, abs(current.residual), delta=delta)
        return current

    delta_lower = math.sqrt(p.noise / (4.0 * p.sample_ratio))
    point, evaluations, status, message = None, 0, "stalled", "not run"
    if p.method == "threshold":
        point, evaluations, status, message = solve_delta(
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


def _point(spectra, delta: float, t: float, p: _Problem) -> FixedPoint:
    q, m, mse, nz = order_parameters(spectra, t, p.width)
    return FixedPoint(
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


def _mc_standard_error(p: _Problem, draws: Draws, spectral, point: FixedPoint) -> float:
    """Sandwich standard error of ``matrix_mse`` at the pooled root (see solve_quadratic_se_mc)."""
    spectra, cuts = spectral(point.delta)
    k = len(spectra)
    if k < 2:
        return math.nan
    d, t, delta, alpha = p.s.size, point.threshold, point.delta, p.sample_ratio
    mse_k = np.array([order_parameters([sp], t, p.width)[2] for sp in spectra])
    div_k = np.array([mean_divergence([sp], [cut], t, p.width) for sp, cut in zip(spectra, cuts, strict=True)])
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
    mse_d = (order_parameters(shifted, t, p.width)[2] - mse_bar) / step
    div_d = (mean_divergence(shifted, [cut_sums(sp[0]) for sp in shifted], t, p.width) - div_bar) / step
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


def _solve_hybr(spectral, s, target_q, sample_ratio, lam, noise, width, delta_start, tol, max_iter, beat):
    """(q, m, σ) equations of docs/theory.md §2.2 with scipy's hybr; returns (point, evaluations, status, message)."""
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
        q, m, mse, _ = order_parameters(spectra, t, width)
        sigma = mean_divergence(spectra, cuts, t, width) * t / lam / 2.0
        step = np.array([q, m, sigma]) - x
        # Here the certificate is the residual of the (q, m, σ) map, max |Φ(x) − x|.
        beat.tick(count[0], 2.0 * mse, float(np.max(np.abs(step))), delta=delta)
        return step

    # Start from the point at delta_start: its threshold and order parameters.
    spectra, cuts = spectral(delta_start)
    t0 = threshold_for_lam(spectra, cuts, sample_ratio, lam, width)
    q0, m0, _, _ = order_parameters(spectra, t0, width)
    x0 = np.array([q0, m0, mean_divergence(spectra, cuts, t0, width) * t0 / lam / 2.0])
    sol = root(fun, x0, method="hybr", options={"xtol": 1e-13, "maxfev": max_iter * 4})
    q_hat, m_hat = params(sol.x)
    ok_params = q_hat > 0 and m_hat > 0
    delta = math.sqrt(q_hat) / m_hat if ok_params else delta_start
    t = 2.0 * lam / m_hat if ok_params else t0
    spectra, cuts = spectral(delta)
    q, m, mse, nz = order_parameters(spectra, t, width)
    point = FixedPoint(
        delta=delta,
        threshold=t,
        epsilon=t / lam,
        q=q,
        m=m,
        matrix_mse=mse,
        divergence=mean_divergence(spectra, cuts, t, width),
        nonzero_fraction=nz,
        residual=(mse + 0.5 * noise) / (2.0 * sample_ratio * delta**2) - 1.0,
    )
    step = float(np.max(np.abs(sol.fun))) if sol.fun is not None else math.inf
    status = "converged" if sol.success and abs(point.residual) <= max(tol, 1e-8) else "stalled"
    message = f"{sol.message.strip()} ({count[0]} evaluations, max |Φ(x) − x| = {step:.2e})"
    return point, count[0], status, message
