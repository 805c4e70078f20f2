"""The random draws of one job, derived from (seed, stage, wildcard values) — and nothing else.

A draw is identified by the study's base ``seed`` and a ``replicate`` index. Floats enter the
seed keys only through their canonical text (:func:`~shallowscaling.config.format_float`), so
``gamma=1`` and ``gamma=1.0`` give the same stream. What is cached and what is regenerated:

* teachers are cheap and small: written as Parquet by the ``teacher`` rule (θ* for the
  diagonal model, the eigenvalues s of S* for the quadratic one) for inspection;
* the Haar eigenbasis of S* and every design matrix X are regenerated from their seed inside
  the job that needs them (they are the largest objects and cost less to draw than to read).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import format_float
from ..data import draw_diagonal_design, draw_quadratic_design
from ..design import DEFAULT_DESIGN_MEMORY_GB, StreamedDesign
from ..errors import InputError
from ..seeding import make_rng
from ..targets import (
    TEACHER_FAMILIES,
    draw_diagonal_teacher,
    draw_haar_orthogonal,
    draw_quadratic_teacher,
    family_values,
    target_matrix,
    unit_scale,
)

__all__ = ["Problem", "TeacherSpec", "draw_problem", "draw_teacher", "init_rng", "se_rng", "teacher_values"]


@dataclass(frozen=True)
class Problem:
    """A teacher and a dataset: ``x`` (n, d), ``y`` (n,), and the target.

    ``theta_star`` (d,) for the diagonal model; ``s_star`` (d, d) with its eigenvalues
    ``eigenvalues_star`` (d,) for the quadratic one. ``x`` is an array, or a
    :class:`~shallowscaling.design.StreamedDesign` when larger than the memory budget, which
    every quadratic solver and the LASSO accept in place of an array.
    """

    model: str
    x: np.ndarray | StreamedDesign
    y: np.ndarray
    theta_star: np.ndarray | None = None
    s_star: np.ndarray | None = None
    eigenvalues_star: np.ndarray | None = None


def _teacher_rng(model: str, d: int, gamma: float, seed: int, replicate: int) -> np.random.Generator:
    return make_rng(seed, f"{model}-teacher", d, format_float(gamma), replicate)


@dataclass(frozen=True, eq=False)  # compared by identity: it may hold an array
class TeacherSpec:
    """Which teacher a job uses when it is not the study's power law.

    ``family`` is one of :data:`~shallowscaling.targets.TEACHER_FAMILIES` (``sparsity`` ε for
    ``sparse``, ``width_ratio`` κ for ``wishart``); ``values``, when given, is a fixed teacher read
    from a file: θ* (diagonal) or the eigenvalues of S* (quadratic), used as given, or rescaled to
    (1/d) Σ v² = 1 with ``normalization="unit"`` (``None``: as given). The eigenbasis of a
    quadratic S* is always Haar, drawn as for the power law (from the same stream when the values
    come from a file). The default spec is the power law, bit for bit.
    """

    family: str = "power_law"
    sparsity: float | None = None
    width_ratio: float | None = None
    values: np.ndarray | None = None

    @property
    def is_power_law(self) -> bool:
        return self.values is None and self.family == "power_law"


def teacher_values(
    spec: TeacherSpec, model: str, d: int, gamma: float, seed: int, replicate: int, normalization: str | None
) -> tuple[np.ndarray, np.random.Generator]:
    """θ* or the eigenvalues of S* of a non-power-law spec, and the generator the Haar basis of a
    quadratic S* is then drawn from (:func:`draw_teacher`)."""
    if spec.values is not None:
        values = np.asarray(spec.values, dtype=float)
        if values.shape != (d,):
            raise InputError(f"the teacher file holds {values.size} values; d = {d} needs exactly {d}")
        rng = _teacher_rng(model, d, gamma, seed, replicate)
        return (unit_scale(values) if normalization == "unit" else values), rng
    if spec.family not in TEACHER_FAMILIES:
        raise InputError(f"`family` must be one of {', '.join(TEACHER_FAMILIES)}; got {spec.family!r}")
    if spec.family == "wishart" and model == "diagonal":
        raise InputError("the wishart teacher is a matrix S* = WWᵀ/√(rd): quadratic model only; got diagonal")
    # Keyed by the family and its parameter, not by γ, which these teachers do not use.
    parameter = spec.width_ratio if spec.family == "wishart" else spec.sparsity
    key = "none" if parameter is None else format_float(parameter)
    rng = make_rng(seed, f"{model}-teacher-{spec.family}", d, key, replicate)
    values = family_values(
        spec.family, d, rng, sparsity=spec.sparsity, width_ratio=spec.width_ratio, normalization=normalization or "unit"
    )
    return values, rng


def draw_teacher(
    model: str,
    d: int,
    gamma: float,
    seed: int,
    replicate: int,
    normalization: str | None = "unit",
    teacher: TeacherSpec | None = None,
) -> dict[str, np.ndarray]:
    """The teacher of one replicate: ``{"theta_star"}`` or ``{"eigenvalues", "basis"}``.

    ``teacher`` (default: the power law) selects a named family or a fixed file teacher
    (:class:`TeacherSpec`); ``normalization=None`` is allowed only for a file teacher (as given).
    """
    if teacher is not None and not teacher.is_power_law:
        values, rng = teacher_values(teacher, model, d, gamma, seed, replicate, normalization)
        if model == "diagonal":
            return {"theta_star": values}
        return {"eigenvalues": values, "basis": draw_haar_orthogonal(d, rng)}
    rng = _teacher_rng(model, d, gamma, seed, replicate)
    if model == "diagonal":
        return {"theta_star": draw_diagonal_teacher(d, gamma, rng, normalization)}
    eigenvalues, basis = draw_quadratic_teacher(d, gamma, rng, normalization)
    return {"eigenvalues": eigenvalues, "basis": basis}


def draw_problem(
    model: str,
    d: int,
    gamma: float,
    noise: float,
    n: int,
    seed: int,
    replicate: int,
    normalization: str | None = "unit",
    *,
    design_memory: float = DEFAULT_DESIGN_MEMORY_GB,
    teacher: TeacherSpec | None = None,
) -> Problem:
    """Teacher and dataset of one replicate; the same arguments always give the same arrays.

    ``design_memory`` (GB) decides how X is held, never its values (see
    :func:`~shallowscaling.data.draw_quadratic_design` and
    :func:`~shallowscaling.data.draw_diagonal_design`). ``teacher`` is passed to :func:`draw_teacher`.
    """
    teacher = draw_teacher(model, d, gamma, seed, replicate, normalization, teacher)
    rng = make_rng(seed, f"{model}-data", d, format_float(gamma), format_float(noise), n, replicate)
    if model == "diagonal":
        x, y = draw_diagonal_design(teacher["theta_star"], n, noise, rng, design_memory=design_memory)
        return Problem(model, x, y, theta_star=teacher["theta_star"])
    s_star = target_matrix(teacher["eigenvalues"], teacher["basis"])
    x, y = draw_quadratic_design(s_star, n, noise, rng, design_memory=design_memory)
    return Problem(model, x, y, s_star=s_star, eigenvalues_star=teacher["eigenvalues"])


def init_rng(model: str, d: int, gamma: float, noise: float, n: int, seed: int, replicate: int) -> np.random.Generator:
    """Generator of a network's random initialisation (independent of the data stream)."""
    return make_rng(seed, f"{model}-init", d, format_float(gamma), format_float(noise), n, replicate)


def se_rng(d: int, seed: int) -> np.random.Generator:
    """Generator of the fixed GOE draws of the Monte-Carlo quadratic state evolution."""
    return make_rng(seed, "quadratic-se-goe", d)
