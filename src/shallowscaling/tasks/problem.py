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
from ..data import draw_diagonal_data, draw_quadratic_design
from ..design import DEFAULT_DESIGN_MEMORY_GB, StreamedDesign
from ..seeding import make_rng
from ..targets import draw_diagonal_teacher, draw_quadratic_teacher, target_matrix

__all__ = ["Problem", "draw_problem", "draw_teacher", "init_rng", "se_rng"]


@dataclass(frozen=True)
class Problem:
    """A teacher and a dataset: ``x`` (n, d), ``y`` (n,), and the target.

    ``theta_star`` (d,) for the diagonal model; ``s_star`` (d, d) with its eigenvalues
    ``eigenvalues_star`` (d,) for the quadratic one. The quadratic ``x`` is a design of
    :mod:`shallowscaling.design` (in memory, or streamed when larger than the memory budget),
    which every quadratic solver accepts in place of an array.
    """

    model: str
    x: np.ndarray | StreamedDesign
    y: np.ndarray
    theta_star: np.ndarray | None = None
    s_star: np.ndarray | None = None
    eigenvalues_star: np.ndarray | None = None


def _teacher_rng(model: str, d: int, gamma: float, seed: int, replicate: int) -> np.random.Generator:
    return make_rng(seed, f"{model}-teacher", d, format_float(gamma), replicate)


def draw_teacher(
    model: str, d: int, gamma: float, seed: int, replicate: int, normalization: str = "unit"
) -> dict[str, np.ndarray]:
    """The teacher of one replicate: ``{"theta_star"}`` or ``{"eigenvalues", "basis"}``."""
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
    normalization: str = "unit",
    *,
    design_memory: float = DEFAULT_DESIGN_MEMORY_GB,
) -> Problem:
    """Teacher and dataset of one replicate; the same arguments always give the same arrays.

    ``design_memory`` (GB) applies to the quadratic design only (see
    :func:`~shallowscaling.data.draw_quadratic_design`): it decides how X is held, never its
    values.
    """
    teacher = draw_teacher(model, d, gamma, seed, replicate, normalization)
    rng = make_rng(seed, f"{model}-data", d, format_float(gamma), format_float(noise), n, replicate)
    if model == "diagonal":
        x, y = draw_diagonal_data(teacher["theta_star"], n, noise, rng)
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
