"""LASSO by coordinate descent: the convex twin of the diagonal network (docs/theory.md §1.2, §7).

Objective (docs/theory.md §1.2), for a design ``x`` of shape (n, d) and labels ``y`` of shape (n,)::

    P(θ) = ½ Σ_μ (y_μ − θ·x_μ/√d)² + λ‖θ‖₁

which scikit-learn's coordinate descent minimises with ``sklearn_alpha = λ/n``,
``fit_intercept=False`` on the design ``A = x/√d`` (its objective is P/n).

Certificate. With ``r = y − Aθ`` and ``g = Aᵀr`` the dual point is ``ν = s r``,
``s = min(1, λ/‖g‖_∞)``, dual objective ``D(ν) = ν·y − ½‖ν‖²``, and the gap rewrites as a sum of
non-negative terms (using ``r·y = ‖r‖² + θ·g``)::

    P(θ) − D(ν) = ½ (1 − s)² ‖r‖² + Σ_i |θ_i| (λ − s g_i sign θ_i)  ≥  P(θ) − P*,

computed here from θ alone (never scikit-learn's internal number). ``duality_gap`` is this gap
divided by ``P(θ)``, a rigorous bound on the relative suboptimality (P(θ) − P*)/P(θ).

Why a polish. The gap is first order in the error of θ (through ``1 − s``, i.e. the dual
infeasibility ``‖g‖_∞/λ − 1``, which is amplified by 1/λ) while ``P(θ) − P*`` is second order.
At small λ with n < d the naive dual point therefore certifies orders of magnitude less than
the accuracy the objective already has (measurements: docs/science.md, Notes moved from the
source). After
coordinate descent has found the support S and the signs σ, we solve the KKT equations on S
exactly, ``A_Sᵀ A_S θ_S = A_Sᵀ y − λ σ`` (a Newton step on the active set, as in homotopy
methods), and keep whichever of the two points has the smaller certified gap. When the support
and signs are right this removes the first-order error and the gap certifies close to rounding
level; when they
are not, the polished point is worse and is discarded, and coordinate descent continues with a
100× tighter scikit-learn tolerance. ``kkt_residual`` (the subgradient-condition violation
``max_i dist(g_i, λ ∂|θ_i|)/λ``) is reported as a diagnostic; the stopping rule is
``duality_gap <= tol``.

A design too large to hold (a :class:`~shallowscaling.design.StreamedDesign`, n > d) is never
formed: the same loops run on XᵀX, Xᵀy and ‖y‖² (:mod:`shallowscaling.estimators._lasso_gram`,
docs/theory.md §7.2), and the reported certificate is recomputed from the residual in one pass.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import enet_path

from .._validation import check_int, check_real
from ..design import StreamedDesign
from ..errors import InputError
from ..progress import Heartbeat
from ..results import warn_not_converged
from ._lasso_gram import Certificate, GramStatistics, certificate_of, gram_statistics, streamed_certificate

__all__ = ["LassoResult", "fit_lasso", "fit_lasso_path"]

#: Default cap on coordinate-descent epochs (full passes over the d coordinates) per λ. The hard
#: corner d = 400, n = 200, λ = 1/400 needs ~4·10⁴ epochs; the cap leaves a factor of 5.
DEFAULT_MAX_ITER = 200_000

#: Active-set steps allowed per refinement round on top of 2·min(n, d) (one step per support
#: change; from a coordinate-descent start a few tens are typical, ~900 at d = 400, n = 200,
#: λ = 1e-6 where coordinate descent barely moves).
_ACTIVE_SET_STEPS = 100

#: scikit-learn tolerance of the first round (its gap test: gap <= tol·‖y‖²).
_SKLEARN_TOL_START = 1e-4

#: Each refinement round tightens scikit-learn's tolerance 100×; below this there is nothing left
#: to gain in float64 (its gap test is relative to ‖y‖²).
_SKLEARN_TOL_FLOOR = 1e-18
#: Below this coordinate-descent tolerance, rounds without progress count as a stall.
_SKLEARN_TOL_IDLE = 1e-12


@dataclass(frozen=True)
class LassoResult:
    """A LASSO fit ``argmin ½‖y − Aθ‖² + λ‖θ‖₁``, A = x/√d (docs/theory.md §1.2).

    Attributes
    ----------
    theta : ndarray, shape (d,)
        The estimate θ̂.
    lam : float
        The regularisation λ.
    objective : float
        P(θ̂) = ½ Σ_μ (y_μ − θ̂·x_μ/√d)² + λ‖θ̂‖₁.
    train_loss : float
        (1/n) Σ_μ (y_μ − θ̂·x_μ/√d)².
    duality_gap : float
        (P(θ̂) − D(ν))/P(θ̂) for the rescaled-residual dual point (module docstring); 0 when P = 0.
    kkt_residual : float
        max_i dist((Aᵀr)_i, λ ∂|θ̂_i|)/λ.
    n_nonzero : int
        Number of nonzero coordinates of θ̂.
    iterations : int
        Coordinate-descent epochs used (all refinement rounds).
    active_set_steps : int
        Steps of the active-set refinement (all rounds; module docstring).
    converged, status, message
        Whether ``duality_gap <= tol``, the status word and the reason with numbers.
    """

    theta: np.ndarray
    lam: float
    objective: float
    train_loss: float
    duality_gap: float
    kkt_residual: float
    n_nonzero: int
    iterations: int
    active_set_steps: int
    converged: bool
    status: str
    message: str


#: What the solver loops run on: the scaled design A = x/√d (column-major), or the sufficient
#: statistics of a streamed one (:mod:`shallowscaling.estimators._lasso_gram`).
_Data = np.ndarray | GramStatistics


def _certify(design: _Data, y: np.ndarray, theta: np.ndarray, lam: float) -> Certificate:
    """Objective, relative duality gap and KKT residual of θ, recomputed from scratch."""
    if isinstance(design, GramStatistics):
        return design.certificate(theta, lam)
    residual = y - design @ theta
    correlation = design.T @ residual
    return certificate_of(correlation, float(residual @ residual), theta, lam, y.shape[0])


def _penalised(design: _Data, y: np.ndarray, theta: np.ndarray, support: np.ndarray, lam: float) -> float:
    """P(θ) for θ supported on ``support`` (O(n·|support|), O(|support|²) from the statistics)."""
    if isinstance(design, GramStatistics):
        return design.penalised(theta, support, lam)
    residual = y - design[:, support] @ theta[support]
    return 0.5 * float(residual @ residual) + lam * float(np.abs(theta[support]).sum())


def _correlation(design: _Data, y: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Aᵀ(y − Aθ)."""
    if isinstance(design, GramStatistics):
        return design.correlation(theta)
    return design.T @ (y - design @ theta)


