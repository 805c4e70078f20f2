"""Verb ``exponents`` (``se``, ``heatmap``, ``table``): the jobs of the scaling stage."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from ..errors import InputError
from ._args import positive_int, real_arg, schema_int, schema_real
from ._common import check_outputs, concat_frames, emit, read_input_table


def add_scaling_verbs(verbs) -> None:
    """``exponents se | heatmap | table``: the jobs of the scaling stage (docs/theory.md §3, §6)."""
    exponents = verbs.add_parser(
        "exponents",
        help="measured scaling exponents: SE across the phase diagram, heat map, exponent table (workflow jobs)",
        description="Scaling laws R = Θ(d^-r) with n_eff = d^κ, λ = d^ℓ (docs/theory.md §3). `se`: the non-asymptotic "
        "SE excess risk of one (model, d, γ, Δ) on a (κ, ℓ) grid, along each phase's fitting window and at the "
        "interpolation peak. `heatmap`: r = −Δlog R/Δlog d at each grid point from the SE of several d, against "
        "the Result-1 exponent. `table`: one row per (model, phase, Δ = 0 or not) with the predicted, "
        "SE-measured and simulated exponents (bootstrap interval over seeds).",
    )
    actions = exponents.add_subparsers(dest="action", required=True, metavar="ACTION")
    se = actions.add_parser("se", help="SE excess risks of one (model, d, γ, Δ) across the diagram")
    se.add_argument("model", choices=("diagonal", "quadratic"))
    se.add_argument("--d", type=schema_int("se_d"), required=True, help="input dimension d")
    se.add_argument("--gamma", type=schema_real("gamma"), required=True, help="teacher exponent γ (> 0.5)")
    se.add_argument(
        "--noise", type=schema_real("noise"), required=True, help="label-noise variance Δ (>= 0; 0: noiseless)"
    )
    se.add_argument(
        "--kappa-grid", type=real_arg(), nargs=3, required=True, metavar=("START", "STOP", "NUM"),
        help="heat-map grid of κ = log_d n_eff: NUM points from START to STOP",
    )  # fmt: skip
    se.add_argument(
        "--lam-exponent-grid", type=real_arg(), nargs=3, required=True, metavar=("START", "STOP", "NUM"),
        help="heat-map grid of ℓ = log_d λ: NUM points from START to STOP",
    )  # fmt: skip
    se.add_argument(
        "--windows", required=True,
        help='fitting windows as JSON, phase → {"lam_exponent": ℓ, "kappa": [lo, hi]} or {"kappa": 1, '
        '"lam_exponent": [lo, hi]} (the peak)',
    )  # fmt: skip
    se.add_argument("--window-points", type=positive_int, default=7, help="points per window (default 7)")
    se.add_argument(
        "--peak-bracket", type=schema_real("peak_bracket"), nargs=2, default=(0.15, 1.5), metavar=("LO", "HI"),
        help="n_eff/d interval searched for the interpolation peak (default 0.15 1.5)",
    )  # fmt: skip
    se.add_argument("--normalization", choices=("unit", "paper"), default="unit", help="teacher scale")
    se.add_argument("--output", required=True, help="Parquet file to write")

    heatmap = actions.add_parser("heatmap", help="SE-measured exponent at every grid point vs the theory")
    heatmap.add_argument("--se", nargs="+", required=True, help="`exponents se` Parquet files (two or more d)")
    heatmap.add_argument(
        "--margin",
        type=schema_real("margin"),
        default=0.1,
        help="score only points farther than this from a boundary (0.1)",
    )
    heatmap.add_argument(
        "--tol", type=schema_real("scaling_tol"), default=0.1, help="agreement: |r_SE − r| <= tol (default 0.1)"
    )
    heatmap.add_argument("--output", required=True, help="Parquet file to write")
    heatmap.add_argument("--json", action="store_true", help="print the agreement per (model, Δ) as JSON")

    table = actions.add_parser("table", help="predicted, SE and simulated exponent per (model, phase, Δ)")
    table.add_argument("--se", nargs="+", required=True, help="`exponents se` Parquet files")
    table.add_argument("--fits", nargs="*", default=[], help="fit Parquet files (replicates) of the simulations")
    table.add_argument("--seed", type=schema_int("seed"), required=True, help="base seed of the bootstrap")
    table.add_argument(
        "--resamples", type=schema_int("resamples"), default=2000, help="bootstrap resamples (default 2000)"
    )
    table.add_argument(
        "--confidence", type=schema_real("confidence"), default=0.95, help="bootstrap interval coverage (default 0.95)"
    )
    table.add_argument("--output", required=True, help="Parquet file to write")
    table.add_argument("--csv", help="also write the table as CSV here")
    table.add_argument("--html", help="also write the table as an HTML page here (for the Snakemake report)")
    table.add_argument("--json", action="store_true", help="print the rows as JSON")


def _grid_spec(values: Sequence[float], flag: str) -> dict[str, Any]:
    start, stop, num = values
    if num != int(num) or num < 1:
        raise InputError(f"`{flag}` NUM must be a positive integer; got {num:g}")
    if start > stop:
        raise InputError(f"`{flag}`: START ({start:g}) must be <= STOP ({stop:g})")
    return {"start": start, "stop": stop, "num": int(num)}


def run_exponents(args: argparse.Namespace) -> None:
    from ..io.parquet import atomic_path, write_table
    from ..tasks import exponents

    provenance = {"verb": "exponents", "action": args.action}
    if args.action == "se":
        try:
            windows = json.loads(args.windows)
        except json.JSONDecodeError as error:
            raise InputError(f"`--windows` must be JSON; {error}") from None
        check_outputs(args, "--output")
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
    check_outputs(args, "--output", "--csv", "--html")
    se = concat_frames([read_input_table(path, "--se") for path in args.se])
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
            emit({"agreement": summary})
        return
    fits = concat_frames([read_input_table(path, "--fits") for path in args.fits])
    frame = exponents.exponent_table(se, fits, args.seed, n_resamples=args.resamples, confidence=args.confidence)
    write_table(frame, args.output, provenance)
    if args.csv:
        with atomic_path(args.csv) as tmp:
            frame.to_csv(tmp, index=False)
    if args.html:
        with atomic_path(args.html) as tmp:
            tmp.write_text(exponents.exponent_table_html(frame), encoding="utf-8")
    if args.json:
        emit({"rows": frame.to_dict(orient="records")})
