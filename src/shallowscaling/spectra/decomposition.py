"""Error decomposition of the SE estimator: overfitting, underfitting, approximation (docs/theory.md §4, Result 3).

State evolution describes the ERM estimator as a soft-thresholded noisy target (docs/theory.md §2):
Ŝ = U diag((x_i − t)₊) Uᵀ with x_i, U the eigenpairs of S* + δZ (quadratic), θ̂_i = η(θ*_i + δz_i; t)
(diagonal). Its error splits along the learned features L (the target directions the estimator
resolves) and the unlearned ones U:

* **overfitting** — the second moment of the learned noise: the bulk of Ŝ, (1/d)‖Ŝ_bulk‖²_F
  (quadratic), or (1/d) Σ_{i∈U} E η(θ*_i + δz; t)² (diagonal);
* **underfitting** — the energy of the unlearned target: (1/d) Σ_{i∈U} s_i² (or θ*_i²);
* **approximation** — the error on the learned features: (1/d)‖Ŝ_out − S*_L‖²_F, Ŝ_out the
  outlier part of Ŝ (or (1/d) Σ_{i∈L} E(η(θ*_i + δz; t) − θ*_i)²);
* **cross** — what the three leave out: −(2/d)[⟨Ŝ_bulk, S*⟩ + ⟨Ŝ_out, S*_U⟩] (quadratic; the
  bulk's partial alignment with the target, ≤ 0 in practice) or −(2/d) Σ_{i∈U} θ*_i E η(…)
  (diagonal). It is kept as a separate part because the constants of the published form of the
  decomposition are uncertain (docs/theory.md §4, §9): with it the four parts add up to the SE matrix error
  exactly, an identity the tests check against the SE solvers' own order parameters.

Learned features. Quadratic: the target eigenvalues whose BBP outlier s_i + δ²/s_i − t lies above
the SE bulk edge and above 0 (:func:`shallowscaling.spectra.bulk.predicted_outliers` with the
free-convolution edge); Ŝ_out is then the top |L| eigen-components of Ŝ. Diagonal [our
convention]: |θ*_i| > δ, the coordinates whose signal exceeds the effective noise.

Units: matrix error ‖Ŝ − S*‖²_F/d (mse_S) for the quadratic model (the excess risk is twice it,
docs/theory.md §1.1), excess risk ‖θ̂ − θ*‖²/d for the diagonal one.

The same draws give the SE error of any soft threshold τ of the noisy target, hence the pruning
cut with the smallest SE error (:func:`tune_quadratic_threshold`, :func:`tune_diagonal_threshold`):
Corollary 2 prunes at the bulk edge (τ = 2δ), optimal as d → ∞, which at finite d over-shrinks
the learned features (docs/theory.md §5; docs/data.md).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy import optimize
from scipy.special import ndtr

from .._kernels import goe_matrix
from .._validation import check_int, check_real, check_real_vector
from ..errors import InputError
from ..results import warn_not_converged
from ..state_evolution.diagonal import expected_soft_threshold_mse
from .bulk import free_convolution_edge, predicted_outliers
from .pruning import clean_spectrum

__all__ = [
    "ErrorDecomposition",
    "TunedThreshold",
    "cleaned_quadratic_error",
    "decompose_diagonal_error",
    "decompose_quadratic_error",
    "draw_goe",
    "tune_diagonal_threshold",
    "tune_quadratic_threshold",
]

#: Grid points of the coarse scan that brackets the best threshold before the bounded Brent step:
#: the SE error is piecewise smooth in τ (it changes slope at every eigenvalue it crosses) and
#: can have shallow local minima, so the scan picks the basin and Brent only polishes it.
TUNING_GRID = 64


@dataclass(frozen=True)
class ErrorDecomposition:
    """The parts of the SE error (see the module docstring); they sum to ``total``.

    Attributes
    ----------
    overfitting, underfitting, approximation, cross : float
        The four parts, in the units of the model (mse_S for quadratic, R for diagonal).
    total : float
        overfitting + underfitting + approximation + cross: the SE error of the estimator.
    n_learned : int
        |L|, the number of learned features.
    """

    overfitting: float
    underfitting: float
    approximation: float
    cross: float
    total: float
    n_learned: int


@dataclass(frozen=True)
class TunedThreshold:
    """The soft threshold that minimises the SE error of the pruned estimator (SE-tuned pruning).

    Attributes
    ----------
    threshold : float
        τ*, applied to the SE's noisy target (eig of S* + δZ, or θ* + δz).
    edge : float
        τ* − t, the same cut expressed on the trained weights (prune their spectrum at it).
    error : float
        The SE error at τ*: mse_S (quadratic) or R (diagonal).
    converged, status, message, iterations
        See :mod:`shallowscaling.results`; Brent's bounded search on the basin of the best grid
        point, stopped when the bracket is below ``xtol``.
    bracket_width : float
        Width of the final bracket around τ*, relative to δ.
    """

    threshold: float
    edge: float
    error: float
    converged: bool
    status: str
    message: str
    iterations: int
    bracket_width: float


def _check_se_draws(s, delta, threshold, goe) -> tuple[np.ndarray, float, float, np.ndarray]:
    """Validated (s, δ, t, GOE draws) of the quadratic SE functions below."""
    s = check_real_vector(s, "s", "target eigenvalues")
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "threshold t = λε", lower=0.0)
    goe = np.asarray(goe, dtype=float)
    d = s.size
    if goe.ndim != 3 or goe.shape[1:] != (d, d) or goe.shape[0] < 1:
        raise InputError(f"`goe` (GOE draws) must have shape (K, {d}, {d}); got {goe.shape}")
    return s, delta, threshold, goe


def _noisy_target_eigh(s: np.ndarray, delta: float, goe: np.ndarray):
    """Eigenpairs (x ascending, U) of diag(s) + δZ_k for each draw Z_k (S* diagonal: SE is rotation invariant)."""
    for z in goe:
        y = delta * z
        y[np.diag_indices_from(y)] += s
        yield scipy.linalg.eigh(y, driver="evd", overwrite_a=True, check_finite=False)


def _tune(error, lower: float, upper: float, delta: float, xtol: float) -> TunedThreshold:
    """Minimise ``error(τ)`` on [lower, upper]: coarse scan, then Brent on the best grid cell."""
    grid = np.linspace(lower, upper, TUNING_GRID)
    values = np.array([error(tau) for tau in grid])
    best = int(np.argmin(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
    found = optimize.minimize_scalar(error, bounds=(left, right), method="bounded", options={"xatol": xtol * delta})
    ok = bool(found.success) and np.isfinite(found.fun)
    tau, value = (float(found.x), float(found.fun)) if ok and found.fun <= values[best] else (grid[best], values[best])
    message = f"τ* = {tau:.6g} (= {tau / delta:.4g} δ) on [{lower:.4g}, {upper:.4g}], error {value:.6g}"
    if not ok:
        message += f"; bounded Brent failed ({found.message}), kept the best of {TUNING_GRID} grid points"
        warn_not_converged("pruning-threshold search", message, "Widen the search interval or refine the grid")
    return TunedThreshold(
        threshold=float(tau),
        edge=float("nan"),
        error=float(value),
        converged=ok,
        status="converged" if ok else "stalled",
        message=message,
        iterations=TUNING_GRID + int(getattr(found, "nfev", 0)),
        bracket_width=float(xtol) if ok else float((right - left) / delta),
    )


def tune_quadratic_threshold(
    s: np.ndarray, delta: float, threshold: float, goe: np.ndarray, *, xtol: float = 1e-6
) -> TunedThreshold:
    """The soft threshold τ* ≥ t of eig(S* + δZ) with the smallest SE matrix error (docs/theory.md §5).

    Pruning the trained Ŝ at τ* − t gives U diag((x − τ*)₊) Uᵀ in the SE picture (Corollary 2's
    identity ((x − t)₊ − (τ − t))₊ = (x − τ)₊). Corollary 2 takes τ = 2δ, the bulk edge, which is
    optimal as d → ∞; at finite d the shrinkage of the learned outliers by τ costs more than the
    noise it removes, and τ* lies well below 2δ (typical values: docs/science.md, Notes moved from
    the source).

    Parameters
    ----------
    s, delta, threshold, goe
        As in :func:`decompose_quadratic_error`.
    xtol : float, default 1e-6
        Bracket width at which the search stops, in units of δ.

    Returns
    -------
    TunedThreshold
        ``error`` in mse_S units, averaged over the draws.
    """
    s, delta, threshold, goe = _check_se_draws(s, delta, threshold, goe)
    d = s.size
    spectra = []
    for x, u in _noisy_target_eigh(s, delta, goe):
        spectra.append((x, (u * u).T @ s))
    target_q = float(s @ s) / d

    def error(tau: float) -> float:
        total = 0.0
        for x, w in spectra:
            f = np.maximum(x - tau, 0.0)
            total += float(f @ f - 2.0 * f @ w)
        return target_q + total / (len(spectra) * d)

    top = max(float(max(x[-1] for x, _ in spectra)), threshold)
    tuned = _tune(error, threshold, top, delta, xtol)
    return dataclasses.replace(tuned, edge=tuned.threshold - threshold)


def tune_diagonal_threshold(
    theta_star: np.ndarray, delta: float, threshold: float, *, xtol: float = 1e-6
) -> TunedThreshold:
    """The soft threshold τ* ≥ t of θ* + δz with the smallest SE risk (1/d) Σ_i E(η(θ*_i + δz; τ) − θ*_i)².

    The diagonal analogue of :func:`tune_quadratic_threshold` (our extension of docs/theory.md §5);
    searched on [t, t + max|θ*| + 6δ], beyond which every coordinate is zero with probability
    > 1 − 1e-9.
    """
    theta = check_real_vector(theta_star, "theta_star", "teacher coefficients θ*")
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)

    def error(tau: float) -> float:
        return float(np.mean(expected_soft_threshold_mse(theta, delta, tau)))

    upper = threshold + float(np.max(np.abs(theta), initial=0.0)) + 6.0 * delta
    tuned = _tune(error, threshold, upper, delta, xtol)
    return dataclasses.replace(tuned, edge=tuned.threshold - threshold)


def draw_goe(d: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """K matrices Z = (G + Gᵀ)/√(2d), G with i.i.d. N(0, 1) entries (semicircle on [−2, 2]).

    The same construction, drawn in the same order from the same generator, as the Monte-Carlo
    state evolution (``state_evolution.quadratic_mc``): passing a fresh copy of its generator
    reproduces its draws exactly.

    Returns
    -------
    ndarray, shape (n_draws, d, d)
    """
    d = check_int(d, "d", "dimension d", lower=1)
    n_draws = check_int(n_draws, "n_draws", "number of GOE draws K", lower=1)
    out = np.empty((n_draws, d, d))
    for k in range(n_draws):
        out[k] = goe_matrix(d, rng)
    return out


def cleaned_quadratic_error(
    s: np.ndarray, delta: float, threshold: float, goe: np.ndarray, *, clean_delta: float | None = None
) -> float:
    """SE matrix error ‖Ξ − S*‖²_F/d of the cleaned estimator (:func:`~shallowscaling.spectra.pruning.clean_spectrum`).

    Per draw Z_k, Ŝ = U diag((x − t)₊) Uᵀ with x, U the eigenpairs of S* + δZ_k, and Ξ = U diag(ξ) Uᵀ
    with ξ = clean_spectrum((x − t)₊, clean_delta, t); the error is ‖ξ‖² + ‖s‖² − 2 Σ_j ξ_j w_j with
    w_j = Σ_i s_i u_{ij}², averaged over the draws.

    Parameters
    ----------
    s, delta, threshold, goe
        As in :func:`decompose_quadratic_error`.
    clean_delta : float, optional
        The δ given to the cleaning (default ``delta``: the SE variant).

    Returns
    -------
    float
        In mse_S units (the excess risk is twice it).
    """
    s, delta, threshold, goe = _check_se_draws(s, delta, threshold, goe)
    d = s.size
    clean_delta = delta if clean_delta is None else clean_delta
    total = 0.0
    for x, u in _noisy_target_eigh(s, delta, goe):
        xi = clean_spectrum(np.maximum(x - threshold, 0.0), clean_delta, threshold)
        total += float(xi @ xi - 2.0 * xi @ ((u * u).T @ s))
    return float(s @ s) / d + total / (goe.shape[0] * d)


def decompose_quadratic_error(
    s: np.ndarray, delta: float, threshold: float, goe: np.ndarray, *, width: int | None = None
) -> ErrorDecomposition:
    """Overfitting, underfitting, approximation and cross terms of the quadratic SE error.

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues of S* (S* is taken diagonal: the SE is rotation invariant).
    delta, threshold : float
        SE effective noise δ > 0 and threshold t = λε ≥ 0.
    goe : ndarray, shape (K, d, d)
        The GOE draws Z_k over which the SE expectations are averaged (:func:`draw_goe`).
    width : int, optional
        Student width p: only the top p eigenvalues of Ŝ are kept (default d).

    Returns
    -------
    ErrorDecomposition
        In mse_S units; ``total`` equals the Monte-Carlo SE mse_S = Q* + q − 2m on the same draws.

    Notes
    -----
    Per draw, Ŝ = Σ_j f_j u_j u_jᵀ with f_j = (x_j − t)₊ (x decreasing), and w_j^A = Σ_{i∈A} s_i
    u_{ij}² the overlap of u_j with the target directions in A. With k = |L|, "out" = j ≤ k:

        overfitting   = Σ_{j>k} f_j² / d
        underfitting  = Σ_{i∉L} s_i² / d
        approximation = [Σ_{j≤k} f_j² + Σ_{i∈L} s_i² − 2 Σ_{j≤k} f_j w_j^L] / d
        cross         = −2 [Σ_{j>k} f_j (w_j^L + w_j^U) + Σ_{j≤k} f_j w_j^U] / d,

    averaged over draws; the sum is (‖Ŝ‖²_F + ‖S*‖²_F − 2⟨Ŝ, S*⟩)/d.
    """
    s, delta, threshold, goe = _check_se_draws(s, delta, threshold, goe)
    d = s.size
    width = d if width is None else check_int(width, "width", "student width p", lower=1, upper=d)
    edge = free_convolution_edge(s, delta)
    # Outliers of Ŝ, decreasing, match the target eigenvalues in decreasing order (BBP).
    k = int(predicted_outliers(s, delta, threshold, edge).size)
    learned = np.zeros(d, dtype=bool)
    learned[np.argsort(-s, kind="stable")[:k]] = True
    parts = np.zeros(4)
    for x, u in _noisy_target_eigh(s, delta, goe):
        x, u = x[::-1], u[:, ::-1]
        f = np.maximum(x - threshold, 0.0)
        f[width:] = 0.0
        squares = u * u
        w_learned = squares[learned].T @ s[learned]
        w_unlearned = squares[~learned].T @ s[~learned]
        out, bulk = slice(0, k), slice(k, d)
        parts[0] += f[bulk] @ f[bulk]
        parts[2] += f[out] @ f[out] - 2.0 * f[out] @ w_learned[out]
        parts[3] -= 2.0 * (f[bulk] @ (w_learned[bulk] + w_unlearned[bulk]) + f[out] @ w_unlearned[out])
    parts /= goe.shape[0] * d
    parts[1] = float(s[~learned] @ s[~learned]) / d
    parts[2] += float(s[learned] @ s[learned]) / d
    return ErrorDecomposition(
        overfitting=float(parts[0]),
        underfitting=float(parts[1]),
        approximation=float(parts[2]),
        cross=float(parts[3]),
        total=float(parts.sum()),
        n_learned=k,
    )


def decompose_diagonal_error(theta_star: np.ndarray, delta: float, threshold: float) -> ErrorDecomposition:
    """Overfitting, underfitting, approximation and cross terms of the diagonal (LASSO) SE risk.

    Parameters
    ----------
    theta_star : ndarray, shape (d,)
        The sampled teacher θ*.
    delta, threshold : float
        SE effective noise δ > 0 and threshold t = λε ≥ 0.

    Returns
    -------
    ErrorDecomposition
        In excess-risk units; ``total`` = (1/d) Σ_i E(η(θ*_i + δz; t) − θ*_i)², the SE risk.

    Notes
    -----
    With X = θ + δz, u = (t − θ)/δ, v = (−t − θ)/δ, E η(X; t) = δφ(u) + (θ − t)Q(u) − δφ(v) +
    (θ + t)Φ(v) and E η² = E(η − θ)² + 2θ E η − θ². For i ∈ U = {|θ*_i| ≤ δ}: overfitting
    E η², underfitting θ*², cross −2θ* E η (their sum is E(η − θ*)²); for i ∈ L, the whole
    E(η − θ*)² is approximation error.

    Examples
    --------
    >>> parts = decompose_diagonal_error(np.array([3.0, 0.1]), 1.0, 0.5)
    >>> parts.n_learned, round(parts.overfitting + parts.underfitting + parts.approximation + parts.cross
    ...     - parts.total, 12)
    (1, 0.0)
    """
    theta = check_real_vector(theta_star, "theta_star", "teacher coefficients θ*")
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    threshold = check_real(threshold, "threshold", "soft threshold t", lower=0.0)
    d = theta.size
    if d == 0:
        raise InputError("`theta_star` (teacher coefficients θ*) must not be empty")
    mse = expected_soft_threshold_mse(theta, delta, threshold)
    u = (threshold - theta) / delta
    v = (-threshold - theta) / delta
    pdf_u = np.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi)
    pdf_v = np.exp(-0.5 * v * v) / math.sqrt(2.0 * math.pi)
    mean = delta * pdf_u + (theta - threshold) * ndtr(-u) - delta * pdf_v + (theta + threshold) * ndtr(v)
    second = mse + 2.0 * theta * mean - theta * theta
    learned = np.abs(theta) > delta
    unlearned = ~learned
    overfitting = float(np.sum(second[unlearned])) / d
    underfitting = float(theta[unlearned] @ theta[unlearned]) / d
    cross = -2.0 * float(theta[unlearned] @ mean[unlearned]) / d
    approximation = float(np.sum(mse[learned])) / d
    return ErrorDecomposition(
        overfitting=overfitting,
        underfitting=underfitting,
        approximation=approximation,
        cross=cross,
        total=overfitting + underfitting + approximation + cross,
        n_learned=int(np.count_nonzero(learned)),
    )