def _null_direction(design: np.ndarray, theta: np.ndarray, support: np.ndarray) -> np.ndarray:
    """A nonzero v with A_S v = 0, for |S| > n (one LU solve instead of an SVD).

    The coordinate j with the smallest |θ_j| (an entering one has θ_j = 0) is expressed through
    the n columns of largest |θ|: A_B z = −a_j, v = (z on B, 1 on j). Falls back to the SVD when
    A_B is singular.
    """
    n = design.shape[0]
    order = np.argsort(np.abs(theta[support]), kind="stable")
    basis, loose = order[-n:], order[0]
    direction = np.zeros(support.size)
    try:
        direction[basis] = scipy.linalg.solve(design[:, support[basis]], -design[:, support[loose]])
        direction[loose] = 1.0
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        direction = np.linalg.svd(design[:, support], full_matrices=True)[2][-1]
    return direction


def _null_space_step(design: np.ndarray, theta: np.ndarray, support: np.ndarray, signs: np.ndarray) -> bool:
    """Move θ_S along a null vector of A_S, residual unchanged, until a coordinate hits zero.

    Used when |S| exceeds the rank of A_S (the sign-restricted problem is then unbounded). The
    orientation is the one along which λ‖θ‖₁ does not increase; returns False if none exists.
    """
    direction = _null_direction(design, theta, support)
    if not np.all(np.isfinite(direction)):
        return False
    values = theta[support]
    nonzero = values != 0.0
    for oriented in (direction, -direction):
        # Directional derivative of ‖θ‖₁/λ: signs on the nonzero part, |v| on the zeros.
        slope = float(signs[nonzero] @ oriented[nonzero] + np.abs(oriented[~nonzero]).sum())
        crossing = nonzero & (oriented * values < 0.0)
        if slope <= 0.0 and np.any(crossing):
            ratios = np.full(values.shape, np.inf)
            ratios[crossing] = -values[crossing] / oriented[crossing]
            first = int(np.argmin(ratios))
            theta[support] = values + ratios[first] * oriented
            theta[support[first]] = 0.0
            return True
    return False


