"""Verbs ``fit``, ``predict``, ``teacher`` and ``aggregate``: simulations and SE predictions."""

from __future__ import annotations

import argparse
from typing import Any

from ..config import quadratic_se_bytes
from ..design import DEFAULT_DESIGN_MEMORY_GB, design_bytes
from ..errors import InputError
from ..state_evolution.quadratic_mc import MAX_DRAWS_DEFAULT, MC_RTOL_DEFAULT
from ._args import add_max_memory, add_point_flags, schema_int, schema_real
from ._common import (
    check_memory,
    check_outputs,
    consistent_frame,
    consistent_status,
    emit,
    print_record,
    read_input_table,
)
from ._teacher import add_teacher_flags, teacher_from_args


def add_simulate_verbs(verbs) -> None:
    """``fit``, ``predict`` (one point or a workflow job) and the workflow's ``teacher`` and ``aggregate``."""
    fit = verbs.add_parser(
        "fit",
        help="train an estimator on a drawn dataset and report its excess risk",
        description="Draw the teacher and dataset of (seed, replicate) and minimise the ERM objective "
        "to its stated tolerance. Diagonal: ½Σ(y − θ·x/√d)² + λ‖θ‖₁ (LASSO) or the two-layer diagonal "
        "network with weight decay. Quadratic: (1/d²)Σ(y − ⟨S, Z⟩)² + (λ/d)Tr S over S ⪰ 0 (convex) or "
        "S = BBᵀ (network).",
    )
    add_point_flags(fit, many_n=False)
    add_teacher_flags(fit)
    fit.add_argument(
        "--estimator",
        required=True,
        choices=("lasso", "network", "convex"),
        help="lasso | network (diagonal); convex | network (quadratic)",
    )
    fit.add_argument(
        "--replicate",
        type=schema_int("replicates", offset=-1),
        default=0,
        help="replicate index of the draw (default 0)",
    )
    fit.add_argument("--replicates", type=schema_int("replicates"), help="fit replicates 0..K-1 (a workflow job)")
    fit.add_argument(
        "--tol", type=schema_real("tol"), default=1e-8, help="solver tolerance (see each solver's stopping rule)"
    )
    fit.add_argument(
        "--max-iter",
        type=schema_int("max_iter"),
        default=100_000,
        help="iteration cap; hitting it flags converged=false",
    )
    fit.add_argument("--weights-output", help="write the learned weights (θ̂ or eig Ŝ) to this Parquet file")
    fit.add_argument(
        "--solution-output",
        help="write the non-zero eigenpairs of Ŝ (what `prune --solution` reads; no rows for the diagonal model) "
        "to this Parquet file",
    )
    add_max_memory(fit)
    fit.add_argument(
        "--device",
        help="array backend of the quadratic fits: numpy (default) or a PyTorch device such as cpu or cuda "
        "(needs the torch extra)",
    )
    fit.add_argument(
        "--solver-method",
        choices=("auto", "fista", "factored", "ssnal"),
        help="quadratic convex solver: auto (default: factored S = BBᵀ where the first dual matrix predicts a "
        "low rank, else FISTA, handed over to SSNAL when it has not converged after 100 iterations), fista, "
        "factored, or ssnal (semismooth Newton augmented Lagrangian; needs the design in memory)",
    )
    fit.add_argument(
        "--block-size",
        type=schema_int("block_size"),
        help="rows of X per block of a quadratic pass (default ~64k numbers per block); rounding only, never the data",
    )
    fit.add_argument(
        "--design-memory",
        type=schema_real("design_memory"),
        help=f"GB of design X held in memory (default {DEFAULT_DESIGN_MEMORY_GB:g}); a larger X is redrawn "
        "block by block (same numbers, memory O(block·d + d²)): at every pass by the quadratic solvers, twice by "
        "the LASSO (n > d: XᵀX and Xᵀy, then the final certificate); not for the diagonal network",
    )
    fit.add_argument(
        "--workers",
        type=schema_int("workers"),
        default=1,
        help="quadratic fits: replicates solved in parallel threads, one BLAS thread each (default 1); the tables "
        "are bit-identical to a serial run, the memory is about workers times one replicate's",
    )

    predict = verbs.add_parser(
        "predict",
        help="state-evolution prediction of the ERM (or Bayes-optimal) error",
        description="Solve the non-asymptotic state evolution at finite (n, d, λ, Δ) on the "
        "finite-d teacher (docs/theory.md §2). Returns the effective noise δ, ε, the threshold t = λε and the "
        "predicted excess risk. --lam optimal minimises the ERM SE risk over λ.",
    )
    add_point_flags(predict, many_n=True)
    add_teacher_flags(predict)
    add_max_memory(predict)
    predict.add_argument(
        "--method", choices=("erm", "bayes"), default="erm", help="erm (default) or bayes (Bayes-optimal)"
    )
    predict.add_argument(
        "--teacher-law",
        choices=("empirical", "exact"),
        help="spectral law of the teacher the Bayes-optimal route uses: empirical (default: the law of the d "
        "sampled or given values) or exact (the family's d → ∞ law; --teacher-family wishart, --method bayes). "
        "Recorded in a teacher_law column for every teacher other than the default power law (quadratic "
        "--method bayes only)",
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
        type=schema_int("n_draws"),
        default=3,
        help="K the mc route starts with (default 3); K then grows up to --max-draws until the relative "
        "Monte-Carlo standard error of matrix_mse is <= --mc-rtol",
    )
    predict.add_argument(
        "--mc-rtol",
        type=schema_real("mc_rtol"),
        default=MC_RTOL_DEFAULT,
        help=f"target relative Monte-Carlo standard error of the mc route (default {MC_RTOL_DEFAULT:g})",
    )
    predict.add_argument(
        "--max-draws",
        type=schema_int("max_draws"),
        default=MAX_DRAWS_DEFAULT,
        help=f"cap on K (default {MAX_DRAWS_DEFAULT}); reaching it above --mc-rtol gives status max_draws and "
        "converged false",
    )
    predict.add_argument(
        "--replicate",
        type=schema_int("replicates", offset=-1),
        default=0,
        help="replicate whose θ* is used (diagonal)",
    )

    teacher = verbs.add_parser("teacher", help="write the teachers of a sweep (workflow job)")
    teacher.add_argument("model", choices=("diagonal", "quadratic"))
    teacher.add_argument("--d", type=schema_int("d"), required=True, help="input dimension d")
    teacher.add_argument("--gamma", type=schema_real("gamma"), required=True, help="teacher exponent γ (> 0.5)")
    teacher.add_argument("--seed", type=schema_int("seed"), required=True, help="base seed")
    teacher.add_argument("--replicates", type=schema_int("replicates"), required=True, help="number of replicates")
    teacher.add_argument("--normalization", choices=("unit", "paper"), default="unit")
    teacher.add_argument("--output", required=True, help="Parquet file to write")
    add_max_memory(teacher)

    aggregate = verbs.add_parser("aggregate", help="average fits over replicates and join the SE (workflow job)")
    aggregate.add_argument("model", choices=("diagonal", "quadratic"))
    aggregate.add_argument("--fits", nargs="*", default=[], help="fit Parquet files")
    aggregate.add_argument("--se", nargs="*", default=[], help="state-evolution Parquet files")
    aggregate.add_argument("--output", required=True, help="Parquet file to write")


