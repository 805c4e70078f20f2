"""Spectral analysis of trained weights: power-law tails, bulk edge, outliers, phases, pruning."""

from .bulk import (
    BulkEdgeEstimate,
    NoiseEdgeEstimate,
    PredictedSpectrum,
    count_outliers,
    estimate_bulk_edge,
    estimate_noise_edge,
    estimate_noise_from_residuals,
    free_convolution_edge,
    predict_spectrum,
    predicted_bulk_edge,
    predicted_noise_edge,
    predicted_outliers,
)
from .phases import PHASES, classify_spectrum
from .pruning import clean_matrix, clean_spectrum, prune_coefficients, prune_matrix, prune_spectrum, sure_edge
from .summary import SpectrumSummary, analyse_spectrum, weight_matrix_spectrum
from .tail import PowerLawTailFit, fit_power_law_tail

__all__ = [
    "PHASES",
    "BulkEdgeEstimate",
    "NoiseEdgeEstimate",
    "PowerLawTailFit",
    "PredictedSpectrum",
    "SpectrumSummary",
    "analyse_spectrum",
    "classify_spectrum",
    "clean_matrix",
    "clean_spectrum",
    "count_outliers",
    "estimate_bulk_edge",
    "estimate_noise_edge",
    "estimate_noise_from_residuals",
    "fit_power_law_tail",
    "free_convolution_edge",
    "predict_spectrum",
    "predicted_bulk_edge",
    "predicted_noise_edge",
    "predicted_outliers",
    "prune_coefficients",
    "prune_matrix",
    "prune_spectrum",
    "sure_edge",
    "weight_matrix_spectrum",
]
