"""Paper Figure 2: spectra of the trained weights per phase against the SE prediction (docs/theory.md §4, §6).

Panels follow the paper: the under-regularised phases Ia, IV, VIa at weak λ (the smaller of the
two λ = d^ℓ schedules in the table, λ = 1/d by default) on the top row, the over-regularised
phases Ib, II, III at strong λ (the larger, λ = √d) on the bottom row. In each panel: the
histogram of the non-zero learned eigenvalues (eig Ŝ, or |θ̂| for the diagonal network), pooled
over replicates and normalised per unit of d so that its area is the non-zero fraction (the
Dirac mass at zero is omitted, as in the paper, and given in the axis label); the SE density of
the non-zero part (line); the SE outlier positions s_i + δ²/s_i − λε (ticks, quadratic); the SE
(dashed) and empirical (dotted) bulk edges — the noise edge δ√(2 log d) − λε for the diagonal network. The x axis
covers the data, the SE support (where the density exceeds 10⁻³ of its peak), the outliers and
the edges; when these span more than a factor 30 it is logarithmic, and densities are then per
unit of ln x (x·ρ(x)), so that areas still read as mass. A panel whose fits (of some replicates)
or SE did not converge carries a red cross in its corner saying which; the legend lists the cross.

The point shown for a phase is the median sample size of the sweep that falls in it
(:func:`shallowscaling.rates.classify_phase`), the largest one in Ib (the only one with learned
spikes at finite d), or the extra point of config ``spectra.fig2`` for that phase, whose d and γ
the panel title gives (phase III needs ℓ > γ − ½ and κ > γ + ℓ + ½: a smaller γ opens it at a
small d). A phase that no point reaches is said so in its panel, with the condition it needs.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from ..spectra.tail import DEFAULT_RELATIVE_CUT
from .style import (
    D_COLORS,
    NOT_CONVERGED_COLOR,
    apply_style,
    bottom_legend,
    lam_label,
    legend_entries,
    mark_not_converged,
    not_converged_entry,
)

__all__ = ["PANEL_PHASES", "PHASE_CONDITIONS", "UNREACHABLE", "draw_fig2", "select_phase_points"]

#: (row of weak λ, row of strong λ), as in the paper's Figure 2.
PANEL_PHASES = (("Ia", "IV", "VIa"), ("Ib", "II", "III"))
#: Where each phase lies, in κ = log_d n_eff and ℓ = log_d λ (docs/theory.md §3).
PHASE_CONDITIONS = {
    "Ia": "κ < 0 (n_eff < 1)",
    "IV": "0 < κ < 1 and ℓ < (κ − 1)/2",
    "VIa": "1 < κ < 2γ and ℓ < (κ − 1)/2",
    "Ib": "ℓ > κ − ½ (λ > n_eff/√d)",
    "II": "max((κ − 1)/2, κ − γ − ½) < ℓ < κ − ½",
    "III": "κ > γ + ℓ + ½ and ℓ > (κ − 1)/2",
}


#: Why a phase has no point for a model whatever the config (drawn in its panel instead).
UNREACHABLE = {("diagonal", "Ia"): "unreachable for the diagonal network:\nn_eff = n ≥ 1 gives κ ≥ 0"}


def select_phase_points(table: pd.DataFrame) -> dict[str, tuple[int, float, float, int] | None]:
    """For every phase of :data:`PANEL_PHASES`, the (d, γ, ℓ, n) drawn, or None if it is not reached.

    ``table`` holds one row (or more) per point with columns ``d``, ``gamma``, ``lam_exponent``,
    ``n`` and ``rate_phase``; its first row's d is the sweep's, any other d is an extra point
    (config ``spectra.fig2``, whose d lie outside the sweep). An extra point in a phase is drawn
    in that phase's panel. Otherwise weak-λ phases are looked for at the sweep's smallest ℓ,
    strong-λ ones at its largest; the point is the median n (the upper one of an even count),
    except in Ib, where it is the largest n: nearest the boundary ℓ = κ − ½, the only place where
    the learned spectrum is not all zeros (a few spikes) at finite d.
    """
    if table.empty:
        return {phase: None for phases in PANEL_PHASES for phase in phases}
    main_d = int(table["d"].iloc[0])
    main = table[table["d"] == main_d]
    extra = table[table["d"] != main_d]
    ells = sorted(main["lam_exponent"].unique())
    chosen: dict[str, tuple[int, float, float, int] | None] = {}
    for row, phases in enumerate(PANEL_PHASES):
        ell = (ells[0] if row == 0 else ells[-1]) if ells and (row == 0 or len(ells) > 1) else None
        for phase in phases:
            own = extra[extra["rate_phase"] == phase]
            if not own.empty:
                first = own.iloc[0]
                chosen[phase] = (int(first["d"]), float(first["gamma"]), float(first["lam_exponent"]), int(first["n"]))
                continue
            if ell is None:
                chosen[phase] = None
                continue
            sweep = main[(main["lam_exponent"] == ell) & (main["rate_phase"] == phase)]
            ns = sorted(int(n) for n in sweep["n"].unique())
            if not ns:
                chosen[phase] = None
                continue
            n = ns[-1] if phase == "Ib" else ns[len(ns) // 2]
            chosen[phase] = (main_d, float(sweep["gamma"].iloc[0]), float(ell), n)
    return chosen


#: A spectrum whose non-zero values span more than this ratio is drawn on a log x axis.
LOG_SPAN = 30.0
#: The SE density is drawn (and sets the x range) where it exceeds this fraction of its peak: the
#: tabulated grid runs far past the support, and its tail would squeeze the data to one side.
DENSITY_FLOOR = 1e-3


SE_KINDS = ("se_density", "se_outlier", "se_edge")
#: A marked panel's y range grows by this factor: its top band holds the cross and its line.
HEADROOM = 1.3


def _mark_panel(ax, rows: pd.DataFrame) -> bool:
    """A red cross in the panel's corner, saying what did not converge: some replicates' fits, the SE.

    Returns whether the panel is marked. A table without ``converged`` (written before it had
    one) marks nothing.
    """
    if "converged" not in rows:
        return False
    ok = rows["converged"].astype(bool)
    eig = rows["kind"] == "eigenvalue"
    bad_fits = rows.loc[eig & ~ok, "replicate"].nunique()
    bad_se = bool((rows["kind"].isin(SE_KINDS) & ~ok).any())
    if not bad_fits and not bad_se:
        return False
    n_reps = max(rows.loc[eig, "replicate"].nunique(), 1)
    what = " and ".join(
        [*([f"fits of {bad_fits}/{n_reps} replicates"] if bad_fits else []), *(["SE"] if bad_se else [])]
    )
    # Headroom above the data for the cross and its line, so that neither covers a bar or a curve.
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, bottom + HEADROOM * (top - bottom))
    mark_not_converged(ax, [0.97], [0.93], transform=ax.transAxes, clip_on=False)
    ax.text(
        0.94, 0.93, f"{what} not converged", transform=ax.transAxes, ha="right", va="center", fontsize=7,
        color=NOT_CONVERGED_COLOR, bbox={"facecolor": "white", "alpha": 0.85, "lw": 0, "pad": 1.0},
    )  # fmt: skip
    return True


def _draw_panel(ax, rows: pd.DataFrame, model: str, color: str) -> None:
    eig = rows[rows["kind"] == "eigenvalue"]
    values = eig["x"].to_numpy()
    n_reps = max(int(eig["replicate"].nunique()), 1)
    d = int(rows["d"].iloc[0])
    top = float(values.max(initial=0.0))
    nonzero = values[values > DEFAULT_RELATIVE_CUT * top] if top > 0 else values[:0]
    if nonzero.size == 0:
        ax.text(0.5, 0.5, "every learned weight is zero\n(rank collapse)", transform=ax.transAxes, ha="center")
        ax.set_xticks([])
        ax.set_yticks([])
        return
    curve = rows[rows["kind"] == "se_density"].sort_values("x")
    curve = curve[(curve["x"] > 0) & (curve["density"] > DENSITY_FLOOR * curve["density"].max())]
    outliers = rows[rows["kind"] == "se_outlier"]["x"].to_numpy()
    edges_x = {kind: rows[rows["kind"] == kind]["x"].to_numpy(dtype=float) for kind in ("se_edge", "empirical_edge")}
    edges_x = {kind: float(x[np.isfinite(x)].mean()) for kind, x in edges_x.items() if np.isfinite(x).any()}
    edges_x = {kind: x for kind, x in edges_x.items() if x > 0}
    # The x range covers what is drawn: the data, the SE support, its outliers and the edges.
    shown = np.concatenate([nonzero, curve["x"].to_numpy(), outliers[outliers > 0], list(edges_x.values())])
    lo, hi = float(shown.min()), float(shown.max())
    log_x = hi / lo > LOG_SPAN
    if log_x:
        # Per unit of ln x (x·ρ(x)): on a log axis this keeps areas equal to mass.
        bins = np.geomspace(lo / 1.05, hi * 1.05, 41)
        widths = np.diff(np.log(bins))
        scale = curve["x"].to_numpy()
    else:
        bins = np.linspace(0.0, hi * 1.02, 41)
        widths = np.diff(bins)
        scale = np.ones(len(curve))
    counts, bin_edges = np.histogram(nonzero, bins=bins)
    ax.stairs(counts / (d * n_reps * widths), bin_edges, fill=True, color=color, alpha=0.45, label="trained")
    ax.plot(curve["x"], curve["density"].to_numpy() * scale, "-", color="black", lw=1.1, label="SE density")
    if outliers.size:
        ax.plot(outliers, np.zeros_like(outliers), "^", color="#D55E00", ms=6, clip_on=False, label="SE outliers")
    for kind, style, label in (("se_edge", "--", "SE edge"), ("empirical_edge", ":", "empirical edge")):
        if kind in edges_x:
            ax.axvline(edges_x[kind], ls=style, color="#0072B2", lw=1.0, label=label)
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(bins[0], bins[-1])
    else:
        ax.set_xlim(0.0, bins[-1])
    ax.set_ylim(bottom=0.0)
    # The omitted mass at zero goes in the axis label: inside the frame it would cover data.
    what = "eigenvalue x of Ŝ" if model == "quadratic" else "x = |θ̂_i|"
    zero = 1.0 - nonzero.size / max(values.size, 1)
    ax.set_xlabel(f"{what} (mass {zero:.2f} at 0 omitted)")
    ax.set_ylabel("density per unit of ln x, ÷ d" if log_x else "density per unit of x, ÷ d")


def draw_fig2(table: pd.DataFrame, model: str) -> plt.Figure:
    """Build Figure 2 for one model from the ``fig2`` table (the density tables of two sweeps)."""
    apply_style()
    table = table[table["model"] == model]
    chosen = select_phase_points(table)
    fig, axes = plt.subplots(2, 3, figsize=(10.0, 6.2), squeeze=False)
    d = int(table["d"].iloc[0]) if not table.empty else 0
    gamma = float(table["gamma"].iloc[0]) if not table.empty else float("nan")
    ells = sorted(table[table["d"] == d]["lam_exponent"].unique())
    flagged = False
    for row, phases in enumerate(PANEL_PHASES):
        for col, phase in enumerate(phases):
            ax = axes[row, col]
            pick = chosen[phase]
            if pick is None:
                ell = (ells[0] if row == 0 else ells[-1]) if ells else None
                where = lam_label(ell) if ell is not None else "no sweep"
                note = UNREACHABLE.get(
                    (model, phase),
                    f"not reached at d = {d}, {where}\nby the configured n_eff grid;\nneeds {PHASE_CONDITIONS[phase]}",
                )
                ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=7)
                ax.set_title(f"phase {phase}")
                ax.set_xticks([])
                ax.set_yticks([])
                continue
            d_point, gamma_point, ell, n = pick
            rows = table[(table["d"] == d_point) & (table["lam_exponent"] == ell) & (table["n"] == n)]
            rows = rows[rows["gamma"] == gamma_point]
            _draw_panel(ax, rows, model, D_COLORS[col])
            flagged = _mark_panel(ax, rows) or flagged
            title = f"phase {phase}: n_eff = {float(rows['n_eff'].iloc[0]):.3g}, {lam_label(ell)}"
            if d_point != d:
                # An extra point (config spectra.fig2): its own d and γ, said in the title.
                title += f"\nextra point: d = {d_point}, γ = {gamma_point:g}"
            ax.set_title(title)
    handles = legend_entries(axes.flat)
    labels = {label: label for label in handles}
    if "trained" in handles:
        # The histograms take their column's colour; the legend shows one neutral patch so that
        # its colour matches every panel's meaning, not one panel's hue.
        handles["trained"] = Patch(facecolor="0.6", alpha=0.45)
        labels["trained"] = "trained (histogram; colour by column)"
    # Always listed, so that a figure without crosses says every drawn fit and SE converged.
    handle, label = not_converged_entry(flagged)
    handles[label], labels[label] = handle, label
    bottom_legend(fig, list(handles.values()), list(labels.values()), ncol=5)
    what = "eig Ŝ of the quadratic network" if model == "quadratic" else "|θ̂| of the diagonal network"
    noise = float(table["noise"].iloc[0]) if not table.empty else float("nan")
    fig.suptitle(f"Paper Figure 2: {what} per phase vs the SE spectrum (d = {d}, γ = {gamma:g}, Δ = {noise:g})")
    return fig
