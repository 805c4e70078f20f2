"""Non-converged is visible everywhere: the tiny study with two solver iterations per fit.

tests/configs/not_converged.yaml caps every fit at two iterations, so that most fits are flagged
converged = false. Every table derived from fits must carry the flag (a point aggregated over
replicates is converged only if all of them are), every figure must mark the flagged points with
the red cross and list it in its legend (checked on the drawn artists, not the pixels), and the
run must end with the summary of what did not converge.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT, TINY_CONFIG
from matplotlib.colors import to_hex

from shallowscaling.figures.decomposition import draw_fig6
from shallowscaling.figures.fig1 import draw_fig1, draw_fig4
from shallowscaling.figures.fig2 import draw_fig2, select_phase_points
from shallowscaling.figures.fig3 import REFERENCE_STYLES, draw_fig3
from shallowscaling.figures.htsr import draw_fig7
from shallowscaling.figures.pruning import draw_fig8
from shallowscaling.figures.style import NOT_CONVERGED_COLOR
from shallowscaling.workflow.summary import summarize

NOT_CONVERGED_CONFIG = ROOT / "tests" / "configs" / "not_converged.yaml"
MODELS = ("diagonal", "quadratic")
FIT_KEYS = ["model", "estimator", "d", "gamma", "noise", "lam", "n", "replicate"]


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, run_snakemake) -> tuple[Path, str]:
    """Working directory and output of one run of the tiny study with `max_iter: 2`."""
    workdir = tmp_path_factory.mktemp("not_converged") / "work"
    output = run_snakemake(
        workdir, "--cores", "2", "--configfile", str(TINY_CONFIG), str(NOT_CONVERGED_CONFIG), log_name="nc"
    )
    return workdir, output


def _table(workdir: Path, name: str) -> pd.DataFrame:
    return pd.read_parquet(workdir / "results" / "tables" / f"{name}.parquet")


def _fits(workdir: Path) -> pd.DataFrame:
    paths = sorted((workdir / "results" / "fits").rglob("*.parquet"))
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def _crosses(fig: plt.Figure, marker: str = "x") -> int:
    """Points drawn with the not-converged marker (red, `marker`) on every panel of `fig`."""
    count = 0
    for ax in fig.axes:
        for line in ax.get_lines():
            if line.get_marker() == marker and to_hex(line.get_color()) == to_hex(NOT_CONVERGED_COLOR):
                count += len(line.get_xdata())
    return count


def _legend_labels(fig: plt.Figure) -> list[str]:
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes if ax.get_legend() is not None)]
    return [text.get_text() for legend in legends for text in legend.get_texts()]


def _check(fig: plt.Figure, expected: int, marker: str = "x") -> None:
    """`expected` crosses, and the legend says 'not converged' (not 'none here') iff there are any."""
    try:
        assert _crosses(fig, marker) == expected
        labels = [label for label in _legend_labels(fig) if "not converged" in label]
        assert labels, "no legend entry for the not-converged marker"
        assert all(("none here" in label) == (expected == 0) for label in labels), labels
    finally:
        plt.close(fig)


@pytest.mark.slow
def test_most_fits_are_flagged_and_the_run_says_where(study) -> None:
    workdir, output = study
    fits = _fits(workdir)
    assert (~fits["converged"]).sum() > len(fits) / 4
    summary = summarize(workdir / "results")
    assert summary.not_converged["fit"] == int((~fits["converged"]).sum())
    assert f"not converged: {summary.not_converged['fit']} of {len(fits)} fits" in output
    listed = [line for line in output.splitlines() if line.startswith("shallowscaling:   results/fits/")]
    assert len(listed) == min(20, len(summary.files))


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_every_derived_table_carries_converged(study, model) -> None:
    workdir, _ = study
    fits = _fits(workdir)
    flags = fits.drop_duplicates(FIT_KEYS).set_index(FIT_KEYS)["converged"]
    # Aggregates (Figs. 3, 5): a point is converged only if all its replicates are.
    for name in ("fig3", "fig5"):
        table = _table(workdir, f"{name}_{model}")
        sims = table[table["source"] == "simulation"]
        expected = flags.groupby(["model", "estimator", "d", "gamma", "noise", "lam", "n"]).all()
        got = sims.set_index(["model", "estimator", "d", "gamma", "noise", "lam", "n"])["converged"]
        assert (got == expected.loc[got.index]).all()
        # Two iterations stop every quadratic fit (the diagonal LASSO converges in some).
        assert not got.all() or model == "diagonal"
    # Spectra (Figs. 6, 7) and pruning (Fig. 8): one row per replicate, the fit's flag.
    for name in ("spectra", "pruning"):
        table = _table(workdir, f"{name}_{model}")
        got = table.set_index(FIT_KEYS)["converged"]
        assert (got == flags.loc[got.index]).all(), name
    pruning = _table(workdir, f"pruning_{model}")
    assert {"se_converged", "optimal_converged", "bayes_converged"} <= set(pruning.columns)
    # Fig. 2's density rows: the fit's flag on a replicate's eigenvalues.
    density = _table(workdir, f"fig2_{model}")
    eig = density[density["kind"] == "eigenvalue"].drop_duplicates(FIT_KEYS)
    got = eig.set_index(FIT_KEYS)["converged"]
    assert (got == flags.loc[got.index]).all()
    assert not got.all() or model == "diagonal"


@pytest.mark.slow
def test_exponent_and_heatmap_tables_carry_converged(study) -> None:
    workdir, _ = study
    exponents = _table(workdir, "exponents")
    assert exponents["sim_converged"].dtype == bool and exponents["se_converged"].dtype == bool
    # A window without simulated points has nothing to flag.
    assert exponents.loc[exponents["sim_estimator"] == "", "sim_converged"].all()
    assert _table(workdir, "heatmap")["converged"].dtype == bool


def _fig3_expected(table: pd.DataFrame, model: str) -> int:
    """Crosses of Fig. 3: the flagged rows of every panel, and the flagged λ-free references at the
    largest d, drawn once in each panel (one per λ schedule) of their (γ, Δ) row."""
    table = table[table["model"] == model]
    bad = ~table["converged"].astype(bool)
    schedules = table["lam_exponent"].dropna().nunique()
    reference = (table["d"] == table["d"].max()) & table["estimator"].isin(list(REFERENCE_STYLES))
    return int((bad & np.isfinite(table["lam_exponent"])).sum() + schedules * (bad & reference).sum())


@pytest.mark.slow
@pytest.mark.parametrize("model", MODELS)
def test_every_figure_marks_what_did_not_converge(study, model) -> None:
    workdir, _ = study
    # Figs. 3 and 5: every non-converged point drawn (simulations, SE, the references at the largest d).
    for name in ("fig3", "fig5"):
        table = _table(workdir, f"{name}_{model}")
        _check(draw_fig3(table, model), _fig3_expected(table, model))
    # Figs. 1 and 4: SE cells that did not converge (none with a two-iteration fit cap: the SE is not a fit).
    heatmap = _table(workdir, "heatmap")
    for draw, noiseless in ((draw_fig1, False), (draw_fig4, True)):
        part = heatmap[(heatmap["model"] == model) & ((heatmap["noise"] == 0) == noiseless)]
        part = part[part["noise"] == part["noise"].min()]
        expected = int((~part["converged"].astype(bool) | ~np.isfinite(part["se_exponent"])).sum())
        _check(draw(heatmap, model), expected, marker="s")
    # Fig. 2: a cross in each panel whose fits or SE did not converge.
    density = _table(workdir, f"fig2_{model}")
    density = density[density["model"] == model]
    expected = 0
    for pick in select_phase_points(density).values():
        if pick is not None:
            d, gamma, ell, n = pick
            rows = density[(density["d"] == d) & (density["gamma"] == gamma)]
            rows = rows[(rows["lam_exponent"] == ell) & (rows["n"] == n)]
            expected += int(not rows["converged"].all())
    assert expected > 0 or model == "diagonal"
    _check(draw_fig2(density, model), expected)
    # Fig. 6 (smallest ℓ): the simulated mean and the SE point of every (γ, Δ, d, n_eff) not all converged.
    spectra = _table(workdir, f"spectra_{model}")
    part = spectra[spectra["lam_exponent"] == spectra["lam_exponent"].min()]
    grouped = part.groupby(["gamma", "noise", "d", "n_eff"])
    expected = int((~grouped["converged"].all()).sum() + (~grouped["se_converged"].all()).sum())
    _check(draw_fig6(spectra, model), expected)
    # Fig. 7: every fitted α̂ of a non-converged fit.
    fitted = spectra[np.isfinite(spectra["tail_exponent"]) & (spectra["excess_risk"] > 0)]
    _check(draw_fig7(spectra, model), int((~fitted["converged"].astype(bool)).sum()))
    # Fig. 8: the fit, the SE, the Bayes-optimal and the optimal-λ references, per (γ, Δ, d, n_eff).
    pruning = _table(workdir, f"pruning_{model}")
    grouped = pruning.groupby(["gamma", "noise", "d", "n_eff"])
    flags = ("converged", "se_converged", "bayes_converged", "optimal_converged")
    expected = sum(int((~grouped[flag].all()).sum()) for flag in flags)
    _check(draw_fig8(pruning, model), expected)
