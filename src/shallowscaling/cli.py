"""Command line: ``shallowscaling VERB ...`` (also what the Snakemake rules call).

Verbs: ``fit`` and ``predict`` (one point, or a job of the workflow with ``--output``),
``spectrum`` (heavy-tail diagnostics of any weight file), ``plan`` (jobs, core-hours and peak
memory of a study before it is submitted), and the workflow's own ``teacher``, ``aggregate``,
``exponents`` and ``figure``. ``--json`` prints one JSON object on stdout; logs go to stderr.
This module parses and prints, nothing else: the work is done in :mod:`shallowscaling.tasks`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import cli_bound, diagonal_fit_bytes, machine_memory_gb, quadratic_fit_bytes, quadratic_se_bytes
from .design import DEFAULT_DESIGN_MEMORY_GB
from .errors import ConvergenceWarning, InputError
from .progress import LOGGER as PROGRESS_LOGGER
from .progress import heartbeat_interval
from .results import json_safe
from .state_evolution.quadratic_mc import MAX_DRAWS_DEFAULT, MC_RTOL_DEFAULT

__all__ = ["build_parser", "main"]

PAPER = "Defilippis et al., arXiv 2509.24882"


class _Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line (the usage itself is one `--help` away)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def _within(value: float, bound: dict[str, Any]) -> str | None:
    """What ``value`` violates in a schema bound (``cli_bound``), or None."""
    for key, op, bad in (
        ("minimum", ">=", lambda v, b: v < b),
        ("exclusiveMinimum", ">", lambda v, b: v <= b),
        ("maximum", "<=", lambda v, b: v > b),
        ("exclusiveMaximum", "<", lambda v, b: v >= b),
    ):
        if key in bound and bad(value, bound[key]):
            return op
    return None


def _allowed_range(bound: dict[str, Any]) -> str:
    ops = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
    return " and ".join(
        f"{ops[key]} {value if isinstance(value, int) else f'{value:g}'}" for key, value in bound.items()
    )


def _schema_int(name: str, offset: int = 0):
    """An integer flag bounded as the config key ``name`` (``offset`` shifts the bounds: an index)."""

    def parse(text: str) -> int:
        value = _integer(text)
        bound = {key: limit + offset for key, limit in cli_bound(name).items()}
        if _within(value, bound) is not None:
            raise argparse.ArgumentTypeError(f"must be {_allowed_range(bound)} (as config key {name}); got {value}")
        return value

    return parse


def _schema_real(name: str):
    """A finite real flag bounded as the config key ``name`` (workflow/schemas/config.schema.yaml)."""

    def parse(text: str) -> float:
        value = _real()(text)
        bound = cli_bound(name)
        if _within(value, bound) is not None:
            raise argparse.ArgumentTypeError(f"must be {_allowed_range(bound)} (as config key {name}); got {value:g}")
        return value

    return parse


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer; got {text!r}") from None


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1; got {value}")
    return value


def _real(lower: float | None = None, strict: bool = False, name: str = "value"):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number; got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be finite; got {text!r}")
        if lower is not None and (value <= lower if strict else value < lower):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {lower:g}; got {value:g}")
        return value

    return parse


def _lam(text: str) -> float | str:
    if text == "optimal":
        return text
    return _real(0.0, strict=True)(text)


def _add_point_flags(parser: argparse.ArgumentParser, many_n: bool) -> None:
    parser.add_argument(
        "model",
        choices=("diagonal", "quadratic"),
        help="diagonal network (≡ LASSO, n_eff = n) or quadratic network (≡ PSD matrix sensing, n_eff = n/d)",
    )
    parser.add_argument("--d", type=_schema_int("d"), required=True, help="input dimension d (>= 2)")
    parser.add_argument(
        "--gamma",
        type=_schema_real("gamma"),
        required=True,
        help="teacher power-law exponent γ (> 0.5): spectrum s_k ∝ k^-γ",
    )
    parser.add_argument("--noise", type=_schema_real("noise"), required=True, help="label-noise variance Δ (>= 0)")
    parser.add_argument(
        "--n",
        type=_positive_int,
        required=True,
        nargs="+" if many_n else None,
        help="number of samples n (n_eff = n diagonal, n/d quadratic)" + ("; several for a sweep" if many_n else ""),
    )
    # Required for ERM; the Bayes-optimal error (predict --method bayes) does not depend on λ.
    lam = parser.add_mutually_exclusive_group(required=not many_n)
    lam.add_argument(
        "--lam",
        type=_lam,
        help="weight decay λ (> 0) of the ERM objective (spec §1)"
        + ("; `optimal` minimises the SE risk" if many_n else ""),
    )
    lam.add_argument(
        "--lam-exponent", type=_schema_real("lam_exponent"), help="ℓ, for λ = d^ℓ (the paper's panels: -1, 0, 0.5)"
    )
    parser.add_argument(
        "--seed", type=_schema_int("seed"), default=0, help="base seed of the teacher (and data) draws (default 0)"
    )
    parser.add_argument(
        "--normalization",
        choices=("unit", "paper"),
        default="unit",
        help="teacher scale: unit (Q* = 1) or paper (s_i = √d i^-γ)",
    )
    parser.add_argument("--width", type=_schema_int("width"), help="quadratic network width p (default p = d)")
    parser.add_argument("--teacher", help="teacher Parquet of the workflow (checked against / used as the draw)")
    parser.add_argument("--output", help="write the rows to this Parquet file (atomically)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb (also used to render ``--help``)."""
    parser = _Parser(
        prog="shallowscaling",
        description=f"Scaling laws and spectra of shallow networks ({PAPER}): fits, SE predictions, spectra.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    fit = verbs.add_parser(
        "fit",
        help="train an estimator on a drawn dataset and report its excess risk",
        description="Draw the teacher and dataset of (seed, replicate) and minimise the ERM objective "
        "to its stated tolerance. Diagonal: ½Σ(y − θ·x/√d)² + λ‖θ‖₁ (LASSO) or the two-layer diagonal "
        "network with weight decay. Quadratic: (1/d²)Σ(y − ⟨S, Z⟩)² + (λ/d)Tr S over S ⪰ 0 (convex) or "
        "S = BBᵀ (network).",
    )
    _add_point_flags(fit, many_n=False)
    fit.add_argument(
        "--estimator",
        required=True,
        choices=("lasso", "network", "convex"),
        help="lasso | network (diagonal); convex | network (quadratic)",
    )
    fit.add_argument(
        "--replicate",
        type=_schema_int("replicates", offset=-1),
        default=0,
        help="replicate index of the draw (default 0)",
    )
    fit.add_argument("--replicates", type=_schema_int("replicates"), help="fit replicates 0..K-1 (a workflow job)")
    fit.add_argument(
        "--tol", type=_schema_real("tol"), default=1e-8, help="solver tolerance (see each solver's stopping rule)"
    )
    fit.add_argument(
        "--max-iter",
        type=_schema_int("max_iter"),
        default=100_000,
        help="iteration cap; hitting it flags converged=false",
    )
    fit.add_argument("--weights-output", help="write the learned weights (θ̂ or eig Ŝ) to this Parquet file")
    fit.add_argument(
        "--solution-output",
        help="write the non-zero eigenpairs of Ŝ (what `prune --solution` reads; no rows for the diagonal model) "
        "to this Parquet file",
    )
    _add_max_memory(fit)
    fit.add_argument(
        "--device",
        help="array backend of the quadratic fits: numpy (default) or a PyTorch device such as cpu or cuda "
        "(needs the torch extra)",
    )
    fit.add_argument(
        "--solver-method",
        choices=("auto", "fista", "factored"),
        help="quadratic convex solver: auto (default: factored S = BBᵀ where the first dual matrix predicts a "
        "low rank, else FISTA), fista, or factored",
    )
    fit.add_argument(
        "--block-size",
        type=_schema_int("block_size"),
        help="rows of X per block of a quadratic pass (default ~64k numbers per block); rounding only, never the data",
    )
    fit.add_argument(
        "--design-memory",
        type=_schema_real("design_memory"),
        help=f"GB of quadratic design X held in memory (default {DEFAULT_DESIGN_MEMORY_GB:g}); a larger X is "
        "redrawn block by block at every pass (same numbers, memory O(block·d + d²))",
    )

    predict = verbs.add_parser(
        "predict",
        help="state-evolution prediction of the ERM (or Bayes-optimal) error",
        description="Solve the non-asymptotic state evolution at finite (n, d, λ, Δ) on the "
        "finite-d teacher (spec §2). Returns the effective noise δ, ε, the threshold t = λε and the "
        "predicted excess risk. --lam optimal minimises the ERM SE risk over λ.",
    )
    _add_point_flags(predict, many_n=True)
    _add_max_memory(predict)
    predict.add_argument(
        "--method", choices=("erm", "bayes"), default="erm", help="erm (default) or bayes (Bayes-optimal)"
    )
    predict.add_argument(
        "--route",
        choices=("mc", "deterministic"),
        default="mc",
        help="quadratic SE: mc (default; averages over K GOE draws at finite d, reports mc_standard_error) or "
        "deterministic (free convolution with its 1/d correction: no draw noise, exact to ~1e-11 for the "
        "equations it solves; it agrees with mc within mc's standard error at d = 20-40 in the tests and at "
        "d = 200 and 400 in the checks of the Monte-Carlo error). Prefer deterministic for "
        "width p = d (it ignores --width); mc is needed for p < d",
    )
    predict.add_argument(
        "--n-draws",
        type=_schema_int("n_draws"),
        default=3,
        help="K the mc route starts with (default 3); K then grows up to --max-draws until the relative "
        "Monte-Carlo standard error of matrix_mse is <= --mc-rtol",
    )
    predict.add_argument(
        "--mc-rtol",
        type=_schema_real("mc_rtol"),
        default=MC_RTOL_DEFAULT,
        help=f"target relative Monte-Carlo standard error of the mc route (default {MC_RTOL_DEFAULT:g})",
    )
    predict.add_argument(
        "--max-draws",
        type=_schema_int("max_draws"),
        default=MAX_DRAWS_DEFAULT,
        help=f"cap on K (default {MAX_DRAWS_DEFAULT}); reaching it above --mc-rtol gives status max_draws and "
        "converged false",
    )
    predict.add_argument(
        "--replicate",
        type=_schema_int("replicates", offset=-1),
        default=0,
        help="replicate whose θ* is used (diagonal)",
    )

    teacher = verbs.add_parser("teacher", help="write the teachers of a sweep (workflow job)")
    teacher.add_argument("model", choices=("diagonal", "quadratic"))
    teacher.add_argument("--d", type=_schema_int("d"), required=True, help="input dimension d")
    teacher.add_argument("--gamma", type=_schema_real("gamma"), required=True, help="teacher exponent γ (> 0.5)")
    teacher.add_argument("--seed", type=_schema_int("seed"), required=True, help="base seed")
    teacher.add_argument("--replicates", type=_schema_int("replicates"), required=True, help="number of replicates")
    teacher.add_argument("--normalization", choices=("unit", "paper"), default="unit")
    teacher.add_argument("--output", required=True, help="Parquet file to write")
    _add_max_memory(teacher)

    aggregate = verbs.add_parser("aggregate", help="average fits over replicates and join the SE (workflow job)")
    aggregate.add_argument("model", choices=("diagonal", "quadratic"))
    aggregate.add_argument("--fits", nargs="*", default=[], help="fit Parquet files")
    aggregate.add_argument("--se", nargs="*", default=[], help="state-evolution Parquet files")
    aggregate.add_argument("--output", required=True, help="Parquet file to write")

    _add_spectral_verbs(verbs)
    _add_scaling_verbs(verbs)
    _add_plan_verb(verbs)

    figure = verbs.add_parser("figure", help="draw a paper figure from its table (workflow job)")
    figure.add_argument(
        "name", choices=("fig3", *SPECTRAL_FIGURES, *SCALING_FIGURES), help="which figure (named after the paper's)"
    )
    figure.add_argument("--model", choices=("diagonal", "quadratic"), required=True)
    figure.add_argument("--table", required=True, help="the aggregated Parquet table")
    figure.add_argument("--output", nargs="+", required=True, help="PDF and/or PNG paths")
    figure.add_argument("--dpi", type=_schema_int("dpi"), default=150)
    figure.add_argument(
        "--lam-exponent",
        type=_schema_real("lam_exponent"),
        help="fig6: the λ = d^ℓ schedule drawn (default: the smallest ℓ in the table)",
    )
    return parser


