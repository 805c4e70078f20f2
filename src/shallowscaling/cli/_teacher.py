"""Teacher flags of ``fit`` and ``predict``: a named family or a teacher read from a ``.npy`` file.

``--teacher-family`` (default ``power_law``, the study's teacher, bit for bit) picks one of
:data:`~shallowscaling.targets.TEACHER_FAMILIES`; ``--teacher-file`` gives the teacher itself:
θ* for the diagonal model, the d eigenvalues of S* for the quadratic one (eigenbasis Haar, as for
the power law). ``--normalization`` keeps its meaning for generated teachers (default ``unit``,
Q* = 1; ``paper``: the raw scale, ones for ``sparse`` and ``flat``). A file is used as given;
``--normalization unit`` rescales it to (1/d) Σ v² = 1, and ``paper`` is refused with it (a file
has no power-law scale).
"""

from __future__ import annotations

import argparse

import numpy as np

from ..errors import InputError
from ..io.teacher_file import read_teacher_file
from ..targets import TEACHER_FAMILIES
from ..tasks.problem import TeacherSpec
from ..workflow.teachers import DATA_GAMMA
from ._args import real_arg


def _sparsity(text: str) -> float:
    value = real_arg()(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be > 0 and <= 1 (a fraction of the d values); got {value:g}")
    return value


def add_teacher_flags(parser: argparse.ArgumentParser) -> None:
    """--teacher-family, --sparsity, --width-ratio and --teacher-file."""
    parser.add_argument(
        "--teacher-family",
        choices=TEACHER_FAMILIES,
        help="teacher: power_law (default, k^-γ), sparse (ones on a fraction --sparsity of the coordinates or "
        "eigenvalues, zeros elsewhere), flat (d ones) or wishart (S* = WWᵀ/√(rd), r = --width-ratio·d; "
        "quadratic only); --gamma is then unused",
    )
    parser.add_argument(
        "--sparsity", type=_sparsity, help="ε in (0, 1]: round(εd) nonzero values of the sparse teacher"
    )
    parser.add_argument("--width-ratio", type=real_arg(0.0, strict=True), help="κ = r/d > 0 of the wishart teacher")
    parser.add_argument(
        "--teacher-file",
        help="1-D .npy of d numbers: θ* (diagonal) or the eigenvalues of S* (quadratic, >= 0), used as given "
        "(--normalization unit rescales it to (1/d)Σv² = 1); --gamma is then unused",
    )


def teacher_from_args(args: argparse.Namespace) -> TeacherSpec:
    """The teacher spec of the flags; also resolves ``args.normalization`` (None → "unit" unless a file).

    Every combination that would be silently ignored is refused in one line.
    """
    family = args.teacher_family or "power_law"
    if args.gamma is None:
        if family == "power_law" and args.teacher_file is None:
            raise InputError("--gamma is required for the power-law teacher (the default --teacher-family)")
        # γ only keys the random draws of another teacher: the workflow's value, so that a command
        # without --gamma draws the same data as the study's jobs
        args.gamma = DATA_GAMMA
    if args.teacher_file is not None and args.teacher_family is not None:
        raise InputError(f"--teacher-family {family} and --teacher-file are exclusive; give one teacher")
    if args.sparsity is not None and family != "sparse":
        raise InputError(f"--sparsity {args.sparsity:g} applies to --teacher-family sparse only; got {family}")
    if args.width_ratio is not None and family != "wishart":
        raise InputError(f"--width-ratio {args.width_ratio:g} applies to --teacher-family wishart only; got {family}")
    if family == "sparse" and args.sparsity is None:
        raise InputError("--teacher-family sparse needs --sparsity ε in (0, 1]")
    if family == "wishart" and args.width_ratio is None:
        raise InputError("--teacher-family wishart needs --width-ratio κ > 0")
    if family == "wishart" and args.model == "diagonal":
        raise InputError("--teacher-family wishart is a matrix teacher: quadratic model only; got diagonal")
    values = None
    if args.teacher_file is not None:
        if args.normalization == "paper":
            raise InputError(
                "--normalization paper applies to generated teachers; a --teacher-file is used as given, "
                "or rescaled with --normalization unit"
            )
        values = read_teacher_file(args.teacher_file, args.model, args.d, f"--teacher-file {args.teacher_file}")
        if args.normalization == "unit" and not np.any(values):
            raise InputError(
                f"--teacher-file {args.teacher_file}: all zeros; --normalization unit needs a nonzero teacher"
            )
    else:
        args.normalization = args.normalization or "unit"
    spec = TeacherSpec(family=family, sparsity=args.sparsity, width_ratio=args.width_ratio, values=values)
    if args.teacher is not None and not spec.is_power_law:
        raise InputError(
            f"--teacher {args.teacher} is the workflow's power-law teacher table; it cannot be combined with "
            "--teacher-family or --teacher-file"
        )
    return spec
