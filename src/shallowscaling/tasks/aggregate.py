"""The ``aggregate`` job: per-point means over replicates, simulations and SE in one table.

Output rows follow :data:`AGGREGATE_COLUMNS`. ``source`` is ``"simulation"`` (``estimator`` is
lasso / network / convex) or ``"se"`` (``estimator`` is ``erm`` at the row's λ, ``bayes`` for the
Bayes-optimal error, which has no λ, or ``optimal_lam`` for the ERM SE at the λ minimising it,
whose mean λ is in ``lam_optimal`` while ``lam`` is NaN).
Simulation errors are standard errors of the mean over replicates; a point whose replicates did
not all converge has ``converged = False`` and is drawn as such.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["AGGREGATE_COLUMNS", "aggregate_tables"]

AGGREGATE_COLUMNS = (
    "model",
    "source",
    "estimator",
    "d",
    "gamma",
    "noise",
    "lam",
    "lam_exponent",
    "n",
    "n_eff",
    "excess_risk",
    "excess_risk_sem",
    "excess_risk_mc_se",
    "matrix_mse",
    "n_replicates",
    "n_converged",
    "converged",
    "fixed_point_residual",
    "lam_optimal",
)
KEYS = ["model", "source", "estimator", "d", "gamma", "noise", "lam", "n", "n_eff"]


def _sem(values: pd.Series) -> float:
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else math.nan


def _mc_se(values: pd.Series) -> float:
    """Standard error of the mean of independent Monte-Carlo estimates: √(Σ se²)/k (NaN if none)."""
    values = values.dropna()
    return float(np.sqrt(np.sum(values**2)) / len(values)) if len(values) else math.nan


def aggregate_tables(fits: Sequence[pd.DataFrame], predictions: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Average the fit tables over replicates and stack them with the SE tables.

    SE rows are averaged over replicates too (the diagonal SE is evaluated on each replicate's
    sampled θ*); their ``fixed_point_residual`` is the largest of the group.
    """
    parts = []
    if fits:
        sims = pd.concat(fits, ignore_index=True).assign(source="simulation")
        sims["fixed_point_residual"] = np.nan
        sims["lam_optimal"] = np.nan
        sims["excess_risk_mc_se"] = np.nan
        parts.append(sims)
    if predictions:
        se = pd.concat(predictions, ignore_index=True).assign(source="se")
        # Monte-Carlo SE rows carry the draw error of matrix_mse; the quadratic excess risk is
        # 2·matrix_mse (Wick), so its error doubles. Other routes have none (NaN).
        mc = se["mc_standard_error"] if "mc_standard_error" in se else pd.Series(np.nan, index=se.index)
        se["excess_risk_mc_se"] = np.where(se["model"] == "quadratic", 2.0, 1.0) * mc.astype(float)
        optimal = se["optimal_lam"].astype(bool)
        se["estimator"] = np.where(optimal, "optimal_lam", se["method"])
        # λ_opt differs per replicate: group without it and keep its mean apart.
        se["lam_optimal"] = np.where(optimal, se["lam"], np.nan)
        se.loc[optimal, "lam"] = np.nan
        parts.append(se.drop(columns=["method", "optimal_lam"]))
    table = pd.concat(parts, ignore_index=True)
    grouped = table.groupby(KEYS, sort=True, dropna=False)
    out = grouped.agg(
        excess_risk=("excess_risk", "mean"),
        excess_risk_sem=("excess_risk", _sem),
        excess_risk_mc_se=("excess_risk_mc_se", _mc_se),
        matrix_mse=("matrix_mse", "mean"),
        n_replicates=("excess_risk", "size"),
        n_converged=("converged", "sum"),
        fixed_point_residual=("fixed_point_residual", "max"),
        lam_optimal=("lam_optimal", "mean"),
    ).reset_index()
    out["converged"] = out["n_converged"] == out["n_replicates"]
    # λ = d^ℓ exactly as the config defines it; rounding recovers ℓ without float noise.
    out["lam_exponent"] = np.round(np.log(out["lam"]) / np.log(out["d"]), 9)
    out["n_replicates"] = out["n_replicates"].astype(np.int64)
    out["n_converged"] = out["n_converged"].astype(np.int64)
    return out[list(AGGREGATE_COLUMNS)].sort_values(KEYS, kind="stable").reset_index(drop=True)