#: Figures drawn by :mod:`shallowscaling.figures` modules of the spectral stage (spec §4–6).
SPECTRAL_FIGURES = ("fig2", "fig6", "fig7", "fig8")
#: Suffixes ``spectrum --plot`` can write.
PLOT_SUFFIXES = (".pdf", ".png", ".svg")


def _add_spectral_verbs(verbs) -> None:
    """The verbs of the spectral stage: ``spectrum`` (any file) and the workflow's jobs."""
    spectrum = verbs.add_parser(
        "spectrum",
        help="heavy-tail diagnostics of a weight matrix or spectrum file (tail exponent, bulk edge, phase)",
        description="Analyse the spectrum of trained weights (spec §4): a 2-D .npy/.npz array is a weight "
        "matrix W (p × d, one row per hidden unit) and the eigenvalues of WᵀW are analysed, as HT-SR / "
        "WeightWatcher does; a 1-D array, or a Parquet table with an `eigenvalue` column, is the spectrum "
        "itself. Prints the power-law tail exponent (Clauset–Shalizi–Newman MLE with KS-chosen x_min), the "
        "bulk edge, the outliers above it and the Martin–Mahoney phase label.",
    )
    spectrum.add_argument("file", help=".npy, .npz or Parquet file")
    spectrum.add_argument("--key", help="the array to analyse in an .npz archive holding several")
    spectrum.add_argument(
        "--replicate", type=_integer, help="the replicate of a workflow weights table (default: the smallest)"
    )
    spectrum.add_argument(
        "--matrix-scale",
        choices=("none", "paper"),
        default="none",
        help="weight matrix: eigenvalues of WᵀW (none, WeightWatcher) or WᵀW/√(pd) (paper, spec §1.1)",
    )
    spectrum.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    spectrum.add_argument("--plot", help="draw the spectrum with its fit to this file (.pdf, .png or .svg)")
    _add_max_memory(spectrum)

    spectra = verbs.add_parser(
        "spectra",
        help="spectra of one sweep's trained weights vs their SE prediction (workflow job)",
        description="For every fit of one (model, estimator, d, γ, Δ, ℓ) sweep: the summary of the learned "
        "spectrum and the SE-predicted spectrum and error decomposition at the same point. "
        "For a single file use `shallowscaling spectrum`.",
    )
    _add_job_flags(spectra)
    spectra.add_argument("--n", type=_positive_int, nargs="+", required=True, help="the sweep's sample sizes")
    spectra.add_argument("--weights", nargs="+", required=True, help="weights Parquet files, one per --n")
    spectra.add_argument("--fits", nargs="+", required=True, help="fit Parquet files, one per --n")
    spectra.add_argument("--output", required=True, help="summary Parquet file to write")
    spectra.add_argument("--density-output", required=True, help="spectrum-figure data Parquet file to write")

    prune = verbs.add_parser(
        "prune",
        help="risk of the trained weights pruned at the bulk edge (workflow job)",
        description="Read the trained weights of one point (quadratic: the fit job's stored eigenpairs of Ŝ, "
        "--solution; without it, a refit) and prune them at the SE bulk edge and at the edge estimated from "
        "their spectrum (spec §5, Corollary 2). One point per --n: the workflow runs one job per n and stacks "
        "a sweep's tables with `collect`; several --n write the same rows in one table, in n order.",
    )
    _add_job_flags(prune)
    prune.add_argument(
        "--n", type=_positive_int, nargs="+", required=True, help="the sample size(s): one point, or a sweep's"
    )
    prune.add_argument("--weights", nargs="+", required=True, help="the fit job's weights Parquet files, one per --n")
    prune.add_argument("--normalization", choices=("unit", "paper"), default="unit", help="teacher scale")
    prune.add_argument(
        "--solution",
        nargs="+",
        help="quadratic: the fit job's solution Parquet files (fit --solution-output), one per --n; "
        "without them Ŝ is refitted",
    )
    prune.add_argument(
        "--fits", nargs="+", help="the fit job's fit Parquet files, one per --n (their `converged`; with --solution)"
    )
    prune.add_argument(
        "--tol", type=_schema_real("tol"), default=1e-8, help="solver tolerance of the refit (without --solution)"
    )
    prune.add_argument(
        "--max-iter",
        type=_schema_int("max_iter"),
        default=100_000,
        help="iteration cap of the refit (without --solution)",
    )
    prune.add_argument("--output", required=True, help="Parquet file to write")

    collect = verbs.add_parser("collect", help="stack per-job tables into one table (workflow job)")
    collect.add_argument("--inputs", nargs="+", required=True, help="Parquet tables with the same columns")
    collect.add_argument("--output", required=True, help="Parquet file to write")


