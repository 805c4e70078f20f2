"""Heavy-tailed self-regularisation: Figure 7 and the plot of ``shallowscaling spectrum --plot``.

Figure 7 [proposed, docs/theory.md §6]: the HT-SR (WeightWatcher) tail exponent α̂ of every trained network
of the sweep against its excess risk, coloured by the paper phase of its (n_eff, λ) and marked by
λ schedule, with the fit's standard error of α̂ as a horizontal bar (it is often as large as the
spread between phases); non-converged fits are crossed in red; the vertical line is the
prediction α = 1 + 1/γ for the learned power law (docs/theory.md §4) and the band 2 ≤ α ≤ 6 is
WeightWatcher's "well-trained" range. Points without a tail fit are counted in the panel.

:func:`draw_spectrum_fit` draws one spectrum with its fit: the empirical complementary CDF of the
non-zero eigenvalues on log–log axes, the fitted power law above x_min, the bulk edge and the
outliers.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FixedLocator, FormatStrFormatter, NullFormatter

from ..spectra.summary import SpectrumSummary
from ..spectra.tail import DEFAULT_RELATIVE_CUT, PowerLawTailFit
from .style import (
    MIN_WIDTH,
    PHASE_COLORS,
    apply_style,
    bottom_legend,
    label_log_axis,
    lam_label,
    mark_not_converged,
    not_converged_entry,
    risk_label,
)

__all__ = ["PHASE_COLORS", "draw_fig7", "draw_spectrum_fit"]

LAM_MARKERS = ("o", "s", "^", "D", "v", "P")
#: Major ticks of the α̂ axis in order of priority: WeightWatcher's band edges first, then the
#: values HT-SR reads; :func:`_alpha_ticks` keeps those that leave room for their labels.
ALPHA_TICKS = (2.0, 6.0, 4.0, 10.0, 3.0, 1.5, 20.0, 40.0, 1.25, 2.5, 1.75, 60.0)
#: Most labelled α̂ ticks in one panel: a 3.4-inch panel holds about seven "1.75"-wide labels.
MAX_ALPHA_LABELS = 7


def _alpha_ticks(lo: float, hi: float) -> list[float]:
    """Ticks of :data:`ALPHA_TICKS` inside [lo, hi], by priority, each ≥ 1/7 of the log range from the others."""
    gap = math.log(hi / lo) / MAX_ALPHA_LABELS
    chosen: list[float] = []
    for tick in ALPHA_TICKS:
        if lo <= tick <= hi and all(abs(math.log(tick / other)) >= gap for other in chosen):
            chosen.append(tick)
    return sorted(chosen)


def draw_fig7(table: pd.DataFrame, model: str) -> plt.Figure:
    """Build Figure 7 for one model from the ``spectra`` table: one panel per (d, γ, Δ)."""
    apply_style()
    table = table[table["model"] == model]
    panels = table[["d", "gamma", "noise"]].drop_duplicates().sort_values(["gamma", "noise", "d"]).to_numpy()
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(3.4 * ncols, MIN_WIDTH), 3.0 * nrows + 0.9), squeeze=False)
    ells = sorted(table["lam_exponent"].unique())
    flagged = False
    for i, (d, gamma, noise) in enumerate(panels):
        ax = axes.flat[i]
        part = table[(table["d"] == d) & (table["gamma"] == gamma) & (table["noise"] == noise)]
        fitted = part[np.isfinite(part["tail_exponent"]) & (part["excess_risk"] > 0)]
        ax.axvspan(2.0, 6.0, color="#E0E0E0", alpha=0.5, lw=0)
        for j, ell in enumerate(ells):
            for phase, group in fitted[fitted["lam_exponent"] == ell].groupby("rate_phase", sort=True):
                ax.errorbar(
                    group["tail_exponent"], group["excess_risk"], xerr=group["tail_exponent_se"].fillna(0.0),
                    fmt=LAM_MARKERS[j % len(LAM_MARKERS)], color=PHASE_COLORS.get(phase, "#666666"), mfc="none",
                    ls="none", elinewidth=0.6, capsize=0, alpha=0.85,
                )  # fmt: skip
        bad = fitted[~fitted["converged"].astype(bool)]
        if not bad.empty:
            flagged = True
            mark_not_converged(ax, bad["tail_exponent"], bad["excess_risk"])
        ax.axvline(1.0 + 1.0 / gamma, color="black", ls="--", lw=1.0)
        missing = len(part) - len(fitted)
        if missing:
            ax.text(0.97, 0.04, f"{missing} without a tail fit", transform=ax.transAxes, ha="right", fontsize=7)
        ax.set_xscale("log")
        ax.set_yscale("log")
        # α̂ mostly spans less than a decade, where a log axis has no major tick: label it in plain
        # numbers at the values HT-SR reads (α = 2 and 6 bound WeightWatcher's band), as many as fit.
        ax.xaxis.set_major_locator(FixedLocator(_alpha_ticks(*ax.get_xlim())))
        ax.xaxis.set_major_formatter(FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        label_log_axis(ax.yaxis)
        ax.set_xlabel("HT-SR tail exponent α̂")
        ax.set_ylabel(risk_label(model))
        ax.set_title(f"d = {int(d)}, γ = {gamma:g}, Δ = {noise:g}")
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], color="black", ls="--"), plt.Rectangle((0, 0), 1, 1, color="#E0E0E0")]
    labels = ["α = 1 + 1/γ (learned power law)", "2 ≤ α ≤ 6 (WeightWatcher: well trained)"]
    present = sorted(set(table["rate_phase"]), key=lambda p: list(PHASE_COLORS).index(p) if p in PHASE_COLORS else 99)
    for phase in present:
        handles.append(plt.Line2D([], [], marker="o", color=PHASE_COLORS.get(phase, "#666666"), ls="none"))
        labels.append(f"phase {phase}")
    for j, ell in enumerate(ells):
        handles.append(
            plt.Line2D([], [], marker=LAM_MARKERS[j % len(LAM_MARKERS)], color="grey", mfc="none", ls="none")
        )
        labels.append(lam_label(ell))
    handles.append(plt.Line2D([], [], color="grey", lw=0.6))
    labels.append("± standard error of α̂")
    handle, label = not_converged_entry(flagged)
    handles.append(handle)
    labels.append(label)
    bottom_legend(fig, handles, labels, ncol=4)
    name = "quadratic network (eig Ŝ)" if model == "quadratic" else "diagonal network (|θ̂|)"
    fig.suptitle(f"Figure 7 (proposed, docs/theory.md §6), {name}: HT-SR tail exponent α̂ vs excess risk")
    return fig


def draw_spectrum_fit(
    eigenvalues: np.ndarray, summary: SpectrumSummary, tail: PowerLawTailFit, title: str = ""
) -> plt.Figure:
    """Empirical CCDF of the non-zero eigenvalues with the power-law fit, bulk edge and outliers."""
    apply_style()
    values = np.sort(np.asarray(eigenvalues, dtype=float))[::-1]
    top = float(values[0]) if values.size else 0.0
    nonzero = values[values > DEFAULT_RELATIVE_CUT * top] if top > 0 else values[:0]
    fig, ax = plt.subplots(figsize=(5.0, 3.8))
    if nonzero.size:
        ccdf = np.arange(1, nonzero.size + 1) / nonzero.size
        ax.step(nonzero, ccdf, where="post", color="#0072B2", label=f"non-zero eigenvalues ({nonzero.size})")
        ax.set_xscale("log")
        ax.set_yscale("log")
    if tail.n_tail > 0 and math.isfinite(tail.tail_exponent):
        x = np.geomspace(tail.xmin, top, 100)
        share = tail.n_tail / nonzero.size
        label = f"power law α̂ = {tail.tail_exponent:.2f} ± {tail.tail_exponent_se:.2f} (x ≥ x_min)"
        ax.plot(x, share * (x / tail.xmin) ** (1.0 - tail.tail_exponent), "--", color="#D55E00", label=label)
        ax.axvline(tail.xmin, color="#D55E00", ls=":", lw=0.9, label=f"x_min = {tail.xmin:.3g}")
    if summary.bulk_edge > 0:
        ax.axvline(summary.bulk_edge, color="black", ls="-.", lw=0.9, label=f"bulk edge {summary.bulk_edge:.3g}")
    if summary.n_outliers and nonzero.size:
        ax.plot(nonzero[: summary.n_outliers], np.full(summary.n_outliers, 1.0 / nonzero.size), "^", color="#009E73",
                ls="none", label=f"{summary.n_outliers} outlier(s)")  # fmt: skip
    ax.set_xlabel("eigenvalue x")
    ax.set_ylabel("fraction of non-zero eigenvalues ≥ x")
    ax.set_title(title or f"phase: {summary.phase}")
    ax.legend(loc="lower left", frameon=False)
    return fig
