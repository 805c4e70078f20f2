"""``shallowscaling spectrum FILE``: heavy-tail diagnostics of any weight matrix or spectrum on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._validation import check_choice
from ..errors import InputError
from ..results import scalar_fields
from ..spectra.summary import SpectrumSummary, analyse_spectrum, weight_matrix_spectrum
from ..spectra.tail import DEFAULT_RELATIVE_CUT, PowerLawTailFit, fit_power_law_tail

__all__ = [
    "MATRIX_SCALES",
    "SpectrumReport",
    "analyse_spectrum_file",
]

MATRIX_SCALES = ("none", "paper")


# --- `shallowscaling spectrum FILE` ---------------------------------------------------------------


@dataclass(frozen=True)
class SpectrumReport:
    """What ``shallowscaling spectrum FILE`` reports.

    Attributes
    ----------
    record : dict
        The JSON object: file, format, source, kind (``weight_matrix`` or ``spectrum``), shape,
        replicate, matrix_scale, the :class:`~shallowscaling.spectra.summary.SpectrumSummary`
        fields (tail_exponent, tail_exponent_se, xmin, ks_distance, n_tail, bulk_edge,
        n_outliers, phase, ...) and ``outliers`` (the eigenvalues above the bulk edge, decreasing).
    eigenvalues : ndarray, shape (d,)
        The analysed spectrum, decreasing.
    summary : SpectrumSummary
    tail : PowerLawTailFit
    """

    record: dict
    eigenvalues: np.ndarray
    summary: SpectrumSummary
    tail: PowerLawTailFit


def analyse_spectrum_file(
    path: str | Path, *, key: str | None = None, replicate: int | None = None, matrix_scale: str = "none"
) -> SpectrumReport:
    """Tail exponent, bulk edge, outliers and phase of the weights stored in ``path`` (docs/theory.md §4).

    Parameters
    ----------
    path : str or Path
        A .npy / .npz array or a Parquet table (:func:`shallowscaling.io.weights.read_array_file`).
        A 2-D array is a weight matrix W (p × d, one row per hidden unit) whose eigenvalues of WᵀW
        are analysed, as HT-SR does; a 1-D array or a table's ``eigenvalue`` column is the spectrum.
    key, replicate
        Select an array of an .npz archive / a replicate of a table.
    matrix_scale : {"none", "paper"}, default "none"
        For a weight matrix: eigenvalues of WᵀW (``"none"``, WeightWatcher's convention) or of
        WᵀW/√(pd) (``"paper"``, the matrix S of docs/theory.md §1.1). Exponent and phase do not depend on it.

    Returns
    -------
    SpectrumReport

    Raises
    ------
    InputError
        ``"<path>: <problem>"``, including spectra with negative eigenvalues (below
        −DEFAULT_RELATIVE_CUT · max: a spectrum of WᵀW is ≥ 0; pass |θ̂| for diagonal weights).
    """
    from ..io.weights import read_array_file

    check_choice(matrix_scale, "matrix_scale", MATRIX_SCALES)
    loaded = read_array_file(path, key=key, replicate=replicate)
    values = loaded.values
    if values.ndim == 2:
        kind = "weight_matrix"
        eigenvalues = weight_matrix_spectrum(values, matrix_scale)
    else:
        kind = "spectrum"
        top = float(np.max(np.abs(values)))
        lowest = float(values.min())
        if lowest < -DEFAULT_RELATIVE_CUT * top:
            raise InputError(
                f"{path}: {loaded.source} has negative entries (min {lowest:.6g}); a spectrum of WᵀW is >= 0 "
                "(pass |θ̂| for diagonal-network coefficients, or the weight matrix W itself)"
            )
        eigenvalues = np.sort(np.maximum(values, 0.0))[::-1]
    summary = analyse_spectrum(eigenvalues)
    tail = fit_power_law_tail(eigenvalues)
    record = {
        "file": str(path),
        "format": loaded.file_format,
        "source": loaded.source,
        "kind": kind,
        "shape": list(values.shape),
        "replicate": loaded.replicate,
        "matrix_scale": matrix_scale if kind == "weight_matrix" else None,
        **scalar_fields(summary),
        "outliers": eigenvalues[: summary.n_outliers].tolist(),
    }
    return SpectrumReport(record=record, eigenvalues=eigenvalues, summary=summary, tail=tail)
