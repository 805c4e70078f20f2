"""The scaling jobs: SE risks across the phase diagram, measured exponents, the heat map (spec §3, §6).

Three kinds of job:

* :func:`scaling_se_table`, one per (model, d, γ, Δ): the non-asymptotic SE excess risk on a
  (κ, ℓ) grid (``purpose = "grid"``), along each phase's fitting window (``"window"``) and at the
  interpolation peak (``"peak"``, the maximum over n_eff near d at each λ of the window);
* :func:`heatmap_table`: the SE-measured exponent ``r = −Δ log R / Δ log d`` at every grid point,
  next to the Result-1 exponent and phase (paper Figures 1 and 4, right panels);
* :func:`exponent_table`: one row per (model, phase, Δ = 0 or not) with the predicted exponent,
  the SE-measured one at the largest d (and extrapolated to d → ∞), and the simulated one with a
  bootstrap interval over seeds.

Exponents along a window are ``−d log R / d log v`` with v the variable the window moves
(n_eff at fixed λ = d^ℓ, or λ at the peak): the exponent of the phase's rate law in v, which is
∂r/∂κ or ∂r/∂ℓ of the Result-1 exponent (II: 2 − 1/γ, III: 2, IV: 1 − 1/(2γ) (Δ > 0) or 2γ − 1
(Δ = 0), VI: 1, peak: 2/3, plateaus: 0). The exponent at a fixed (κ, ℓ) is r itself.

SE teachers. Quadratic: the d eigenvalues of S* (deterministic). Diagonal: the index-aware
magnitudes |θ*_i| = √v_i (:func:`se_teacher`), not a sampled θ*. The SE depends on θ* only
through the empirical distribution of |θ*_i|, and the rates only through the power law of the
ordered magnitudes, which √v_i shares with every sample (a sample is √v_i |g_i|, g_i ~ N(0, 1):
same rates, other constants). A sample's top features carry O(1) relative fluctuations that do
not average out, and they set the rates of II and IV: with a fresh sample per d the exponents
scatter (local slopes −1.11 and −0.91 where √v_i gives −0.97 and −0.99 in phase II at
d = 2·10⁴, λ = √d, γ = 1, Δ = 0.5), whereas √v_i gives smooth curves in d, so a three-point d
sequence measures exponents to ~0.01.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int, check_real
from ..config import MODELS, format_float, n_from_exponent
from ..errors import ConfigError, InputError
from ..rates import NOISELESS_PHASES, NOISY_PHASES, boundary_distance, classify_phase, predicted_exponent
from ..results import warn_not_converged
from ..scaling import (
    bootstrap_slope,
    extrapolate_exponent,
    fit_slope,
    maximize_on_log_scale,
    score_agreement,
)
from ..seeding import make_rng
from ..targets import diagonal_variances, power_law_spectrum

__all__ = [
    "EXPONENT_COLUMNS",
    "HEATMAP_COLUMNS",
    "SCALING_SE_COLUMNS",
    "SIM_ESTIMATORS",
    "check_scaling_config",
    "check_windows",
    "exponent_table",
    "exponent_table_html",
    "heatmap_agreement",
    "heatmap_table",
    "scaling_se_table",
    "se_teacher",
]

#: Tolerance of every SE solve here (relative fixed-point residual). Exponents need log R to
#: ~1e-6; 1e-10 is beyond float64 at the smallest n of the grid (residuals 1e-10–1e-9 seen at
#: n ≤ 10), 1e-8 is met everywhere.
SE_TOL = 1e-8
#: Simulated estimators in order of preference for the simulated exponent: the convex twins
#: (exact global minimisers) before the trained networks.
SIM_ESTIMATORS = ("lasso", "convex", "network")
#: Fewest simulated points a window needs for a slope with an interval.
MIN_SIM_POINTS = 3
#: Scan points of the peak search (log-spaced on the n_eff/d bracket), its tolerance on
#: ln(n_eff/d) (the quadratic peak is ~0.4 % wide at d = 10³, λ = 10⁻⁵, so 1e-4 locates its
#: maximum to ~1e-3 relative), and the most integers n checked exhaustively at the end.
PEAK_SCAN = 9
PEAK_XTOL = 1e-4
PEAK_POLISH = 40
#: Rounding of grid coordinates, so that κ and ℓ compare exactly across jobs.
DIGITS = 9

SCALING_SE_COLUMNS = (
    "model",
    "purpose",
    "phase",
    "variable",
    "d",
    "gamma",
    "noise",
    "kappa",
    "lam_exponent",
    "n",
    "n_eff",
    "lam",
    "excess_risk",
    "converged",
    "status",
    "message",
)
HEATMAP_COLUMNS = (
    "model",
    "gamma",
    "noise",
    "kappa",
    "lam_exponent",
    "phase",
    "predicted",
    "se_exponent",
    "se_exponent_extrapolated",
    "d_low",
    "d_high",
    "boundary_distance",
    "scored",
    "agrees",
    "converged",
    "margin",
    "tol",
)
EXPONENT_COLUMNS = (
    "model",
    "phase",
    "delta_zero",
    "gamma",
    "noise",
    "variable",
    "window",
    "predicted",
    "se_exponent",
    "se_d",
    "se_exponent_extrapolated",
    "se_window",
    "se_converged",
    "sim_exponent",
    "sim_ci_low",
    "sim_ci_high",
    "sim_d",
    "sim_estimator",
    "sim_window",
    "kappa",
    "lam_exponent",
    "predicted_r",
    "se_r",
    "se_r_extrapolated",
)


def se_teacher(model: str, d: int, gamma: float, normalization: str = "unit") -> np.ndarray:
    """The target the SE exponents are computed on: |θ*_i| = √v_i (diagonal) or s_i (quadratic).

    See the module docstring for why the diagonal uses the index-aware magnitudes.
    """
    check_choice(model, "model", MODELS)
    if model == "quadratic":
        return power_law_spectrum(d, gamma, normalization)
    return np.sqrt(diagonal_variances(d, gamma, normalization))


def _sample_size(model: str, d: int, n_eff: float) -> int:
    """n for a nominal n_eff (n = n_eff or n_eff·d), at least one sample."""
    return max(1, round(n_eff * (d if model == "quadratic" else 1)))


class _Solver:
    """SE excess risk of one (model, d, γ, Δ) as a function of (n, λ)."""

    def __init__(self, model: str, d: int, gamma: float, noise: float, normalization: str):
        self.model, self.d, self.noise = model, d, noise
        self.target = se_teacher(model, d, gamma, normalization)

    def __call__(self, n: int, lam: float) -> tuple[float, bool, str, str]:
        """(excess risk, converged, status, message)."""
        try:
            if self.model == "diagonal":
                from ..state_evolution.diagonal import expected_soft_threshold_mse, solve_diagonal_se

                result = solve_diagonal_se(self.target, n, lam, self.noise, tol=SE_TOL)
                if result.converged and result.delta > 0.0:
                    # R from the right-hand side of (D-i), R(δ, t) = (1/d) Σ E(η(θ* + δz; t) − θ*)²,
                    # not from (n/d)δ² − Δ: the difference loses every digit once R ≲ tol·Δ
                    # (phase VIb at κ = 3, d = 10⁵: R = 5e-11 next to Δ = 0.5).
                    risk = float(np.mean(expected_soft_threshold_mse(self.target, result.delta, result.threshold)))
                    return risk, True, str(result.status), str(result.message)
            else:
                from ..state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic

                result = solve_quadratic_se_deterministic(
                    self.target, n, lam, self.noise, tol=SE_TOL, with_spectrum=False
                )
        except (OverflowError, ZeroDivisionError, FloatingPointError) as error:
            # One failed grid point must not sink a thousand-point job: it is recorded as such,
            # scored as a disagreement and drawn as missing.
            message = f"SE solver raised {type(error).__name__} ({error}) at n={n}, λ={lam:.6g}, Δ={self.noise:g}"
            warn_not_converged("the SE solve", message, "Report the point to the SE solver's maintainer.")
            return math.nan, False, "diverged", message
        return float(result.excess_risk), bool(result.converged), str(result.status), str(result.message)


def _grid_values(spec: Mapping[str, Any]) -> np.ndarray:
    return np.round(np.linspace(spec["start"], spec["stop"], spec["num"]), DIGITS)


def _window_points(window: Mapping[str, Any], num: int) -> tuple[str, list[tuple[float, float]]]:
    """(variable, [(κ, ℓ), ...]) of a window: ``kappa: [lo, hi]`` or ``lam_exponent: [lo, hi]``."""
    if isinstance(window["kappa"], Sequence):
        lo, hi = window["kappa"]
        return "n_eff", [(k, float(window["lam_exponent"])) for k in np.round(np.linspace(lo, hi, num), DIGITS)]
    lo, hi = window["lam_exponent"]
    return "lam", [(float(window["kappa"]), ell) for ell in np.round(np.linspace(lo, hi, num), DIGITS)]


def check_windows(windows: Mapping[str, Mapping[str, Any]], gamma: float, noiseless: bool, where: str = "") -> None:
    """Refuse a window that leaves its phase (checked on 21 points along it).

    Raises
    ------
    InputError
        Naming the window, the offending point, the phase found there and the fix.
    """
    allowed = NOISELESS_PHASES if noiseless else NOISY_PHASES
    for phase, window in windows.items():
        label = f"{where}{phase}"
        if phase not in allowed:
            raise InputError(f"{label}: no phase {phase!r} in this diagram; accepted: {', '.join(allowed)}")
        ranged = [key for key in ("kappa", "lam_exponent") if isinstance(window.get(key), Sequence)]
        if len(ranged) != 1 or set(window) != {"kappa", "lam_exponent"}:
            raise InputError(f"{label}: give one of kappa, lam_exponent as [lo, hi] and the other as a number")
        if phase == "peak" and window["kappa"] != 1.0:
            raise InputError(f"{label}: the peak lies at κ = 1 (n_eff = d); got kappa {window['kappa']}")
        for kappa, ell in _window_points(window, 21)[1]:
            found = classify_phase(kappa, ell, gamma, noiseless)
            if found != phase:
                raise InputError(
                    f"{label}: the point (κ = {kappa:g}, ℓ = {ell:g}) is in phase {found}, not {phase}, "
                    f"for γ = {gamma:g}; move the window inside phase {phase}"
                )


def check_scaling_config(config: Mapping[str, Any]) -> None:
    """Cross-field rules of the ``scaling`` section the schema cannot express.

    Raises
    ------
    ConfigError
        Prefixed with the key path, e.g. ``scaling.windows.diagonal.noisy.III: the point (κ = 2.1, ℓ = 1)
        is in phase II, not III, for γ = 1; move the window inside phase III``.
    """
    scaling = config["scaling"]
    for model in MODELS:
        for diagram in ("noisy", "noiseless"):
            try:
                check_windows(scaling["windows"][model][diagram], scaling["gamma"], diagram == "noiseless")
            except InputError as error:
                raise ConfigError(f"scaling.windows.{model}.{diagram}.{error}") from None
    lo, hi = scaling["peak_bracket"]
    if not lo < 1.0 < hi:
        raise ConfigError(f"scaling.peak_bracket: must contain n_eff/d = 1 (lo < 1 < hi); got [{lo:g}, {hi:g}]")
    for axis in ("kappa", "lam_exponent"):
        spec = scaling["grid"][axis]
        if spec["start"] > spec["stop"]:
            raise ConfigError(f"scaling.grid.{axis}: start ({spec['start']}) must be <= stop ({spec['stop']})")
    for model in MODELS:
        grid = scaling["fig5"][model]["n_eff_exponent"]
        start = grid["start"]
        if start > grid["stop"]:
            raise ConfigError(f"scaling.fig5.{model}.n_eff_exponent: start ({start}) must be <= stop ({grid['stop']})")
        for d in scaling["fig5"][model]["d"]:
            if n_from_exponent(model, d, start) < 1:
                raise ConfigError(
                    f"scaling.fig5.{model}.n_eff_exponent.start: {start} gives no sample at d = {d}; "
                    f"raise start to at least {-1.0 if model == 'quadratic' else 0.0}"
                )


def _record(model, purpose, phase, variable, d, gamma, noise, kappa, ell, n, lam, outcome) -> dict[str, Any]:
    risk, converged, status, message = outcome
    return {
        "model": model,
        "purpose": purpose,
        "phase": phase,
        "variable": variable,
        "d": int(d),
        "gamma": float(gamma),
        "noise": float(noise),
        "kappa": float(kappa),
        "lam_exponent": float(ell),
        "n": int(n),
        "n_eff": n / d if model == "quadratic" else float(n),
        "lam": float(lam),
        "excess_risk": risk,
        "converged": converged,
        "status": status,
        "message": message,
    }


def _peak(solver: _Solver, model: str, d: int, lam: float, bracket: tuple[float, float]):
    """Maximise R over n_eff/d in ``bracket`` at fixed λ; returns (n, outcome)."""
    scale = d * (d if model == "quadratic" else 1)  # n = (n_eff/d)·scale
    cache: dict[int, tuple[float, bool, str, str]] = {}

    def outcome(n: int):
        if n not in cache:
            cache[n] = solver(n, lam)
        return cache[n]

    def log_risk_at(n: int) -> float:
        risk, converged = outcome(n)[:2]
        return math.log(risk) if converged and risk > 0 else -math.inf

    search = maximize_on_log_scale(
        lambda ratio: log_risk_at(max(1, round(ratio * scale))),
        bracket[0],
        bracket[1],
        num=PEAK_SCAN,
        xtol=PEAK_XTOL,
        max_iter=200,
    )
    # The diagonal peak is one sample wide at small λ: finish on the integers of the final
    # bracket when they are few (the quadratic peak is smooth on the scale of its bracket).
    low = max(1, math.floor(search.x * scale * math.exp(-search.bracket_width)))
    high = math.ceil(search.x * scale * math.exp(search.bracket_width))
    candidates = range(low, high + 1) if high - low <= PEAK_POLISH else [max(1, round(search.x * scale))]
    best = max(candidates, key=log_risk_at)
    risk, converged, status, message = outcome(best)
    message = f"{message}; peak search: {search.message}"
    return best, (risk, converged and search.converged, status if search.converged else search.status, message)


def scaling_se_table(
    model: str,
    d: int,
    gamma: float,
    noise: float,
    *,
    grid: Mapping[str, Mapping[str, Any]],
    windows: Mapping[str, Mapping[str, Any]],
    window_points: int = 7,
    peak_bracket: tuple[float, float] = (0.15, 1.5),
    normalization: str = "unit",
) -> pd.DataFrame:
    """SE excess risks of one (model, d, γ, Δ) on the heat-map grid, the windows and the peak.

    Parameters
    ----------
    model : {"diagonal", "quadratic"}
    d : int
        Input dimension.
    gamma, noise : float
        Teacher exponent γ > 1/2 and label-noise variance Δ ≥ 0 (Δ = 0: the noiseless diagram).
    grid : mapping
        ``{"kappa": {start, stop, num}, "lam_exponent": {start, stop, num}}``: n_eff = d^κ, λ = d^ℓ.
    windows : mapping
        Phase → ``{"lam_exponent": ℓ, "kappa": [lo, hi]}`` (n_eff varies at λ = d^ℓ) or
        ``{"kappa": 1, "lam_exponent": [lo, hi]}`` (λ varies; the peak).
    window_points : int, default 7
        Points per window, evenly spaced in κ or ℓ.
    peak_bracket : (float, float), default (0.15, 1.5)
        Interval of n_eff/d searched for the peak (it sits at n_eff = d for the diagonal model
        and near n = d²/4, the PSD-cone interpolation threshold, for the quadratic one).
    normalization : {"unit", "paper"}

    Returns
    -------
    DataFrame
        Columns :data:`SCALING_SE_COLUMNS`; n = max(1, round(n_eff)) (diagonal) or
        max(1, round(n_eff·d)) (quadratic), so the diagonal's κ < 0 points all have n = 1.
    """
    check_choice(model, "model", MODELS)
    d = check_int(d, "d", "input dimension d", lower=2)
    gamma = check_real(gamma, "gamma", "teacher power-law exponent γ", lower=0.5, lower_inclusive=False)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    window_points = check_int(window_points, "window_points", "points per window", lower=2)
    lo, hi = (check_real(v, "peak_bracket", "n_eff/d", lower=0.0, lower_inclusive=False) for v in peak_bracket)
    if not lo < 1.0 < hi:
        raise InputError(f"`peak_bracket` (n_eff/d) must contain 1 (lo < 1 < hi); got [{lo:g}, {hi:g}]")
    noiseless = noise == 0.0
    check_windows(windows, gamma, noiseless)
    solver = _Solver(model, d, gamma, noise, normalization)
    records = []
    for kappa in _grid_values(grid["kappa"]):
        for ell in _grid_values(grid["lam_exponent"]):
            n, lam = _sample_size(model, d, float(d) ** kappa), float(d) ** ell
            records.append(_record(model, "grid", "", "", d, gamma, noise, kappa, ell, n, lam, solver(n, lam)))
    for phase in (p for p in (NOISELESS_PHASES if noiseless else NOISY_PHASES) if p in windows):
        variable, points = _window_points(windows[phase], window_points)
        for kappa, ell in points:
            lam = float(d) ** ell
            if phase == "peak":
                n, outcome = _peak(solver, model, d, lam, (lo, hi))
                kappa = round(math.log(n / d if model == "quadratic" else n) / math.log(d), DIGITS)
                records.append(_record(model, "peak", phase, variable, d, gamma, noise, kappa, ell, n, lam, outcome))
            else:
                n = _sample_size(model, d, float(d) ** kappa)
                records.append(
                    _record(model, "window", phase, variable, d, gamma, noise, kappa, ell, n, lam, solver(n, lam))
                )
    return pd.DataFrame.from_records(records, columns=list(SCALING_SE_COLUMNS))


# -- the heat map -------------------------------------------------------------------------------


def _local_exponents(d: np.ndarray, risk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(geometric-mean d, r) between consecutive dimensions: r = −Δ log R / Δ log d."""
    with np.errstate(invalid="ignore", divide="ignore"):
        r = -np.diff(np.log(risk)) / np.diff(np.log(d))
    return np.sqrt(d[:-1] * d[1:]), r


