"""Cost models of workflow jobs: run time and peak memory from the job's size, fitted in log space.

A job j loops over inner points p (a fit's replicates, a state-evolution curve's sample sizes, a
sweep's points), each of input dimension d_p and sample size n_p, repeated mult_p times and
costed at the coefficient of its level l_p. Its cost is modelled as

    y_j ≈ base + Σ_p coef[l_p] · mult_p · d_p^a · n_p^b     (``reduce="sum"``: run time)
    y_j ≈ base + max_p coef[l_p] · d_p^a · n_p^b            (``reduce="max"``: peak memory)

``base`` is what every job pays (interpreter start, imports, I/O), ``coef`` the cost of one unit
of work at a level (a λ = d^ℓ schedule, whose iteration counts differ; or a kind of work, such
as one solver iteration against drawing the data), and (a, b) the exponents of the algorithm's
complexity: O(n d²) per iteration for the quadratic fits, whose design takes O(n d) memory. The
parameters minimise the squared error of log y, so a job of 1 s and one of 1 h weigh the same:

    min Σ_j (log y_j − log ŷ_j)²,

over log base, log coef and, where the data can tell them apart, a and b (otherwise fixed at the
known complexity). The parameter covariance σ²(JᵀJ)⁺ with σ² = Σ r_j² / (J − k) gives the
standard error of a predicted log y (the delta method), which grows as a prediction leaves the
calibrated range: that is the extrapolation's uncertainty.

Solver iteration counts, which set mult for a fit, are machine-independent and have their own
model, :func:`fit_log_profile`: log(iterations + 1) piecewise linear in κ = log_d n_eff at each
λ = d^ℓ, plus a power of d.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from ._validation import check_choice, check_int
from .errors import InputError
from .results import warn_not_converged

__all__ = [
    "REDUCTIONS",
    "CostFit",
    "CostPrediction",
    "ProfileFit",
    "fit_cost_model",
    "fit_log_profile",
    "predict_cost",
    "predict_log_profile",
]

#: How the inner points of a job combine: ``sum`` (run time) or ``max`` (peak memory).
REDUCTIONS = ("sum", "max")
# Half-width of the box around the prior exponents when they are fitted: a measured exponent
# further than this from the algorithm's complexity means the data do not resolve it.
_EXPONENT_SPAN = 1.0
# Box of log coef: e^-80 ≈ 1e-35 (a level whose work is invisible next to `base`) to e^20.
_LOG_COEF_BOUNDS = (-80.0, 20.0)
# Stopping tolerances of the least-squares solve (relative changes of cost, step and gradient);
# the residuals are O(0.1–1) in log units, so 1e-10 is far below the scatter of the data.
_TOL = 1e-10


@dataclass(frozen=True)
class CostFit:
    """Result of :func:`fit_cost_model`: y ≈ base + Σ_p (or max_p) coef[l_p] · mult_p · d_p^a · n_p^b.

    Attributes
    ----------
    base : float
        Cost every job pays (s or MB), > 0.
    coef : ndarray, shape (n_levels,)
        Cost of one unit of work per level (zero for a constant model).
    d_exponent, n_exponent : float
        a and b (fitted or fixed, see ``free``).
    reduce : {"sum", "max"}
    free : tuple of str
        The fitted parameters, in the order of ``covariance``: ``log_base``, ``log_coef[l]`` for
        each fitted level, ``d_exponent``, ``n_exponent``.
    covariance : ndarray, shape (k, k)
        σ²(JᵀJ)⁺ of the fitted parameters (log base and log coef in natural-log units).
    rms_log_residual : float
        sqrt(Σ r_j² / J): the typical scatter of one job around the model, in log units.
    n_jobs : int
        Measurements fitted.
    converged : bool
    status : str
        One of :data:`shallowscaling.results.STATUSES`.
    message : str
    iterations : int
        Residual evaluations of the solver.
    grad_norm : float
        ‖Jᵀr‖∞ at the solution, projected on the box (SciPy's first-order optimality).
    """

    base: float
    coef: np.ndarray
    d_exponent: float
    n_exponent: float
    reduce: str
    free: tuple[str, ...]
    covariance: np.ndarray
    rms_log_residual: float
    n_jobs: int
    converged: bool
    status: str
    message: str
    iterations: int
    grad_norm: float


@dataclass(frozen=True)
class CostPrediction:
    """Result of :func:`predict_cost` and :func:`predict_log_profile`.

    Attributes
    ----------
    value : ndarray, shape (n_jobs,)
        Predicted value per job.
    log_se : ndarray, shape (n_jobs,)
        Standard error of log(value) from the parameter covariance (not including the scatter
        ``rms_log_residual`` of single jobs around the model).
    """

    value: np.ndarray
    log_se: np.ndarray


class _Points:
    """Validated inner points: d, n, mult, owner (job index) and level, shape (P,) each."""

    def __init__(self, d, n, mult, owner, level, n_jobs: int, n_levels: int) -> None:
        self.d = np.asarray(d, dtype=float)
        self.n = np.asarray(n, dtype=float)
        self.mult = np.asarray(mult, dtype=float)
        self.owner = np.asarray(owner)
        self.level = np.asarray(level)
        shapes = {a.shape for a in (self.d, self.n, self.mult, self.owner, self.level)}
        if len(shapes) != 1 or self.d.ndim != 1:
            raise InputError(f"`d`, `n`, `mult`, `owner` and `level` must be 1-D arrays of one length; got {shapes}")
        if np.any(self.d < 1) or np.any(self.n < 1) or np.any(self.mult < 0) or not np.all(np.isfinite(self.mult)):
            raise InputError("`d` and `n` (1 where a job has no sample size) must be >= 1 and `mult` finite, >= 0")
        for name, index, size in (("owner", self.owner, n_jobs), ("level", self.level, n_levels)):
            if not np.issubdtype(index.dtype, np.integer) or (index.size and (index.min() < 0 or index.max() >= size)):
                raise InputError(f"`{name}` must hold integers in [0, {size}); got {index!r}")
        if np.setdiff1d(np.arange(n_jobs), self.owner).size:
            raise InputError("every job needs at least one inner point in `owner`")
        self.n_jobs = n_jobs

    def terms(self, coef: np.ndarray, a: float, b: float, reduce: str) -> np.ndarray:
        unit = coef[self.level] * self.d**a * self.n**b
        return unit * self.mult if reduce == "sum" else unit

    def combine(self, terms: np.ndarray, reduce: str) -> tuple[np.ndarray, np.ndarray]:
        """Work per job and, for ``max``, the index of each job's largest point."""
        if reduce == "sum":
            return np.bincount(self.owner, terms, self.n_jobs), np.zeros(0, dtype=int)
        order = np.lexsort((terms, self.owner))
        top = np.zeros(self.n_jobs, dtype=int)
        # Fancy assignment keeps the last write: the largest term of each job.
        top[self.owner[order]] = order
        return terms[top], top

    def gradients(self, terms, top, reduce, n_levels):
        """d(work)/d(log coef[l]) per job and level, d(work)/da and d(work)/db per job."""
        if reduce == "sum":
            by_level = np.zeros((self.n_jobs, n_levels))
            np.add.at(by_level, (self.owner, self.level), terms)
            da = np.bincount(self.owner, terms * np.log(self.d), self.n_jobs)
            db = np.bincount(self.owner, terms * np.log(self.n), self.n_jobs)
            return by_level, da, db
        by_level = np.zeros((self.n_jobs, n_levels))
        by_level[np.arange(self.n_jobs), self.level[top]] = terms[top]
        return by_level, terms[top] * np.log(self.d[top]), terms[top] * np.log(self.n[top])


def fit_cost_model(
    values,
    d,
    n,
    mult,
    owner,
    level,
    *,
    n_levels: int,
    d_exponent: float,
    n_exponent: float,
    fit_d_exponent: bool = False,
    fit_n_exponent: bool = False,
    coef=None,
    reduce: str = "sum",
) -> CostFit:
    """Fit y ≈ base + Σ_p coef[l_p] mult_p d_p^a n_p^b to measured job costs in log space (module docstring).

    Parameters
    ----------
    values : array_like, shape (J,)
        Measured cost of each job (seconds or MB), > 0.
    d, n, mult : array_like, shape (P,)
        Input dimension, sample size (1 where none) and repetitions (>= 0) of each inner point.
    owner : array_like of int, shape (P,)
        The job (0..J-1) each point belongs to; every job has at least one point.
    level : array_like of int, shape (P,)
        The coefficient (0..n_levels-1) each point is costed at.
    n_levels : int
    d_exponent, n_exponent : float
        a and b: fixed values, or the starting values and centre of the box ±1 when fitted.
    fit_d_exponent, fit_n_exponent : bool, default False
        Fit a (b) as well; needs jobs at several d (n) whose work shows above the base cost.
    coef : array_like, shape (n_levels,), optional
        Fixed work coefficients, so that only ``base`` is fitted: zeros for a cost that does not
        grow with the job's size, or those of a similar job whose data resolve them.
    reduce : {"sum", "max"}, default "sum"

    Returns
    -------
    CostFit
        With ``converged`` False (and a ConvergenceWarning) when the solver stopped on its
        evaluation cap.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([10, 20, 40, 80, 160]); n = 4 * d
    >>> y = 0.5 + 1e-6 * d**2 * n
    >>> fit = fit_cost_model(y, d, n, np.ones(5), np.arange(5), np.zeros(5, int), n_levels=1,
    ...                      d_exponent=2.0, n_exponent=1.0)
    >>> round(fit.base, 3), round(float(fit.coef[0]) * 1e6, 3)
    (0.5, 1.0)
    """
    check_choice(reduce, "reduce", REDUCTIONS)
    n_levels = check_int(n_levels, "n_levels", "number of coefficient levels", lower=1)
    y = np.asarray(values, dtype=float)
    if y.ndim != 1 or y.size < 1 or not np.all(np.isfinite(y)) or np.any(y <= 0):
        raise InputError(f"`values` (measured costs) must be a 1-D array of positive numbers; got {y!r}")
    n_jobs = y.size
    points = _Points(d, n, mult, owner, level, n_jobs, n_levels)
    if coef is not None:
        coef = np.asarray(coef, dtype=float)
        if coef.shape != (n_levels,) or np.any(coef < 0) or not np.all(np.isfinite(coef)):
            raise InputError(f"`coef` must hold {n_levels} finite values >= 0; got {coef!r}")
        fit_d_exponent = fit_n_exponent = False
    log_y = np.log(y)

    layout = {"log_base": 0}
    if coef is None:
        layout.update({f"log_coef[{k}]": 1 + k for k in range(n_levels)})
    fixed = {"d_exponent": float(d_exponent), "n_exponent": float(n_exponent)}
    for name, wanted in (("d_exponent", fit_d_exponent), ("n_exponent", fit_n_exponent)):
        if wanted:
            layout[name] = len(layout)
            fixed.pop(name)

    def unpack(theta):
        p = dict(fixed)
        p.update({name: theta[index] for name, index in layout.items()})
        return p, (np.exp(theta[1 : 1 + n_levels]) if coef is None else coef)

    def model(theta):
        p, c = unpack(theta)
        terms = points.terms(c, p["d_exponent"], p["n_exponent"], reduce)
        work, top = points.combine(terms, reduce)
        base = np.exp(p["log_base"])
        value = base + work
        by_level, da, db = points.gradients(terms, top, reduce, n_levels)
        jac = np.zeros((n_jobs, theta.size))
        jac[:, 0] = base / value
        if coef is None:
            jac[:, 1 : 1 + n_levels] = by_level / value[:, None]
        if "d_exponent" in layout:
            jac[:, layout["d_exponent"]] = da / value
        if "n_exponent" in layout:
            jac[:, layout["n_exponent"]] = db / value
        return value, jac

    # Start: base at half the cheapest job, every coef from the jobs' excess over it.
    base0 = 0.5 * float(y.min())
    theta0 = np.zeros(len(layout))
    theta0[0] = np.log(base0)
    lower = np.full(theta0.size, -np.inf)
    upper = np.full(theta0.size, np.inf)
    if coef is None:
        work0, _ = points.combine(points.terms(np.ones(n_levels), d_exponent, n_exponent, reduce), reduce)
        excess = np.maximum(y - base0, 1e-3 * y) / np.maximum(work0, 1e-300)
        theta0[1 : 1 + n_levels] = np.clip(np.log(np.median(excess)), *_LOG_COEF_BOUNDS)
        lower[1 : 1 + n_levels], upper[1 : 1 + n_levels] = _LOG_COEF_BOUNDS
    for name, centre in (("d_exponent", d_exponent), ("n_exponent", n_exponent)):
        if name in layout:
            lower[layout[name]], upper[layout[name]] = centre - _EXPONENT_SPAN, centre + _EXPONENT_SPAN
            theta0[layout[name]] = centre

    solution = least_squares(
        lambda t: np.log(model(t)[0]) - log_y,
        theta0,
        jac=lambda t: model(t)[1],
        bounds=(lower, upper),
        method="trf",
        ftol=_TOL,
        xtol=_TOL,
        gtol=_TOL,
        max_nfev=200 * theta0.size,
    )
    if solution.status == -1:
        raise InputError(f"cost-model fit rejected its input: {solution.message}")
    theta, r = solution.x, solution.fun
    dof = max(n_jobs - theta.size, 1)
    covariance = float(r @ r) / dof * np.linalg.pinv(solution.jac.T @ solution.jac)
    rms = float(np.sqrt(np.mean(r**2)))
    converged = bool(solution.status > 0)
    message = (
        f"{n_jobs} jobs, {theta.size} parameters: rms log residual {rms:.3g}, first-order optimality "
        f"{solution.optimality:.2e} after {solution.nfev} evaluations ({solution.message})"
    )
    if not converged:
        warn_not_converged(
            "cost-model least squares", message, "Check the benchmark files for outliers or fix the exponents."
        )
    p, c = unpack(theta)
    return CostFit(
        base=float(np.exp(p["log_base"])),
        coef=np.array(c, dtype=float),
        d_exponent=float(p["d_exponent"]),
        n_exponent=float(p["n_exponent"]),
        reduce=reduce,
        free=tuple(layout),
        covariance=covariance,
        rms_log_residual=rms,
        n_jobs=n_jobs,
        converged=converged,
        status="converged" if converged else "max_iter",
        message=message,
        iterations=int(solution.nfev),
        grad_norm=float(solution.optimality),
    )


def predict_cost(fit: CostFit, d, n, mult, owner, level, n_jobs: int) -> CostPrediction:
    """Predicted cost and its log standard error for new jobs (inputs as in :func:`fit_cost_model`)."""
    n_jobs = check_int(n_jobs, "n_jobs", "number of jobs", lower=1)
    n_levels = fit.coef.size
    points = _Points(d, n, mult, owner, level, n_jobs, n_levels)
    terms = points.terms(fit.coef, fit.d_exponent, fit.n_exponent, fit.reduce)
    work, top = points.combine(terms, fit.reduce)
    value = fit.base + work
    by_level, da, db = points.gradients(terms, top, fit.reduce, n_levels)
    grad = np.zeros((n_jobs, len(fit.free)))
    for column, name in enumerate(fit.free):
        if name == "log_base":
            grad[:, column] = fit.base / value
        elif name.startswith("log_coef["):
            grad[:, column] = by_level[:, int(name[len("log_coef[") : -1])] / value
        elif name == "d_exponent":
            grad[:, column] = da / value
        else:
            grad[:, column] = db / value
    variance = np.einsum("ji,ik,jk->j", grad, fit.covariance, grad)
    return CostPrediction(value=value, log_se=np.sqrt(np.maximum(variance, 0.0)))


@dataclass(frozen=True)
class ProfileFit:
    """Result of :func:`fit_log_profile`: log y ≈ P_level(x) + slope[level] · log d.

    P_level is piecewise linear in x through its values at ``nodes`` (constant beyond the first
    and last node), e.g. the log iteration count of a fit along κ = log_d n_eff at fixed λ = d^ℓ.

    Attributes
    ----------
    nodes : ndarray, shape (n_levels, n_nodes)
        Abscissae of each level's profile (NaN-padded when a level has fewer nodes).
    values : ndarray, shape (n_levels, n_nodes)
        log y at the nodes for d = 1 (add slope · log d).
    d_slope : ndarray, shape (n_levels,)
        d exponent of y at fixed x.
    covariance : ndarray, shape (n_levels, n_nodes + 1, n_nodes + 1)
        σ²(BᵀB)⁺ of (values, d_slope) per level.
    rms_log_residual : float
        Scatter of single measurements around the profile (log units).
    n_points : int
        Measurements fitted.
    rank_deficient : bool
        Some level's design was singular (a node without data nearby, or a single d): the
        minimum-norm solution is returned and its covariance is not meaningful there.
    """

    nodes: np.ndarray
    values: np.ndarray
    d_slope: np.ndarray
    covariance: np.ndarray
    rms_log_residual: float
    n_points: int
    rank_deficient: bool


def _hat_basis(x: np.ndarray, nodes: np.ndarray) -> np.ndarray:
    """Columns k: the piecewise-linear interpolant of the k-th unit vector at ``nodes``."""
    eye = np.eye(nodes.size)
    return np.column_stack([np.interp(x, nodes, eye[k]) for k in range(nodes.size)])


def fit_log_profile(values, x, d, level, *, n_levels: int, max_nodes: int = 8) -> ProfileFit:
    """Fit log y ≈ P_level(x) + slope_level · log d by linear least squares, level by level.

    Parameters
    ----------
    values : array_like, shape (N,)
        Positive measurements (e.g. iteration counts + 1).
    x : array_like, shape (N,)
        The profile's abscissa (e.g. κ).
    d : array_like, shape (N,)
        Dimension of each measurement (>= 1).
    level : array_like of int, shape (N,)
        Level 0..n_levels-1 of each measurement; every level needs data.
    n_levels : int
    max_nodes : int, default 8
        Nodes per level, at quantiles of that level's distinct x (fewer when there are fewer).

    Returns
    -------
    ProfileFit
    """
    n_levels = check_int(n_levels, "n_levels", "number of profile levels", lower=1)
    max_nodes = check_int(max_nodes, "max_nodes", "nodes per profile", lower=1)
    y = np.asarray(values, dtype=float)
    x = np.asarray(x, dtype=float)
    d = np.asarray(d, dtype=float)
    level = np.asarray(level)
    if not y.shape == x.shape == d.shape == level.shape or y.ndim != 1:
        raise InputError("`values`, `x`, `d` and `level` must be 1-D arrays of one length")
    if np.any(y <= 0) or not np.all(np.isfinite(y)) or np.any(d < 1) or not np.all(np.isfinite(x)):
        raise InputError("`values` must be positive, `d` >= 1 and `x` finite")
    nodes = np.full((n_levels, max_nodes), np.nan)
    fitted = np.full((n_levels, max_nodes), np.nan)
    slopes = np.zeros(n_levels)
    covariance = np.full((n_levels, max_nodes + 1, max_nodes + 1), np.nan)
    residuals = np.empty_like(y)
    deficient = False
    for k in range(n_levels):
        mine = level == k
        if not mine.any():
            raise InputError(f"level {k} of the profile has no measurements")
        distinct = np.unique(np.round(x[mine], 6))
        grid = np.unique(np.quantile(distinct, np.linspace(0.0, 1.0, min(max_nodes, distinct.size))))
        design = np.column_stack([_hat_basis(x[mine], grid), np.log(d[mine])])
        coef, _, rank, _ = np.linalg.lstsq(design, np.log(y[mine]), rcond=None)
        deficient |= bool(rank < design.shape[1])
        r = np.log(y[mine]) - design @ coef
        residuals[mine] = r
        dof = max(int(mine.sum()) - design.shape[1], 1)
        m = grid.size
        nodes[k, :m] = grid
        fitted[k, :m] = coef[:m]
        slopes[k] = coef[m]
        block = float(r @ r) / dof * np.linalg.pinv(design.T @ design)
        covariance[k, :m, :m] = block[:m, :m]
        covariance[k, :m, max_nodes] = block[:m, m]
        covariance[k, max_nodes, :m] = block[m, :m]
        covariance[k, max_nodes, max_nodes] = block[m, m]
    return ProfileFit(
        nodes=nodes,
        values=fitted,
        d_slope=slopes,
        covariance=covariance,
        rms_log_residual=float(np.sqrt(np.mean(residuals**2))),
        n_points=int(y.size),
        rank_deficient=deficient,
    )


def predict_log_profile(fit: ProfileFit, x, d, level) -> CostPrediction:
    """exp(P_level(x) + slope · log d) and its log standard error; level -1: the largest level."""
    x = np.asarray(x, dtype=float)
    d = np.asarray(d, dtype=float)
    level = np.asarray(level, dtype=int)
    if not x.shape == d.shape == level.shape or x.ndim != 1:
        raise InputError("`x`, `d` and `level` must be 1-D arrays of one length")
    n_levels, max_nodes = fit.values.shape
    if level.size and (level.max() >= n_levels or level.min() < -1):
        raise InputError(f"`level` must be in [-1, {n_levels}); got {level.min()}..{level.max()}")
    log_value = np.empty(x.size)
    log_se = np.empty(x.size)
    for i in range(x.size):
        candidates = [int(level[i])] if level[i] >= 0 else list(range(n_levels))
        best = None
        for k in candidates:
            m = int(np.sum(np.isfinite(fit.nodes[k])))
            basis = np.append(_hat_basis(x[i : i + 1], fit.nodes[k, :m])[0], np.log(d[i]))
            value = float(basis[:m] @ fit.values[k, :m] + basis[m] * fit.d_slope[k])
            if best is None or value > best[0]:
                index = np.append(np.arange(m), max_nodes)
                block = fit.covariance[k][np.ix_(index, index)]
                best = (value, float(np.sqrt(max(basis @ block @ basis, 0.0))))
        log_value[i], log_se[i] = best
    return CostPrediction(value=np.exp(log_value), log_se=log_se)
