"""Shared figure style, the helpers every figure uses (labels, legend entries, markers), deterministic saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..io.parquet import atomic_path

__all__ = [
    "D_COLORS",
    "LAM_LABELS",
    "MIN_WIDTH",
    "NOT_CONVERGED_COLOR",
    "PHASE_COLORS",
    "REFERENCE_COLOR",
    "apply_style",
    "bottom_legend",
    "label_log_axis",
    "lam_label",
    "legend_entries",
    "log_axes",
    "mark_not_converged",
    "model_title",
    "n_eff_label",
    "noise_combos",
    "not_converged_entry",
    "risk_label",
    "save_figure",
]

# Colour per dimension d, in order of increasing d (colour-blind safe, from the Okabe–Ito set).
D_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
NOT_CONVERGED_COLOR = "#FF0000"
#: Narrowest figure (inches): a one-line title and a four-column legend need about this much even
#: when a sweep has a single d or λ schedule, i.e. a single panel column.
MIN_WIDTH = 9.6
#: Curves that do not depend on the panel's λ (Bayes-optimal, optimal λ): drawn once, in grey.
REFERENCE_COLOR = "#8C8C8C"
#: One colour per paper phase (Okabe–Ito), shared by the spectral figures and the phase diagrams.
PHASE_COLORS = {
    "Ia": "#999999",
    "Ib": "#000000",
    "II": "#0072B2",
    "III": "#56B4E9",
    "IV": "#E69F00",
    "peak": "#D55E00",
    "VIa": "#009E73",
    "VIb": "#CC79A7",
    "exact": "#F0E442",
}
#: The paper's headline λ = d^ℓ schedules: panel titles, and the dotted guides of the phase diagrams.
LAM_LABELS = {-1.0: "λ = 1/d", 0.0: "λ = 1", 0.5: "λ = √d"}


def lam_label(lam_exponent: float) -> str:
    """Panel title of a λ = d^ℓ schedule."""
    return LAM_LABELS.get(round(float(lam_exponent), 9), f"λ = d^{lam_exponent:g}")


def model_title(model: str) -> str:
    """The model as named in the titles of the paper's Figures 1, 3, 4 and 5."""
    return "quadratic network (PSD matrix sensing)" if model == "quadratic" else "diagonal network (LASSO)"


def n_eff_label(model: str) -> str:
    """x label of a panel against n_eff."""
    return "n_eff = n/d" if model == "quadratic" else "n_eff = n"


def risk_label(model: str) -> str:
    """y label of the excess risk (quadratic: twice the matrix MSE)."""
    return "excess risk R = 2 mse_S" if model == "quadratic" else "excess risk R"


def noise_combos(table: pd.DataFrame) -> np.ndarray:
    """The (γ, Δ) pairs of a table, sorted: one row of panels each."""
    return table[["gamma", "noise"]].drop_duplicates().sort_values(["gamma", "noise"]).to_numpy()


def log_axes(ax) -> None:
    """Log x and y axes, each with at least two tick labels (:func:`label_log_axis`)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    label_log_axis(ax.xaxis)
    label_log_axis(ax.yaxis)


def mark_not_converged(ax, x, y, ms: float = 7, mew: float = 1.5, zorder: float = 5, **kwargs) -> None:
    """Red crosses on the points that did not converge: marked, never silently plotted.

    ``kwargs`` go to ``ax.plot`` (e.g. ``transform=ax.transAxes`` for a panel-wide mark).
    """
    ax.plot(x, y, "x", color=NOT_CONVERGED_COLOR, ms=ms, mew=mew, zorder=zorder, **kwargs)


def not_converged_entry(flagged: bool) -> tuple[plt.Line2D, str]:
    """Legend entry of the red crosses, always listed so that a figure without them says so."""
    handle = plt.Line2D([], [], marker="x", color=NOT_CONVERGED_COLOR, ls="none")
    return handle, "not converged" if flagged else "not converged (none here)"


def legend_entries(axes) -> dict[str, object]:
    """label → handle of every labelled artist of ``axes``, the first of each label, in order."""
    entries: dict[str, object] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(label, handle)
    return entries


def apply_style() -> None:
    """Fixed rcParams so the same table gives the same picture everywhere."""
    plt.rcParams.update(
        {
            "font.size": 9,
            "axes.titlesize": 9,
            "axes.labelsize": 9,
            "legend.fontsize": 7,
            "lines.linewidth": 1.2,
            "lines.markersize": 4,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "svg.hashsalt": "shallowscaling",
            "pdf.fonttype": 42,
            # Constrained layout sizes panels around their labels and the outside legend, so no
            # band is left empty under the title (tight_layout's fixed rect left 8–15 %).
            "figure.constrained_layout.use": True,
        }
    )


def bottom_legend(fig: plt.Figure, handles: list, labels: list[str], ncol: int) -> None:
    """One legend for the whole figure, under the panels (constrained layout makes room)."""
    fig.legend(handles, labels, loc="outside lower center", ncol=ncol, frameon=False)


def label_log_axis(axis) -> None:
    """Label at least two ticks of a log axis, without labels that collide.

    A log axis labels only powers of ten; over less than a decade it shows one label or none.
    Call after the data are drawn: the view limits decide between decades (default), 1-2-5
    steps and every integer mantissa, labelled in plain numbers (0.5, 1, 2). Minor ticks keep
    their marks but lose their labels.
    """
    lo, hi = sorted(axis.get_view_interval())
    if not (lo > 0 and np.isfinite(hi)):
        return
    decades = np.log10(hi / lo)
    if decades >= 1.3:
        axis.set_minor_formatter(NullFormatter())
        return
    subs = (1.0, 2.0, 5.0) if decades >= 0.6 else tuple(float(k) for k in range(1, 10))
    axis.set_major_locator(LogLocator(base=10.0, subs=subs))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def save_figure(fig: plt.Figure, paths: list[str | Path], dpi: int = 150) -> None:
    """Save ``fig`` to each path (format from the suffix), atomically and without timestamps."""
    for path in paths:
        suffix = Path(path).suffix.lower()
        metadata = {
            "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": None},
            "png": {"Software": None},
        }.get(suffix.lstrip("."), {})
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=suffix.lstrip("."), dpi=dpi, metadata=metadata)
    plt.close(fig)