#: Figures of the scaling stage: phase diagrams (1: Δ > 0, 4: Δ = 0) and Figure 3 at Δ = 0 (5).
SCALING_FIGURES = ("fig1", "fig4", "fig5")


def _add_scaling_verbs(verbs) -> None:
    """``exponents se | heatmap | table``: the jobs of the scaling stage (spec §3, §6)."""
    exponents = verbs.add_parser(
        "exponents",
        help="measured scaling exponents: SE across the phase diagram, heat map, exponent table (workflow jobs)",
        description="Scaling laws R = Θ(d^-r) with n_eff = d^κ, λ = d^ℓ (spec §3). `se`: the non-asymptotic "
        "SE excess risk of one (model, d, γ, Δ) on a (κ, ℓ) grid, along each phase's fitting window and at the "
        "interpolation peak. `heatmap`: r = −Δlog R/Δlog d at each grid point from the SE of several d, against "
        "the Result-1 exponent. `table`: one row per (model, phase, Δ = 0 or not) with the predicted, "
        "SE-measured and simulated exponents (bootstrap interval over seeds).",
    )
    actions = exponents.add_subparsers(dest="action", required=True, metavar="ACTION")
    se = actions.add_parser("se", help="SE excess risks of one (model, d, γ, Δ) across the diagram")
    se.add_argument("model", choices=("diagonal", "quadratic"))
    se.add_argument("--d", type=_schema_int("se_d"), required=True, help="input dimension d")
    se.add_argument("--gamma", type=_schema_real("gamma"), required=True, help="teacher exponent γ (> 0.5)")
    se.add_argument(
        "--noise", type=_schema_real("noise"), required=True, help="label-noise variance Δ (>= 0; 0: noiseless)"
    )
    se.add_argument(
        "--kappa-grid", type=_real(), nargs=3, required=True, metavar=("START", "STOP", "NUM"),
        help="heat-map grid of κ = log_d n_eff: NUM points from START to STOP",
    )  # fmt: skip
    se.add_argument(
        "--lam-exponent-grid", type=_real(), nargs=3, required=True, metavar=("START", "STOP", "NUM"),
        help="heat-map grid of ℓ = log_d λ: NUM points from START to STOP",
    )  # fmt: skip
    se.add_argument(
        "--windows", required=True,
        help='fitting windows as JSON, phase → {"lam_exponent": ℓ, "kappa": [lo, hi]} or {"kappa": 1, '
        '"lam_exponent": [lo, hi]} (the peak)',
    )  # fmt: skip
    se.add_argument("--window-points", type=_positive_int, default=7, help="points per window (default 7)")
    se.add_argument(
        "--peak-bracket", type=_schema_real("peak_bracket"), nargs=2, default=(0.15, 1.5), metavar=("LO", "HI"),
        help="n_eff/d interval searched for the interpolation peak (default 0.15 1.5)",
    )  # fmt: skip
    se.add_argument("--normalization", choices=("unit", "paper"), default="unit", help="teacher scale")
    se.add_argument("--output", required=True, help="Parquet file to write")

    heatmap = actions.add_parser("heatmap", help="SE-measured exponent at every grid point vs the theory")
    heatmap.add_argument("--se", nargs="+", required=True, help="`exponents se` Parquet files (two or more d)")
    heatmap.add_argument(
        "--margin",
        type=_schema_real("margin"),
        default=0.1,
        help="score only points farther than this from a boundary (0.1)",
    )
    heatmap.add_argument(
        "--tol", type=_schema_real("scaling_tol"), default=0.1, help="agreement: |r_SE − r| <= tol (default 0.1)"
    )
    heatmap.add_argument("--output", required=True, help="Parquet file to write")
    heatmap.add_argument("--json", action="store_true", help="print the agreement per (model, Δ) as JSON")

    table = actions.add_parser("table", help="predicted, SE and simulated exponent per (model, phase, Δ)")
    table.add_argument("--se", nargs="+", required=True, help="`exponents se` Parquet files")
    table.add_argument("--fits", nargs="*", default=[], help="fit Parquet files (replicates) of the simulations")
    table.add_argument("--seed", type=_schema_int("seed"), required=True, help="base seed of the bootstrap")
    table.add_argument(
        "--resamples", type=_schema_int("resamples"), default=2000, help="bootstrap resamples (default 2000)"
    )
    table.add_argument(
        "--confidence", type=_schema_real("confidence"), default=0.95, help="bootstrap interval coverage (default 0.95)"
    )
    table.add_argument("--output", required=True, help="Parquet file to write")
    table.add_argument("--csv", help="also write the table as CSV here")
    table.add_argument("--html", help="also write the table as an HTML page here (for the Snakemake report)")
    table.add_argument("--json", action="store_true", help="print the rows as JSON")


