"""Paper Figure 3: excess risk against n_eff, simulations vs non-asymptotic SE vs Result-1 rates.

One row per (γ, Δ) of the sweep, one column per λ schedule λ = d^ℓ, one colour per d. Dots with
error bars (standard error over replicates) are simulations, solid lines the ERM state evolution,
thin grey lines the λ-free references at the largest d only, drawn once per panel under the
data: the Bayes-optimal SE (dashed) and the SE at the optimal λ (dash-dotted) when present (the
diagonal ERM curves use each replicate's sampled θ* while the Bayes-optimal error averages over the
prior, so at small n_eff and small d an ERM curve can dip below it), black dotted lines the
Result-1 rates. The theory
fixes the rates' exponents, not their constants: each rate segment's constant is fitted to the
largest-d SE curve on that segment, so the lines show slopes. Points that did not converge are
marked with a red cross and listed in the legend; they are never silently plotted.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ..rates import classify_phase, rate_shape
from .style import (
    D_COLORS,
    LAM_LABELS,
    MIN_WIDTH,
    REFERENCE_COLOR,
    apply_style,
    bottom_legend,
    lam_label,
    log_axes,
    mark_not_converged,
    model_title,
    n_eff_label,
    noise_combos,
    not_converged_entry,
    risk_label,
)

__all__ = ["LAM_LABELS", "draw_fig3", "lam_label"]

MARKERS = {"lasso": "o", "convex": "o", "network": "s"}
REFERENCE_STYLES = {"bayes": "--", "optimal_lam": "-."}
REFERENCE_LABELS = {"bayes": "Bayes-optimal (SE)", "optimal_lam": "ERM at optimal λ (SE)"}


def _rate_lines(ax, se: pd.DataFrame, d: int, gamma: float, noise: float) -> bool:
    """Draw Result-1 rate segments anchored to the SE curve of dimension d; True if any drawn."""
    curve = se.sort_values("n_eff")
    if curve.empty:
        return False
    lam = float(curve["lam"].iloc[0])
    n_eff = curve["n_eff"].to_numpy()
    shape = rate_shape(n_eff, lam, d, gamma, noise)
    ell = math.log(lam) / math.log(d)
    phases = np.array([classify_phase(math.log(v) / math.log(d), ell, gamma, noise == 0) for v in n_eff])
    drawn = False
    start = 0
    for stop in range(1, len(n_eff) + 1):
        if stop < len(n_eff) and phases[stop] == phases[start]:
            continue
        seg = slice(start, stop)
        ok = np.isfinite(shape[seg]) & (curve["excess_risk"].to_numpy()[seg] > 0)
        if np.count_nonzero(ok) >= 2:
            risk = curve["excess_risk"].to_numpy()[seg][ok]
            constant = math.exp(float(np.mean(np.log(risk) - np.log(shape[seg][ok]))))
            ax.plot(n_eff[seg][ok], constant * shape[seg][ok], ":", color="black", lw=1.6, zorder=1)
            drawn = True
        start = stop
    return drawn


def draw_fig3(
    table: pd.DataFrame, model: str, figure_label: str = "Figure 3", teacher: str | None = None
) -> plt.Figure:
    """Build Figure 3 for one model from the ``aggregate`` table.

    ``figure_label`` names the paper figure regenerated in the title: Figure 5 is Figure 3 drawn
    from a noiseless (Δ = 0) sweep. ``teacher`` labels a study whose teacher is not the power law
    (e.g. "sparse teacher, ε = 0.2"): printed in place of γ, and no Result-1 rates, which are the
    power law's.
    """
    apply_style()
    table = table[table["model"] == model]
    combos = noise_combos(table)
    # One panel per λ schedule; the λ-free reference curves (NaN λ) are drawn once in every panel.
    ells = sorted(ell for ell in table["lam_exponent"].unique() if np.isfinite(ell))
    fig, axes = plt.subplots(
        len(combos), len(ells), figsize=(max(3.2 * len(ells), MIN_WIDTH), 2.8 * len(combos) + 0.9), squeeze=False
    )
    dims = sorted(table["d"].unique())
    flagged = False
    references: set[str] = set()
    for row, (gamma, noise) in enumerate(combos):
        for col, ell in enumerate(ells):
            ax = axes[row, col]
            combo = table[(table["gamma"] == gamma) & (table["noise"] == noise)]
            panel = combo[combo["lam_exponent"] == ell]
            # λ-free references at the largest d, once per panel, thin and grey under the data:
            # per d they would hide the λ = 1 ERM curves that run close to the optimal-λ ones.
            reference = combo[(combo["d"] == dims[-1]) & (combo["source"] == "se")]
            for estimator, style in REFERENCE_STYLES.items():
                curve = reference[reference["estimator"] == estimator].sort_values("n_eff")
                if not curve.empty:
                    ax.plot(curve["n_eff"], curve["excess_risk"], style, color=REFERENCE_COLOR, lw=0.8, zorder=0)
                    references.add(estimator)
                    bad = curve[~curve["converged"].astype(bool)]
                    if not bad.empty:
                        flagged = True
                        mark_not_converged(ax, bad["n_eff"], bad["excess_risk"])
            rates_drawn = False
            for i, d in enumerate(dims):
                color = D_COLORS[i % len(D_COLORS)]
                part = panel[panel["d"] == d]
                se = part[(part["source"] == "se") & (part["estimator"] == "erm")].sort_values("n_eff")
                ax.plot(se["n_eff"], se["excess_risk"], "-", color=color, label=f"d = {d} SE")
                if "excess_risk_mc_se" in se and np.isfinite(se["excess_risk_mc_se"]).any():
                    # ±2 Monte-Carlo standard errors of the SE curve (GOE draws): invisible at the
                    # default 0.5 % relative error, visible when a study loosens mc_rtol.
                    band = 2.0 * se["excess_risk_mc_se"].fillna(0.0)
                    ax.fill_between(
                        se["n_eff"], se["excess_risk"] - band, se["excess_risk"] + band, color=color, alpha=0.2, lw=0
                    )
                for estimator, sim in part[part["source"] == "simulation"].groupby("estimator"):
                    ax.errorbar(
                        sim["n_eff"],
                        sim["excess_risk"],
                        yerr=sim["excess_risk_sem"].fillna(0.0),
                        fmt=MARKERS.get(estimator, "^"),
                        color=color,
                        mfc="none" if estimator == "network" else color,
                        capsize=2,
                        ls="none",
                        label=f"d = {d} {estimator}",
                    )
                bad = part[~part["converged"].astype(bool)]
                if not bad.empty:
                    flagged = True
                    mark_not_converged(ax, bad["n_eff"], bad["excess_risk"])
                if d == dims[-1] and teacher is None:
                    rates_drawn = _rate_lines(ax, se, int(d), float(gamma), float(noise))
            log_axes(ax)
            ax.set_xlabel(n_eff_label(model))
            if col == 0:
                about = f"γ = {gamma:g}" if teacher is None else teacher
                ax.set_ylabel(f"{risk_label(model)}\n({about}, Δ = {noise:g})")
            ax.set_title(lam_label(ell))
            if rates_drawn and row == 0 and col == 0:
                ax.plot([], [], ":", color="black", lw=1.6, label="Result-1 rates")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    # Always listed, so that a figure without crosses says every point converged.
    handle, label = not_converged_entry(flagged)
    handles.append(handle)
    labels.append(label)
    for estimator in sorted(references):
        handles.append(plt.Line2D([], [], ls=REFERENCE_STYLES[estimator], color=REFERENCE_COLOR, lw=0.8))
        labels.append(f"{REFERENCE_LABELS[estimator]}, d = {dims[-1]}")
    bottom_legend(fig, handles, labels, ncol=4)
    parts = "simulations (dots), SE (lines)" + (", rates (dotted)" if teacher is None else "")
    fig.suptitle(f"Paper {figure_label}, {model_title(model)}: {parts}")
    return fig
