"""Figure 9: the classic results our machinery reproduces, from a classic table (:mod:`shallowscaling.tasks.classic`).

One panel per ``panel`` of the table, titled with the classic result and its authors. Closed
forms are grey lines, our state evolution open circles, simulations filled dots with
standard-error bars, closed-form thresholds dotted vertical lines; one colour per ρ or κ. Points
that did not converge get a red cross on top: marked, never silently plotted.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .style import (
    D_COLORS,
    MIN_WIDTH,
    REFERENCE_COLOR,
    apply_style,
    bottom_legend,
    label_log_axis,
    mark_not_converged,
    model_title,
    not_converged_entry,
)

__all__ = ["PANEL_TITLES", "draw_fig9"]

#: Panel → (title, x label, y label, log x, log y).
PANEL_TITLES: dict[str, tuple[str, str, str, bool, bool]] = {
    "dmm": ("noiseless LASSO transition\n(Donoho, Maleki & Montanari 2009)", "n/d", "largest recovered sparsity ε_c",
            False, False),
    "ols": ("ridgeless limit λ → 0⁺: OLS risk Δd/(n − d)\n(Hastie, Montanari, Rosset & Tibshirani 2022)", "n/d",
            "excess risk ‖θ̂ − θ*‖²/d", False, True),
    "recovery": ("PSD trace-minimisation threshold\n(Amelunxen, Lotz, McCoy & Tropp 2014)", "rank ratio ρ",
                 "α_c = n/d²", False, False),
    "recovery_fits": ("convex fits at λ → 0⁺ around α_c\n(Amelunxen, Lotz, McCoy & Tropp 2014)", "α = n/d²",
                      "‖Ŝ − S*‖_F / ‖S*‖_F", False, True),
    "wishart": ("Bayes-optimal error, Wishart teacher\n(Maillard, Troiani, Martin, Krzakala & Zdeborová 2024)",
                "α = n/d²", "MMSE ‖Ŝ − S*‖²_F / d", False, False),
    "interpolation": ("pure noise: PSD interpolation peak at n = d(d+1)/4\n(Saunderson, Chandrasekaran, Parrilo "
                      "& Willsky 2012)", "n", "‖Ŝ‖²_F / d (= error, S* = 0)", False, True),
}  # fmt: skip
#: How each series parameter is named in the legend.
PARAMETER_SYMBOLS = {"rank_ratio": "ρ", "width_ratio": "κ", "noise": "Δ"}


def _series(panel: pd.DataFrame) -> list[tuple[str, float]]:
    return sorted({(str(a), float(b)) for a, b in zip(panel["parameter_name"], panel["parameter"], strict=True)})


def _draw_panel(ax, panel: pd.DataFrame, name: str, letter: str) -> bool:
    """Draw one panel; True if any point is flagged not converged."""
    flagged = False
    series = _series(panel)
    coloured = len(series) > 1
    for index, (parameter_name, parameter) in enumerate(series):
        rows = panel[(panel["parameter_name"] == parameter_name) & (panel["parameter"] == parameter)]
        color = D_COLORS[index % len(D_COLORS)] if coloured else "black"
        label = f"{PARAMETER_SYMBOLS.get(parameter_name, parameter_name)} = {parameter:g}" if coloured else None
        if coloured:
            ax.plot([], [], "-", color=color, label=label)  # the legend's colour key
        reference = rows[rows["curve"] == "reference"].sort_values("x")
        ax.plot(reference["x"], reference["y"], "-", color=color if coloured else REFERENCE_COLOR, lw=1.5,
                alpha=0.6, zorder=1)  # fmt: skip
        for _, row in rows[rows["curve"] == "threshold"].iterrows():
            ax.axvline(row["x"], color=color, ls=":", lw=1.2, zorder=1)
        se = rows[rows["curve"] == "se"].sort_values("x")
        ax.plot(se["x"], se["y"], "o", mfc="none", color=color, ms=5, mew=1.2, zorder=3)
        simulation = rows[rows["curve"] == "simulation"].sort_values("x")
        ax.errorbar(simulation["x"], simulation["y"], yerr=simulation["y_se"], fmt="o", color=color, ms=4,
                    capsize=2, zorder=4)  # fmt: skip
        bad = rows[~rows["converged"] & rows["curve"].isin(["se", "simulation"])]
        if not bad.empty:
            mark_not_converged(ax, bad["x"], bad["y"])
            flagged = True
    title, xlabel, ylabel, log_x, log_y = PANEL_TITLES[name]
    ax.set_title(f"({letter}) {title}", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log_x:
        ax.set_xscale("log")
        label_log_axis(ax.xaxis)
    if log_y:
        ax.set_yscale("log")
        label_log_axis(ax.yaxis)
    if coloured:
        ax.legend(loc="best", fontsize=6, frameon=True, framealpha=0.8)
    return flagged


def _curve_entries(table: pd.DataFrame, flagged: bool) -> tuple[list, list[str]]:
    """Legend entries of the curve kinds present, each naming its d."""
    entries = []
    curves = set(table["curve"])

    def dims(curve: str) -> str:
        return ", ".join(str(v) for v in sorted(set(table.loc[table["curve"] == curve, "d"])))

    if "reference" in curves:
        entries.append((plt.Line2D([], [], color=REFERENCE_COLOR, lw=1.5), "closed form"))
    if "threshold" in curves:
        entries.append((plt.Line2D([], [], color="black", ls=":"), "closed-form threshold"))
    if "se" in curves:
        handle = plt.Line2D([], [], marker="o", mfc="none", color="black", ls="none")
        entries.append((handle, f"our state evolution (d = {dims('se')})"))
    if "simulation" in curves:
        handle = plt.Line2D([], [], marker="o", color="black", ls="none")
        entries.append((handle, f"our estimators, mean ± s.e. (d = {dims('simulation')})"))
    entries.append(not_converged_entry(flagged))
    handles, labels = zip(*entries, strict=True)
    return list(handles), list(labels)


def draw_fig9(table: pd.DataFrame, model: str) -> plt.Figure:
    """Figure 9 of ``model`` from its classic table: one panel per ``panel`` value, in table order."""
    apply_style()
    rows = table[table["model"] == model]
    if rows.empty:
        raise ValueError(f"the classic table has no {model} rows; it holds {sorted(set(table['model']))}")
    panels = [name for name in PANEL_TITLES if name in set(rows["panel"])]
    columns = 2
    nrows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(nrows, columns, figsize=(MIN_WIDTH, 3.6 * nrows + 0.6), squeeze=False)
    flagged = False
    for index, (ax, name) in enumerate(zip(axes.flat, panels, strict=False)):
        flagged |= _draw_panel(ax, rows[rows["panel"] == name], name, "abcd"[index])
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    fig.suptitle(f"Figure 9: classic results reproduced, {model_title(model)}")
    bottom_legend(fig, *_curve_entries(rows, flagged), ncol=3)
    return fig