def _add_plan_verb(verbs) -> None:
    plan = verbs.add_parser(
        "plan",
        help="before submitting: jobs, core-hours and peak memory per rule of a study (dry run + cost models)",
        description="List the study's jobs with `snakemake --dry-run` (config.yaml plus the --configfile "
        "overlays, into an empty folder so that every job counts) and predict each job's run time and peak "
        "memory from the cost models in workflow/resources/cost_model.json, fitted to the benchmark files of "
        "earlier runs. Prints jobs, core-hours and peak memory per rule with 1σ factors. --calibrate refits the "
        "cost models from your own runs' benchmarks/ folders (docs/cluster.md).",
    )
    plan.add_argument(
        "--configfile", nargs="+", default=[], metavar="OVERLAY",
        help="overlays of config.yaml, as Snakemake's --configfile (e.g. configs/paper.yaml)",
    )  # fmt: skip
    plan.add_argument("--cost-model", help="cost-model JSON (default: workflow/resources/cost_model.json)")
    plan.add_argument(
        "--resources", action="store_true",
        help="print the SLURM profile's set-resources (YAML) sized for this study instead of the table",
    )  # fmt: skip
    plan.add_argument(
        "--calibrate", nargs="+", action="append", metavar=("BENCHMARKS", "OVERLAY"),
        help="refit the cost models from a run's benchmarks/ folder and the --configfile overlays that run "
        "used; repeat for several runs. Writes --output (default: --cost-model)",
    )  # fmt: skip
    plan.add_argument("--output", help="with --calibrate: the cost-model JSON to write")
    plan.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def _add_job_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", choices=("diagonal", "quadratic"))
    parser.add_argument("--estimator", required=True, choices=("lasso", "network", "convex"))
    parser.add_argument("--d", type=_schema_int("d"), required=True, help="input dimension d")
    parser.add_argument("--gamma", type=_schema_real("gamma"), required=True, help="teacher exponent γ (> 0.5)")
    parser.add_argument("--noise", type=_schema_real("noise"), required=True, help="label-noise variance Δ (>= 0)")
    parser.add_argument("--lam-exponent", type=_schema_real("lam_exponent"), required=True, help="ℓ, for λ = d^ℓ")
    parser.add_argument("--seed", type=_schema_int("seed"), required=True, help="base seed")
    parser.add_argument("--width", type=_schema_int("width"), help="quadratic network width p (default p = d)")
    parser.add_argument("--n-draws", type=_schema_int("n_draws"), default=3, help="K, GOE draws of the quadratic SE")
    parser.add_argument("--teacher", required=True, help="the teacher Parquet of the sweep")


def _emit(payload: dict[str, Any]) -> None:
    print(json.dumps({k: json_safe(v) for k, v in payload.items()}, allow_nan=False))


#: Columns a table must have to be read as each kind of input (the rest of the table is the job's).
TABLE_COLUMNS = {
    "teacher diagonal": ("replicate", "index", "theta_star", "variance"),
    "teacher quadratic": ("replicate", "index", "eigenvalue"),
}


def _read_table(path: str, flag: str, kind: str | None = None):
    """Read a Parquet input; a missing, unreadable or wrong table is one line naming the file."""
    import pyarrow as pa

    from .io.parquet import read_table

    if not Path(path).is_file():
        what = "is a folder" if Path(path).is_dir() else "no such file"
        raise InputError(f"`{flag}` {path!r}: {what}; allowed: a Parquet table written by shallowscaling")
    try:
        table = read_table(path)
    except (OSError, pa.ArrowException) as error:  # ArrowInvalid: a file that is not Parquet
        reason = " ".join(str(error).split())[:200]
        raise InputError(f"`{flag}` {path!r}: cannot be read as a Parquet table ({reason})") from None
    missing = [c for c in TABLE_COLUMNS.get(kind, ()) if c not in table.columns]
    if missing:
        raise InputError(
            f"`{flag}` {path!r}: is not a {kind} table (no column {', '.join(missing)}); allowed: the table of "
            f"`shallowscaling teacher {kind.split()[-1]}`"
        )
    return table


