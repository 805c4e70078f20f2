"""Verb ``classic``: the Figure 9 table of one model, the classic results reproduced (workflow job)."""

from __future__ import annotations

import argparse
import sys

from ._args import schema_int
from ._common import check_outputs, emit


def add_classic_verb(verbs) -> None:
    """``classic MODEL``: closed forms, SE and small fits of the classic results (docs/theory.md §10)."""
    classic = verbs.add_parser(
        "classic",
        help="the Figure 9 table: classic results (DMM transition, OLS, PSD recovery, Wishart MMSE) reproduced",
        description="Long table of closed forms, state-evolution points and small simulations per panel "
        "(docs/data.md, classic table). diagonal: LASSO noiseless transition and OLS limit; quadratic: PSD "
        "trace-minimisation threshold, Wishart Bayes-optimal error, pure-noise interpolation peak.",
    )
    classic.add_argument("model", choices=("diagonal", "quadratic"))
    classic.add_argument("--seed", type=schema_int("seed"), required=True, help="base seed of the data draws")
    classic.add_argument("--output", required=True, help="Parquet file to write")
    classic.add_argument("--json", action="store_true", help="print the rows as JSON")


def run_classic(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..tasks.classic import classic_table

    check_outputs(args, "--output")
    frame = classic_table(args.model, args.seed)
    write_table(frame, args.output, {"verb": "classic", "model": args.model, "seed": args.seed})
    bad = frame[~frame["converged"]]
    print(f"{len(frame)} rows, {len(bad)} not converged", file=sys.stderr)
    for _, row in bad.iterrows():
        print(f"not converged: {row['panel']} {row['curve']} at x = {row['x']:g}", file=sys.stderr)
    if args.json:
        emit({"rows": frame.to_dict(orient="records")})
