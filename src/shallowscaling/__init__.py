"""shallowscaling: scaling laws and spectra of shallow networks in the feature-learning regime.

Regenerates the numerical study of Defilippis et al., arXiv 2509.24882: quadratic networks
(nuclear-norm PSD matrix sensing) and diagonal networks (LASSO), their non-asymptotic state
evolution, Bayes-optimal errors, phase diagrams of exponents, weight spectra and pruning.
"""

__version__ = "0.1.0"
