"""Figure 8 [proposed, spec §6; paper Corollary 2]: post-training pruning against n_eff.

At weak λ (λ = 1/d in the study), the excess risk of the trained weights (dots) and of the same
weights pruned at Corollary 2's 2δ − λε (crosses, quadratic), at the bulk edge estimated from
the spectrum alone (open squares), at the SE-tuned cut (open diamonds,
:func:`shallowscaling.spectra.decomposition.tune_quadratic_threshold`), and cleaned by the
rotation-invariant estimator (quadratic, :func:`shallowscaling.spectra.pruning.clean_matrix`)
with the SE δ (filled triangles) and with δ̂ from the spectrum alone (open triangles); lines:
the SE risk of the cleaned estimator and of the estimator pruned at the tuned cut, the ERM SE
risk at the optimal λ, and the Bayes-optimal SE risk (dashed) where computed. (Diagonal: the SE
noise edge δ√(2 log d) − t replaces 2δ − λε, and the cleaning is the re-threshold chosen by SURE,
:func:`shallowscaling.spectra.pruning.sure_edge`, its δ̂ from the training residuals,
:func:`shallowscaling.spectra.bulk.estimate_noise_from_residuals`, or from θ̂ alone near
interpolation.) The table also holds
the quadratic risk after pruning at the SE free-convolution bulk edge (``pruned_se_excess_risk``),
not drawn: at these d that edge lies among the learned features.
Means over replicates with standard errors. One column per d, one row per (γ, Δ).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from .fig3 import lam_label
from .style import NOT_CONVERGED_COLOR, apply_style

__all__ = ["draw_fig8"]

#: (column, label, marker, colour, filled) of the simulated estimators; the second entry is the
#: SE-edge pruning of each model (Corollary 2's 2δ − λε; the diagonal noise edge δ√(2 log d) − t).
SIMULATED = {
    model: (
        ("excess_risk", "trained weights", "o", "#000000", True),
        edge,
        ("pruned_empirical_excess_risk", "pruned at the empirical edge", "s", "#0072B2", False),
        ("pruned_tuned_excess_risk", "pruned at the SE-tuned cut", "D", "#009E73", False),
        ("cleaned_se_excess_risk", f"cleaned ({cleaning}), SE δ", "^", "#D55E00", True),
        ("cleaned_empirical_excess_risk", f"cleaned ({cleaning}), δ̂ from the {source}", "^", "#E69F00", False),
    )
    for model, edge, cleaning, source in (
        (
            "quadratic",
            ("pruned_2delta_excess_risk", "pruned at 2δ − λε (Corollary 2)", "x", "#CC79A7", True),
            "RIE",
            "spectrum",
        ),
        (
            "diagonal",
            ("pruned_se_excess_risk", "pruned at the SE noise edge", "x", "#CC79A7", True),
            "SURE cut",
            "residuals (θ̂ alone for n ≲ d)",
        ),
    )
}
#: (column, label, colour, line style) of the SE curves.
THEORY = (
    ("se_cleaned_excess_risk", "SE, cleaned", "#D55E00", "-"),
    ("se_tuned_pruned_excess_risk", "SE, pruned at the tuned cut", "#009E73", ":"),
    ("optimal_excess_risk", "ERM SE at the optimal λ", "#56B4E9", "-"),
    ("bayes_excess_risk", "Bayes-optimal SE", "#000000", "--"),
)


def _sem(values: pd.Series) -> float:
    values = values.dropna()
    return float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else 0.0


def draw_fig8(table: pd.DataFrame, model: str) -> plt.Figure:
    """Build Figure 8 for one model from the ``pruning`` table."""
    apply_style()
    table = table[table["model"] == model]
    combos = table[["gamma", "noise"]].drop_duplicates().sort_values(["gamma", "noise"]).to_numpy()
    dims = sorted(table["d"].unique())
    fig, axes = plt.subplots(len(combos), len(dims), figsize=(3.3 * len(dims), 2.9 * len(combos) + 0.9), squeeze=False)
    for row, (gamma, noise) in enumerate(combos):
        for col, d in enumerate(dims):
            ax = axes[row, col]
            part = table[(table["gamma"] == gamma) & (table["noise"] == noise) & (table["d"] == d)]
            grouped = part.groupby("n_eff", sort=True)
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
            bad = grouped["converged"].all()
            if (~bad).any():
                risk = grouped["excess_risk"].mean()
                ax.plot(risk.index[~bad], risk[~bad], "x", color=NOT_CONVERGED_COLOR, ms=8, mew=1.5)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())
            ax.yaxis.set_minor_formatter(NullFormatter())
            ax.set_xlabel("n_eff = n/d" if model == "quadratic" else "n_eff = n")
            ells = part["lam_exponent"].unique()
            ax.set_title(f"d = {d}, {lam_label(ells[0])}" if len(ells) == 1 else f"d = {d}")
            if col == 0:
                risk_name = "excess risk R = 2 mse_S" if model == "quadratic" else "excess risk R"
                ax.set_ylabel(f"{risk_name}\n(γ = {gamma:g}, Δ = {noise:g})")
    labels: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            labels.setdefault(label, handle)
    fig.legend(list(labels.values()), list(labels), loc="lower center", ncol=4, frameon=False)
    name = "quadratic network (prune eig Ŝ)" if model == "quadratic" else "diagonal network (re-threshold θ̂)"
    fig.suptitle(
        f"Figure 8 (proposed, spec §6; paper Corollary 2), {name}:\n"
        "pruning or cleaning the trained weights vs optimal-λ ERM and Bayes-optimal"
    )
    fig.tight_layout(rect=(0, 0.16, 1, 0.92))
    return fig
