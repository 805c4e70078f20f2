"""Command line: ``shallowscaling VERB ...`` (also what the Snakemake rules call).

Verbs: ``fit`` and ``predict`` (one point, or a job of the workflow with ``--output``),
``spectrum`` (heavy-tail diagnostics of any weight file), and the workflow's own ``teacher``,
``aggregate`` and ``figure``. ``--json`` prints one JSON object on stdout; logs go to stderr.
This module parses and prints, nothing else: the work is done in :mod:`shallowscaling.tasks`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from . import __version__
from .errors import ConvergenceWarning, InputError
from .results import json_safe

__all__ = ["build_parser", "main"]

PAPER = "Defilippis et al., arXiv 2509.24882"


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


def _dimension(text: str) -> int:
    value = _integer(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be >= 2; got {value}")
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
    parser.add_argument("--d", type=_dimension, required=True, help="input dimension d (>= 2)")
    parser.add_argument(
        "--gamma",
        type=_real(0.5, strict=True),
        required=True,
        help="teacher power-law exponent γ (> 0.5): spectrum s_k ∝ k^-γ",
    )
    parser.add_argument("--noise", type=_real(0.0), required=True, help="label-noise variance Δ (>= 0)")
    parser.add_argument(
        "--n",
        type=_positive_int,
        required=True,
        nargs="+" if many_n else None,
        help="number of samples n (n_eff = n diagonal, n/d quadratic)" + ("; several for a sweep" if many_n else ""),
    )
    lam = parser.add_mutually_exclusive_group(required=True)
    lam.add_argument("--lam", type=_lam, help="weight decay λ (> 0) of the ERM objective (spec §1)")
    lam.add_argument("--lam-exponent", type=_real(), help="ℓ, for λ = d^ℓ (the paper's panels: -1, 0, 0.5)")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the teacher (and data) draws (default 0)")
    parser.add_argument(
        "--normalization",
        choices=("unit", "paper"),
        default="unit",
        help="teacher scale: unit (Q* = 1) or paper (s_i = √d i^-γ)",
    )
    parser.add_argument("--width", type=_positive_int, help="quadratic network width p (default p = d)")
    parser.add_argument("--teacher", help="teacher Parquet of the workflow (checked against / used as the draw)")
    parser.add_argument("--output", help="write the rows to this Parquet file (atomically)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb (also used to render ``--help``)."""
    parser = argparse.ArgumentParser(
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
    fit.add_argument("--replicate", type=int, default=0, help="replicate index of the draw (default 0)")
    fit.add_argument("--replicates", type=_positive_int, help="fit replicates 0..K-1 (a workflow job)")
    fit.add_argument(
        "--tol", type=_real(0.0, strict=True), default=1e-8, help="solver tolerance (see each solver's stopping rule)"
    )
    fit.add_argument(
        "--max-iter", type=_positive_int, default=100_000, help="iteration cap; hitting it flags converged=false"
    )
    fit.add_argument("--weights-output", help="write the learned weights (θ̂ or eig Ŝ) to this Parquet file")

    predict = verbs.add_parser(
        "predict",
        help="state-evolution prediction of the ERM (or Bayes-optimal) error",
        description="Solve the non-asymptotic state evolution at finite (n, d, λ, Δ) on the "
        "finite-d teacher (spec §2). Returns the effective noise δ, ε, the threshold t = λε and the "
        "predicted excess risk. --lam optimal minimises the ERM SE risk over λ.",
    )
    _add_point_flags(predict, many_n=True)
    predict.add_argument(
        "--method", choices=("erm", "bayes"), default="erm", help="erm (default) or bayes (Bayes-optimal)"
    )
    predict.add_argument(
        "--route",
        choices=("mc", "deterministic"),
        default="mc",
        help="quadratic SE: mc (K GOE draws at finite d) or deterministic (free convolution)",
    )
    predict.add_argument("--n-draws", type=_positive_int, default=3, help="K, GOE draws of the mc route (default 3)")
    predict.add_argument("--replicate", type=int, default=0, help="replicate whose θ* is used (diagonal)")

    teacher = verbs.add_parser("teacher", help="write the teachers of a sweep (workflow job)")
    teacher.add_argument("model", choices=("diagonal", "quadratic"))
    teacher.add_argument("--d", type=_dimension, required=True, help="input dimension d")
    teacher.add_argument("--gamma", type=_real(0.5, strict=True), required=True, help="teacher exponent γ (> 0.5)")
    teacher.add_argument("--seed", type=int, required=True, help="base seed")
    teacher.add_argument("--replicates", type=_positive_int, required=True, help="number of replicates")
    teacher.add_argument("--normalization", choices=("unit", "paper"), default="unit")
    teacher.add_argument("--output", required=True, help="Parquet file to write")

    aggregate = verbs.add_parser("aggregate", help="average fits over replicates and join the SE (workflow job)")
    aggregate.add_argument("model", choices=("diagonal", "quadratic"))
    aggregate.add_argument("--fits", nargs="*", default=[], help="fit Parquet files")
    aggregate.add_argument("--se", nargs="*", default=[], help="state-evolution Parquet files")
    aggregate.add_argument("--output", required=True, help="Parquet file to write")

    figure = verbs.add_parser("figure", help="draw a paper figure from its table (workflow job)")
    figure.add_argument("name", choices=("fig3",), help="which figure (named after the paper's)")
    figure.add_argument("--model", choices=("diagonal", "quadratic"), required=True)
    figure.add_argument("--table", required=True, help="the aggregated Parquet table")
    figure.add_argument("--output", nargs="+", required=True, help="PDF and/or PNG paths")
    figure.add_argument("--dpi", type=_positive_int, default=150)
    return parser


def _emit(payload: dict[str, Any]) -> None:
    print(json.dumps({k: json_safe(v) for k, v in payload.items()}, allow_nan=False))


def _lam_of(args: argparse.Namespace) -> float | str:
    if args.lam is not None:
        return args.lam
    return float(args.d) ** args.lam_exponent


def _run_fit(args: argparse.Namespace) -> None:
    from .io.parquet import read_table, write_table
    from .tasks.fit import fit_point, fit_replicates

    lam = _lam_of(args)
    if lam == "optimal":
        raise InputError("`--lam optimal` is a state-evolution option (predict); fit needs a number")
    options = {"normalization": args.normalization, "tol": args.tol, "max_iter": args.max_iter, "width": args.width}
    if args.replicates is None and args.output is None and args.weights_output is None and args.teacher is None:
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
        if args.json:
            _emit(outcome.record)
        else:
            _print_record(outcome.record)
        return
    teacher = read_table(args.teacher) if args.teacher else None
    fits, weights = fit_replicates(
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
    if args.output:
        write_table(fits, args.output, provenance)
    if args.weights_output:
        write_table(weights, args.weights_output, provenance)
    if args.json:
        _emit({"points": fits.to_dict(orient="records")})


def _run_predict(args: argparse.Namespace) -> None:
    from .io.parquet import read_table, write_table
    from .tasks.predict import default_target, predict_sweep
    from .tasks.teacher import teacher_from_table

    lam = _lam_of(args)
    options = {
        "method": args.method,
        "route": args.route,
        "n_draws": args.n_draws,
        "width": args.width,
        "normalization": args.normalization,
    }
    if args.teacher:
        table = read_table(args.teacher)
        if args.model == "diagonal" and args.method == "erm":
            targets = [teacher_from_table(table, r, "theta_star") for r in sorted(table["replicate"].unique())]
        else:
            targets = [teacher_from_table(table, 0, "variance" if args.model == "diagonal" else "eigenvalue")]
    else:
        targets = [
            default_target(args.model, args.method, args.d, args.gamma, args.seed, args.replicate, args.normalization)
        ]
    frame = predict_sweep(args.model, args.d, args.gamma, args.noise, args.n, lam, args.seed, targets, **options)
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

    frame = teacher_table(args.model, args.d, args.gamma, args.seed, args.replicates, args.normalization)
    write_table(frame, args.output, {"verb": "teacher", "model": args.model})


def _run_aggregate(args: argparse.Namespace) -> None:
    from .io.parquet import read_table, write_table
    from .tasks.aggregate import aggregate_tables

    table = aggregate_tables([read_table(p) for p in args.fits], [read_table(p) for p in args.se])
    write_table(table, args.output, {"verb": "aggregate", "model": args.model})


def _run_figure(args: argparse.Namespace) -> None:
    from .figures.fig3 import draw_fig3
    from .figures.style import save_figure
    from .io.parquet import read_table

    fig = draw_fig3(read_table(args.table), args.model)
    save_figure(fig, args.output, dpi=args.dpi)


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
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 1 failure)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            # Convergence problems are recorded in the output (converged=false) and logged once.
            warnings.simplefilter("default", ConvergenceWarning)
            RUNNERS[args.verb](args)
    except InputError as error:
        parser.exit(2, f"shallowscaling {args.verb}: error: {error}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
