"""Verbs ``spectrum`` (any weight file) and the spectral stage's ``spectra``, ``prune`` and ``collect``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..design import DEFAULT_DESIGN_MEMORY_GB
from ..errors import InputError
from ..results import json_safe
from ._args import add_job_flags, add_max_memory, integer_arg, positive_int, schema_int, schema_real
from ._common import check_memory, check_outputs, emit, print_record, read_input_table

#: Suffixes ``spectrum --plot`` can write.
PLOT_SUFFIXES = (".pdf", ".png", ".svg")


def add_spectral_verbs(verbs) -> None:
    """The verbs of the spectral stage: ``spectrum`` (any file) and the workflow's jobs."""
    spectrum = verbs.add_parser(
        "spectrum",
        help="heavy-tail diagnostics of a weight matrix or spectrum file (tail exponent, bulk edge, phase)",
        description="Analyse the spectrum of trained weights (docs/theory.md §4): a 2-D .npy/.npz array is a weight "
        "matrix W (p × d, one row per hidden unit) and the eigenvalues of WᵀW are analysed, as HT-SR / "
        "WeightWatcher does; a 1-D array, or a Parquet table with an `eigenvalue` column, is the spectrum "
        "itself. Prints the power-law tail exponent (Clauset–Shalizi–Newman MLE with KS-chosen x_min), the "
        "bulk edge, the outliers above it and the Martin–Mahoney phase label.",
    )
    spectrum.add_argument("file", help=".npy, .npz or Parquet file")
    spectrum.add_argument("--key", help="the array to analyse in an .npz archive holding several")
    spectrum.add_argument(
        "--replicate", type=integer_arg, help="the replicate of a workflow weights table (default: the smallest)"
    )
    spectrum.add_argument(
        "--matrix-scale",
        choices=("none", "paper"),
        default="none",
        help="weight matrix: eigenvalues of WᵀW (none, WeightWatcher) or WᵀW/√(pd) (paper, docs/theory.md §1.1)",
    )
    spectrum.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    spectrum.add_argument("--plot", help="draw the spectrum with its fit to this file (.pdf, .png or .svg)")
    add_max_memory(spectrum)

    spectra = verbs.add_parser(
        "spectra",
        help="spectra of one sweep's trained weights vs their SE prediction (workflow job)",
        description="For every fit of one (model, estimator, d, γ, Δ, ℓ) sweep: the summary of the learned "
        "spectrum and the SE-predicted spectrum and error decomposition at the same point. "
        "For a single file use `shallowscaling spectrum`.",
    )
    add_job_flags(spectra)
    spectra.add_argument("--n", type=positive_int, nargs="+", required=True, help="the sweep's sample sizes")
    spectra.add_argument("--weights", nargs="+", required=True, help="weights Parquet files, one per --n")
    spectra.add_argument("--fits", nargs="+", required=True, help="fit Parquet files, one per --n")
    spectra.add_argument("--output", required=True, help="summary Parquet file to write")
    spectra.add_argument("--density-output", required=True, help="spectrum-figure data Parquet file to write")

    prune = verbs.add_parser(
        "prune",
        help="risk of the trained weights pruned at the bulk edge (workflow job)",
        description="Read the trained weights of one point (quadratic: the fit job's stored eigenpairs of Ŝ, "
        "--solution; without it, a refit) and prune them at the SE bulk edge and at the edge estimated from "
        "their spectrum (docs/theory.md §5, Corollary 2). One point per --n; the workflow runs one job per "
        "sweep with every n of it, which writes the rows of the points, in n order.",
    )
    add_job_flags(prune)
    prune.add_argument(
        "--n", type=positive_int, nargs="+", required=True, help="the sample size(s): one point, or a sweep's"
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
        "--fits",
        nargs="+",
        help="the fit job's fit Parquet files, one per --n (their `converged`; quadratic: with --solution)",
    )
    prune.add_argument(
        "--tol", type=schema_real("tol"), default=1e-8, help="solver tolerance of the refit (without --solution)"
    )
    prune.add_argument(
        "--max-iter",
        type=schema_int("max_iter"),
        default=100_000,
        help="iteration cap of the refit (without --solution)",
    )
    prune.add_argument(
        "--design-memory",
        type=schema_real("design_memory"),
        default=DEFAULT_DESIGN_MEMORY_GB,
        help=f"GB of design X held in memory where one is redrawn (default {DEFAULT_DESIGN_MEMORY_GB:g}), as fit's "
        "flag; a larger X is streamed with the same values: diagonal, each replicate's design for the residual "
        "estimate of δ̂ (same table bit for bit); quadratic, the refit's design (without --solution; same table "
        "to rounding; with --solution no design is drawn)",
    )
    prune.add_argument("--output", required=True, help="Parquet file to write")

    collect = verbs.add_parser("collect", help="stack per-job tables into one table (workflow job)")
    collect.add_argument("--inputs", nargs="+", required=True, help="Parquet tables with the same columns")
    collect.add_argument("--output", required=True, help="Parquet file to write")


