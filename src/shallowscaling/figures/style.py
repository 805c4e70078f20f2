"""Shared figure style and byte-deterministic saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..io.parquet import atomic_path

__all__ = ["D_COLORS", "MIN_WIDTH", "REFERENCE_COLOR", "apply_style", "bottom_legend", "label_log_axis", "save_figure"]

# Colour per dimension d, in order of increasing d (colour-blind safe, from the Okabe–Ito set).
D_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
NOT_CONVERGED_COLOR = "#FF0000"
#: Narrowest figure (inches): a one-line title and a four-column legend need about this much even
#: when a sweep has a single d or λ schedule, i.e. a single panel column.
MIN_WIDTH = 9.6
#: Curves that do not depend on the panel's λ (Bayes-optimal, optimal λ): drawn once, in grey.
REFERENCE_COLOR = "#8C8C8C"


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
