"""Free convolution with a semicircle: μ_δ = μ_{S*} ⊞ σ_δ (docs/theory.md §2.2(b), §2.3, §4).

μ_{S*} is a discrete measure (the eigenvalues s_i of the target, or weighted atoms after
compression) and σ_δ the semicircle law of variance δ² (radius 2δ), the limit spectrum of δZ
with Z ~ GOE(d) normalised to [−2, 2]. μ_δ is the deterministic equivalent of the spectrum of
S* + δZ at the actual finite d. Its Stieltjes transform G(z) = ∫ μ_δ(dx)/(z − x) solves the
subordination equation ``G(z) = G_0(ω(z))``, ``ω(z) = z − δ² G(z)``, G_0(ω) = Σ_i p_i/(ω − s_i).

Three independent evaluations are provided (and cross-checked in the tests):

* :class:`ThresholdContour` (used by the ERM state evolution): threshold integrals
  ∫ (x − t)₊^k dμ_δ as contour integrals of G in the upper half-plane. The contour touches the
  real axis only at t, where the integrand carries (x − t)^k, so the narrow components of
  isolated outliers need no resolution at all; cost O(n_atoms) per node, ~200 nodes per t. A
  second, local contour gives the integrals below t (:meth:`ThresholdContour.lower_integrals`).
* :func:`semicircle_free_convolution` → :class:`FreeConvolution` (used by the Bayes-optimal SE,
  for densities and spectra): Biane's real parametrisation of the boundary values,
  P. Biane, Indiana Univ. Math. J. 46, 705 (1997). For u real let v(u) ≥ 0 solve

      φ(u, v²) = Σ_i p_i / ((u − s_i)² + v²) = 1/δ²     (v = 0 if φ(u, 0) ≤ 1/δ²).

  Then ω = u + iv is the boundary value of the subordination function at the real point

      x(u) = u + δ² Re G_0(u + iv),      μ_δ(x(u)) = v(u)/(π δ²),      Re G(x(u)) = Re G_0(u + iv),

  x(u) is increasing, and with A = Σ p_i/r_i⁴, B = Σ p_i (u − s_i)/r_i⁴, r_i² = (u − s_i)² + v²,
  dx/du = 2δ² (v² A + B²/A). The support of μ_δ is the image of {u : φ(u, 0) > 1/δ²}, a union of
  intervals found exactly (φ(·, 0) is convex between consecutive atoms), and every integral
  against μ_δ becomes a smooth integral in u. Per interval we substitute u = m − h cos θ (the
  square-root edges become smooth) and integrate with adaptively refined Gauss–Legendre panels
  in θ, with breakpoints at the atoms whose own Lorentzian feature (width v) is sharper than
  the atom spacing; v is found per node by Newton's method on 1/φ(u, w) − δ², which is concave
  and increasing in w = v², so the iterates increase monotonically to the root from the lower
  bound max_i (δ² p_i − (u − s_i)²)₊. No complex arithmetic, no η and no homotopy. The cost
  grows like n_atoms² where the atoms are resolved individually (fine at d ≲ 2000).
* :func:`stieltjes_transform`: G on a grid z = x + iη by Newton's method with an η-homotopy
  (the route sketched in docs/theory.md §2.2(b)); used for plotted densities and as a check.

Isolated atoms (outliers, Biane route). An atom s_i far from the others (relative to the width of
its own component) carries a separate component of mass exactly p_i. To leading order in its
width it is a semicircle centred at the finite-d BBP position ``x_i = s_i + δ² g0_i`` with radius
``2 δ √(β_i p_i)``, where g0_i = Σ_{j≠i} p_j/(s_i − s_j), β_i = 1 − δ² Σ_{j≠i} p_j/(s_i − s_j)²
(for an atom far above the rest, x_i → s_i + δ²/s_i, the BBP outlier of docs/theory.md §4, and it exists
iff β_i > 0, i.e. s_i > δ there). These components are integrated in closed form; the relative
error is O(ρ_i/gap_i) on quantities that are themselves O(p_i²), with ρ_i = δ √(p_i/β_i) the
half-width in u and gap_i the distance to the nearest other atom. An atom is treated this way when
β_i ≥ ``_ISOLATED_BETA`` and ρ_i ≤ ``_ISOLATED_GAP_FRACTION`` · gap_i; all others (including
components that are separated but close to the BBP transition) are resolved numerically.

Threshold integrals. For the quadratic state evolution we need, at threshold t,
``∫(x − t)₊^k μ_δ(dx)`` (k = 0, 1, 2) and ``∫(x − t)₊ Re G(x) μ_δ(dx)``. The δ-derivative needs
no differentiation of the solver: the free convolution with a semicircle of variance τ = δ²
obeys the complex Burgers equation ∂_τ G = −G ∂_z G, hence for h ∈ C¹

    ∂_τ ∫ h dμ_δ = ∫ h'(x) Re G(x) μ_δ(dx),   so   ∂_δ J = 4δ ∫ (x − t)₊ Re G(x) μ_δ(dx)

for J(δ, t) = ∫ (x − t)₊² μ_δ(dx) (checked against finite differences in the tests); on the
contour, ∂_δ G = −2δ G G_0'(ω)/(1 + δ² G_0'(ω)).

Compression. The dense cloud of small eigenvalues of a power-law target is merged into weighted
atoms (weight and mean of each group preserved) by :func:`compress_spectrum`, with a group width
a small fraction of δ and of the local density scale πδ²ρ_s; errors are second order in the
group width (tests compare compressed and exact atoms).

Double precision limits the resolution of G next to an isolated atom to |ω − s_i| ≳ 1e-15 |ω|;
components narrower than that (δ √p_i below ~1e-14 s_i, i.e. δ ≲ 1e-12 at d = 10⁴) cannot be
resolved, which is why the ERM solver treats the regime where nothing is cut in closed form.
"""

from __future__ import annotations

from .atoms import ThresholdIntegrals, compress_spectrum, spectral_atoms
from .contour import ThresholdContour
from .density import FreeConvolution, semicircle_free_convolution
from .stieltjes import stieltjes_transform

__all__ = [
    "FreeConvolution",
    "ThresholdContour",
    "ThresholdIntegrals",
    "compress_spectrum",
    "semicircle_free_convolution",
    "spectral_atoms",
    "stieltjes_transform",
]