def _refine_active_set(
    design: _Data,
    y: np.ndarray,
    lam: float,
    theta: np.ndarray,
    gram: np.ndarray | None,
    target: np.ndarray,
    tol: float,
    max_steps: int,
) -> tuple[np.ndarray, int]:
    """Feature-sign search (Lee, Battle, Raina & Ng 2007) started from θ; returns (θ, steps).

    On the support S with signs σ the exact minimiser of the sign-restricted problem solves
    ``A_Sᵀ A_S θ_S = A_Sᵀ y − λσ``; the step goes to the best of that point and the zero crossings
    on the segment towards it (true objective, so P never increases). At a face minimum the
    most violating inactive coordinate (|g_i| > λ) enters with sign(g_i). When |S| > rank A_S a
    null-space step drops a coordinate at no cost. Stops when the certified relative gap
    <= tol, when no step decreases P, or after ``max_steps`` steps.
    """
    theta = theta.copy()
    n = design.shape[0]
    entering: int | None = None
    entering_sign = 0.0
    # θ = 0 minimises the empty face: start by looking for an entering coordinate.
    at_face_minimum = not np.any(theta)
    steps = 0
    while steps < max_steps:
        if at_face_minimum:
            if _certify(design, y, theta, lam).duality_gap <= tol:
                break
            correlation = _correlation(design, y, theta)
            violation = np.where(theta == 0.0, np.abs(correlation) - lam, -np.inf)
            entering = int(np.argmax(violation))
            if violation[entering] <= 0.0:
                break
            entering_sign = float(np.sign(correlation[entering]))
            at_face_minimum = False
        steps += 1
        support = np.flatnonzero(theta)
        if entering is not None:
            support = np.union1d(support, [entering])
        signs = np.sign(theta[support])
        if entering is not None:
            signs[np.searchsorted(support, entering)] = entering_sign
        entering = None
        if support.size > n:  # never from the statistics, which need n > d >= |support|
            if not _null_space_step(design, theta, support, signs):
                break
            continue
        if gram is not None:
            system = gram[np.ix_(support, support)]
        else:
            columns = design[:, support]
            system = columns.T @ columns
        try:
            face_minimum = scipy.linalg.solve(system, target[support] - lam * signs, assume_a="pos")
        except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
            break
        if not np.all(np.isfinite(face_minimum)):
            break
        values = theta[support]
        change = face_minimum - values
        # Candidate points: the face minimiser (t = 1) and every sign change of a nonzero
        # coordinate on the way; the true objective picks among them.
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = np.where((values != 0.0) & (values * face_minimum < 0.0), -values / change, np.inf)
        candidates = np.append(np.unique(ratios[ratios < 1.0]), 1.0)
        current = _penalised(design, y, theta, support, lam)
        best_value, best_point, best_ratio = current, None, 0.0
        for ratio in candidates:
            point = values + ratio * change
            point[ratios == ratio] = 0.0
            trial = theta.copy()
            trial[support] = point
            value = _penalised(design, y, trial, support, lam)
            if value < best_value:
                best_value, best_point, best_ratio = value, point, ratio
        if best_point is None:
            break
        theta[support] = best_point
        at_face_minimum = best_ratio == 1.0
    return theta, steps


