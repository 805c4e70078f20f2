"""The ``spectra`` job (docs/theory.md §4–6): spectrum tables and SE-predicted spectra of one sweep.

:func:`spectra_sweep` — the ``spectra`` job of one sweep (model, estimator, d, γ, Δ, ℓ): for
every fitted replicate, the summary of its learned spectrum (tail exponent, bulk edge,
outliers, mass at zero, Martin–Mahoney phase) next to the SE prediction at the same point
(bulk edge with the free-convolution edge, BBP outliers, mass at zero) and the SE error
decomposition; plus the data of the spectrum figures (eigenvalues and SE densities). The
``prune`` job is in :mod:`shallowscaling.tasks.pruning`, ``shallowscaling spectrum FILE`` in
:mod:`shallowscaling.tasks.spectrum_file`.

Units: ``excess_risk`` is the excess risk R (= 2 mse_S for the quadratic model, docs/theory.md §1.1) in
every column whose name contains it; decomposition parts are in the same units.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_choice, check_int, check_real
from ..errors import InputError
from ..results import scalar_fields
from ..spectra.bulk import (
    estimate_noise_edge,
    free_convolution_edge,
    predict_spectrum,
    predicted_noise_edge,
)
from ..spectra.decomposition import (
    decompose_diagonal_error,
    decompose_quadratic_error,
    draw_goe,
)
from ..spectra.summary import SpectrumSummary, analyse_spectrum
from .predict import predict_point
from .problem import se_rng
from .spectral_point import POINT_COLUMNS, point_record, rate_phase, replicate_rows
from .teacher import teacher_from_table

__all__ = [
    "DENSITY_COLUMNS",
    "DENSITY_GRID_POINTS",
    "DENSITY_KINDS",
    "SPECTRA_COLUMNS",
    "SpectraTables",
    "spectra_sweep",
]

#: Points of the x grid on which the SE density of the learned spectrum is tabulated: enough to
#: resolve the outlier components at d ≤ 10³ (each ~δ/√d wide) on a range of a few δ.
DENSITY_GRID_POINTS = 600
#: Height of the Stieltjes evaluation above the real axis, in units of δ: the density is smoothed
#: by a Cauchy kernel of this width, far below the grid step (~δ/100).
_DENSITY_HEIGHT = 1e-3


_SUMMARY_FIELDS = tuple(SpectrumSummary.__dataclass_fields__)
SPECTRA_COLUMNS = (
    *POINT_COLUMNS,
    "replicate",
    "rate_phase",
    "excess_risk",
    "matrix_mse",
    "converged",
    *(f for f in _SUMMARY_FIELDS if f != "d"),
    "noise_edge",
    "n_above_noise_edge",
    "se_excess_risk",
    "se_matrix_mse",
    "delta",
    "epsilon",
    "threshold",
    "se_converged",
    "fixed_point_residual",
    "predicted_bulk_edge",
    "predicted_bulk_edge_2delta",
    "predicted_noise_edge",
    "predicted_n_outliers",
    "predicted_n_above_noise_edge",
    "predicted_fraction_zero",
    "predicted_outliers",
    "overfitting",
    "underfitting",
    "approximation",
    "cross",
    "n_learned",
)
DENSITY_COLUMNS = (*POINT_COLUMNS, "rate_phase", "replicate", "kind", "x", "density", "converged")
#: ``kind`` values of the density table: eigenvalues of the trained weights (one row each,
#: zeros included), the SE density of the non-zero part on a grid, the SE outlier positions, and
#: the SE / empirical bulk (diagonal: noise) edges. ``converged`` is the fit's flag on the rows of a
#: replicate (eigenvalues, empirical edge) and the SE's on the SE rows (every replicate's SE).
DENSITY_KINDS = ("eigenvalue", "se_density", "se_outlier", "se_edge", "empirical_edge")


# --- the `spectra` job ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SpectraTables:
    """Output of :func:`spectra_sweep`: ``summary`` (:data:`SPECTRA_COLUMNS`, one row per (n,
    replicate)) and ``density`` (:data:`DENSITY_COLUMNS`, the data of the spectrum figures)."""

    summary: pd.DataFrame
    density: pd.DataFrame


def _quadratic_density(s: np.ndarray, delta: float, threshold: float, x: np.ndarray) -> np.ndarray:
    """SE density of the non-zero eigenvalues of Ŝ: μ_δ(x + t), x > 0 (docs/theory.md §4), per unit of d."""
    from ..state_evolution.free_convolution import spectral_atoms, stieltjes_transform

    positions, weights = spectral_atoms(s)
    g = stieltjes_transform(positions, weights, delta, x + threshold + 1j * _DENSITY_HEIGHT * delta)
    return np.maximum(-g.imag / math.pi, 0.0)


def _diagonal_density(theta_star: np.ndarray, delta: float, threshold: float, x: np.ndarray) -> np.ndarray:
    """SE density of |θ̂| = |η(θ* + δz; t)| at x > 0: (1/d) Σ_i [φ((x + t − θ_i)/δ) + φ((x + t + θ_i)/δ)]/δ."""
    shifted = (x[:, None] + threshold) / delta
    scaled = theta_star[None, :] / delta
    pdf = np.exp(-0.5 * (shifted - scaled) ** 2) + np.exp(-0.5 * (shifted + scaled) ** 2)
    return pdf.mean(axis=1) / (delta * math.sqrt(2.0 * math.pi))


def _density_rows(
    point: dict, phase: str, kind: str, x: np.ndarray, density=None, replicate: int = -1, converged: bool = True
) -> pd.DataFrame:
    frame = pd.DataFrame({"x": np.asarray(x, dtype=float)})
    frame["density"] = np.nan if density is None else np.asarray(density, dtype=float)
    frame["converged"] = bool(converged)
    frame["kind"] = kind
    frame["replicate"] = replicate
    frame["rate_phase"] = phase
    for key, value in point.items():
        frame[key] = value
    return frame


def spectra_sweep(
    model: str,
    estimator: str,
    d: int,
    gamma: float,
    noise: float,
    lam_exponent: float,
    n_values: Sequence[int],
    weights: Sequence[pd.DataFrame],
    fits: Sequence[pd.DataFrame],
    teacher: pd.DataFrame,
    *,
    seed: int,
    n_draws: int = 3,
    width: int | None = None,
) -> SpectraTables:
    """Learned spectra of one sweep against their SE predictions (docs/theory.md §4).

    Parameters
    ----------
    model, estimator : str
        As in :func:`shallowscaling.tasks.fit.fit_point`.
    d : int
        Input dimension.
    gamma, noise, lam_exponent : float
        Teacher exponent γ, label-noise variance Δ, and ℓ with λ = d^ℓ.
    n_values : sequence of int
        The sample sizes of the sweep; ``weights[i]`` and ``fits[i]`` belong to ``n_values[i]``.
    weights, fits : sequences of DataFrame
        The ``fit`` job's learned-weights and fit tables (docs/data.md).
    teacher : DataFrame
        The ``teacher`` job's table of the sweep.
    seed : int
        Base seed (the SE's GOE draws derive from it, as in the ``predict`` job).
    n_draws : int, default 3
        K, GOE draws of the quadratic SE. The quadratic SE here always uses the Monte-Carlo
        route: the error decomposition needs its draws (:func:`~shallowscaling.spectra.
        decomposition.decompose_quadratic_error`), and the decomposition then sums exactly to
        the SE risk of the same row.
    width : int, optional
        Quadratic network width p (default d).

    Returns
    -------
    SpectraTables

    Notes
    -----
    Quadratic predictions: bulk edge = free_convolution_edge(s, δ) − t (the edge of μ_δ at the
    actual finite-d target; ``predicted_bulk_edge_2delta`` = 2δ − t is its d → ∞ limit, off by up
    to 50 % at d ≤ 400), outliers s_i + δ²/s_i − t above it, mass at zero 1 − (nonzero fraction
    of the SE estimator). Diagonal: the noise edge δ√(2 log d) − t and the expected number of
    coordinates above it, Σ_i P(|θ*_i + δz| > δ√(2 log d)); the empirical ``noise_edge`` is
    :func:`~shallowscaling.spectra.bulk.estimate_noise_edge` of θ̂. The spectrum summary of
    |θ̂| (its ``bulk_edge``, ``n_outliers``) reads it as a semicircle bulk, which the diagonal
    network does not have; it is kept because it is what ``shallowscaling spectrum`` reports.
    """
    check_choice(model, "model", ("diagonal", "quadratic"))
    d = check_int(d, "d", "input dimension d", lower=2)
    lam_exponent = check_real(lam_exponent, "lam_exponent", "ℓ, λ = d^ℓ")
    if not len(n_values) == len(weights) == len(fits):
        raise InputError(
            f"`n_values`, `weights` and `fits` must have one entry per n; got {len(n_values)}, "
            f"{len(weights)} and {len(fits)}"
        )
    quadratic = model == "quadratic"
    if quadratic:
        s = teacher_from_table(teacher, 0, "eigenvalue")
        goe = draw_goe(d, n_draws, se_rng(d, seed))
    records, density_frames = [], []
    previous = None
    for n, weight_table, fit_table in sorted(zip(n_values, weights, fits, strict=True), key=lambda item: item[0]):
        n = check_int(n, "n", "number of samples n", lower=1)
        point = point_record(model, estimator, d, gamma, noise, lam_exponent, n, seed)
        phase = rate_phase(model, d, n, point["lam"], float(gamma), float(noise))
        replicates = sorted(int(r) for r in pd.unique(fit_table["replicate"]))
        predictions = {}
        if quadratic:
            record, previous = predict_point(
                model, d, gamma, noise, n, point["lam"], seed, target=s, n_draws=n_draws, width=width,
                initial=previous,
            )  # fmt: skip
            predictions = dict.fromkeys(replicates, (record, previous, s))
        else:
            for replicate in replicates:
                theta_star = teacher_from_table(teacher, replicate, "theta_star")
                record, result = predict_point(
                    model, d, gamma, noise, n, point["lam"], seed, replicate, target=theta_star
                )
                predictions[replicate] = (record, result, theta_star)
        empirical_top = 0.0
        for replicate in replicates:
            rows = replicate_rows(weight_table, replicate)
            fit_row = fit_table[fit_table["replicate"] == replicate].iloc[0]
            record, result, target = predictions[replicate]
            eigenvalues = rows["eigenvalue"].to_numpy(dtype=float)
            empirical_top = max(empirical_top, float(eigenvalues.max(initial=0.0)))
            summary = analyse_spectrum(eigenvalues)
            row = {
                **point,
                "replicate": replicate,
                "rate_phase": phase,
                "excess_risk": float(fit_row["excess_risk"]),
                "matrix_mse": float(fit_row["matrix_mse"]),
                "converged": bool(fit_row["converged"]),
                **{k: v for k, v in scalar_fields(summary).items() if k != "d"},
                **_se_columns(record),
            }
            row.update(
                _predicted_columns(model, d, target, result, eigenvalues, rows, goe if quadratic else None, width)
            )
            records.append(row)
            flag = row["converged"]
            density_frames.append(
                _density_rows(point, phase, "eigenvalue", eigenvalues, replicate=replicate, converged=flag)
            )
            edge = row["bulk_edge"] if quadratic else row["noise_edge"]
            density_frames.append(
                _density_rows(point, phase, "empirical_edge", [edge], replicate=replicate, converged=flag)
            )
        density_frames.extend(_se_density_frames(model, point, phase, predictions, empirical_top))
    summary_table = pd.DataFrame.from_records(records, columns=list(SPECTRA_COLUMNS))
    density_table = pd.concat(density_frames, ignore_index=True)[list(DENSITY_COLUMNS)]
    return SpectraTables(summary=summary_table, density=density_table)


def _se_columns(record: dict) -> dict:
    return {
        "se_excess_risk": record["excess_risk"],
        "se_matrix_mse": record["matrix_mse"],
        "delta": record["delta"],
        "epsilon": record["epsilon"],
        "threshold": record["threshold"],
        "se_converged": record["converged"],
        "fixed_point_residual": record["fixed_point_residual"],
    }


def _predicted_columns(model, d, target, result, eigenvalues, rows, goe, width) -> dict:
    delta, threshold = float(result.delta), float(result.threshold)
    nan = math.nan
    if model == "quadratic":
        edge = free_convolution_edge(target, delta)
        predicted = predict_spectrum(target, delta, threshold, edge)
        parts = decompose_quadratic_error(target, delta, threshold, goe, width=width)
        scale = 2.0  # excess risk = 2 mse_S (docs/theory.md §1.1)
        return {
            "noise_edge": nan,
            "n_above_noise_edge": nan,
            "predicted_bulk_edge": predicted.bulk_edge,
            "predicted_bulk_edge_2delta": 2.0 * delta - threshold,
            "predicted_noise_edge": nan,
            "predicted_n_outliers": float(predicted.n_outliers),
            "predicted_n_above_noise_edge": nan,
            "predicted_fraction_zero": 1.0 - float(result.nonzero_fraction),
            "predicted_outliers": predicted.outliers.tolist(),
            "overfitting": scale * parts.overfitting,
            "underfitting": scale * parts.underfitting,
            "approximation": scale * parts.approximation,
            "cross": scale * parts.cross,
            "n_learned": parts.n_learned,
        }
    from ..state_evolution.diagonal import soft_threshold_active_probability

    theta_hat = rows["theta"].to_numpy(dtype=float)
    estimate = estimate_noise_edge(theta_hat)
    noise_edge = predicted_noise_edge(d, delta, threshold)
    parts = decompose_diagonal_error(target, delta, threshold)
    return {
        "noise_edge": estimate.noise_edge,
        "n_above_noise_edge": float(estimate.n_above),
        "predicted_bulk_edge": nan,
        "predicted_bulk_edge_2delta": nan,
        "predicted_noise_edge": noise_edge,
        "predicted_n_outliers": nan,
        "predicted_n_above_noise_edge": float(
            np.sum(soft_threshold_active_probability(target, delta, max(noise_edge, 0.0) + threshold))
        ),
        "predicted_fraction_zero": 1.0 - float(result.nonzero_fraction),
        "predicted_outliers": [],
        "overfitting": parts.overfitting,
        "underfitting": parts.underfitting,
        "approximation": parts.approximation,
        "cross": parts.cross,
        "n_learned": parts.n_learned,
    }


def _se_density_frames(model, point, phase, predictions, empirical_top) -> list[pd.DataFrame]:
    """SE density, outliers and edge of one n (diagonal: averaged over the replicates' teachers)."""
    unique = {id(result): (result, target) for _, result, target in predictions.values()}
    values = list(unique.values())
    d = point["d"]
    frames = []
    ok = all(bool(record["converged"]) for record, _, _ in predictions.values())
    if model == "quadratic":
        result, s = values[0]
        delta, threshold = float(result.delta), float(result.threshold)
        predicted = predict_spectrum(s, delta, threshold, free_convolution_edge(s, delta))
        # The grid covers the last outlier's whole component (a few δ/√d wide) with room to spare.
        top = max(empirical_top, float(predicted.outliers.max(initial=0.0)) + delta, predicted.bulk_edge, 1e-12)
        x = np.linspace(0.0, 1.05 * top, DENSITY_GRID_POINTS + 1)[1:]
        density = _quadratic_density(s, delta, threshold, x)
        frames.append(_density_rows(point, phase, "se_density", x, density, converged=ok))
        frames.append(_density_rows(point, phase, "se_outlier", predicted.outliers, converged=ok))
        frames.append(_density_rows(point, phase, "se_edge", [predicted.bulk_edge], converged=ok))
        return frames
    top = max(empirical_top, 1e-12)
    x = np.linspace(0.0, 1.05 * top, DENSITY_GRID_POINTS + 1)[1:]
    density = np.mean([_diagonal_density(t, r.delta, r.threshold, x) for r, t in values], axis=0)
    edge = float(np.mean([predicted_noise_edge(d, r.delta, r.threshold) for r, _ in values]))
    frames.append(_density_rows(point, phase, "se_density", x, density, converged=ok))
    frames.append(_density_rows(point, phase, "se_edge", [edge], converged=ok))
    return frames
