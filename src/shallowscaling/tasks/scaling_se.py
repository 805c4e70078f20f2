"""The SE side of the scaling jobs: :func:`scaling_se_table`, one job per (model, d, γ, Δ).

The non-asymptotic SE excess risk on a (κ, ℓ) grid, along each phase's fitting window and at
the interpolation peak; the SE teachers (:func:`se_teacher`) and the checks of the fitting
windows of the configuration. The module docstring of :mod:`shallowscaling.tasks.exponents`
describes the jobs and the choice of SE teachers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int, check_real
from ..config import MODELS, kappa_value, n_from_exponent
from ..errors import ConfigError, InputError
from ..rates import NOISELESS_PHASES, NOISY_PHASES, classify_phase
from ..results import warn_not_converged
from ..scaling import (
    maximize_on_log_scale,
)
from ..targets import diagonal_variances, power_law_spectrum

__all__ = [
    "SCALING_SE_COLUMNS",
    "check_scaling_config",
    "check_windows",
    "scaling_se_table",
    "se_teacher",
]

#: Tolerance of every SE solve here (relative fixed-point residual). Exponents need log R to
#: ~1e-6; 1e-10 is beyond float64 at the smallest n of the grid (residuals 1e-10–1e-9 seen at
#: n ≤ 10), 1e-8 is met everywhere.
SE_TOL = 1e-8
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
                kappa = round(kappa_value(model, d, n), DIGITS)
                records.append(_record(model, "peak", phase, variable, d, gamma, noise, kappa, ell, n, lam, outcome))
            else:
                n = _sample_size(model, d, float(d) ** kappa)
                records.append(
                    _record(model, "window", phase, variable, d, gamma, noise, kappa, ell, n, lam, solver(n, lam))
                )
    return pd.DataFrame.from_records(records, columns=list(SCALING_SE_COLUMNS))