def _coordinate_descent(
    design: _Data,
    y: np.ndarray,
    lam: float,
    theta: np.ndarray,
    gram: np.ndarray | None,
    target: np.ndarray,
    sklearn_tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int]:
    """scikit-learn coordinate descent from ``theta``; returns (θ, epochs)."""
    n = design.shape[0]
    statistics = isinstance(design, GramStatistics)
    with warnings.catch_warnings():
        # Its own warning carries no usable numbers for us; ours is emitted by the caller.
        warnings.simplefilter("ignore", SklearnConvergenceWarning)
        _, coefs, _, n_iters = enet_path(
            design.stand_in() if statistics else design,
            y,
            l1_ratio=1.0,
            alphas=[lam / n],  # sklearn_alpha = λ/n: its objective is P(θ)/n
            precompute=gram if gram is not None else False,
            Xy=target if gram is not None else None,
            copy_X=False,
            coef_init=theta.copy(),  # scikit-learn updates the start in place
            tol=sklearn_tol,
            max_iter=max_iter,
            return_n_iter=True,
            # The statistics are validated by construction; checking them would need X.
            check_input=not statistics,
        )
    return coefs[:, 0].copy(), int(n_iters[0])


def _fit(
    design: _Data,
    y: np.ndarray,
    lam: float,
    theta0: np.ndarray,
    gram: np.ndarray | None,
    target: np.ndarray,
    tol: float,
    max_iter: int,
    solver: str = "fit_lasso",
    recertify: Callable[[np.ndarray, float], Certificate] | None = None,
) -> LassoResult:
    n, d = design.shape
    beat = Heartbeat(solver, "duality_gap", d=d, n=n, lam=lam, tol=tol, max_iter=max_iter)
    theta = theta0
    best_theta, best = theta, _certify(design, y, theta, lam)
    epochs = steps = idle_rounds = 0
    # Coordinate descent only has to find the support and signs; the polish does the rest, so
    # start loose and tighten 100× per round until the certified gap meets `tol`.
    sklearn_tol = max(tol, _SKLEARN_TOL_START)
    status = "converged"
    while best.duality_gap > tol:
        if epochs >= max_iter:
            status = "max_iter"
            break
        if sklearn_tol < _SKLEARN_TOL_FLOOR:
            status = "stalled"
            break
        theta, used = _coordinate_descent(design, y, lam, best_theta, gram, target, sklearn_tol, max_iter - epochs)
        epochs += used
        refined, used = _refine_active_set(
            design, y, lam, theta, gram, target, tol, _ACTIVE_SET_STEPS + 2 * min(design.shape)
        )
        steps += used
        previous = best.duality_gap
        for candidate in (theta, refined):
            certificate = _certify(design, y, candidate, lam)
            if certificate.duality_gap < best.duality_gap:
                best_theta, best = candidate, certificate
        beat.tick(epochs, best.objective, best.duality_gap, active_set_steps=steps, sklearn_tol=sklearn_tol)
        idle_rounds = idle_rounds + 1 if best.duality_gap >= previous else 0
        # A loose coordinate-descent round often cannot improve on the polished point; only
        # count rounds without progress once its tolerance is tight (else a fit 1.3e-8 from a
        # 1e-8 target was given up while a tighter round would certify it).
        if best.duality_gap > tol and idle_rounds >= 2 and sklearn_tol <= _SKLEARN_TOL_IDLE:
            # No progress in two tight rounds: the certificate sits at its rounding floor.
            status = "stalled"
            break
        sklearn_tol *= 1e-2
    if recertify is not None:
        # The statistics' ‖r‖² = ‖y‖² − 2θ·b + θᵀGθ cancels when r is small: report the residual's own.
        best = recertify(best_theta, lam)
        if best.duality_gap > tol and status == "converged":
            status = "stalled"
    converged = best.duality_gap <= tol
    if converged:
        status = "converged"
    message = (
        f"relative duality gap {best.duality_gap:.2e} (tol {tol:.0e}), KKT residual "
        f"{best.kkt_residual:.2e}, {epochs} epochs (cap {max_iter}) and {steps} active-set steps, λ={lam:g}"
    )
    beat.end(status, epochs, best.objective, best.duality_gap, kkt_residual=best.kkt_residual, active_set_steps=steps)
    if not converged:
        warn_not_converged(
            "fit_lasso",
            message,
            "Raise `max_iter`, solve along a path from large λ (fit_lasso_path) or loosen `tol`.",
        )
    return LassoResult(
        theta=best_theta,
        lam=lam,
        objective=best.objective,
        train_loss=best.train_loss,
        duality_gap=best.duality_gap,
        kkt_residual=best.kkt_residual,
        n_nonzero=int(np.count_nonzero(best_theta)),
        iterations=epochs,
        active_set_steps=steps,
        converged=converged,
        status=status,
        message=message,
    )