def _check_outputs(args: argparse.Namespace, *flags: str) -> None:
    """Refuse an output that cannot be written before any work: a folder, or a folder not writable."""
    for flag in flags:
        paths = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        for path in [paths] if isinstance(paths, str) else paths or []:
            target = Path(path)
            if target.is_dir():
                raise InputError(f"`{flag}` {path!r}: is a folder; allowed: a file path")
            parent = target.parent
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
            if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(f"`{flag}` {path!r}: cannot be written ({parent} is not a writable folder)")


def _default_max_memory() -> float:
    """Half of this machine's memory (GB): room for the system and other jobs."""
    return 0.5 * machine_memory_gb()


def _check_memory(args: argparse.Namespace, need_bytes: float, what: str) -> None:
    """Refuse a job whose estimated memory exceeds --max-memory, before allocating anything."""
    limit = args.max_memory if args.max_memory is not None else _default_max_memory()
    if need_bytes / 1e9 > limit:
        raise InputError(
            f"`--max-memory` {limit:.3g} GB: {what} needs about {need_bytes / 1e9:.3g} GB; lower --d or --n, or "
            "raise --max-memory if the machine has the memory"
        )


def _add_max_memory(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-memory",
        type=_real(0.0, strict=True),
        help="GB this command may plan to use (default: half of the machine's memory); a job estimated above "
        "it is refused before anything is allocated",
    )


def _consistent_status(record: dict[str, Any]) -> dict[str, Any]:
    """A record that is not converged never says status "converged".

    estimators/lasso.py returns status "converged" with converged false when its duality gap is
    NaN (the loop ``while gap > tol`` never runs; e.g. ``--noise 1e308``); such a row is reported
    as diverged here, where the CLI builds its records. Converged rows are left untouched.
    """
    if record.get("converged") or record.get("status") != "converged":
        return record
    return {**record, "status": "diverged", "message": f"the certificate is not finite; {record.get('message', '')}"}


def _consistent_frame(frame):
    """:func:`_consistent_status` on every row of a table (unchanged where rows are consistent)."""
    if "converged" not in frame or "status" not in frame:
        return frame
    bad = ~frame["converged"].astype(bool) & (frame["status"] == "converged")
    if bad.any():
        frame = frame.copy()
        frame.loc[bad, "status"] = "diverged"
        if "message" in frame:
            frame.loc[bad, "message"] = "the certificate is not finite; " + frame.loc[bad, "message"].astype(str)
    return frame


def _lam_of(args: argparse.Namespace) -> float | str | None:
    if args.lam is not None:
        return args.lam
    if args.lam_exponent is not None:
        return float(args.d) ** args.lam_exponent
    if getattr(args, "method", "erm") == "erm":
        raise InputError("one of --lam or --lam-exponent is required (only --method bayes does without λ)")
    return None


def _quadratic_solver_options(args: argparse.Namespace) -> dict[str, Any]:
    """--solver-method, --block-size and --design-memory, refused where they would do nothing."""
    given = {
        "--solver-method": args.solver_method,
        "--block-size": args.block_size,
        "--design-memory": args.design_memory,
    }
    if args.model == "diagonal":
        for flag, value in given.items():
            if value is not None:
                raise InputError(f"{flag} applies to the quadratic fits only; got {value!r} for the diagonal model")
    if args.estimator != "convex" and args.solver_method is not None:
        raise InputError(
            f"--solver-method applies to --estimator convex only; got {args.solver_method!r} with {args.estimator}"
        )
    options: dict[str, Any] = {"method": args.solver_method or "auto", "block_size": args.block_size}
    options["design_memory"] = DEFAULT_DESIGN_MEMORY_GB if args.design_memory is None else args.design_memory
    return options


def _run_fit(args: argparse.Namespace) -> None:
    from .io.parquet import write_table
    from .tasks.fit import fit_point, fit_replicates

    lam = _lam_of(args)
    if lam == "optimal":
        raise InputError("`--lam optimal` is a state-evolution option (predict); fit needs a number")
    _check_outputs(args, "--output", "--weights-output", "--solution-output")
    if args.model == "diagonal":
        need = diagonal_fit_bytes(args.d, args.n)
    else:
        memory = DEFAULT_DESIGN_MEMORY_GB if args.design_memory is None else args.design_memory
        need = quadratic_fit_bytes(args.d, args.n, memory, args.width)
    _check_memory(args, need, f"a {args.model} fit at d = {args.d}, n = {args.n}")
    options = {
        "normalization": args.normalization,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "width": args.width,
        "device": args.device,
        **_quadratic_solver_options(args),
    }
    files = (args.output, args.weights_output, args.solution_output, args.teacher)
    if args.replicates is None and all(path is None for path in files):
        outcome = fit_point(
            args.model,
            args.estimator,
            args.d,
            args.gamma,
            args.noise,
            args.n,
            lam,
            args.seed,
            args.replicate,
            **options,
        )
        record = _consistent_status(outcome.record)
        if args.json:
            _emit(record)
        else:
            _print_record(record)
        return
    teacher = _read_table(args.teacher, "--teacher", f"teacher {args.model}") if args.teacher else None
    tables = fit_replicates(
        args.model,
        args.estimator,
        args.d,
        args.gamma,
        args.noise,
        args.n,
        lam,
        args.seed,
        args.replicates or 1,
        teacher=teacher,
        **options,
    )
    provenance = {"verb": "fit", "model": args.model, "estimator": args.estimator}
    fits = _consistent_frame(tables.fits)
    if args.output:
        write_table(fits, args.output, provenance)
    if args.weights_output:
        write_table(tables.weights, args.weights_output, provenance)
    if args.solution_output:
        write_table(tables.solution, args.solution_output, {**provenance, "d": args.d})
    if args.json:
        _emit({"points": fits.to_dict(orient="records")})


