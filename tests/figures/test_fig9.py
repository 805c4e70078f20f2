"""Figure 9 from tiny hand-made classic tables: layout, flagged points, the PNG the verb writes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from shallowscaling.cli import main
from shallowscaling.figures._layout import layout_problems
from shallowscaling.figures.fig9 import PANEL_TITLES, draw_fig9
from shallowscaling.figures.style import NOT_CONVERGED_COLOR
from shallowscaling.io.parquet import write_table
from shallowscaling.tasks.classic import CLASSIC_PANELS
from shallowscaling.tasks.classic_schema import classic_rows, finish_table


def _table(model: str) -> pd.DataFrame:
    """Every panel of ``model``: a reference curve, SE points (one not converged), fits, a threshold."""
    frames = []
    x = np.linspace(0.2, 0.8, 4)
    for panel in CLASSIC_PANELS[model]:
        for name, value in (("rank_ratio", 0.2), ("rank_ratio", 0.5)) if panel != "dmm" else (("noise", 0.0),):
            y = value + x
            frames += [
                classic_rows(model, panel, "reference", name, value, x, y),
                classic_rows(model, panel, "se", name, value, x, y, d=100, n_replicates=1,
                             converged=[True, True, True, panel != "ols"], certificate=1e-11,
                             certificate_name="fixed_point_residual"),
                classic_rows(model, panel, "simulation", name, value, x, 1.1 * y, y_se=0.05, d=30, n_replicates=3,
                             certificate=1e-9, certificate_name="kkt_residual"),
                classic_rows(model, panel, "threshold", name, value, 0.5, 0.0),
            ]  # fmt: skip
    return finish_table(frames)


@pytest.mark.parametrize("model", ["diagonal", "quadratic"])
def test_fig9_has_no_layout_problem_and_one_titled_panel_each(model: str) -> None:
    fig = draw_fig9(_table(model), model)
    assert layout_problems(fig) == []
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert len(titles) == len(CLASSIC_PANELS[model])
    # Each panel is titled with its classic result and a year.
    for title, panel in zip(titles, CLASSIC_PANELS[model], strict=True):
        assert PANEL_TITLES[panel][0] in title and any(str(year) in title for year in range(2000, 2030))
    plt.close(fig)


def test_fig9_marks_the_points_that_did_not_converge() -> None:
    fig = draw_fig9(_table("diagonal"), "diagonal")
    ols = fig.axes[1]
    crosses = [line for line in ols.lines if line.get_color() == NOT_CONVERGED_COLOR and line.get_marker() == "x"]
    assert len(crosses) == 2 and all(line.get_xdata()[0] == pytest.approx(0.8) for line in crosses)
    labels = [text.get_text() for legend in fig.legends for text in legend.get_texts()]
    assert "not converged" in labels
    plt.close(fig)


def test_fig9_refuses_a_table_without_the_model() -> None:
    with pytest.raises(ValueError, match="no quadratic rows"):
        draw_fig9(_table("diagonal"), "quadratic")


@pytest.mark.slow
def test_figure_verb_writes_the_png_and_pdf(tmp_path) -> None:
    table = tmp_path / "classic_diagonal.parquet"
    write_table(_table("diagonal"), table)
    png, pdf = tmp_path / "fig9_diagonal.png", tmp_path / "fig9_diagonal.pdf"
    main(["figure", "fig9", "--model", "diagonal", "--table", str(table), "--output", str(pdf), str(png)])
    assert png.stat().st_size > 10_000 and pdf.stat().st_size > 5_000
