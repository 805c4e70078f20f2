"""Least squares references: the OLS risk and the pure-noise interpolation peak of PSD least squares
(docs/theory.md, classic results).

* OLS in the diagonal model y = Xθ*/√d + √Δ ξ (X ∈ R^{n×d} Gaussian, n > d): θ̂ − θ* =
  √(dΔ) (XᵀX)⁻¹Xᵀξ, so E‖θ̂ − θ*‖²/d = Δ E Tr (XᵀX)⁻¹ = Δ d/(n − d − 1), the mean of an inverse
  Wishart matrix (exact for n > d + 1); the proportional limit is Δ d/(n − d). This is our
  diagonal error ‖θ̂ − θ*‖²/d (the LASSO and its state evolution as λ → 0⁺).
* Trace-regularised PSD least squares with S* = 0 (pure-noise labels) interpolates the data until
  n reaches the statistical dimension of the PSD cone in the d(d+1)/2-dimensional space of
  symmetric matrices (Amelunxen, Lotz, McCoy & Tropp, "Living on the edge: phase transitions in
  convex programs with random data", 2014): E‖Π_{PSD}(G)‖²_F for G standard Gaussian there,
  = ½ E‖G‖²_F = d(d+1)/4 by the symmetry G ↔ −G (the positive and negative parts of G carry
  the same mass).
"""

from __future__ import annotations

from .._validation import check_int, check_real
from ..errors import InputError

__all__ = ["ols_risk", "psd_interpolation_threshold"]


def ols_risk(n: int, d: int, noise: float, *, exact: bool = False) -> float:
    """Excess risk ‖θ̂_OLS − θ*‖²/d of ordinary least squares, Gaussian design, noise variance Δ.

    ``exact=False``: the large-(n, d) limit Δd/(n − d) (n > d); ``exact=True``: the finite-sample
    expectation Δd/(n − d − 1) (n > d + 1; the expectation is infinite at n = d + 1).
    """
    d = check_int(d, "d", "input dimension d", lower=1)
    n = check_int(n, "n", "number of samples n", lower=1)
    noise = check_real(noise, "noise", "label-noise variance Δ", lower=0.0)
    dof = n - d - (1 if exact else 0)
    if dof <= 0:
        need = "n > d + 1" if exact else "n > d"
        raise InputError(f"`n` (number of samples n) must satisfy {need} for the OLS risk; got n = {n}, d = {d}")
    return noise * d / dof


def psd_interpolation_threshold(d: int) -> float:
    """n at the pure-noise interpolation peak of PSD least squares: d(d+1)/4 (half of d(d+1)/2)."""
    d = check_int(d, "d", "input dimension d", lower=1)
    return d * (d + 1) / 4.0
