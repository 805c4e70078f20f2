"""Classic results this study's machinery must reproduce, derived from their papers in our own code.

Each module holds closed forms or small scalar fixed points that depend on nothing but NumPy and
SciPy, never on :mod:`shallowscaling.state_evolution`, so that comparing the two is a test by two
independent routes (docs/theory.md, classic results).
"""