def run_spectrum(args: argparse.Namespace) -> None:
    from ..tasks.spectrum_file import analyse_spectrum_file

    if args.plot is not None and not args.plot.lower().endswith(PLOT_SUFFIXES):
        raise InputError(f"`--plot` must name a {', '.join(PLOT_SUFFIXES)} file; got {args.plot!r}")
    check_outputs(args, "--plot")
    if str(args.file).lower().endswith(".npy"):
        _check_npy_size(args)
    report = analyse_spectrum_file(args.file, key=args.key, replicate=args.replicate, matrix_scale=args.matrix_scale)
    if args.plot is not None:
        from ..figures.htsr import draw_spectrum_fit
        from ..figures.style import save_figure

        fig = draw_spectrum_fit(report.eigenvalues, report.summary, report.tail, title=str(args.file))
        save_figure(fig, [args.plot])
    if args.json:
        emit({k: [json_safe(v) for v in value] if isinstance(value, list) else value
               for k, value in report.record.items()})  # fmt: skip
    else:
        print_record(report.record)


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
    check_memory(args, 2.0 * size, f"the array of {str(path)!r} (shape {tuple(shape)})")


def run_spectra(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..io.weights import read_weights_table
    from ..tasks.spectra import spectra_sweep

    if not len(args.n) == len(args.weights) == len(args.fits):
        raise InputError(
            f"`--n`, `--weights` and `--fits` need one entry per sample size; got {len(args.n)}, "
            f"{len(args.weights)} and {len(args.fits)}"
        )
    check_outputs(args, "--output", "--density-output")
    teacher = read_input_table(args.teacher, "--teacher", f"teacher {args.model}")
    tables = spectra_sweep(
        args.model, args.estimator, args.d, args.gamma, args.noise, args.lam_exponent, args.n,
        [read_weights_table(p) for p in args.weights], [read_input_table(p, "--fits") for p in args.fits],
        teacher, seed=args.seed, n_draws=args.n_draws, width=args.width,
    )  # fmt: skip
    provenance = {"verb": "spectra", "model": args.model, "estimator": args.estimator}
    write_table(tables.summary, args.output, provenance)
    write_table(tables.density, args.density_output, provenance)


def run_prune(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..io.weights import read_weights_table
    from ..tasks.pruning import prune_sweep

    for flag, paths in (("--weights", args.weights), ("--solution", args.solution), ("--fits", args.fits)):
        if paths is not None and len(paths) != len(args.n):
            raise InputError(f"`--n` and `{flag}` need one entry per sample size; got {len(args.n)} and {len(paths)}")
    if args.model == "quadratic" and (args.solution is None) != (args.fits is None):
        raise InputError(
            "`--solution` and `--fits` go together (the stored eigenpairs and the fit's `converged` flag); "
            f"got only {'--solution' if args.fits is None else '--fits'}"
        )
    if args.solution is not None and args.model != "quadratic":
        raise InputError(
            "`--solution` (stored eigenpairs of Ŝ) applies to the quadratic model only; the diagonal prune "
            f"reads θ̂ from --weights. Drop --solution; got model {args.model!r}"
        )
    check_outputs(args, "--output")
    teacher = read_input_table(args.teacher, "--teacher", f"teacher {args.model}")
    stored = {}
    if args.solution is not None:
        stored["solutions"] = [read_input_table(p, "--solution") for p in args.solution]
    if args.fits is not None:
        stored["fits"] = [read_input_table(p, "--fits") for p in args.fits]
    frame = prune_sweep(
        args.model, args.estimator, args.d, args.gamma, args.noise, args.lam_exponent, args.n,
        [read_weights_table(p) for p in args.weights], teacher, seed=args.seed,
        normalization=args.normalization, tol=args.tol, max_iter=args.max_iter, width=args.width,
        n_draws=args.n_draws, design_memory=args.design_memory, **stored,
    )  # fmt: skip
    write_table(frame, args.output, {"verb": "prune", "model": args.model, "estimator": args.estimator})


def run_collect(args: argparse.Namespace) -> None:
    import pandas as pd

    from ..io.parquet import write_table

    # Inputs arrive in the order of the rule's list (the config's sweep order), so the table
    # is deterministic without sorting.
    check_outputs(args, "--output")
    table = pd.concat([read_input_table(p, "--inputs") for p in args.inputs], ignore_index=True)
    write_table(table, args.output, {"verb": "collect"})