def heatmap_table(se: pd.DataFrame, margin: float = 0.1, tol: float = 0.1) -> pd.DataFrame:
    """The SE-measured exponent at every grid point of the SE tables, against the theory.

    Parameters
    ----------
    se : DataFrame
        Rows of :func:`scaling_se_table` for one or more (model, Δ), at two or more d each.
    margin : float, default 0.1
        Points whose max-norm distance to a phase boundary (in κ or ℓ) is at most this are not
        ``scored``: finite-size crossovers smear every boundary.
    tol : float, default 0.1
        A scored point ``agrees`` when |se_exponent − predicted| ≤ tol.

    Returns
    -------
    DataFrame
        Columns :data:`HEATMAP_COLUMNS`, one row per (model, Δ, κ, ℓ). ``se_exponent`` is the
        local exponent between the two largest d (``d_low``, ``d_high``);
        ``se_exponent_extrapolated`` fits r(d) = r_∞ + c/ln d to the local exponents of all
        consecutive pairs (NaN with fewer than three d).
    """
    margin = check_real(margin, "margin", "boundary margin", lower=0.0)
    tol = check_real(tol, "tol", "agreement tolerance", lower=0.0)
    grid = se[se["purpose"] == "grid"]
    rows = []
    keys = ["model", "gamma", "noise", "kappa", "lam_exponent"]
    for (model, gamma, noise, kappa, ell), group in grid.groupby(keys, sort=True):
        group = group.sort_values("d")
        d = group["d"].to_numpy(dtype=float)
        if d.size < 2:
            raise InputError(f"the heat map needs SE at two or more d; got d = {d.tolist()} for {model}, Δ = {noise:g}")
        converged = bool(group["converged"].all())
        risk = np.where(group["converged"], group["excess_risk"], np.nan)
        mid, r = _local_exponents(d, risk)
        extrapolated = extrapolate_exponent(mid, r).value if r.size >= 2 else math.nan
        noiseless = noise == 0.0
        predicted = predicted_exponent(kappa, ell, gamma, noiseless)
        distance = boundary_distance(kappa, ell, gamma, noiseless)
        rows.append(
            {
                "model": model,
                "gamma": gamma,
                "noise": noise,
                "kappa": kappa,
                "lam_exponent": ell,
                "phase": classify_phase(kappa, ell, gamma, noiseless),
                "predicted": predicted,
                "se_exponent": float(r[-1]),
                "se_exponent_extrapolated": extrapolated,
                "d_low": int(d[-2]),
                "d_high": int(d[-1]),
                "boundary_distance": distance,
                "scored": distance > margin,
                "agrees": bool(abs(r[-1] - predicted) <= tol) if math.isfinite(r[-1]) else False,
                "converged": converged,
                "margin": margin,
                "tol": tol,
            }
        )
    return pd.DataFrame.from_records(rows, columns=list(HEATMAP_COLUMNS))


