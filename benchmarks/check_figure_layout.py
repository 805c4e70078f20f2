"""Referee checks on every figure of a finished study: overlapping or stray texts, empty panels.

Rebuilds each figure from its table under ``results/tables/`` with the same drawing functions the
workflow uses and runs :func:`shallowscaling.figures._layout.layout_problems` on it at the saved
resolution. Prints one line per figure and exits 1 if any figure has a problem::

    python benchmarks/check_figure_layout.py results
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd

from shallowscaling.figures._layout import layout_problems
from shallowscaling.figures.decomposition import draw_fig6
from shallowscaling.figures.fig1 import draw_fig1, draw_fig4
from shallowscaling.figures.fig2 import draw_fig2
from shallowscaling.figures.fig3 import draw_fig3
from shallowscaling.figures.fig9 import draw_fig9
from shallowscaling.figures.htsr import draw_fig7
from shallowscaling.figures.pruning import draw_fig8

MODELS = ("diagonal", "quadratic")


def figures(tables: Path, weak_lam_exponent: float):
    """(name, model, builder) of every figure whose table exists."""
    for model in MODELS:
        builders = {
            "fig1": ("heatmap.parquet", lambda t, m=model: draw_fig1(t, m)),
            "fig4": ("heatmap.parquet", lambda t, m=model: draw_fig4(t, m)),
            "fig2": (f"fig2_{model}.parquet", lambda t, m=model: draw_fig2(t, m)),
            "fig3": (f"fig3_{model}.parquet", lambda t, m=model: draw_fig3(t, m)),
            "fig5": (
                f"fig5_{model}.parquet",
                lambda t, m=model: draw_fig3(t, m, figure_label="Figure 5 (Figure 3 at Δ = 0)"),
            ),
            "fig6": (f"spectra_{model}.parquet", lambda t, m=model: draw_fig6(t, m, weak_lam_exponent)),
            "fig7": (f"spectra_{model}.parquet", lambda t, m=model: draw_fig7(t, m)),
            "fig8": (f"pruning_{model}.parquet", lambda t, m=model: draw_fig8(t, m)),
            "fig9": (f"classic_{model}.parquet", lambda t, m=model: draw_fig9(t, m)),
        }
        for name, (table, build) in builders.items():
            path = tables / table
            if path.exists():
                yield name, model, path, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path, help="a finished study's results/ folder")
    parser.add_argument("--dpi", type=int, default=150, help="resolution of the saved PNGs (default 150)")
    parser.add_argument("--weak-lam-exponent", type=float, default=-1.0, help="spectra.weak_lam_exponent (Fig. 6)")
    args = parser.parse_args()
    failed = 0
    for name, model, path, build in figures(args.results / "tables", args.weak_lam_exponent):
        fig = build(pd.read_parquet(path))
        problems = layout_problems(fig, dpi=args.dpi)
        plt.close(fig)
        failed += bool(problems)
        print(f"{name}_{model}: " + ("ok" if not problems else "; ".join(problems)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
