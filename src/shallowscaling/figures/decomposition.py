"""Figure 6 [proposed, docs/theory.md §6; after the paper's Result 3]: the SE error decomposition along n_eff.

For one λ = d^ℓ schedule (λ = 1/d by default), against n_eff: the overfitting part (second moment
of the learned noise bulk), the underfitting part (energy of the unlearned target directions),
the approximation error on the learned features, and minus the cross term (the bulk's partial
alignment with the target, which the three-part form of the decomposition leaves out; see
:mod:`shallowscaling.spectra.decomposition`). The four add up to the SE excess risk (black line);
dots are the simulated excess risk; red crosses mark a point whose fits (on the dots) or SE (on the
black line) did not all converge. One column per d, one row per (γ, Δ); means over replicates
(the diagonal SE is evaluated on each replicate's θ*). A part is not drawn where its mean is
exactly zero (no learned feature, hence no approximation error) or, for minus the cross term,
not positive: a log axis has no place for them, and a line dropping to its bottom edge would
read as a tiny value.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd

from .style import (
    MIN_WIDTH,
    apply_style,
    bottom_legend,
    lam_label,
    log_axes,
    mark_not_converged,
    n_eff_label,
    noise_combos,
    not_converged_entry,
    risk_label,
)

__all__ = ["PART_STYLES", "draw_fig6"]

#: (column, label, colour, line style) of each part.
PART_STYLES = (
    ("overfitting", "overfitting (bulk second moment)", "#D55E00", "-"),
    ("underfitting", "underfitting (unlearned target)", "#0072B2", "-"),
    ("approximation", "approximation (learned features)", "#009E73", "-"),
    ("minus_cross", "− cross term (bulk–target alignment)", "#999999", "--"),
)


def _schedule(table: pd.DataFrame, lam_exponent: float | None) -> float:
    ells = sorted(table["lam_exponent"].unique())
    if lam_exponent is None:
        return float(ells[0])
    if not any(math.isclose(e, lam_exponent) for e in ells):
        raise ValueError(f"λ = d^{lam_exponent:g} is not in the table (schedules: {', '.join(f'{e:g}' for e in ells)})")
    return float(lam_exponent)


def draw_fig6(table: pd.DataFrame, model: str, lam_exponent: float | None = None) -> plt.Figure:
    """Build Figure 6 for one model from the ``spectra`` table (default: the smallest ℓ in it)."""
    apply_style()
    table = table[table["model"] == model]
    ell = _schedule(table, lam_exponent)
    table = table[(table["lam_exponent"] - ell).abs() < 1e-9].assign(minus_cross=lambda t: -t["cross"])
    combos = noise_combos(table)
    dims = sorted(table["d"].unique())
    fig, axes = plt.subplots(
        len(combos), len(dims), figsize=(max(3.2 * len(dims), MIN_WIDTH), 2.9 * len(combos) + 0.9), squeeze=False
    )
    for row, (gamma, noise) in enumerate(combos):
        for col, d in enumerate(dims):
            ax = axes[row, col]
            part = table[(table["gamma"] == gamma) & (table["noise"] == noise) & (table["d"] == d)]
            means = part.groupby("n_eff", sort=True).agg(
                {**{c: "mean" for c, *_ in PART_STYLES}, "se_excess_risk": "mean", "excess_risk": "mean"}
            )
            ok = part.groupby("n_eff", sort=True)["converged"].all()
            se_ok = part.groupby("n_eff", sort=True)["se_converged"].all()
            for column, label, color, style in PART_STYLES:
                ax.plot(means.index, means[column].where(means[column] > 0), style, color=color, label=label)
            ax.plot(means.index, means["se_excess_risk"], "-", color="black", lw=1.6, label="SE excess risk (sum)")
            ax.plot(means.index[ok], means["excess_risk"][ok], "o", color="black", mfc="none", label="simulation")
            if (~ok).any():
                mark_not_converged(ax, means.index[~ok], means["excess_risk"][~ok])
            if (~se_ok).any():
                mark_not_converged(ax, means.index[~se_ok], means["se_excess_risk"][~se_ok])
            log_axes(ax)
            ax.set_xlabel(n_eff_label(model))
            ax.set_title(f"d = {d}, {lam_label(ell)}")
            if col == 0:
                ax.set_ylabel(f"{risk_label(model)} and its parts\n(γ = {gamma:g}, Δ = {noise:g})")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    flagged = not table[["converged", "se_converged"]].astype(bool).all(axis=None)
    handle, label = not_converged_entry(flagged)
    handles.append(handle)
    labels.append(label)
    bottom_legend(fig, handles, labels, ncol=4)
    name = "quadratic network" if model == "quadratic" else "diagonal network"
    fig.suptitle(
        f"Figure 6 (proposed; paper Result 3), {name}: overfitting + underfitting + approximation + cross = SE risk"
    )
    return fig
