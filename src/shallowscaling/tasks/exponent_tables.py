"""The exponent tables of the scaling jobs: the heat map and the exponent table (docs/theory.md §3, §6).

* :func:`heatmap_table`: the SE-measured exponent ``r = −Δ log R / Δ log d`` at every grid point,
  next to the Result-1 exponent and phase (paper Figures 1 and 4, right panels);
* :func:`exponent_table`: one row per (model, phase, Δ = 0 or not) with the predicted exponent,
  the SE-measured one at the largest d (and extrapolated to d → ∞), and the simulated one with a
  bootstrap interval over seeds.

The module docstring of :mod:`shallowscaling.tasks.exponents` describes the exponents measured.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from .._validation import check_real
from ..config import format_float
from ..errors import InputError
from ..rates import NOISELESS_PHASES, NOISY_PHASES, boundary_distance, classify_phase, predicted_exponent
from ..scaling import (
    bootstrap_slope,
    extrapolate_exponent,
    fit_slope,
    score_agreement,
)
from ..seeding import make_rng

__all__ = [
    "EXPONENT_COLUMNS",
    "HEATMAP_COLUMNS",
    "SIM_ESTIMATORS",
    "exponent_table",
    "exponent_table_html",
    "heatmap_agreement",
    "heatmap_table",
]

#: Simulated estimators in order of preference for the simulated exponent: the convex twins
#: (exact global minimisers) before the trained networks.
SIM_ESTIMATORS = ("lasso", "convex", "network")
#: Fewest simulated points a window needs for a slope with an interval.
MIN_SIM_POINTS = 3
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
    "sim_converged",
    "kappa",
    "lam_exponent",
    "predicted_r",
    "se_r",
    "se_r_extrapolated",
)


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
    # sim_converged: every fit of the window converged (a non-converged one is left out of the slope).
    empty = {
        "sim_exponent": math.nan,
        "sim_ci_low": math.nan,
        "sim_ci_high": math.nan,
        "sim_d": 0,
        "sim_converged": True,
    }
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
    empty["sim_converged"] = bool(part["converged"].astype(bool).all())
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
        "sim_converged": empty["sim_converged"],
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
    title = "Scaling exponents: predicted, SE-measured and simulated (R = Θ(d^−r), docs/theory.md §3)"
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>{style}</style></head>'
        f"<body><h3>{title}</h3>\n{body}\n</body></html>\n"
    )
