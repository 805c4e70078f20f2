"""Power-law tail of a spectrum: continuous MLE with a KS-chosen x_min (docs/theory.md §4).

Where the learned eigenvalues follow s_i ∝ i^{-γ}, the empirical spectral density has a tail
p(x) ∝ x^{-(1+1/γ)}; its exponent is the heavy-tailed self-regularisation (HT-SR) exponent
α_PL = 1 + 1/γ that WeightWatcher reports. This module estimates it the way WeightWatcher does
(Clauset, Shalizi & Newman 2009): for every candidate x_min, the continuous maximum-likelihood
exponent of the values ≥ x_min, and x_min chosen to minimise the Kolmogorov–Smirnov distance
between the empirical and the fitted tail distribution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.special

from .._validation import check_choice, check_int, check_real, check_real_vector

__all__ = [
    "DEFAULT_RELATIVE_CUT", "KS_STATISTICS", "PowerLawTailFit", "TailLikelihoodRatios", "compare_tail_alternatives",
    "fit_power_law_tail",
]  # fmt: skip

#: Values ≤ DEFAULT_RELATIVE_CUT · max are treated as zeros. Eigenvalues that an iterative solver
#: leaves at "zero" sit around 1e-12–1e-8 of the largest one, and the exact power law
#: i^{-γ} at d = 400, γ = 2 reaches 6e-6 of its maximum: 1e-6 separates the two. The cut is
#: relative so that the fit does not depend on the scale of the weights (docs/theory.md §4). Samples that
#: genuinely span more than six decades (γ = 2 beyond d = 1000; Pareto samples with α < 2) need a
#: smaller cut, or 0 to keep every positive value.
DEFAULT_RELATIVE_CUT = 1e-6

#: ``"weightwatcher"``: the empirical CDF is taken just *before* each tail point, (j − 1)/n_tail
#: at the j-th smallest tail value, and compared with the fitted CDF at the tail points only.
#: This is what WeightWatcher's own fit (``WW_powerlaw.WWFit``) and the ``powerlaw`` package
#: (≥ 1.5, including 2.0.0) compute, so the chosen x_min and exponent agree with theirs.
#: ``"sup"``: the Kolmogorov–Smirnov distance proper, the supremum over x of the difference
#: between the empirical step CDF and the fitted CDF (both sides of every jump). The two differ
#: by at most 1/n_tail for a given x_min, but they can choose different x_min on noisy data.
KS_STATISTICS = ("weightwatcher", "sup")

# Smallest block of points used to bound KS distances in _ks_argmin: with fewer points per block
# another level of bounds costs about as much as evaluating the survivors exactly.
_MIN_BLOCK = 8
# Memory cap (float64 entries) of one chunk of the candidate × point arrays: 4 Mi entries = 32 MB.
_CHUNK_ENTRIES = 1 << 22


@dataclass(frozen=True)
class PowerLawTailFit:
    """Result of :func:`fit_power_law_tail`.

    Attributes
    ----------
    tail_exponent : float
        α̂ in p(x) ∝ x^{-α̂} for x ≥ x_min (NaN when fewer than ``min_tail`` usable values).
    tail_exponent_se : float
        Asymptotic standard error (α̂ − 1)/√n_tail of the MLE (CSN 2009, Eq. 3.2).
    xmin : float
        The chosen (or given) lower end x_min of the power-law tail.
    ks_distance : float
        Kolmogorov–Smirnov distance between the empirical and fitted tail CDFs at x_min, in the
        convention ``ks_statistic``.
    n_tail : int
        Number of values ≥ x_min used by the MLE (0 when no fit was possible).
    n_used : int
        Number of values above the relative small-value cut (the data the fit could use).
    """

    tail_exponent: float
    tail_exponent_se: float
    xmin: float
    ks_distance: float
    n_tail: int
    n_used: int


def _positive_part(values: np.ndarray, relative_cut: float) -> np.ndarray:
    """Sorted (ascending) values above ``relative_cut · max(values)``; empty if max ≤ 0."""
    top = float(np.max(values)) if values.size else 0.0
    if top <= 0.0:
        return np.empty(0)
    return np.sort(values[values > relative_cut * top])


def _cdfs(log_x, left, right, cand, beta, n_tail, cols, sup):
    """Fitted CDF P and empirical CDFs A ≥ B (just after / before the point) at ``cols``.

    ``cols`` holds indices into the unique values, shared (1-D) or one row per candidate (2-D).
    P = 1 − (x/x_min)^{-β}; A = B in the ``"weightwatcher"`` convention. Left of a candidate's
    x_min all three are set to 0, so that the deviations there are 0 and never win a maximum
    (KS distances are ≥ 0); it also keeps exp from overflowing.
    """
    cols = np.atleast_2d(cols)
    fitted = np.maximum(log_x[cols] - log_x[cand][:, None], 0.0)
    fitted *= -beta[:, None]
    np.expm1(fitted, out=fitted)
    np.negative(fitted, out=fitted)
    base = left[cand][:, None]
    scale = 1.0 / n_tail[:, None]
    # For unique values, left[col] < left[x_min] exactly when col is left of x_min.
    before = np.maximum((left[cols] - base) * scale, 0.0)
    after = np.maximum((right[cols] - base) * scale, 0.0) if sup else before
    return fitted, after, before


def _max_deviation(log_x, left, right, cand, beta, n_tail, cols, sup) -> np.ndarray:
    """Per candidate, max over ``cols`` of max(A − P, P − B) (in place: this is the hot loop)."""
    fitted, after, before = _cdfs(log_x, left, right, cand, beta, n_tail, cols, sup)
    if not sup:
        before -= fitted
        np.abs(before, out=before)
        return before.max(axis=1)
    after -= fitted
    np.subtract(fitted, before, out=fitted)
    np.maximum(after, fitted, out=after)
    return after.max(axis=1)


def _ks_exact(log_x, left, right, cand, beta, n_tail, sup) -> np.ndarray:
    """Exact KS distances of the candidates ``cand`` (rows processed in memory-bounded chunks)."""
    n_unique = log_x.size
    out = np.empty(cand.size)
    rows = max(1, _CHUNK_ENTRIES // n_unique)
    for start in range(0, cand.size, rows):
        sl = slice(start, start + rows)
        cols = np.arange(int(cand[sl].min()), n_unique)
        out[sl] = _max_deviation(log_x, left, right, cand[sl], beta[sl], n_tail[sl], cols, sup)
    return out


def _ks_bounds(log_x, left, right, cand, beta, n_tail, block, sup) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds on each candidate's KS distance from blocks of ``block`` points.

    Both CDFs are non-decreasing in x, so over a block of consecutive points [p, q] the
    deviations A − P and P − B are at most A(q) − P(p) and P(q) − B(p); their values at p and q
    are lower bounds. The points between x_min and the first block boundary are evaluated
    exactly. Cost per candidate: O(k/block + block).
    """
    n_unique = log_x.size
    grid = np.arange(0, n_unique, block)
    if grid[-1] != n_unique - 1:
        grid = np.append(grid, n_unique - 1)
    lower_bound = np.empty(cand.size)
    upper_bound = np.empty(cand.size)
    offsets = np.arange(block)
    rows = max(1, _CHUNK_ENTRIES // (grid.size + block))
    for start in range(0, cand.size, rows):
        sl = slice(start, start + rows)
        c, b, m = cand[sl], beta[sl], n_tail[sl]
        # Exact deviations from x_min up to the first grid point at or after it.
        head = np.minimum(c[:, None] + offsets[None, :], n_unique - 1)
        head_dev = _max_deviation(log_x, left, right, c, b, m, head, sup)
        fitted, after, before = _cdfs(log_x, left, right, c, b, m, grid, sup)
        at_grid = np.maximum(after - fitted, fitted - before).max(axis=1)
        block_bound = np.maximum(after[:, 1:] - fitted[:, :-1], fitted[:, 1:] - before[:, :-1])
        # A block that starts left of x_min is not a bound on the tail: drop it.
        block_bound = np.where(grid[None, :-1] >= c[:, None], block_bound, 0.0).max(axis=1, initial=0.0)
        lower_bound[sl] = np.maximum(head_dev, at_grid)
        upper_bound[sl] = np.maximum(head_dev, block_bound)
    return lower_bound, upper_bound


def _ks_argmin(log_x, left, right, cand, beta, n_tail, sup) -> tuple[int, float]:
    """Index (into ``cand``) and value of the smallest KS distance over the candidate x_min.

    Naively this costs O(k²) for k unique values: each candidate compares the fitted and the
    empirical CDF at all its tail points. Instead, bound every candidate's distance with blocks
    of b ≈ √k points (:func:`_ks_bounds`, O(k/b + b) each), drop the candidates whose lower
    bound exceeds the smallest upper bound seen, divide b by 4 and repeat on the survivors;
    the last survivors are evaluated exactly, and so is everything as soon as a level removes
    less than half of the candidates (the bounds then cost more than they save). The result is
    the exact argmin, ties going to the smallest index (the longest tail).

    Complexity: O(k^{3/2}) when the distance varies sharply with x_min, as on spectra with a
    bulk; O(k²), about the naive cost, when it is flat over most candidates, as for a pure Pareto
    sample (timings: docs/performance.md, Notes moved from the source).
    """
    active = np.arange(cand.size)
    best_upper = math.inf
    block = max(_MIN_BLOCK, math.isqrt(log_x.size))
    while block >= _MIN_BLOCK and active.size > 1:
        lower_bound, upper_bound = _ks_bounds(
            log_x, left, right, cand[active], beta[active], n_tail[active], block, sup
        )
        best_upper = min(best_upper, float(upper_bound.min()))
        kept = active[lower_bound <= best_upper]
        stalled = 2 * kept.size > active.size
        active = kept
        if stalled:
            break
        block //= 4
    distance = _ks_exact(log_x, left, right, cand[active], beta[active], n_tail[active], sup)
    best = int(np.argmin(distance))
    return int(active[best]), float(distance[best])


def _nan_fit(n_used: int) -> PowerLawTailFit:
    return PowerLawTailFit(math.nan, math.nan, math.nan, math.nan, 0, n_used)


def fit_power_law_tail(
    values: np.ndarray,
    *,
    xmin: float | None = None,
    relative_cut: float = DEFAULT_RELATIVE_CUT,
    min_tail: int = 2,
    ks_statistic: str = "weightwatcher",
) -> PowerLawTailFit:
    """Fit a power-law tail p(x) ∝ x^{-α} (x ≥ x_min) to positive values (docs/theory.md §4).

    Parameters
    ----------
    values : ndarray, shape (k,)
        The sample, e.g. the eigenvalues of Ŝ or of WᵀW. Values ≤ ``relative_cut · max`` (zeros,
        solver round-off, negative round-off) are dropped first.
    xmin : float, optional
        Fix x_min instead of choosing it (> 0). Default: chosen by minimum KS distance.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        Relative small-value cut, in [0, 1). Relative, not absolute, so that rescaling the
        weights does not change the fit.
    min_tail : int, default 2
        Fewest values a candidate tail may have (≥ 2). The default scans every candidate except
        the largest value, as WeightWatcher and ``powerlaw`` do.
    ks_statistic : {"weightwatcher", "sup"}, default "weightwatcher"
        Convention for the KS distance; see :data:`KS_STATISTICS`.

    Returns
    -------
    PowerLawTailFit
        All-NaN (with ``n_tail = 0``) when fewer than ``min_tail`` values, or fewer than two
        distinct values, survive the cut: no tail can be fitted.

    Notes
    -----
    For a tail x_1 ≤ … ≤ x_n (n = n_tail) above x_min = x_1 the continuous MLE is
    (Clauset, Shalizi & Newman 2009, Eq. 3.1)

        α̂ = 1 + n / Σ_j log(x_j / x_min),   standard error (α̂ − 1)/√n,

    and x_min minimises D = max_j |F̂(x_j) − (1 − (x_j/x_min)^{1−α̂})| over the distinct values
    (except the largest), with F̂ the empirical tail CDF. Sorting once and cumulative sums of
    log x give every α̂ in O(k log k); the KS distances use the block bounds described in
    :func:`_ks_argmin`: O(k^{3/2}) on spectra with a bulk, O(k²) in the worst case. Ties in x_min are
    broken towards the longer tail. An exact power law x_i = i^{-γ} (i = 1..d) has α = 1 + 1/γ;
    at d = 400 the fit returns 1 + 1/γ within 1 %.

    The MLE assumes an unbounded tail; a spectrum is bounded by its largest eigenvalue, which
    biases α̂ upwards when the tail covers less than a decade. The fit says nothing about
    whether a power law is a good model: compare ``ks_distance`` with its sampling scale
    ≈ 1/√n_tail before reading ``tail_exponent``.

    References
    ----------
    A. Clauset, C. R. Shalizi, M. E. J. Newman, "Power-law distributions in empirical data",
    SIAM Review 51, 661 (2009), Eqs. (3.1), (3.2), (3.9). C. H. Martin, M. W. Mahoney,
    "Implicit self-regularization in deep neural networks", JMLR 22 (2021).

    Examples
    --------
    >>> import numpy as np
    >>> fit = fit_power_law_tail(np.arange(1, 401, dtype=float) ** -1.0)
    >>> round(fit.tail_exponent, 2), fit.n_tail
    (2.01, 400)
    """
    x = check_real_vector(values, "values", "sample whose tail is fitted")
    relative_cut = check_real(
        relative_cut, "relative_cut", "relative small-value cut", lower=0.0, upper=1.0, upper_inclusive=False
    )
    min_tail = check_int(min_tail, "min_tail", "fewest tail values", lower=2)
    sup = check_choice(ks_statistic, "ks_statistic", KS_STATISTICS) == "sup"
    if xmin is not None:
        xmin = check_real(xmin, "xmin", "lower end x_min of the tail", lower=0.0, lower_inclusive=False)

    x = _positive_part(x, relative_cut)
    n_used = int(x.size)
    unique, left = np.unique(x, return_index=True)
    if n_used < min_tail or unique.size < 2:
        return _nan_fit(n_used)
    right = np.append(left[1:], n_used)
    log_x = np.log(unique)
    # Σ_{j ≥ i} log x_j over the sorted sample, read at the first copy of each unique value.
    suffix = np.cumsum(np.log(x)[::-1])[::-1]

    if xmin is None:
        cand = np.arange(unique.size - 1)
        cand = cand[n_used - left[cand] >= min_tail]
        if cand.size == 0:
            return _nan_fit(n_used)
    else:
        first = int(np.searchsorted(unique, xmin, side="left"))
        if first >= unique.size or n_used - left[first] < min_tail or unique[-1] <= xmin:
            return _nan_fit(n_used)
        # The fit uses x_min itself (not the first sample value above it) in log(x/x_min).
        cand = np.array([first])

    n_tail = (n_used - left[cand]).astype(float)
    base_log = log_x[cand] if xmin is None else np.array([math.log(xmin)])
    beta = n_tail / (suffix[left[cand]] - n_tail * base_log)
    if xmin is None:
        best, ks = _ks_argmin(log_x, left, right, cand, beta, n_tail, sup)
        chosen_xmin = float(unique[cand[best]])
    else:
        best = 0
        chosen_xmin = xmin
        # The fitted CDF starts at the given x_min, which need not be a sample value.
        fitted = -np.expm1(-beta[0] * (log_x[first:] - base_log[0]))
        before = (left[first:] - left[first]) / n_tail[0]
        after = (right[first:] - left[first]) / n_tail[0] if sup else before
        ks = float(np.max(np.maximum(after - fitted, fitted - before)))
    exponent = 1.0 + float(beta[best])
    n_best = int(n_tail[best])
    return PowerLawTailFit(
        tail_exponent=exponent,
        tail_exponent_se=(exponent - 1.0) / math.sqrt(n_best),
        xmin=chosen_xmin,
        ks_distance=ks,
        n_tail=n_best,
        n_used=n_used,
    )


@dataclass(frozen=True)
class TailLikelihoodRatios:
    """Result of :func:`compare_tail_alternatives`: the power law against two alternatives.

    Attributes
    ----------
    loglik_ratio_exponential, loglik_ratio_lognormal : float
        R = Σ_tail [log p_PL(x) − log p_alt(x)]; R > 0 favours the power law. NaN without a tail fit.
    p_value_exponential, p_value_lognormal : float
        Vuong's two-sided p-value of the sign of R, erfc(|R| / √(2 n σ²)) with σ² the (1/n)
        variance of the pointwise log-likelihood ratios; small p means the sign of R is significant.
    """

    loglik_ratio_exponential: float
    p_value_exponential: float
    loglik_ratio_lognormal: float
    p_value_lognormal: float


def _vuong(loglik_power_law: np.ndarray, loglik_alternative: np.ndarray) -> tuple[float, float]:
    diff = loglik_power_law - loglik_alternative
    ratio = float(np.sum(diff))
    spread = math.sqrt(2.0 * diff.size * float(np.mean((diff - diff.mean()) ** 2)))
    return ratio, (float(scipy.special.erfc(abs(ratio) / spread)) if spread > 0 else math.nan)


def _lognormal_loglik(log_x: np.ndarray, log_xmin: float, mu: float, log_sigma: float):
    """Pointwise log-density of the lognormal truncated to [x_min, ∞) and its (μ, log σ) gradient."""
    sigma = math.exp(log_sigma)
    z = (log_x - mu) / sigma
    upper = (mu - log_xmin) / sigma  # log P(X ≥ x_min) = log Φ(upper)
    log_mass = float(scipy.special.log_ndtr(upper))
    hazard = math.exp(-0.5 * upper * upper - 0.5 * math.log(2.0 * math.pi) - log_mass)  # φ/Φ at upper
    loglik = -0.5 * z * z - 0.5 * math.log(2.0 * math.pi) - log_x - log_sigma - log_mass
    grad_mu = z / sigma - hazard / sigma
    grad_log_sigma = z * z - 1.0 + hazard * upper
    return loglik, grad_mu, grad_log_sigma


def compare_tail_alternatives(
    values: np.ndarray, fit: PowerLawTailFit, *, relative_cut: float = DEFAULT_RELATIVE_CUT
) -> TailLikelihoodRatios:
    """Likelihood-ratio tests of a fitted power-law tail against the exponential and the lognormal.

    Parameters
    ----------
    values : ndarray, shape (k,)
        The sample given to :func:`fit_power_law_tail` (the same ``relative_cut``).
    fit : PowerLawTailFit
        Its result; the tail is the values ≥ ``fit.xmin``.
    relative_cut : float, default DEFAULT_RELATIVE_CUT
        As in :func:`fit_power_law_tail`.

    Returns
    -------
    TailLikelihoodRatios
        All NaN when ``fit`` has no tail, or (lognormal only) when its fit does not converge.

    Notes
    -----
    The conventions of ``powerlaw.Fit(values, xmin=fit.xmin, discrete=False)
    .distribution_compare("power_law", alternative)`` at its defaults (package version 2.0.0;
    Clauset, Shalizi & Newman 2009, §5.1), on the n = ``n_tail`` values x ≥ x_min, every density
    continuous and normalised over [x_min, ∞):

    * power law p(x) = (α̂ − 1)/x_min (x/x_min)^{−α̂} with the MLE α̂ of ``fit``;
    * exponential p(x) = Λ e^{−Λ(x − x_min)}, Λ = 1/(x̄ − x_min) (its MLE, closed form);
    * lognormal p(x) = φ((ln x − μ)/σ) / (x σ Φ((μ − ln x_min)/σ)), (μ, σ) maximising the
      likelihood (BFGS on (μ, ln σ) with the analytic gradient, from the mean and standard
      deviation of ln x, as ``powerlaw`` starts);
    * R = Σ (ln p_PL − ln p_alt), not normalised (``normalized_ratio=False``), and
      p = erfc(|R| / √(2nσ²)), the non-nested test (Vuong 1989).

    ``powerlaw`` fits the exponential and the lognormal with Nelder–Mead at ``tol=1e-4``, and the
    power law too when α̂ ∉ (1.5, 3]; there it stops short of the maximum and its R and p differ
    from these in the 4th–6th digit (the tests compare both on a tail where the alternatives are
    well fitted). Densities that underflow are floored at 1e-308 there and not here.
    """
    nan = TailLikelihoodRatios(math.nan, math.nan, math.nan, math.nan)
    if not fit.n_tail or not math.isfinite(fit.tail_exponent):
        return nan
    x = _positive_part(check_real_vector(values, "values", "sample whose tail is fitted"), relative_cut)
    tail = x[x >= fit.xmin]
    log_x, log_xmin = np.log(tail), math.log(fit.xmin)
    alpha = fit.tail_exponent
    loglik_power_law = math.log((alpha - 1.0) / fit.xmin) - alpha * (log_x - log_xmin)
    rate = 1.0 / float(np.mean(tail - fit.xmin))
    r_exp, p_exp = _vuong(loglik_power_law, math.log(rate) - rate * (tail - fit.xmin))

    def objective(params: np.ndarray) -> tuple[float, np.ndarray]:
        loglik, grad_mu, grad_log_sigma = _lognormal_loglik(log_x, log_xmin, params[0], params[1])
        return -float(np.mean(loglik)), -np.array([np.mean(grad_mu), np.mean(grad_log_sigma)])

    start = np.array([float(np.mean(log_x)), math.log(max(float(np.std(log_x)), 1e-12))])
    # gtol on the mean log-likelihood: 1e-10 moves R by ~n·1e-20 and p by ~1e-10 relative.
    solution = scipy.optimize.minimize(objective, start, jac=True, method="BFGS", options={"gtol": 1e-10})
    gradient_ok = float(np.max(np.abs(solution.jac))) <= 1e-8
    if not (solution.success or gradient_ok):
        return TailLikelihoodRatios(r_exp, p_exp, math.nan, math.nan)
    loglik_lognormal = _lognormal_loglik(log_x, log_xmin, solution.x[0], solution.x[1])[0]
    r_log, p_log = _vuong(loglik_power_law, loglik_lognormal)
    return TailLikelihoodRatios(r_exp, p_exp, r_log, p_log)