def _lam_of(args: argparse.Namespace) -> float | str | None:
    if args.lam is not None:
        return args.lam
    if args.lam_exponent is not None:
        return float(args.d) ** args.lam_exponent
    if getattr(args, "method", "erm") == "erm":
        raise InputError("one of --lam or --lam-exponent is required (only --method bayes does without λ)")
    return None


def _solver_options(args: argparse.Namespace) -> dict[str, Any]:
    """--solver-method, --block-size and --design-memory, refused where they would do nothing."""
    if args.model == "diagonal":
        for flag, value in (("--solver-method", args.solver_method), ("--block-size", args.block_size)):
            if value is not None:
                raise InputError(f"{flag} applies to the quadratic fits only; got {value!r} for the diagonal model")
        if args.estimator == "network" and args.design_memory is not None:
            raise InputError(
                f"--design-memory applies to the LASSO and the quadratic fits (the diagonal network holds X "
                f"whole); got {args.design_memory!r} with --estimator network"
            )
    if args.estimator != "convex" and args.solver_method is not None:
        raise InputError(
            f"--solver-method applies to --estimator convex only; got {args.solver_method!r} with {args.estimator}"
        )
    options: dict[str, Any] = {"method": args.solver_method or "auto", "block_size": args.block_size}
    options["design_memory"] = DEFAULT_DESIGN_MEMORY_GB if args.design_memory is None else args.design_memory
    if args.solver_method == "ssnal" and design_bytes(args.n, args.d) > options["design_memory"] * 1e9:
        raise InputError(
            f"--solver-method ssnal needs the design in memory: X takes {design_bytes(args.n, args.d) / 1e9:.3g} GB, "
            f"more than --design-memory {options['design_memory']!r} GB; raise --design-memory or use "
            "--solver-method auto or fista"
        )
    return options