def _run_predict(args: argparse.Namespace) -> None:
    from .io.parquet import write_table
    from .tasks.predict import default_target, predict_sweep
    from .tasks.teacher import teacher_from_table

    lam = _lam_of(args)
    _check_outputs(args, "--output")
    if args.model == "quadratic":
        _check_memory(args, quadratic_se_bytes(args.d), f"the quadratic state evolution at d = {args.d}")
    options = {
        "method": args.method,
        "route": args.route,
        "n_draws": args.n_draws,
        "mc_rtol": args.mc_rtol,
        "max_draws": args.max_draws,
        "width": args.width,
        "normalization": args.normalization,
    }
    if args.teacher:
        table = _read_table(args.teacher, "--teacher", f"teacher {args.model}")
        if args.model == "diagonal" and args.method == "erm":
            targets = [teacher_from_table(table, r, "theta_star") for r in sorted(table["replicate"].unique())]
        else:
            targets = [teacher_from_table(table, 0, "variance" if args.model == "diagonal" else "eigenvalue")]
    else:
        targets = [
            default_target(args.model, args.method, args.d, args.gamma, args.seed, args.replicate, args.normalization)
        ]
    frame = _consistent_frame(
        predict_sweep(args.model, args.d, args.gamma, args.noise, args.n, lam, args.seed, targets, **options)
    )
    if args.teacher is None:
        frame["replicate"] = args.replicate
    if args.output:
        write_table(frame, args.output, {"verb": "predict", "model": args.model, "method": args.method})
    records = frame.to_dict(orient="records")
    if args.json:
        _emit(records[0] if len(records) == 1 else {"points": records})
    elif not args.output:
        for record in records:
            _print_record(record)


def _run_teacher(args: argparse.Namespace) -> None:
    from .io.parquet import write_table
    from .tasks.teacher import teacher_table

    _check_outputs(args, "--output")
    per_replicate = args.d * args.d if args.model == "quadratic" else args.d
    _check_memory(args, 8.0 * 4 * per_replicate, f"a {args.model} teacher at d = {args.d}")
    frame = teacher_table(args.model, args.d, args.gamma, args.seed, args.replicates, args.normalization)
    write_table(frame, args.output, {"verb": "teacher", "model": args.model})


def _run_aggregate(args: argparse.Namespace) -> None:
    from .io.parquet import write_table
    from .tasks.aggregate import aggregate_tables

    _check_outputs(args, "--output")
    fits = [_read_table(p, "--fits") for p in args.fits]
    table = aggregate_tables(fits, [_read_table(p, "--se") for p in args.se])
    write_table(table, args.output, {"verb": "aggregate", "model": args.model})


def _run_figure(args: argparse.Namespace) -> None:
    from .figures.fig3 import draw_fig3
    from .figures.style import save_figure

    _check_outputs(args, "--output")
    table = _read_table(args.table, "--table")
    if args.name in SPECTRAL_FIGURES:
        fig = _spectral_figure(args.name, table, args.model, args.lam_exponent)
    elif args.name in ("fig1", "fig4"):
        from .figures.fig1 import draw_fig1, draw_fig4

        fig = (draw_fig1 if args.name == "fig1" else draw_fig4)(table, args.model)
    elif args.name == "fig5":
        fig = draw_fig3(table, args.model, figure_label="Figure 5 (Figure 3 at Δ = 0)")
    else:
        fig = draw_fig3(table, args.model)
    save_figure(fig, args.output, dpi=args.dpi)


def _spectral_figure(name: str, table, model: str, lam_exponent: float | None):
    if name == "fig2":
        from .figures.fig2 import draw_fig2

        return draw_fig2(table, model)
    if name == "fig6":
        from .figures.decomposition import draw_fig6

        return draw_fig6(table, model, lam_exponent)
    if name == "fig7":
        from .figures.htsr import draw_fig7

        return draw_fig7(table, model)
    from .figures.pruning import draw_fig8

    return draw_fig8(table, model)


def _run_spectrum(args: argparse.Namespace) -> None:
    from .tasks.spectra import analyse_spectrum_file

    if args.plot is not None and not args.plot.lower().endswith(PLOT_SUFFIXES):
        raise InputError(f"`--plot` must name a {', '.join(PLOT_SUFFIXES)} file; got {args.plot!r}")
    _check_outputs(args, "--plot")
    if str(args.file).lower().endswith(".npy"):
        _check_npy_size(args)
    report = analyse_spectrum_file(args.file, key=args.key, replicate=args.replicate, matrix_scale=args.matrix_scale)
    if args.plot is not None:
        from .figures.htsr import draw_spectrum_fit
        from .figures.style import save_figure

        fig = draw_spectrum_fit(report.eigenvalues, report.summary, report.tail, title=str(args.file))
        save_figure(fig, [args.plot])
    if args.json:
        _emit({k: [json_safe(v) for v in value] if isinstance(value, list) else value
               for k, value in report.record.items()})  # fmt: skip
    else:
        _print_record(report.record)


