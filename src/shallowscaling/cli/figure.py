"""Verb ``figure``: draw a paper figure from its table (workflow job)."""

from __future__ import annotations

import argparse

from ..errors import InputError
from ._args import schema_int, schema_real
from ._common import check_outputs, read_input_table

#: Figures drawn by :mod:`shallowscaling.figures` modules of the spectral stage (docs/theory.md §4–6).
SPECTRAL_FIGURES = ("fig2", "fig6", "fig7", "fig8")
#: Figures of the scaling stage: phase diagrams (1: Δ > 0, 4: Δ = 0) and Figure 3 at Δ = 0 (5).
SCALING_FIGURES = ("fig1", "fig4", "fig5")


def add_figure_verb(verbs) -> None:
    """``figure``: one paper figure from its table."""
    figure = verbs.add_parser("figure", help="draw a paper figure from its table (workflow job)")
    figure.add_argument(
        "name",
        choices=("fig3", *SPECTRAL_FIGURES, *SCALING_FIGURES, "fig9"),
        help="which figure (named after the paper's; fig9: the classic results, from the classic table)",
    )
    figure.add_argument("--model", choices=("diagonal", "quadratic"), required=True)
    figure.add_argument("--table", required=True, help="the aggregated Parquet table")
    figure.add_argument("--output", nargs="+", required=True, help="PDF and/or PNG paths")
    figure.add_argument("--dpi", type=schema_int("dpi"), default=150)
    figure.add_argument(
        "--lam-exponent",
        type=schema_real("lam_exponent"),
        help="fig6: the λ = d^ℓ schedule drawn (default: the smallest ℓ in the table)",
    )
    figure.add_argument(
        "--teacher",
        help="fig3: the teacher of a study that is not the power law (printed in place of γ; no power-law rates)",
    )


def run_figure(args: argparse.Namespace) -> None:
    from ..figures.fig3 import draw_fig3
    from ..figures.style import save_figure

    check_outputs(args, "--output")
    if args.teacher is not None and args.name != "fig3":
        raise InputError(f"--teacher labels fig3 only; got figure {args.name}")
    table = read_input_table(args.table, "--table")
    if args.name in SPECTRAL_FIGURES:
        fig = _spectral_figure(args.name, table, args.model, args.lam_exponent)
    elif args.name in ("fig1", "fig4"):
        from ..figures.fig1 import draw_fig1, draw_fig4

        fig = (draw_fig1 if args.name == "fig1" else draw_fig4)(table, args.model)
    elif args.name == "fig9":
        from ..figures.fig9 import draw_fig9

        fig = draw_fig9(table, args.model)
    elif args.name == "fig5":
        fig = draw_fig3(table, args.model, figure_label="Figure 5 (Figure 3 at Δ = 0)")
    else:
        fig = draw_fig3(table, args.model, teacher=args.teacher)
    save_figure(fig, args.output, dpi=args.dpi)


def _spectral_figure(name: str, table, model: str, lam_exponent: float | None):
    if name == "fig2":
        from ..figures.fig2 import draw_fig2

        return draw_fig2(table, model)
    if name == "fig6":
        from ..figures.decomposition import draw_fig6

        return draw_fig6(table, model, lam_exponent)
    if name == "fig7":
        from ..figures.htsr import draw_fig7

        return draw_fig7(table, model)
    from ..figures.pruning import draw_fig8

    return draw_fig8(table, model)
