"""Figure 8 [proposed, docs/theory.md §6; paper Corollary 2]: post-training pruning against n_eff.

At weak λ (λ = 1/d in the study), each risk divided by the SE risk of ERM at the optimal λ (so 1,
the grey line, is what tuning λ would give; below 1 beats it), on a linear axis cut at 5 (points
above, the diagonal interpolation peak, are arrows under the top edge): the trained
weights (dots), the same weights pruned at Corollary 2's 2δ − λε (crosses; diagonal: at the SE
noise edge δ√(2 log d) − t), cleaned with δ̂ estimated from the data alone (open triangles:
quadratic, the rotation-invariant estimator :func:`shallowscaling.spectra.pruning.clean_matrix`
with δ̂ from the spectrum; diagonal, the re-threshold chosen by SURE,
:func:`shallowscaling.spectra.pruning.sure_edge`, its δ̂ from the training residuals,
:func:`shallowscaling.spectra.bulk.estimate_noise_from_residuals`, or from θ̂ alone near
interpolation), the SE risk of the cleaned estimator (line) and the Bayes-optimal SE risk
(dashed). Five series and the reference, so that each stays readable; the table also holds the
risks after pruning at the empirical edge, at the SE-tuned cut and at the SE free-convolution
edge, cleaning with the SE δ, and their SE curves, not drawn. Ratios are taken per replicate,
then averaged, with standard errors. Red crosses mark what did not converge: the fits (on the
trained weights' dots), the SE (on the cleaned SE curve), the Bayes-optimal SE (on its curve) and
the optimal-λ SE (on the line 1, since it divides every ratio at that n). One column per d,
one row per (γ, Δ).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import (
    MIN_WIDTH,
    apply_style,
    bottom_legend,
    label_log_axis,
    lam_label,
    legend_entries,
    mark_not_converged,
    n_eff_label,
    noise_combos,
    not_converged_entry,
)

__all__ = ["draw_fig8"]

#: (column, label, marker, colour, filled) of the simulated estimators; the second entry is the
#: SE-edge pruning of each model (Corollary 2's 2δ − λε; the diagonal noise edge δ√(2 log d) − t).
SIMULATED = {
    "quadratic": (
        ("excess_risk", "trained weights", "o", "#000000", True),
        ("pruned_2delta_excess_risk", "pruned at 2δ − λε (Corollary 2)", "x", "#CC79A7", True),
        ("cleaned_empirical_excess_risk", "cleaned (RIE), δ̂ from the spectrum", "^", "#D55E00", False),
    ),
    "diagonal": (
        ("excess_risk", "trained weights", "o", "#000000", True),
        ("pruned_se_excess_risk", "pruned at the SE noise edge", "x", "#CC79A7", True),
        ("cleaned_empirical_excess_risk", "cleaned (SURE cut), δ̂ from the residuals", "^", "#D55E00", False),
    ),
}
#: (column, label, colour, line style) of the SE curves.
THEORY = (
    ("se_cleaned_excess_risk", "SE, cleaned", "#D55E00", "-"),
    ("bayes_excess_risk", "Bayes-optimal SE", "#000000", "--"),
)
#: The denominator of every ratio: the ERM SE risk at the optimal λ.
REFERENCE = "optimal_excess_risk"
#: Top of the ratio axis: the diagonal interpolation peak reaches 10–30 and would flatten every
#: other point against 1; values above are drawn as arrows under the top edge.
RATIO_CAP = 5.0
#: Marker of an off-scale mean: an arrow, unlike every estimator's marker.
OFF_SCALE = r"$\uparrow$"


def _sem(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def draw_fig8(table: pd.DataFrame, model: str) -> plt.Figure:
    """Build Figure 8 for one model from the ``pruning`` table."""
    apply_style()
    table = table[table["model"] == model]
    combos = noise_combos(table)
    dims = sorted(table["d"].unique())
    fig, axes = plt.subplots(
        len(combos), len(dims), figsize=(max(3.3 * len(dims), MIN_WIDTH), 2.9 * len(combos) + 0.9), squeeze=False
    )
    flagged = capped = False
    for row, (gamma, noise) in enumerate(combos):
        for col, d in enumerate(dims):
            ax = axes[row, col]
            part = table[(table["gamma"] == gamma) & (table["noise"] == noise) & (table["d"] == d)]
            ratios = part.assign(**{c: part[c] / part[REFERENCE] for c, *_ in (*SIMULATED[model], *THEORY)})
            grouped = ratios.groupby("n_eff", sort=True)
            ax.axhline(1.0, color="#8C8C8C", lw=1.0, zorder=0, label="1 = ERM SE at the optimal λ")
            for column, label, marker, color, filled in SIMULATED[model]:
                means = grouped[column].mean()
                if not np.isfinite(means).any():
                    continue
                ax.errorbar(
                    means.index, means, yerr=grouped[column].agg(_sem), fmt=marker, color=color,
                    mfc=color if filled else "none", capsize=2, ls="none", label=label,
                )  # fmt: skip
            for column, label, color, style in THEORY:
                means = grouped[column].mean()
                if np.isfinite(means).any():
                    ax.plot(means.index, means, style, color=color, label=label)
            means = grouped[[c for c, *_ in SIMULATED[model]]].mean()
            if (means.to_numpy() > RATIO_CAP).any():
                capped = True
                for column, *_, color, _ in SIMULATED[model]:
                    above = means.index[means[column] > RATIO_CAP]
                    # Just under the top edge, inside the frame: above it they would touch the title.
                    ax.plot(
                        above,
                        np.full(len(above), 0.96 * RATIO_CAP),
                        marker=OFF_SCALE,
                        color=color,
                        ms=9,
                        ls="none",
                        zorder=6,
                    )
            ax.set_ylim(0.0, min(RATIO_CAP, ax.get_ylim()[1]))
            # Crosses on what did not converge: the trained weights (the fit), the SE curves, and the
            # reference line 1 where the optimal-λ SE (every ratio's denominator) did not.
            for flag, column in (("converged", "excess_risk"), ("se_converged", "se_cleaned_excess_risk"),
                                 ("bayes_converged", "bayes_excess_risk"), ("optimal_converged", None)):  # fmt: skip
                if flag not in part:
                    continue  # a table written before the column existed
                ok = grouped[flag].all()
                if (~ok).any():
                    flagged = True
                    y = grouped[column].mean() if column else pd.Series(1.0, index=ok.index)
                    mark_not_converged(ax, y.index[~ok], np.minimum(y[~ok], 0.96 * RATIO_CAP), ms=8)
            ax.set_xscale("log")
            label_log_axis(ax.xaxis)
            ax.set_xlabel(n_eff_label(model))
            ells = part["lam_exponent"].unique()
            ax.set_title(f"d = {d}, {lam_label(ells[0])}" if len(ells) == 1 else f"d = {d}")
            if col == 0:
                ax.set_ylabel(f"R / R_SE(optimal λ)\n(γ = {gamma:g}, Δ = {noise:g})")
    labels = legend_entries(axes.flat)
    if capped:
        labels[f"above {RATIO_CAP:g} (off scale)"] = plt.Line2D([], [], marker=OFF_SCALE, color="grey", ls="none", ms=9)
    handle, label = not_converged_entry(flagged)
    labels[label] = handle
    bottom_legend(fig, list(labels.values()), list(labels), ncol=4)
    name = "quadratic network (prune eig Ŝ)" if model == "quadratic" else "diagonal network (re-threshold θ̂)"
    fig.suptitle(f"Figure 8 (proposed; paper Corollary 2), {name}: risk after pruning, relative to optimal-λ ERM")
    return fig