def _check_npy_size(args: argparse.Namespace) -> None:
    """Read a .npy header only, and refuse an array larger than the file or than --max-memory.

    A header is a few bytes: a corrupt or hostile one may claim 10^12 elements, which np.load would
    try to allocate. A malformed header is left to the reader, which names the file.
    """
    import numpy as np

    path = Path(args.file)
    try:
        with open(path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            if version not in readers:
                return
            shape, _, dtype = readers[version](handle)
            offset = handle.tell()
    except (OSError, ValueError, EOFError):
        return
    size = float(np.prod(shape, dtype=float)) * dtype.itemsize
    if size > path.stat().st_size - offset:
        raise InputError(
            f"`file` {str(path)!r}: its header claims shape {tuple(shape)} ({size:.3g} bytes) but the file holds "
            f"{path.stat().st_size - offset} bytes of data; the file is truncated or corrupt"
        )
    _check_memory(args, 2.0 * size, f"the array of {str(path)!r} (shape {tuple(shape)})")


def _run_spectra(args: argparse.Namespace) -> None:
    from .io.parquet import write_table
    from .io.weights import read_weights_table
    from .tasks.spectra import spectra_sweep

    if not len(args.n) == len(args.weights) == len(args.fits):
        raise InputError(
            f"`--n`, `--weights` and `--fits` need one entry per sample size; got {len(args.n)}, "
            f"{len(args.weights)} and {len(args.fits)}"
        )
    _check_outputs(args, "--output", "--density-output")
    teacher = _read_table(args.teacher, "--teacher", f"teacher {args.model}")
    tables = spectra_sweep(
        args.model, args.estimator, args.d, args.gamma, args.noise, args.lam_exponent, args.n,
        [read_weights_table(p) for p in args.weights], [_read_table(p, "--fits") for p in args.fits],
        teacher, seed=args.seed, n_draws=args.n_draws, width=args.width,
    )  # fmt: skip
    provenance = {"verb": "spectra", "model": args.model, "estimator": args.estimator}
    write_table(tables.summary, args.output, provenance)
    write_table(tables.density, args.density_output, provenance)


def _run_prune(args: argparse.Namespace) -> None:
    from .io.parquet import write_table
    from .io.weights import read_weights_table
    from .tasks.spectra import prune_sweep

    for flag, paths in (("--weights", args.weights), ("--solution", args.solution), ("--fits", args.fits)):
        if paths is not None and len(paths) != len(args.n):
            raise InputError(f"`--n` and `{flag}` need one entry per sample size; got {len(args.n)} and {len(paths)}")
    if (args.solution is None) != (args.fits is None):
        raise InputError(
            "`--solution` and `--fits` go together (the stored eigenpairs and the fit's `converged` flag); "
            f"got only {'--solution' if args.fits is None else '--fits'}"
        )
    if args.solution is not None and args.model != "quadratic":
        raise InputError(
            "`--solution` (stored eigenpairs of Ŝ) applies to the quadratic model only; the diagonal prune "
            f"reads θ̂ from --weights. Drop --solution and --fits; got model {args.model!r}"
        )
    _check_outputs(args, "--output")
    teacher = _read_table(args.teacher, "--teacher", f"teacher {args.model}")
    stored = {}
    if args.solution is not None:
        stored = {
            "solutions": [_read_table(p, "--solution") for p in args.solution],
            "fits": [_read_table(p, "--fits") for p in args.fits],
        }
    frame = prune_sweep(
        args.model, args.estimator, args.d, args.gamma, args.noise, args.lam_exponent, args.n,
        [read_weights_table(p) for p in args.weights], teacher, seed=args.seed,
        normalization=args.normalization, tol=args.tol, max_iter=args.max_iter, width=args.width,
        n_draws=args.n_draws, **stored,
    )  # fmt: skip
    write_table(frame, args.output, {"verb": "prune", "model": args.model, "estimator": args.estimator})


def _run_collect(args: argparse.Namespace) -> None:
    import pandas as pd

    from .io.parquet import write_table

    # Inputs arrive in the order of the rule's list (the config's sweep order), so the table
    # is deterministic without sorting.
    _check_outputs(args, "--output")
    table = pd.concat([_read_table(p, "--inputs") for p in args.inputs], ignore_index=True)
    write_table(table, args.output, {"verb": "collect"})


def _grid_spec(values: Sequence[float], flag: str) -> dict[str, Any]:
    start, stop, num = values
    if num != int(num) or num < 1:
        raise InputError(f"`{flag}` NUM must be a positive integer; got {num:g}")
    if start > stop:
        raise InputError(f"`{flag}`: START ({start:g}) must be <= STOP ({stop:g})")
    return {"start": start, "stop": stop, "num": int(num)}


def _run_exponents(args: argparse.Namespace) -> None:
    from .io.parquet import atomic_path, write_table
    from .tasks import exponents

    provenance = {"verb": "exponents", "action": args.action}
    if args.action == "se":
        try:
            windows = json.loads(args.windows)
        except json.JSONDecodeError as error:
            raise InputError(f"`--windows` must be JSON; {error}") from None
        _check_outputs(args, "--output")
        grid = {
            "kappa": _grid_spec(args.kappa_grid, "--kappa-grid"),
            "lam_exponent": _grid_spec(args.lam_exponent_grid, "--lam-exponent-grid"),
        }
        frame = exponents.scaling_se_table(
            args.model, args.d, args.gamma, args.noise, grid=grid, windows=windows,
            window_points=args.window_points, peak_bracket=tuple(args.peak_bracket), normalization=args.normalization,
        )  # fmt: skip
        write_table(frame, args.output, {**provenance, "model": args.model})
        bad = int((~frame["converged"]).sum())
        print(f"{len(frame)} SE points, {bad} not converged", file=sys.stderr)
        return
    _check_outputs(args, "--output", "--csv", "--html")
    se = _concat([_read_table(path, "--se") for path in args.se])
    if args.action == "heatmap":
        frame = exponents.heatmap_table(se, margin=args.margin, tol=args.tol)
        write_table(frame, args.output, provenance)
        summary = exponents.heatmap_agreement(frame)
        for row in summary:
            print(
                f"{row['model']}, Δ = {row['noise']:g}: exponent within {args.tol:g} of the theory at "
                f"{row['agreement']:.1%} of {row['scored']} scored points (d = {row['d_high']})",
                file=sys.stderr,
            )
        if args.json:
            _emit({"agreement": summary})
        return
    fits = _concat([_read_table(path, "--fits") for path in args.fits])
    frame = exponents.exponent_table(se, fits, args.seed, n_resamples=args.resamples, confidence=args.confidence)
    write_table(frame, args.output, provenance)
    if args.csv:
        with atomic_path(args.csv) as tmp:
            frame.to_csv(tmp, index=False)
    if args.html:
        with atomic_path(args.html) as tmp:
            tmp.write_text(exponents.exponent_table_html(frame), encoding="utf-8")
    if args.json:
        _emit({"rows": frame.to_dict(orient="records")})


def _run_plan(args: argparse.Namespace) -> None:
    from .workflow import plan

    model_path = args.cost_model or plan.COST_MODEL_PATH
    if args.cost_model is not None:
        _check_cost_model(args.cost_model)
    if args.calibrate:
        if args.configfile or args.resources:
            raise InputError(
                "`--calibrate` takes each run's overlays after its folder (--calibrate BENCHMARKS OVERLAY ...); "
                "it cannot be combined with --configfile or --resources"
            )
        previous = plan.load_cost_model(model_path) if Path(model_path).is_file() else None
        model = plan.calibrate_cost_model([(c[0], c[1:]) for c in args.calibrate], previous)
        plan.write_cost_model(model, args.output or model_path)
        summary = [
            {"class": key, "jobs": entry.get("jobs", 0), "source": entry["source"],
             "seconds_rms_log_residual": entry["seconds"]["rms_log_residual"]}
            for key, entry in model["classes"].items()
        ]  # fmt: skip
        for row in summary:
            print(f"{row['class']:<45} {row['jobs']:>5} jobs  rms log residual {row['seconds_rms_log_residual']:.2f}"
                  f"  ({row['source']})", file=sys.stderr)  # fmt: skip
        if args.json:
            _emit({"output": str(args.output or model_path), "classes": summary})
        return
    if args.output:
        raise InputError("`--output` is the cost-model file written by --calibrate; give --calibrate too")
    config = plan.study_config(args.configfile)
    model = plan.load_cost_model(model_path)
    estimate = plan.estimate_plan(plan.dry_run_jobs(args.configfile), config, model)
    if args.resources:
        print(plan.slurm_resources(estimate, model), end="")
        return
    if args.json:
        _emit(
            {
                "configfiles": ["config.yaml", *args.configfile],
                "jobs": estimate.total_jobs,
                "core_hours": estimate.total_core_hours,
                "gpu_jobs": estimate.total_gpu_jobs,
                "gpu_hours_upper_bound": estimate.total_gpu_hours,
                "rules": [{k: json_safe(v) for k, v in row.items()} for row in estimate.rules.to_dict("records")],
            }
        )
        return
    _print_plan(estimate, ["config.yaml", *args.configfile])


#: A job predicted past this (hours) may not fit a partition's time limit.
LONG_JOB_HOURS = 24.0


def _check_cost_model(path: str) -> None:
    """A --cost-model that is not a cost-model JSON object is one line naming the file."""
    target = Path(path)
    if not target.is_file():
        what = "is a folder" if target.is_dir() else "no such file"
        raise InputError(f"`--cost-model` {path!r}: {what}; allowed: a cost-model JSON file")
    try:
        model = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputError(f"`--cost-model` {path!r}: is not JSON ({error}); allowed: a cost-model JSON file") from None
    if not isinstance(model, dict) or not isinstance(model.get("classes"), dict):
        raise InputError(
            f"`--cost-model` {path!r}: is not a cost model (no `classes` object); allowed: a file written by "
            "`shallowscaling plan --calibrate`"
        )


def _print_plan(estimate, configs: list[str]) -> None:
    rules = estimate.rules
    print(f"{' + '.join(configs)}: {estimate.total_jobs} jobs (snakemake --dry-run)")
    header = f"{'rule':<24} {'jobs':>5} {'core-hours':>11} {'(×/÷)':>6} {'longest job':>12} {'peak MB':>8} {'(×/÷)':>6}"
    print(header)
    print("-" * len(header))
    for row in rules.itertuples():
        print(
            f"{row.rule:<24} {row.jobs:>5} {_significant(row.core_hours):>11} {row.core_hours_factor:>6.2f} "
            f"{_duration(row.longest_job_hours):>12} {row.peak_mem_mb:>8.0f} {row.peak_mem_factor:>6.2f}"
        )
    print("-" * len(header))
    print(f"{'total':<24} {estimate.total_jobs:>5} {_significant(estimate.total_core_hours):>11}")
    if estimate.total_gpu_jobs:
        counts = ", ".join(f"{row.rule} {row.gpu_jobs}" for row in rules.itertuples() if row.gpu_jobs)
        print(
            f"GPU jobs: {estimate.total_gpu_jobs} ({counts}; quadratic.device), one GPU each, not in the core-hours "
            f"above: at most {_significant(estimate.total_gpu_hours)} GPU-hours (their CPU prediction: an upper "
            "bound where a GPU beats one core, as expected at d >= 400; no GPU run has calibrated the cost model)."
        )
    long_jobs = estimate.jobs[estimate.jobs["seconds"] > LONG_JOB_HOURS * 3600.0]
    if len(long_jobs):
        counts = ", ".join(f"{rule} {count}" for rule, count in long_jobs["rule"].value_counts(sort=False).items())
        print(f"{len(long_jobs)} job(s) predicted over {LONG_JOB_HOURS:g} h ({counts}): check your time limit.")
    print(
        "One core per CPU job. (×/÷): 1σ multiplicative uncertainty, from the cost models' parameters (it grows "
        "with the extrapolation beyond the calibrated sizes) and the job-to-job scatter."
    )


def _significant(value: float) -> str:
    return f"{value:.3g}" if value >= 0.01 else f"{value:.1e}"


def _duration(hours: float) -> str:
    if hours >= 1.0:
        return f"{hours:.1f} h"
    if hours * 60.0 >= 1.0:
        return f"{hours * 60.0:.1f} min"
    return f"{hours * 3600.0:.0f} s"


def _concat(frames: list) -> Any:
    """Stack tables (an empty list gives an empty table)."""
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _print_record(record: dict[str, Any]) -> None:
    width = max(map(len, record))
    for key, value in record.items():
        print(f"{key:<{width}}  {value}")


RUNNERS = {
    "fit": _run_fit,
    "predict": _run_predict,
    "teacher": _run_teacher,
    "aggregate": _run_aggregate,
    "figure": _run_figure,
    "spectrum": _run_spectrum,
    "spectra": _run_spectra,
    "prune": _run_prune,
    "collect": _run_collect,
    "exponents": _run_exponents,
    "plan": _run_plan,
}


class _StderrHandler(logging.Handler):
    """Writes each record to the *current* ``sys.stderr``.

    A ``StreamHandler`` would keep the stream it was created with; looking it up at every record
    keeps the lines going where stderr points now (a redirected or captured stream, e.g. in tests
    that call :func:`main` several times in one process).
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break the run; report the way logging does
            self.handleError(record)


def _send_progress_to_stderr() -> None:
    """Send the solvers' progress lines (INFO on ``shallowscaling.progress``) to stderr, once.

    Idempotent: a second call in the same process finds its handler and adds no other, so no
    line is ever written twice.
    """
    if not any(isinstance(handler, _StderrHandler) for handler in PROGRESS_LOGGER.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("shallowscaling: %(message)s"))
        PROGRESS_LOGGER.addHandler(handler)
    PROGRESS_LOGGER.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 1 failure).

    Progress lines of long solves (start, heartbeat every ``SHALLOWSCALING_HEARTBEAT_S`` seconds,
    end) go to stderr; a bad value of that variable is a bad input of every verb.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _send_progress_to_stderr()
    try:
        # Checked before any work, so that a typo fails at once rather than at the first solve.
        heartbeat_interval()
        with warnings.catch_warnings():
            # Convergence problems are recorded in the output (converged=false) and logged once.
            warnings.simplefilter("default", ConvergenceWarning)
            RUNNERS[args.verb](args)
    except InputError as error:
        parser.exit(2, f"shallowscaling {args.verb}: error: {' '.join(str(error).split())}\n")
    except OSError as error:
        # A file that cannot be read or written (permissions, a full disk): one line naming it.
        parser.exit(2, f"shallowscaling {args.verb}: error: {error.filename or ''}: {error.strerror or error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