def _prepare(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"`x` must be (n, d) and `y` (n,) with the same n; got {x.shape} and {y.shape}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("`x` and `y` must be finite")
    n, d = x.shape
    # One pass straight into the column-major layout coordinate descent walks (and scikit-learn
    # would otherwise copy to): no row-major temporary, which saves an n×d copy in time and in
    # peak memory (measurements: docs/performance.md, Notes moved from the source).
    design = np.empty((n, d), order="F")
    np.divide(x, math.sqrt(d), out=design)
    # With n > d one d×d Gram matrix replaces the n×d design in every coordinate update and is
    # shared by all λ of a path (docs/theory.md §7; speed-up: docs/performance.md, Notes moved from the source).
    gram = np.asfortranarray(design.T @ design) if n > d else None
    return design, y, gram, design.T @ y


def _prepare_streamed(x: StreamedDesign, y: np.ndarray) -> tuple[GramStatistics, np.ndarray]:
    """The sufficient statistics of a streamed design (one pass), and the labels."""
    y = np.asarray(y, dtype=float)
    n, d = x.shape
    if y.shape != (n,):
        raise ValueError(f"`x` must be (n, d) and `y` (n,) with the same n; got {x.shape} and {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("`x` and `y` must be finite")
    if n <= d:
        raise InputError(
            f"`x` (design X) can be streamed only with n > d (the fit then needs the d × d Gram matrix alone); "
            f"got n = {n}, d = {d}: hold it in memory (raise design_memory)"
        )
    return gram_statistics(x, y), y


def _solve_data(
    x: np.ndarray | StreamedDesign, y: np.ndarray
) -> tuple[_Data, np.ndarray, np.ndarray | None, np.ndarray, Callable[[np.ndarray, float], Certificate] | None]:
    """(data, y, Gram, Aᵀy, recertify) of an array (as before) or of a streamed design, whose
    final certificate is recomputed from the residual in one more pass."""
    if isinstance(x, StreamedDesign):
        statistics, y = _prepare_streamed(x, y)

        def recertify(theta: np.ndarray, lam: float) -> Certificate:
            return streamed_certificate(x, y, theta, lam)

        return statistics, y, statistics.gram, statistics.target, recertify
    return (*_prepare(x, y), None)


def fit_lasso(
    x: np.ndarray | StreamedDesign,
    y: np.ndarray,
    lam: float,
    *,
    tol: float = 1e-8,
    max_iter: int = DEFAULT_MAX_ITER,
    theta0: np.ndarray | None = None,
) -> LassoResult:
    """Minimise ``½ Σ_μ (y_μ − θ·x_μ/√d)² + λ‖θ‖₁`` by coordinate descent plus an active-set polish.

    Parameters
    ----------
    x : ndarray, shape (n, d), or StreamedDesign
        Inputs x_μ (unscaled; the 1/√d is applied here). A
        :class:`~shallowscaling.design.StreamedDesign` (n > d) is read in two passes: one for
        the sufficient statistics XᵀX, Xᵀy the whole solve runs on, one for the final
        certificate (:mod:`shallowscaling.estimators._lasso_gram`).
    y : ndarray, shape (n,)
        Labels.
    lam : float
        λ > 0 (scikit-learn's ``alpha`` is λ/n).
    tol : float, default 1e-8
        Stop when the relative duality gap (P(θ) − D(ν))/P(θ) <= tol.
    max_iter : int, default 200000
        Cap on coordinate-descent epochs, summed over refinement rounds.
    theta0 : ndarray, shape (d,), optional
        Warm start (default zero).

    Returns
    -------
    LassoResult

    Notes
    -----
    docs/theory.md §1.2 (the diagonal network's convex twin) and §7 (certificates). The module docstring
    defines the dual point, explains why the naive gap is a poor certificate at small λ and how
    the active-set polish fixes it. The hard corner is n < d, λ ≈ 1/d, where a fit from zero needs
    many epochs (timing: docs/performance.md, Notes moved from the source); at d ≳ 2000 prefer
    :func:`fit_lasso_path` and expect to raise ``max_iter``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((50, 20)); y = x[:, 0]
    >>> result = fit_lasso(x, y, lam=0.1)
    >>> result.converged, result.duality_gap <= 1e-8
    (True, True)
    """
    design, y, gram, target, recertify = _solve_data(x, y)
    lam = check_real(lam, "lam", "regularisation λ", lower=0.0, lower_inclusive=False)
    tol = check_real(tol, "tol", "relative duality-gap tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "coordinate-descent epoch cap", lower=1)
    d = design.shape[1]
    if theta0 is None:
        start = np.zeros(d)
    else:
        start = np.array(theta0, dtype=float)
        if start.shape != (d,) or not np.all(np.isfinite(start)):
            raise ValueError(f"`theta0` (warm start) must be a finite array of shape ({d},); got {start.shape}")
    return _fit(design, y, lam, start, gram, target, tol, max_iter, recertify=recertify)


def fit_lasso_path(
    x: np.ndarray | StreamedDesign,
    y: np.ndarray,
    lams: np.ndarray,
    *,
    tol: float = 1e-8,
    max_iter: int = DEFAULT_MAX_ITER,
) -> list[LassoResult]:
    """LASSO fits for several λ, solved from the largest λ down with warm starts.

    Parameters
    ----------
    x : ndarray, shape (n, d), or StreamedDesign
        Inputs (streamed as in :func:`fit_lasso`, one pass for the whole path).
    y : ndarray, shape (n,)
        Labels.
    lams : array_like, shape (m,)
        Regularisations λ > 0, any order.
    tol : float, default 1e-8
        Relative duality-gap tolerance of every fit (see :func:`fit_lasso`).
    max_iter : int, default 200000
        Epoch cap of every fit.

    Returns
    -------
    list of LassoResult
        In the order of ``lams``.

    Notes
    -----
    Each fit starts from the solution at the next larger λ (docs/theory.md §7); with n > d the Gram matrix
    A ᵀA is computed once and reused along the path.
    """
    design, y, gram, target, recertify = _solve_data(x, y)
    lams = np.asarray(lams, dtype=float)
    if lams.ndim != 1 or lams.size == 0:
        raise ValueError(f"`lams` (regularisations λ) must be a non-empty 1-d array; got shape {lams.shape}")
    for index, value in enumerate(lams):
        check_real(value, f"lams[{index}]", "regularisation λ", lower=0.0, lower_inclusive=False)
    tol = check_real(tol, "tol", "relative duality-gap tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "coordinate-descent epoch cap", lower=1)
    results: list[LassoResult | None] = [None] * lams.size
    theta = np.zeros(design.shape[1])
    for index in np.argsort(-lams, kind="stable"):
        result = _fit(design, y, float(lams[index]), theta, gram, target, tol, max_iter, "fit_lasso_path", recertify)
        results[index] = result
        theta = result.theta
    return [result for result in results if result is not None]
