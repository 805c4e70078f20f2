"""shallowscaling: scaling laws and spectra of shallow networks in the feature-learning regime.

Regenerates the numerical study of Defilippis et al., arXiv 2509.24882: quadratic networks
(nuclear-norm PSD matrix sensing) and diagonal networks (LASSO), their non-asymptotic state
evolution, Bayes-optimal errors, phase diagrams of exponents, weight spectra and pruning.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    # The installed distribution's version (pyproject.toml); it is written into every result
    # file's provenance metadata, so changing it changes the bytes of every result.
    __version__ = version("shallowscaling")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.1.0"
