"""Spectral analysis of trained weights: power-law tails, bulk edge, outliers, phases, pruning."""