def heatmap_agreement(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Per (model, Δ): the fraction of scored grid points whose exponent agrees with the theory
    (within the table's ``tol``), at the largest d and extrapolated (NaN without extrapolation)."""
    out = []
    for (model, noise), group in table.groupby(["model", "noise"], sort=True):
        tol = float(group["tol"].iloc[0])
        fraction, count = score_agreement(group["se_exponent"], group["predicted"], group["scored"], tol)
        extrapolated = math.nan
        if np.isfinite(group["se_exponent_extrapolated"]).any():
            extrapolated = score_agreement(group["se_exponent_extrapolated"], group["predicted"], group["scored"], tol)[
                0
            ]
        out.append(
            {
                "model": model,
                "noise": float(noise),
                "scored": count,
                "points": len(group),
                "agreement": fraction,
                "agreement_extrapolated": extrapolated,
                "d_high": int(group["d_high"].max()),
                "tol": tol,
            }
        )
    return out


# -- the exponent table -------------------------------------------------------------------------


def _describe(variable: str, kappas: np.ndarray, ells: np.ndarray) -> str:
    if variable == "lam":
        return f"λ = d^ℓ, ℓ ∈ [{ells.min():g}, {ells.max():g}] at the peak over n_eff/d ({ells.size} points)"
    return f"n_eff = d^κ, κ ∈ [{kappas.min():g}, {kappas.max():g}] at λ = d^{ells[0]:g} ({kappas.size} points)"


def _se_part(rows: pd.DataFrame) -> dict[str, Any]:
    """Slope exponent per d and the exponent at the window's centre, from one window's SE rows."""
    variable = rows["variable"].iloc[0]
    ds = np.array(sorted(rows["d"].unique()), dtype=float)
    exponents = []
    for d in ds:
        part = rows[rows["d"] == d].sort_values(["kappa", "lam_exponent"])
        x = np.log(part["n_eff"] if variable == "n_eff" else part["lam"]).to_numpy(dtype=float)
        risk = np.where(part["converged"], part["excess_risk"], np.nan)
        with np.errstate(divide="ignore", invalid="ignore"):
            exponents.append(-fit_slope(x, np.log(risk)).slope)
    exponents = np.array(exponents)
    first = rows[rows["d"] == ds[-1]].sort_values(["kappa", "lam_exponent"])
    coordinate = "lam_exponent" if variable == "lam" else "kappa"
    values = np.sort(rows[rows["d"] == ds[-1]][coordinate].unique())
    centre = values[(values.size - 1) // 2]
    at_centre = rows[rows[coordinate] == centre].sort_values("d")
    if variable == "lam":
        # At the peak the nominal κ is 1; the κ of the row is where the maximum was found.
        kappa_centre, ell_centre = 1.0, float(centre)
    else:
        kappa_centre, ell_centre = float(centre), float(first["lam_exponent"].iloc[0])
    risk = np.where(at_centre["converged"], at_centre["excess_risk"], np.nan)
    mid, r = _local_exponents(at_centre["d"].to_numpy(dtype=float), risk)
    gamma = float(rows["gamma"].iloc[0])
    noiseless = float(rows["noise"].iloc[0]) == 0.0
    kappas = first["kappa"].to_numpy() if variable == "n_eff" else np.array([1.0])
    ells = first["lam_exponent"].to_numpy()
    phase = rows["phase"].iloc[0]
    if variable == "lam":
        # r = 2ℓ/3 at the peak: its ℓ-derivative is the λ exponent 2/3.
        predicted = (predicted_exponent(1.0, ells.max(), gamma) - predicted_exponent(1.0, ells.min(), gamma)) / (
            ells.max() - ells.min()
        )
    else:
        predicted = (
            predicted_exponent(kappas.max(), ells[0], gamma, noiseless)
            - predicted_exponent(kappas.min(), ells[0], gamma, noiseless)
        ) / (kappas.max() - kappas.min())
    d_text = ", ".join(f"{int(d):g}" for d in ds)
    return {
        "phase": phase,
        "variable": variable,
        "window": _describe(variable, kappas, ells),
        "predicted": float(predicted),
        "se_exponent": float(exponents[-1]),
        "se_d": int(ds[-1]),
        "se_exponent_extrapolated": extrapolate_exponent(ds, exponents).value if ds.size >= 2 else math.nan,
        "se_window": f"least-squares slope over the window at d = {int(ds[-1])}; extrapolated "
        f"r(d) = r∞ + c/ln d over d ∈ {{{d_text}}}",
        "se_converged": bool(rows["converged"].all()),
        "kappa": kappa_centre,
        "lam_exponent": ell_centre,
        "predicted_r": predicted_exponent(kappa_centre, ell_centre, gamma, noiseless),
        "se_r": float(r[-1]) if r.size else math.nan,
        "se_r_extrapolated": extrapolate_exponent(mid, r).value if r.size >= 2 else math.nan,
        "_kappa_range": (float(kappas.min()), float(kappas.max())),
        "_ell": float(ells[0]),
    }


def _sim_part(
    fits: pd.DataFrame, se_part: Mapping[str, Any], model: str, gamma: float, noise: float, rng: np.random.Generator,
    n_resamples: int, confidence: float,
) -> dict[str, Any]:  # fmt: skip
    empty = {"sim_exponent": math.nan, "sim_ci_low": math.nan, "sim_ci_high": math.nan, "sim_d": 0}
    if se_part["variable"] != "n_eff":
        return {**empty, "sim_estimator": "", "sim_window": "no simulated λ sweep at n_eff = d"}
    lo, hi = se_part["_kappa_range"]
    missing = f"no simulated points on λ = d^{se_part['_ell']:g}, κ ∈ [{lo:g}, {hi:g}] at γ = {gamma:g}, Δ = {noise:g}"
    if fits.empty:
        return {**empty, "sim_estimator": "", "sim_window": missing}
    part = fits[(fits["model"] == model) & np.isclose(fits["gamma"], gamma) & np.isclose(fits["noise"], noise)]
    ell = np.round(np.log(part["lam"]) / np.log(part["d"]), 6)
    part = part[ell == round(se_part["_ell"], 6)]
    estimators = [e for e in SIM_ESTIMATORS if e in set(part["estimator"])]
    if not estimators:
        return {**empty, "sim_estimator": "", "sim_window": missing}
    part = part[part["estimator"] == estimators[0]]
    d = int(part["d"].max())
    part = part[part["d"] == d]
    kappa = np.log(part["n_eff"]) / math.log(d)
    part = part[(kappa >= lo - 1e-9) & (kappa <= hi + 1e-9)]
    points = sorted(part["n"].unique())
    description = f"{len(points)} simulated points in κ ∈ [{lo:g}, {hi:g}] at d = {d}, {estimators[0]}"
    if len(points) < MIN_SIM_POINTS:
        return {**empty, "sim_d": d, "sim_estimator": estimators[0], "sim_window": description + " (too few)"}
    table = part.pivot_table(index="n", columns="replicate", values="excess_risk", aggfunc="first")
    converged = part.pivot_table(index="n", columns="replicate", values="converged", aggfunc="first")
    samples = np.where(converged.to_numpy(dtype=bool), table.to_numpy(dtype=float), np.nan)
    n_eff = part.groupby("n")["n_eff"].first().loc[table.index].to_numpy(dtype=float)
    interval = bootstrap_slope(np.log(n_eff), samples, rng, n_resamples=n_resamples, confidence=confidence)
    description += f", {samples.shape[1]} replicates, {interval.confidence:.0%} paired bootstrap over replicates"
    return {
        "sim_exponent": -interval.estimate,
        "sim_ci_low": -interval.high,
        "sim_ci_high": -interval.low,
        "sim_d": d,
        "sim_estimator": estimators[0],
        "sim_window": description,
    }


def exponent_table(
    se: pd.DataFrame,
    fits: pd.DataFrame,
    seed: int,
    *,
    n_resamples: int = 2000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """One row per (model, phase, Δ = 0 or not): predicted, SE-measured and simulated exponents.

    Parameters
    ----------
    se : DataFrame
        Rows of :func:`scaling_se_table` (``window`` and ``peak`` rows are used), any number of
        (model, Δ, d).
    fits : DataFrame
        Fit tables of the workflow (one row per replicate: model, estimator, d, gamma, noise, n,
        n_eff, lam, replicate, excess_risk, converged). For each window the simulated exponent
        uses the largest d with simulations on that window's schedule λ = d^ℓ, the points with
        κ = log_d n_eff inside the window, and the first of :data:`SIM_ESTIMATORS` present.
    seed : int
        Base seed of the bootstrap generators (one stream per model, Δ and phase).
    n_resamples, confidence
        Of :func:`shallowscaling.scaling.bootstrap_slope`.

    Returns
    -------
    DataFrame
        Columns :data:`EXPONENT_COLUMNS`. Exponents are positive for a decaying risk:
        ``−d log R / d log v`` along the window (v = n_eff or λ, see ``variable``), and
        ``se_r = −Δ log R / Δ log d`` at the window's centre (``kappa``, ``lam_exponent``).
        ``sim_ci_low``/``sim_ci_high`` bound ``sim_exponent``; ``sim_window`` says which points
        were used or why there is no simulated exponent.
    """
    rows = []
    windows = se[se["purpose"].isin(["window", "peak"])]
    # Noisy diagram first within each model, as in the paper (Figure 1 before Figure 4).
    groups = sorted(windows.groupby(["model", "noise"]), key=lambda item: (item[0][0], item[0][1] == 0.0))
    for (model, noise), part in groups:
        noiseless = noise == 0.0
        order = NOISELESS_PHASES if noiseless else NOISY_PHASES
        for phase in (p for p in order if p in set(part["phase"])):
            group = part[part["phase"] == phase]
            gamma = float(group["gamma"].iloc[0])
            se_part = _se_part(group)
            rng = make_rng(seed, "exponent-bootstrap", model, phase, format_float(noise))
            sim = _sim_part(fits, se_part, model, gamma, noise, rng, n_resamples, confidence)
            record = {"model": model, "delta_zero": noiseless, "gamma": gamma, "noise": float(noise)}
            record.update({k: v for k, v in se_part.items() if not k.startswith("_")})
            record.update(sim)
            rows.append(record)
    table = pd.DataFrame.from_records(rows, columns=list(EXPONENT_COLUMNS))
    table["sim_d"] = table["sim_d"].astype(np.int64)
    table["se_d"] = table["se_d"].astype(np.int64)
    return table


def exponent_table_html(table: pd.DataFrame) -> str:
    """The exponent table as a self-contained HTML page (what the Snakemake report shows)."""
    body = table.to_html(index=False, float_format=lambda v: f"{v:.3f}", na_rep="–", border=0)
    style = (
        "body{font-family:sans-serif;font-size:12px}table{border-collapse:collapse}"
        "td,th{padding:2px 6px;border-bottom:1px solid #ddd;text-align:left}"
    )
    title = "Scaling exponents: predicted, SE-measured and simulated (R = Θ(d^−r), spec §3)"
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>{style}</style></head>'
        f"<body><h3>{title}</h3>\n{body}\n</body></html>\n"
    )
