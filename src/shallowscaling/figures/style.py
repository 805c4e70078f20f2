"""Shared figure style and byte-deterministic saving."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from ..io.parquet import atomic_path

__all__ = ["D_COLORS", "apply_style", "save_figure"]

# Colour per dimension d, in order of increasing d (colour-blind safe, from the Okabe–Ito set).
D_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
NOT_CONVERGED_COLOR = "#FF0000"


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
        }
    )


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