def run_fit(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..tasks.fit import fit_bytes, fit_point, fit_replicates

    lam = _lam_of(args)
    if lam == "optimal":
        raise InputError("`--lam optimal` is a state-evolution option (predict); fit needs a number")
    spec = teacher_from_args(args)
    check_outputs(args, "--output", "--weights-output", "--solution-output")
    if args.workers > 1 and args.model != "quadratic":
        raise InputError(f"--workers applies to the quadratic fits only; got {args.workers} for the diagonal model")
    workers = min(args.workers, args.replicates or 1)
    need = workers * fit_bytes(args.model, args.d, args.n, args.design_memory, args.width, args.estimator)
    check_memory(args, need, f"a {args.model} fit at d = {args.d}, n = {args.n} with {workers} worker(s)")
    options = {
        "normalization": args.normalization,
        "teacher_spec": spec,
        "tol": args.tol,
        "max_iter": args.max_iter,
        "width": args.width,
        "device": args.device,
        **_solver_options(args),
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
        record = consistent_status(outcome.record)
        if args.json:
            emit(record)
        else:
            print_record(record)
        return
    teacher = read_input_table(args.teacher, "--teacher", f"teacher {args.model}") if args.teacher else None
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
        workers=workers,
        **options,
    )
    provenance = {"verb": "fit", "model": args.model, "estimator": args.estimator}
    fits = consistent_frame(tables.fits)
    if args.output:
        write_table(fits, args.output, provenance)
    if args.weights_output:
        write_table(tables.weights, args.weights_output, provenance)
    if args.solution_output:
        write_table(tables.solution, args.solution_output, {**provenance, "d": args.d})
    if args.json:
        emit({"points": fits.to_dict(orient="records")})


def run_predict(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..tasks.predict import default_target, exact_law_target, predict_sweep, targets_from_teacher

    lam = _lam_of(args)
    spec = teacher_from_args(args)
    check_outputs(args, "--output")
    if args.model == "quadratic":
        check_memory(args, quadratic_se_bytes(args.d), f"the quadratic state evolution at d = {args.d}")
    options = {
        "method": args.method,
        "route": args.route,
        "n_draws": args.n_draws,
        "mc_rtol": args.mc_rtol,
        "max_draws": args.max_draws,
        "width": args.width,
        "normalization": args.normalization,
    }
    bayes_quadratic = (args.model, args.method) == ("quadratic", "bayes")
    if args.teacher_law is not None and not bayes_quadratic:
        raise InputError(
            f"--teacher-law {args.teacher_law} applies to the quadratic --method bayes (ERM uses the teacher's "
            f"values); got {args.model} --method {args.method}"
        )
    if bayes_quadratic and (args.teacher_law is not None or not spec.is_power_law):
        options["teacher_law"] = args.teacher_law or "empirical"
    if args.teacher_law == "exact":
        positions, options["target_weights"] = exact_law_target(spec, args.normalization)
        targets = [positions]
    elif args.teacher:
        table = read_input_table(args.teacher, "--teacher", f"teacher {args.model}")
        targets = targets_from_teacher(table, args.model, args.method)
    else:
        targets = [
            default_target(
                args.model, args.method, args.d, args.gamma, args.seed, args.replicate, args.normalization, spec
            )
        ]
    frame = consistent_frame(
        predict_sweep(args.model, args.d, args.gamma, args.noise, args.n, lam, args.seed, targets, **options)
    )
    if args.teacher is None:
        frame["replicate"] = args.replicate
    if args.output:
        write_table(frame, args.output, {"verb": "predict", "model": args.model, "method": args.method})
    records = frame.to_dict(orient="records")
    if args.json:
        emit(records[0] if len(records) == 1 else {"points": records})
    elif not args.output:
        for record in records:
            print_record(record)


def run_teacher(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..tasks.teacher import teacher_table, teacher_table_bytes

    check_outputs(args, "--output")
    check_memory(args, teacher_table_bytes(args.model, args.d), f"a {args.model} teacher at d = {args.d}")
    frame = teacher_table(args.model, args.d, args.gamma, args.seed, args.replicates, args.normalization)
    write_table(frame, args.output, {"verb": "teacher", "model": args.model})


def run_aggregate(args: argparse.Namespace) -> None:
    from ..io.parquet import write_table
    from ..tasks.aggregate import aggregate_tables

    check_outputs(args, "--output")
    fits = [read_input_table(p, "--fits") for p in args.fits]
    table = aggregate_tables(fits, [read_input_table(p, "--se") for p in args.se])
    write_table(table, args.output, {"verb": "aggregate", "model": args.model})
