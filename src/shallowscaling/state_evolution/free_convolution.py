"""Free convolution with a semicircle: μ_δ = μ_{S*} ⊞ σ_δ (spec §2.2(b), §2.3, §4).

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
  (the route sketched in spec §2.2(b)); used for plotted densities and as a check.

Isolated atoms (outliers, Biane route). An atom s_i far from the others (relative to the width of
its own component) carries a separate component of mass exactly p_i. To leading order in its
width it is a semicircle centred at the finite-d BBP position ``x_i = s_i + δ² g0_i`` with radius
``2 δ √(β_i p_i)``, where g0_i = Σ_{j≠i} p_j/(s_i − s_j), β_i = 1 − δ² Σ_{j≠i} p_j/(s_i − s_j)²
(for an atom far above the rest, x_i → s_i + δ²/s_i, the BBP outlier of spec §4, and it exists
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

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre as _leg
from scipy.optimize import brentq

from .._validation import check_int, check_real

__all__ = [
    "FreeConvolution",
    "ThresholdContour",
    "ThresholdIntegrals",
    "compress_spectrum",
    "semicircle_free_convolution",
    "spectral_atoms",
    "stieltjes_transform",
]

#: Gauss–Legendre nodes per panel: with panels between consecutive atoms the integrands are
#: smooth on each panel, and 12 nodes resolve them to ~1e-13 after at most a few bisections.
_ORDER = 12
_NODES, _WEIGHTS = _leg.leggauss(_ORDER)
# Rows j of _TO_COEF map node values to the Legendre coefficient c_j (exact for degree < 2·_ORDER).
_TO_COEF = (2.0 * np.arange(_ORDER)[:, None] + 1.0) / 2.0 * _leg.legvander(_NODES, _ORDER - 1).T * _WEIGHTS
#: Isolation criterion for the closed-form (semicircle) treatment of an atom's component.
_ISOLATED_BETA = 0.5
_ISOLATED_GAP_FRACTION = 0.2
#: Panel refinement: a panel is split while its estimated quadrature error (two trailing
#: Legendre coefficients times the panel half-width) exceeds this (mass units; total mass 1).
_PANEL_TOL = 1e-13
#: Atoms whose curve height v is below this many neighbour spacings get a panel breakpoint.
_BREAKPOINT_SPACINGS = 4.0
#: Equal θ-panels each support interval starts from before adaptive refinement.
_COARSE_PANELS = 8
_MAX_REFINE_ROUNDS = 40
#: Elements per block of the (nodes × atoms) sums, to bound temporaries at ~16 MB.
_BLOCK_ELEMENTS = 1 << 21


@dataclass(frozen=True)
class ThresholdIntegrals:
    """Integrals of μ_δ above a threshold t.

    Attributes
    ----------
    mass : float
        ∫ 1{x > t} μ_δ(dx) (the fraction of non-zero eigenvalues of the soft-thresholded matrix).
    first : float
        ∫ (x − t)₊ μ_δ(dx) (= −½ ∂_t J).
    second : float
        J(δ, t) = ∫ (x − t)₊² μ_δ(dx).
    cross : float
        ∫ (x − t)₊ Re G(x) μ_δ(dx) (= ∂_δ J / (4δ)).
    tail_re_g : float
        ∫ 1{x > t} Re G(x) μ_δ(dx) (= −∂_t cross).
    """

    mass: float
    first: float
    second: float
    cross: float
    tail_re_g: float


def spectral_atoms(s: np.ndarray, weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct atoms and their total weights (exactly equal values merged).

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues (any order, finite).
    weights : ndarray, shape (d,), optional
        Non-negative weights; default 1/d each. They are normalised to sum to 1.

    Returns
    -------
    positions, weights : ndarray
        Increasing distinct positions and their weights (summing to 1).
    """
    s = np.asarray(s, dtype=float).ravel()
    if s.size == 0 or not np.all(np.isfinite(s)):
        raise ValueError("`s` (target eigenvalues) must be a non-empty finite array")
    w = np.full(s.size, 1.0 / s.size) if weights is None else np.asarray(weights, dtype=float).ravel()
    if w.shape != s.shape or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("`weights` must be non-negative, finite, not all zero and shaped like `s`")
    order = np.argsort(s, kind="stable")
    s, w = s[order], w[order] / w.sum()
    keep = w > 0
    s, w = s[keep], w[keep]
    start = np.concatenate(([True], np.diff(s) > 0))
    group = np.cumsum(start) - 1
    return s[start], np.bincount(group, weights=w)


def compress_spectrum(
    s: np.ndarray, delta_ref: float, *, rel_width: float = 0.02, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Merge nearby atoms into weighted atoms (weight and mean of each group preserved).

    Consecutive atoms are grouped while the group spans at most
    ``rel_width · min(δ_ref, π δ_ref² ρ_s)``, where ρ_s = p/spacing is the local density of atoms.
    δ_ref must be a lower bound on every δ at which the compressed measure is used: the
    semicircle smooths the input at scale δ, and inside a dense cloud the free-convolved density
    varies on the scale Im ω ≈ π δ² ρ_s, so merging below both scales changes every smooth
    functional of μ_δ at second order in the group width. Isolated (outlier) atoms are never
    merged with anything, so the spike structure of a power-law spectrum is kept exactly.

    Parameters
    ----------
    s : ndarray, shape (d,)
        Eigenvalues of S* (any order).
    delta_ref : float
        Smallest effective noise δ at which the result will be used, > 0.
    rel_width : float, default 0.02
        Group width as a fraction of the local smoothing scale, in (0, 1].
    weights : ndarray, shape (d,), optional
        Atom weights (default 1/d).

    Returns
    -------
    positions, weights : ndarray
        Increasing atoms and their weights (summing to 1).
    """
    positions, group_weights, _ = _compress_groups(s, delta_ref, rel_width, weights)
    return positions, group_weights


def _compress_groups(
    s: np.ndarray, delta_ref: float, rel_width: float, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`compress_spectrum` plus the within-group variance of each merged atom.

    The merged measure has the same mass and mean but a second moment smaller by
    Σ_g p_g var_g; the deterministic SE adds it back where it integrates x² (SURE form).
    """
    delta_ref = check_real(delta_ref, "delta_ref", "reference effective noise δ", lower=0.0, lower_inclusive=False)
    rel_width = check_real(rel_width, "rel_width", "relative group width", lower=0.0, upper=1.0, lower_inclusive=False)
    pos, w = spectral_atoms(s, weights)
    if pos.size < 3:
        return pos, w, np.zeros(pos.size)
    gaps = np.diff(pos)
    # Local atom density between consecutive atoms; the allowed width uses the smaller of the
    # semicircle scale δ and the collective scale π δ² ρ_s (a sparse region has no bulk to hide
    # the merge in).
    density = 0.5 * (w[:-1] + w[1:]) / gaps
    width = rel_width * np.minimum(delta_ref, math.pi * delta_ref**2 * density)
    # A step of ξ ≥ 1 always starts a new group; capping steps at 2 keeps ξ finite and exact in
    # float64 when the allowed width underflows (tiny δ_ref).
    xi = np.concatenate(([0.0], np.cumsum(np.minimum(gaps / width, 2.0))))
    group = np.floor(xi).astype(np.int64)
    # Groups are consecutive runs of equal floor(ξ); a step of ξ ≥ 1 always starts a new group.
    start = np.concatenate(([True], np.diff(group) > 0))
    label = np.cumsum(start) - 1
    weight = np.bincount(label, weights=w)
    mean = np.bincount(label, weights=w * pos) / weight
    variance = np.bincount(label, weights=w * (pos - mean[label]) ** 2) / weight
    return mean, weight, variance


def _far_field(pos: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """g0_i = Σ_{j≠i} p_j/(s_i − s_j) and h_i = Σ_{j≠i} p_j/(s_i − s_j)² (O(n²), in blocks)."""
    n = pos.size
    g0 = np.empty(n)
    h = np.empty(n)
    rows = max(1, _BLOCK_ELEMENTS // max(n, 1))
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        diff = pos[start:stop, None] - pos[None, :]
        idx = np.arange(start, stop)
        diff[idx - start, idx] = np.inf
        inv = 1.0 / diff
        g0[start:stop] = inv @ w
        h[start:stop] = (inv * inv) @ w
    return g0, h


def _curve_height(a2: np.ndarray, w: np.ndarray, d2: float, max_steps: int) -> np.ndarray:
    """w = v² solving φ = Σ p/(a² + w) = 1/δ² per row of a2 (0 outside the support).

    Newton on ψ(w) = 1/φ(w) − δ², concave and increasing in w, from the lower bound
    max_i (δ² p_i − a_i²)₊ of the root: the iterates increase monotonically, so stopping early
    (``max_steps``) still returns a lower bound.
    """
    wv = np.maximum(0.0, np.max(d2 * w[None, :] - a2, axis=1))
    inv_w = 1.0 / w
    active = np.arange(a2.shape[0])
    for _ in range(max_steps):
        q = a2[active] + wv[active, None]
        np.divide(w, q, out=q)  # p/r²
        phi = q.sum(axis=1)
        np.multiply(q, q, out=q)
        dphi = q @ inv_w  # Σ p/r⁴ = Σ (p/r²)²/p
        psi = 1.0 / phi - d2
        old = wv[active]
        new = np.maximum(old - psi * phi * phi / dphi, 0.0)
        wv[active] = new
        # Converged once ψ is at rounding level or the step stalls; outside the support ψ(0) > 0
        # and the step is negative, so w is clamped at 0 there.
        done = (np.abs(psi) <= 1e-14 * d2) | (np.abs(new - old) <= 1e-14 * new) | (new <= 0.0)
        active = active[~done]
        if active.size == 0:
            break
    return wv


def _curve(u: np.ndarray, pos: np.ndarray, w: np.ndarray, delta: float) -> tuple[np.ndarray, ...]:
    """Biane's curve at real points u: (v, x, Re G, dx/du) (see the module docstring)."""
    m = u.size
    v = np.zeros(m)
    x = np.empty(m)
    re_g = np.empty(m)
    dxdu = np.empty(m)
    d2 = delta * delta
    rows = max(1, _BLOCK_ELEMENTS // max(pos.size, 1))
    for start in range(0, m, rows):
        stop = min(m, start + rows)
        a = u[start:stop, None] - pos[None, :]
        a2 = a * a
        wv = _curve_height(a2, w, d2, 100)
        q = a2
        q += wv[:, None]
        np.divide(w, q, out=q)  # p/r²
        c = np.einsum("ij,ij->i", q, a)
        q *= q  # p²/r⁴
        big_a = q @ (1.0 / w)
        big_b = (q * a) @ (1.0 / w)
        v[start:stop] = np.sqrt(wv)
        re_g[start:stop] = c
        x[start:stop] = u[start:stop] + d2 * c
        dxdu[start:stop] = 2.0 * d2 * (wv * big_a + big_b * big_b / big_a)
    return v, x, re_g, dxdu


def _curve_height_at(u: np.ndarray, pos: np.ndarray, w: np.ndarray, delta: float, max_steps: int) -> np.ndarray:
    """Lower bound of v(u) after ``max_steps`` monotone Newton steps (blocked over u)."""
    out = np.empty(u.size)
    rows = max(1, _BLOCK_ELEMENTS // max(pos.size, 1))
    for start in range(0, u.size, rows):
        stop = min(u.size, start + rows)
        a = u[start:stop, None] - pos[None, :]
        out[start:stop] = np.sqrt(_curve_height(a * a, w, delta * delta, max_steps))
    return out


def _phi0(u: np.ndarray, pos: np.ndarray, w: np.ndarray, power: int) -> np.ndarray:
    """Σ_i p_i/(u − s_i)^power for each u (blocked)."""
    out = np.empty(u.size)
    rows = max(1, _BLOCK_ELEMENTS // max(pos.size, 1))
    for start in range(0, u.size, rows):
        stop = min(u.size, start + rows)
        inv = 1.0 / (u[start:stop, None] - pos[None, :])
        out[start:stop] = (inv**power) @ w
    return out


def _bracketed_newton(fun, dfun, lo: np.ndarray, hi: np.ndarray, increasing: bool) -> np.ndarray:
    """Vectorised safeguarded Newton for a monotone function with a sign change on (lo, hi)."""
    lo, hi = lo.copy(), hi.copy()
    x = 0.5 * (lo + hi)
    for _ in range(200):
        f = fun(x)
        pos_side = f > 0 if increasing else f < 0
        hi = np.where(pos_side, x, hi)
        lo = np.where(pos_side, lo, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - f / dfun(x)
        inside = (newton > lo) & (newton < hi) & np.isfinite(newton)
        new = np.where(inside, newton, 0.5 * (lo + hi))
        scale = np.maximum(np.abs(hi) + np.abs(lo), 1e-300)
        if np.all((np.abs(new - x) <= 4e-16 * scale) | (hi - lo <= 4e-16 * scale)):
            return new
        x = new
    return x


def _support_edges(
    pos: np.ndarray, w: np.ndarray, delta: float, cont: np.ndarray
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """Intervals in u of the support of the non-isolated part, and atoms that must be demoted.

    φ(u, 0) − 1/δ² is convex between consecutive atoms with poles at both ends: a gap carries a
    hole iff its minimum is negative. Returns the sorted list of intervals (L, R) and a boolean
    mask of isolated atoms whose neighbouring gap turned out to have no hole (so the closed-form
    treatment is not valid for them).
    """
    n = pos.size
    target = 1.0 / (delta * delta)
    demote = np.zeros(n, dtype=bool)
    if not cont.any():
        return [], demote
    gaps = np.arange(n - 1)
    left_c, right_c = cont[:-1], cont[1:]
    relevant = gaps[left_c | right_c]
    # Lower bound of φ(u, 0) over a gap from the two neighbouring atoms alone: if it already
    # exceeds 1/δ², the gap is filled and needs no root finding.
    g = pos[relevant + 1] - pos[relevant]
    pair_bound = (np.cbrt(w[relevant]) + np.cbrt(w[relevant + 1])) ** 3 / g**2
    both_c = left_c[relevant] & right_c[relevant]
    filled = both_c & (pair_bound > target)
    cand = relevant[~filled]
    right_edge = np.full(n, np.nan)  # right edge of the interval ending at atom k
    left_edge = np.full(n, np.nan)  # left edge of the interval starting at atom k
    if cand.size:
        a, b = pos[cand], pos[cand + 1]
        # Minimiser of the convex function: root of the increasing φ'(u) = −2 Σ p/(u − s)³.
        umin = _bracketed_newton(
            lambda u: -2.0 * _phi0(u, pos, w, 3), lambda u: 6.0 * _phi0(u, pos, w, 4), a, b, increasing=True
        )
        fmin = _phi0(umin, pos, w, 2) - target
        hole = fmin < 0
        lc, rc = cont[cand], cont[cand + 1]
        demote[cand[~hole & ~lc]] = True
        demote[cand[~hole & ~rc] + 1] = True
        if np.any(demote):
            return [], demote
        sel = hole & lc
        if sel.any():
            k = cand[sel]
            right_edge[k] = _bracketed_newton(
                lambda u: _phi0(u, pos, w, 2) - target,
                lambda u: -2.0 * _phi0(u, pos, w, 3),
                pos[k],
                umin[sel],
                increasing=False,
            )
        sel = hole & rc
        if sel.any():
            k = cand[sel]
            left_edge[k + 1] = _bracketed_newton(
                lambda u: _phi0(u, pos, w, 2) - target,
                lambda u: -2.0 * _phi0(u, pos, w, 3),
                umin[sel],
                pos[k + 1],
                increasing=True,
            )
    # Outer edges: every atom is at distance ≥ δ from s_0 − δ, so φ ≤ 1/δ² there.
    fun = lambda u: _phi0(u, pos, w, 2) - target  # noqa: E731
    dfun = lambda u: -2.0 * _phi0(u, pos, w, 3)  # noqa: E731
    if cont[0]:
        left_edge[0] = _bracketed_newton(fun, dfun, pos[:1] - delta, pos[:1], increasing=True)[0]
    if cont[-1]:
        right_edge[n - 1] = _bracketed_newton(fun, dfun, pos[-1:], pos[-1:] + delta, increasing=False)[0]
    starts = np.flatnonzero(np.isfinite(left_edge))
    ends = np.flatnonzero(np.isfinite(right_edge))
    intervals = [(float(left_edge[i]), float(right_edge[j])) for i, j in zip(starts, ends, strict=True)]
    return intervals, demote


@dataclass(frozen=True)
class FreeConvolution:
    """μ_δ = μ_{S*} ⊞ σ_δ, represented for integration (see the module docstring).

    Build with :func:`semicircle_free_convolution`. The absolutely continuous part is stored as
    Gauss–Legendre panels in the angle θ of each support interval (u = m − h cos θ); isolated
    atoms as closed-form semicircle components.

    Attributes
    ----------
    delta : float
        Semicircle scale δ (variance δ²).
    panel_theta : ndarray, shape (P, 2)
        θ-range of each panel.
    panel_center, panel_halfwidth : ndarray, shape (P,)
        u = center − halfwidth·cos θ on each panel.
    node_x, node_v, node_re_g, node_mass : ndarray, shape (P, _ORDER)
        x(u), v(u), Re G(x) and the quadrature weight of μ_δ at each node (Σ node_mass is the
        mass of the continuous part).
    bump_center, bump_radius, bump_mass, bump_beta, bump_g0, bump_slope : ndarray, shape (B,)
        Isolated components: semicircles in x of the given centre, radius and mass; β of the
        module docstring; Re G = g0 + slope·cos θ on x = centre + radius·cos θ.
    bump_atom : ndarray, shape (B,)
        The atom s_i each isolated component belongs to.
    """

    delta: float
    panel_theta: np.ndarray
    panel_center: np.ndarray
    panel_halfwidth: np.ndarray
    node_x: np.ndarray
    node_v: np.ndarray
    node_re_g: np.ndarray
    node_mass: np.ndarray
    bump_center: np.ndarray
    bump_radius: np.ndarray
    bump_mass: np.ndarray
    bump_beta: np.ndarray
    bump_g0: np.ndarray
    bump_slope: np.ndarray
    bump_atom: np.ndarray

    # -- threshold integrals -------------------------------------------------------------------
    def threshold_integrals(self, t: float) -> ThresholdIntegrals:
        """∫ (x − t)₊^k μ_δ(dx) (k = 0, 1, 2), ∫ (x − t)₊ Re G dμ_δ and ∫_{x>t} Re G dμ_δ."""
        t = float(t)
        acc = np.zeros(5)
        if self.node_x.size:
            xlo, xhi = self._panel_range()
            above = xlo >= t
            if above.any():
                y = self.node_x[above] - t
                wm = self.node_mass[above]
                g = self.node_re_g[above]
                acc += [wm.sum(), (wm * y).sum(), (wm * y * y).sum(), (wm * y * g).sum(), (wm * g).sum()]
            for k in np.flatnonzero((xlo < t) & (xhi > t)):
                acc += self._partial_panel(int(k), t)
        if self.bump_mass.size:
            c_t = np.clip((t - self.bump_center) / self.bump_radius, -1.0, 1.0)
            th = np.arccos(c_t)
            # ∫_0^θ cos^k θ' sin²θ' dθ' for k = 0, 1, 2 (x − centre = radius·cos θ').
            i0 = th / 2.0 - np.sin(2.0 * th) / 4.0
            i1 = np.sin(th) ** 3 / 3.0
            i2 = th / 8.0 - np.sin(4.0 * th) / 32.0
            pref = 2.0 * self.bump_mass / math.pi
            r = self.bump_radius
            e = self.bump_center - t
            g0, c1 = self.bump_g0, self.bump_slope
            acc += [
                (pref * i0).sum(),
                (pref * (r * i1 + e * i0)).sum(),
                (pref * (r * r * i2 + 2.0 * r * e * i1 + e * e * i0)).sum(),
                (pref * (g0 * r * i1 + g0 * e * i0 + c1 * r * i2 + c1 * e * i1)).sum(),
                (pref * (g0 * i0 + c1 * i1)).sum(),
            ]
        return ThresholdIntegrals(*(float(a) for a in acc))

    def _panel_range(self) -> tuple[np.ndarray, np.ndarray]:
        coef = self.node_x @ _TO_COEF.T
        signs = (-1.0) ** np.arange(_ORDER)
        return coef @ signs, coef.sum(axis=1)

    def _partial_panel(self, k: int, t: float) -> np.ndarray:
        """Integrals over the part of panel k where x > t, from the panel's Legendre interpolants."""
        th0, th1 = self.panel_theta[k]
        half = 0.5 * (th1 - th0)
        cx = _TO_COEF @ self.node_x[k]
        xi_t = brentq(lambda xi: _leg.legval(xi, cx) - t, -1.0, 1.0, xtol=1e-15)
        # node_mass = (GL weight)·half·density; density values at the nodes are node_mass/(w·half).
        dens = self.node_mass[k] / (_WEIGHTS * half)
        y = self.node_x[k] - t
        out = []
        g = self.node_re_g[k]
        for values in (dens, dens * y, dens * y * y, dens * y * g, dens * g):
            anti = _leg.legint(_TO_COEF @ values, lbnd=-1.0)
            out.append(half * float(_leg.legval(1.0, anti) - _leg.legval(xi_t, anti)))
        return np.array(out)

    # -- other functionals ----------------------------------------------------------------------
    def cubic_integral(self) -> float:
        """∫ μ_δ(x)³ dx (the free Fisher information is (4π²/3) times this)."""
        d2 = self.delta**2
        total = float((self.node_mass * (self.node_v / (math.pi * d2)) ** 2).sum())
        if self.bump_mass.size:
            total += float((3.0 * self.bump_mass**2 / (4.0 * math.pi**2 * d2 * self.bump_beta)).sum())
        return total

    def total_mass(self) -> float:
        """Total mass (1 up to quadrature error; a diagnostic)."""
        return float(self.node_mass.sum() + self.bump_mass.sum())

    def outlier_positions(self) -> np.ndarray:
        """Centres of the isolated components (finite-d BBP outliers), decreasing."""
        return np.sort(self.bump_center)[::-1]

    def _table(self, samples: int = 33) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, density, upper-tail mass) on a fine increasing grid covering every component."""
        xs, ds, ms = [], [], []
        if self.node_x.size:
            grid = np.linspace(-1.0, 1.0, samples)
            vander = _leg.legvander(grid, _ORDER - 1)
            half = 0.5 * (self.panel_theta[:, 1] - self.panel_theta[:, 0])
            cx = self.node_x @ _TO_COEF.T
            cv = self.node_v @ _TO_COEF.T
            dens = self.node_mass / (_WEIGHTS[None, :] * half[:, None])
            cm = dens @ _TO_COEF.T
            anti = np.stack([_leg.legint(row, lbnd=-1.0) for row in cm])
            cum = _leg.legvander(grid, _ORDER) @ anti.T * half[None, :]
            xs.append((vander @ cx.T).T)
            ds.append(np.maximum((vander @ cv.T).T, 0.0) / (math.pi * self.delta**2))
            ms.append(cum.T)
        if self.bump_mass.size:
            th = np.linspace(math.pi, 0.0, samples)
            xs.append(self.bump_center[:, None] + self.bump_radius[:, None] * np.cos(th)[None, :])
            ds.append(2.0 * self.bump_mass[:, None] * np.sin(th)[None, :] / (math.pi * self.bump_radius[:, None]))
            lower = math.pi - th
            cdf = (lower / 2.0 + np.sin(2.0 * th) / 4.0) * 2.0 / math.pi
            ms.append(self.bump_mass[:, None] * cdf[None, :])
        x = np.concatenate([a.ravel() for a in xs])
        density = np.concatenate([a.ravel() for a in ds])
        # Cumulative mass (from the left) per piece, shifted by the mass of every piece below.
        pieces = np.concatenate([a for a in ms])
        xp = np.concatenate([a for a in xs])
        order = np.argsort(xp[:, 0])
        totals = pieces[order, -1]
        offset = np.concatenate(([0.0], np.cumsum(totals)[:-1]))
        cum = np.empty_like(pieces)
        cum[order] = pieces[order] + offset[:, None]
        sort = np.argsort(x, kind="stable")
        return x[sort], density[sort], 1.0 - cum.ravel()[sort]

    def density(self, x: np.ndarray) -> np.ndarray:
        """μ_δ(x) on arbitrary points, by interpolation of a fine table (plotting accuracy)."""
        xt, dt, _ = self._table()
        x = np.asarray(x, dtype=float)
        out = np.interp(x, xt, dt, left=0.0, right=0.0)
        # Zero in the holes between components: a point is inside a component iff it lies in
        # the x-range of a panel or an isolated semicircle.
        inside = np.zeros(x.shape, dtype=bool)
        if self.node_x.size:
            lo, hi = self._panel_range()
            for a, b in _merge_ranges(lo, hi):
                inside |= (x >= a) & (x <= b)
        for c, r in zip(self.bump_center, self.bump_radius, strict=True):
            inside |= np.abs(x - c) <= r
        return np.where(inside, out, 0.0)

    def upper_quantiles(self, levels: np.ndarray) -> np.ndarray:
        """x such that μ_δ((x, ∞)) = level, for levels in (0, 1) (plotting accuracy)."""
        xt, _, tail = self._table(65)
        tail = np.minimum.accumulate(tail)  # enforce monotonicity against rounding
        return np.interp(-np.asarray(levels, dtype=float), -tail, xt)


def _merge_ranges(lo: np.ndarray, hi: np.ndarray) -> list[tuple[float, float]]:
    order = np.argsort(lo)
    out: list[tuple[float, float]] = []
    for a, b in zip(lo[order], hi[order], strict=True):
        if out and a <= out[-1][1] * (1 + 1e-12) + 1e-300:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((float(a), float(b)))
    return out


def semicircle_free_convolution(
    positions: np.ndarray,
    weights: np.ndarray,
    delta: float,
    *,
    far_field: tuple[np.ndarray, np.ndarray] | None = None,
    panel_tol: float = _PANEL_TOL,
) -> FreeConvolution:
    """Build μ_δ = (Σ_i p_i δ_{s_i}) ⊞ σ_δ for integration.

    Parameters
    ----------
    positions : ndarray, shape (n,)
        Strictly increasing atoms s_i (use :func:`spectral_atoms` or :func:`compress_spectrum`).
    weights : ndarray, shape (n,)
        Their weights p_i > 0, summing to 1.
    delta : float
        δ > 0; the semicircle has variance δ² (support [−2δ, 2δ]).
    far_field : (g0, h), optional
        Precomputed Σ_{j≠i} p_j/(s_i − s_j) and Σ_{j≠i} p_j/(s_i − s_j)² (they do not depend on
        δ; pass them when building many δ for the same atoms, as the solvers do).
    panel_tol : float
        Absolute per-panel quadrature tolerance (mass units).

    Returns
    -------
    FreeConvolution

    Examples
    --------
    >>> fc = semicircle_free_convolution(np.array([0.0]), np.array([1.0]), 1.0)
    >>> round(fc.threshold_integrals(0.0).second, 6)  # ∫_0^2 x² semicircle = 1/2
    0.5
    """
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    pos = np.asarray(positions, dtype=float)
    w = np.asarray(weights, dtype=float)
    if pos.ndim != 1 or pos.shape != w.shape or pos.size == 0 or np.any(np.diff(pos) <= 0) or np.any(w <= 0):
        raise ValueError("`positions` must be strictly increasing and `weights` positive, same shape")
    g0, h = _far_field(pos, w) if far_field is None else far_field
    d2 = delta * delta
    beta = 1.0 - d2 * h
    rho = delta * np.sqrt(w / np.maximum(beta, 1e-300))
    gap = np.full(pos.size, np.inf)
    if pos.size > 1:
        dg = np.diff(pos)
        gap[:-1] = dg
        gap[1:] = np.minimum(gap[1:], dg)
    iso = (beta >= _ISOLATED_BETA) & (rho <= _ISOLATED_GAP_FRACTION * gap)
    for _ in range(pos.size + 1):
        intervals, demote = _support_edges(pos, w, delta, ~iso)
        if not demote.any():
            break
        iso &= ~demote
    panels = _initial_panels(pos, w, delta, intervals, ~iso)
    nodes = _refine_panels(panels, pos, w, delta, panel_tol)
    b = np.flatnonzero(iso)
    bb = beta[b]
    rb = rho[b]
    return FreeConvolution(
        delta=delta,
        panel_theta=nodes["theta"],
        panel_center=nodes["center"],
        panel_halfwidth=nodes["half"],
        node_x=nodes["x"],
        node_v=nodes["v"],
        node_re_g=nodes["re_g"],
        node_mass=nodes["mass"],
        bump_center=pos[b] + d2 * g0[b],
        bump_radius=2.0 * bb * rb,
        bump_mass=w[b],
        bump_beta=bb,
        bump_g0=g0[b],
        bump_slope=(2.0 * bb - 1.0) * rb / d2,
        bump_atom=pos[b],
    )


def _initial_panels(
    pos: np.ndarray, w: np.ndarray, delta: float, intervals: list[tuple[float, float]], cont: np.ndarray
) -> np.ndarray:
    """Panels (center, half, θ0, θ1) covering each support interval.

    Near an atom s_j the integrands contain the Lorentzian p_j/((u − s_j)² + v²), a feature of
    width v that the adaptive refinement could step over if v is below the node spacing. Such
    atoms (v(s_j) < ``_BREAKPOINT_SPACINGS`` × the distance to their neighbours) become panel
    breakpoints; where v is larger, consecutive atoms blur into a smooth bulk and the panels
    start from ``_COARSE_PANELS`` equal θ-pieces per interval and are refined adaptively.
    """
    rows = []
    idx = np.flatnonzero(cont)
    gaps = np.full(pos.size, np.inf)
    if pos.size > 1:
        dg = np.diff(pos)
        gaps[:-1] = dg
        gaps[1:] = np.where(np.isfinite(gaps[1:]), np.maximum(gaps[1:], dg), dg)
    # A lower bound of v suffices (it can only add breakpoints): three monotone Newton steps.
    v_at_atoms = _curve_height_at(pos[idx], pos, w, delta, 3)
    sharp = pos[idx][v_at_atoms < _BREAKPOINT_SPACINGS * gaps[idx]]
    coarse = np.linspace(0.0, math.pi, _COARSE_PANELS + 1)
    for lo, hi in intervals:
        center, half = 0.5 * (lo + hi), 0.5 * (hi - lo)
        inside = sharp[(sharp > lo) & (sharp < hi)]
        theta = np.arccos(np.clip((center - inside) / half, -1.0, 1.0))
        br = np.unique(np.concatenate((coarse, theta)))
        br = br[np.concatenate(([True], np.diff(br) > 1e-14))]
        br[-1] = math.pi
        rows.extend((center, half, a, b) for a, b in itertools.pairwise(br))
    return np.array(rows, dtype=float).reshape(-1, 4)


def _evaluate_panels(panels: np.ndarray, pos: np.ndarray, w: np.ndarray, delta: float) -> dict:
    center, half, th0, th1 = panels.T
    hth = 0.5 * (th1 - th0)
    theta = (0.5 * (th0 + th1))[:, None] + hth[:, None] * _NODES[None, :]
    u = center[:, None] - half[:, None] * np.cos(theta)
    v, x, re_g, dxdu = _curve(u.ravel(), pos, w, delta)
    shape = u.shape
    v, x, re_g, dxdu = (a.reshape(shape) for a in (v, x, re_g, dxdu))
    # μ dx = (v/(πδ²)) (dx/du) (du/dθ) dθ, du/dθ = half·sin θ.
    dens = v / (math.pi * delta**2) * dxdu * half[:, None] * np.sin(theta)
    return {"x": x, "v": v, "re_g": re_g, "dens": dens, "hth": hth}


def _refine_panels(panels: np.ndarray, pos: np.ndarray, w: np.ndarray, delta: float, tol: float) -> dict:
    """Adaptive bisection of panels until each panel's integrands are resolved."""
    done = []
    todo = panels
    for _ in range(_MAX_REFINE_ROUNDS):
        if todo.shape[0] == 0:
            break
        ev = _evaluate_panels(todo, pos, w, delta)
        hth = ev["hth"]
        errs = []
        scale_x = max(float(np.max(np.abs(ev["x"]))), 1e-300)
        scale_g = max(float(np.max(np.abs(ev["re_g"]))), 1e-300)
        for values in (ev["dens"], ev["dens"] * ev["x"] / scale_x, ev["dens"] * ev["re_g"] / scale_g):
            coef = values @ _TO_COEF.T
            errs.append((np.abs(coef[:, -1]) + np.abs(coef[:, -2])) * hth)
        err = np.max(errs, axis=0)
        ok = (err <= tol) | (hth <= 1e-13)
        done.append((todo[ok], {k: val[ok] for k, val in ev.items()}))
        bad = todo[~ok]
        mid = 0.5 * (bad[:, 2] + bad[:, 3])
        todo = np.concatenate(
            [
                np.column_stack([bad[:, 0], bad[:, 1], bad[:, 2], mid]),
                np.column_stack([bad[:, 0], bad[:, 1], mid, bad[:, 3]]),
            ]
        )
    else:
        if todo.shape[0]:
            ev = _evaluate_panels(todo, pos, w, delta)
            done.append((todo, ev))
    if not done:
        empty = np.zeros((0, _ORDER))
        return {
            "theta": np.zeros((0, 2)),
            "center": np.zeros(0),
            "half": np.zeros(0),
            "x": empty,
            "v": empty,
            "re_g": empty,
            "mass": empty,
        }
    pan = np.concatenate([p for p, _ in done])
    x = np.concatenate([e["x"] for _, e in done])
    order = np.argsort(x[:, 0], kind="stable")
    hth = np.concatenate([e["hth"] for _, e in done])
    mass = np.concatenate([e["dens"] for _, e in done]) * _WEIGHTS[None, :] * hth[:, None]
    return {
        "theta": pan[order][:, 2:4],
        "center": pan[order, 0],
        "half": pan[order, 1],
        "x": x[order],
        "v": np.concatenate([e["v"] for _, e in done])[order],
        "re_g": np.concatenate([e["re_g"] for _, e in done])[order],
        "mass": mass[order],
    }


def stieltjes_transform(
    positions: np.ndarray, weights: np.ndarray, delta: float, z: np.ndarray, *, steps: int = 60
) -> np.ndarray:
    """G(z) of μ_δ at points of the upper half-plane, by Newton's method with an η-homotopy.

    Solves ω + δ² G_0(ω) = z for the subordination function (Im ω ≥ Im z) and returns
    G(z) = G_0(ω). Each point is continued from z + iH (H large, where G ≈ 1/z) down to z along a
    geometric sequence of heights, with a few Newton steps at each height; this is the grid route
    of spec §2.2(b), kept as an independent check of :func:`semicircle_free_convolution`.

    Parameters
    ----------
    positions, weights : ndarray, shape (n,)
        Atoms and weights of μ_{S*}.
    delta : float
        δ > 0.
    z : ndarray, complex
        Points with Im z > 0.
    steps : int
        Number of homotopy heights.

    Returns
    -------
    ndarray, complex, shaped like ``z``
    """
    delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
    steps = check_int(steps, "steps", "homotopy steps", lower=2)
    pos = np.asarray(positions, dtype=float)
    w = np.asarray(weights, dtype=float)
    z = np.asarray(z, dtype=complex)
    shape = z.shape
    z = z.ravel()
    if np.any(z.imag <= 0):
        raise ValueError("`z` must lie in the upper half-plane (Im z > 0)")
    d2 = delta * delta
    spread = float(pos.max() - pos.min()) + 4.0 * delta + float(np.max(np.abs(pos)))
    heights = np.concatenate((spread * 10.0 * 0.7 ** np.arange(steps), [0.0]))
    zk = z + 1j * heights[0]
    omega = zk - d2 / (zk - float(pos @ w))
    for h in heights:
        zk = z + 1j * h
        for _ in range(30):
            inv = 1.0 / (omega[:, None] - pos[None, :])
            g0 = inv @ w
            dg0 = -(inv * inv) @ w
            f = omega + d2 * g0 - zk
            step = f / (1.0 + d2 * dg0)
            new = omega - step
            # Keep the iterate on the physical branch Im ω ≥ Im z (halve steps that leave it).
            for _ in range(60):
                bad = new.imag < zk.imag
                if not bad.any():
                    break
                step[bad] *= 0.5
                new[bad] = omega[bad] - step[bad]
            omega = new
            if np.all(np.abs(step) <= 1e-15 * (1.0 + np.abs(omega))):
                break
    return ((1.0 / (omega[:, None] - pos[None, :])) @ w).reshape(shape)


# -- contour route for threshold integrals ---------------------------------------------------------
#: Vertical legs: geometric panels of ratio 3 with 10 Gauss–Legendre nodes. G(t + iy) is analytic
#: for Re y > 0, so on [y_a, 3y_a] the nearest singularity sits at normalised distance 2 from the
#: panel (Bernstein parameter 2 + √3) and 10 nodes give a relative error ~(2 + √3)^−20 ≈ 4e-12.
_V_RATIO = 3.0
_V_NODES, _V_WEIGHTS = _leg.leggauss(10)
#: Vertical legs stop at y_min = _V_DEPTH·δ; below it the integrand is frozen at the lowest node.
#: Since |G| ≤ 1/δ, this costs ≤ _V_DEPTH/π on the mass, and nothing measurable on the moments
#: weighted by y or y² (which are all the fixed point uses).
_V_DEPTH = 1e-9
#: Horizontal leg: panels of width H at height H (Bernstein parameter 2 + √5), 16 nodes: ~1e-20.
_H_NODES, _H_WEIGHTS = _leg.leggauss(16)
_H_TO_COEF = (
    (2.0 * np.arange(_H_NODES.size)[:, None] + 1.0) / 2.0 * _leg.legvander(_H_NODES, _H_NODES.size - 1).T * _H_WEIGHTS
)
#: Contour moments computed per threshold: (function, k) for ∫ (z − t)^k F(z) dz, F = G or ∂_δ G;
#: they give mass, first, second (G, k = 0, 1, 2), 2δ·tail_re_g and 4δ·cross (∂_δ G, k = 1, 2).
_MOMENTS = (("g", 0), ("g", 1), ("g", 2), ("dg", 1), ("dg", 2))
_NEWTON_MAX = 60
#: Newton for the subordination equation also stops when the residual |ω + δ² G_0(ω) − z| is
#: within this many rounding units of the size of its terms: the root to working precision
#: (docstring of :func:`_newton_subordination`).
_RESIDUAL_ULPS = 16.0


def _g0_and_slope(omega: np.ndarray, pos: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inv = 1.0 / (omega[:, None] - pos[None, :])
    return inv @ w, -((inv * inv) @ w)


def _newton_subordination(
    z: np.ndarray, omega: np.ndarray, pos: np.ndarray, w: np.ndarray, d2: float, higher: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton for ω + δ² G_0(ω) = z on the physical branch Im ω ≥ Im z.

    Returns (ω, derivatives, converged); ``derivatives`` has rows G_0, G_0′, G_0″, G_0‴ at
    the last iterate before the final step (a step at rounding level, see below, so their error
    is far below the quadrature error); the last two rows only with ``higher`` (else zero). They
    reuse that iterate's 1/(ω − s_i), the costly part (a complex division per atom and point).

    Stopping rule: a point has converged when the Newton step is below 1e-14 (|ω| + δ), or when
    the residual r = ω + δ² G_0(ω) − z is at rounding level, |r| ≤ ``_RESIDUAL_ULPS`` · ε_mach ·
    (|z| + |ω| + δ). The second test bounds the backward error: ω is then the exact solution at
    some z' with |z' − z| ≤ 16 ε_mach (|z| + |ω| + δ), so ω is as accurate as double precision
    allows. It is needed near a square-root edge of μ_δ, where the equation is ill-conditioned:
    1 + δ² G_0'(ω) → 0 at the edge, so the rounding of r (a few units of ε_mach |z|) divided by
    it exceeds 1e-14 |ω| once |1 + δ² G_0'(ω)| ≲ 0.05, and the steps stall at that floor above
    the step test (vertical legs at thresholds within ~1e-4 relative of the edge; e.g. d = 400,
    n = 57, δ = 41.885, t = 84.0645 with the edge at 84.0585: |r| = 2.8e-14, |1 + δ² G_0'| =
    0.027, steps 1.0e-12 against a tolerance of 8.5e-13). The δ term bounds the rounding of
    δ² G_0: by Cauchy–Schwarz δ² Σ p_i/|ω − s_i| ≤ δ² φ^{1/2} with φ = Σ p_i/|ω − s_i|², and
    δ² φ < 1 on the physical branch (Im z = Im ω (1 − δ² φ) > 0).
    """
    omega = omega.copy()
    ok = np.zeros(z.size, dtype=bool)
    der = np.zeros((4, z.size), dtype=complex)
    inv = inv2 = None
    rounding = _RESIDUAL_ULPS * np.finfo(float).eps
    delta = math.sqrt(d2)
    for _ in range(_NEWTON_MAX):
        inv = 1.0 / (omega[:, None] - pos[None, :])
        inv2 = inv * inv
        der[0] = inv @ w
        der[1] = -(inv2 @ w)
        residual = omega + d2 * der[0] - z
        step = residual / (1.0 + d2 * der[1])
        new = omega - step
        for _ in range(60):
            bad = new.imag < z.imag
            if not bad.any():
                break
            step[bad] *= 0.5
            new[bad] = omega[bad] - step[bad]
        ok = (np.abs(step) <= 1e-14 * (np.abs(new) + delta)) | (
            np.abs(residual) <= rounding * (np.abs(z) + np.abs(omega) + delta)
        )
        omega = new
        if ok.all():
            break
    if higher and inv is not None:
        inv2 *= inv
        der[2] = 2.0 * (inv2 @ w)
        inv2 *= inv
        der[3] = -6.0 * (inv2 @ w)
    return omega, der, ok & np.isfinite(omega)


class ThresholdContour:
    """Threshold integrals of μ_δ by contour integration of its Stieltjes transform.

    For a polynomial h with real coefficients and a path Γ_t in the upper half-plane from t to a
    point R to the right of the support, ∫_t^R h(x) μ_δ(dx) = −(1/π) Im ∫_{Γ_t} h(z) G(z) dz
    (Cauchy; G extends continuously to the real axis for a free convolution with a semicircle).
    Γ_t runs up from t to t + iH, right along Im z = H, down to R. On the vertical leg
    h(z) = (z − t)^k carries a factor y^k, so the region near the real axis, where G has the fine
    structure of the narrow outlier components, contributes little and is resolved by geometric
    panels; the horizontal and right legs do not depend on t and are solved once per δ. With
    ∂_δ G = −2δ G G_0'(ω)/(1 + δ² G_0'(ω)) the same path gives ∂_δ of every integral (module
    docstring, Burgers equation). Cost per t: ~20 panels of 10 Newton solves, O(n) each.

    Parameters
    ----------
    positions, weights : ndarray, shape (n,)
        Atoms (increasing) and weights (sum 1) of μ_{S*}.
    delta : float
        δ > 0.
    t_min : float
        Smallest threshold that will be queried (the horizontal leg starts there); queries below
        the support use the exact moments instead.
    goe_size : int, optional
        If given (= d), integrate against the mean spectral density of diag(s) + δZ with
        Z ~ GOE(d) to first order in 1/d instead of μ_δ: G is replaced by G + g_1/d with
        g_1(z) = (δ²/2) ω'(z)² G_0''(ω(z)) and ω' = 1/(1 + δ² G_0'(ω)).

    Notes
    -----
    The 1/d term follows from Stein's lemma for the GOE covariance
    E Z_ij Z_kl = (δ_ik δ_jl + δ_il δ_jk)/d: E[ZR] = δ E[(1/d)Tr R · R + R²/d] for R = (z − H)⁻¹,
    whose R²/d term (absent for the GUE) gives (z − A − δ² E g) E R = I + (δ²/d) E R² + O(d⁻²),
    hence E g = G_0(ω) + (δ²/d) ω' G_0''(ω)/2 and, after linearising the subordination, the g_1
    above. Checks: for A = 0 it is the classical GOE correction G³/(1 − G²)²; it leaves the mass
    and the mean unchanged and adds δ²/d to the second moment, as E Tr Z²/d = 1 + 1/d requires.
    It is singular at the spectral edges (the expansion is not uniform there) but integrable
    against (x − t)^k for k ≥ 1, which is all the fixed point uses.
    """

    def __init__(
        self,
        positions: np.ndarray,
        weights: np.ndarray,
        delta: float,
        t_min: float = 0.0,
        goe_size: int | None = None,
    ) -> None:
        self.delta = check_real(delta, "delta", "effective noise δ", lower=0.0, lower_inclusive=False)
        self.inv_d = 0.0 if goe_size is None else 1.0 / check_int(goe_size, "goe_size", "GOE dimension d", lower=1)
        self.pos = np.asarray(positions, dtype=float)
        self.w = np.asarray(weights, dtype=float)
        d = self.delta
        self.d2 = d * d
        self.lower = float(self.pos[0]) - 2.0 * d
        self.upper = float(self.pos[-1]) + 2.0 * d
        self.x_a = min(float(t_min), self.lower) - d
        self.right = self.upper + d
        length = self.right - self.x_a
        self.height = 0.5 * length + 2.0 * d
        self.mean = float(self.pos @ self.w)
        #: E‖Z‖²_F/d: 1 for the semicircle, 1 + 1/d with the GOE term.
        self.noise_second_moment = 1.0 + self.inv_d
        self.second_moment = float(self.pos**2 @ self.w) + self.d2 * self.noise_second_moment
        self._last_vertical: tuple[float, tuple] | None = None
        # Horizontal leg z = x + iH, panels of width ≤ H.
        n_pan = max(1, math.ceil(length / self.height))
        edges = np.linspace(self.x_a, self.right, n_pan + 1)
        self.h_edges = edges
        half = 0.5 * np.diff(edges)
        xs = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half[:, None] * _H_NODES[None, :]
        z = (xs + 1j * self.height).ravel()
        _, der, ok = _newton_subordination(
            z, z - self.d2 / (z - self.mean), self.pos, self.w, self.d2, self.inv_d != 0.0
        )
        if not ok.all():
            raise FloatingPointError("subordination Newton failed on the horizontal contour leg")
        g, dg = self._values(der)
        self.h_x = xs
        self.h_weight = half[:, None] * _H_WEIGHTS[None, :]
        self.h_g = g.reshape(xs.shape)
        self.h_dg = dg.reshape(xs.shape)
        # Right leg z = R + iy, from H down to 0: G is analytic within distance δ of R.
        ys, yw = self._vertical_grid(self.height, 0.5 * d, to_zero=True)
        g, dg = self._values(self._descend(self.right, ys)[1])
        self.r_y, self.r_weight, self.r_g, self.r_dg = ys, yw, g, dg

    def _values(self, der: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(G, ∂_δ G) from the rows G_0, G_0′, G_0″, G_0‴ at ω, with the optional 1/d GOE term."""
        delta, d2 = self.delta, self.d2
        g, a = der[0], der[1]
        slope = 1.0 / (1.0 + d2 * a)  # ω'(z)
        d_omega = -2.0 * delta * g * slope  # ∂_δ ω
        dg = a * d_omega
        if self.inv_d == 0.0:
            return g, dg
        b, c = der[2], der[3]
        g1 = 0.5 * d2 * slope**2 * b
        d_slope = -(slope**2) * (2.0 * delta * a + d2 * b * d_omega)
        dg1 = delta * slope**2 * b + 0.5 * d2 * (2.0 * slope * d_slope * b + slope**2 * c * d_omega)
        return g + self.inv_d * g1, dg + self.inv_d * dg1

    def _vertical_grid(self, top: float, bottom: float, *, to_zero: bool) -> tuple[np.ndarray, np.ndarray]:
        """Nodes (decreasing) and weights on [bottom, top] in geometric panels; plus [0, bottom]."""
        n_pan = max(1, math.ceil(math.log(top / bottom) / math.log(_V_RATIO)))
        edges = top * (bottom / top) ** (np.arange(n_pan + 1) / n_pan)
        if to_zero:
            edges = np.append(edges, 0.0)
        lo, hi = edges[1:], edges[:-1]
        half = 0.5 * (hi - lo)
        ys = (0.5 * (lo + hi))[:, None] + half[:, None] * _V_NODES[::-1][None, :]
        return ys.ravel(), (half[:, None] * _V_WEIGHTS[::-1][None, :]).ravel()

    def _descend(self, x: float, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ω, derivatives of G_0) at x + iy for decreasing heights ys, continued from above."""
        top = x + 1j * ys[0]
        return self._follow(x + 1j * ys, top, top - self.d2 / (top - self.mean), _V_NODES.size)

    def _follow(self, path: np.ndarray, z0: complex, omega0: complex, chunk: int) -> tuple[np.ndarray, np.ndarray]:
        """Continue the subordination solution along the ordered points ``path`` from z0.

        ω(z0) is first solved from the guess ω0; then each chunk of points is guessed by the
        first-order continuation ω ≈ ω_prev + (z − z_prev)/(1 + δ² G_0'(ω_prev)) from the last
        solved point and polished by Newton; a chunk that fails is redone point by point with
        substeps of at most a tenth of the height. Returns ω and the rows G_0, …, G_0‴.
        """
        higher = self.inv_d != 0.0
        om, der, ok = _newton_subordination(np.array([z0]), np.array([omega0]), self.pos, self.w, self.d2)
        if not ok[0]:
            raise FloatingPointError(f"subordination Newton failed at the contour start z = {z0}")
        z_prev, om_prev, slope_prev = z0, om[0], 1.0 + self.d2 * der[1, 0]
        omegas = np.empty(path.size, dtype=complex)
        ders = np.empty((4, path.size), dtype=complex)
        for start in range(0, path.size, chunk):
            z = path[start : start + chunk]
            guess = om_prev + (z - z_prev) / slope_prev
            omega, der, ok = _newton_subordination(z, guess, self.pos, self.w, self.d2, higher)
            if not ok.all():
                omega, der = self._follow_slowly(z, z_prev, om_prev, higher)
            omegas[start : start + chunk] = omega
            ders[:, start : start + chunk] = der
            z_prev, om_prev, slope_prev = z[-1], omega[-1], 1.0 + self.d2 * der[1, -1]
        return omegas, ders

    def _follow_slowly(
        self, path: np.ndarray, z0: complex, omega0: complex, higher: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Point-by-point continuation with substeps ≤ 0.1 × height (fallback of _follow)."""
        omegas = np.empty(path.size, dtype=complex)
        ders = np.empty((4, path.size), dtype=complex)
        z_prev, om = z0, complex(omega0)
        for i, z in enumerate(path):
            n_sub = max(1, math.ceil(abs(z - z_prev) / (0.1 * min(z.imag, z_prev.imag))))
            for zz in z_prev + (z - z_prev) * np.arange(1, n_sub + 1) / n_sub:
                _, dg0 = _g0_and_slope(np.array([om]), self.pos, self.w)
                guess = om + (zz - z_prev) / (1.0 + self.d2 * dg0[0])
                res, der, ok = _newton_subordination(
                    np.array([zz]), np.array([guess]), self.pos, self.w, self.d2, higher
                )
                if not ok[0]:
                    raise FloatingPointError(f"subordination continuation failed at z = {zz}")
                om, z_prev = complex(res[0]), zz
            omegas[i], ders[:, i] = om, der[:, 0]
        return omegas, ders

    def _vertical(self, t: float) -> tuple[np.ndarray, ...]:
        """Nodes, weights, ω and the derivatives of G_0 on the vertical leg at t (last t cached)."""
        if self._last_vertical is None or self._last_vertical[0] != t:
            ys, yw = self._vertical_grid(self.height, _V_DEPTH * self.delta, to_zero=False)
            self._last_vertical = (t, (ys, yw, *self._descend(t, ys)))
        return self._last_vertical[1]

    def threshold_integrals(self, t: float) -> ThresholdIntegrals:
        """See :class:`ThresholdIntegrals`; exact moments are used when t is below the support."""
        t = float(t)
        if t >= self.upper:
            return ThresholdIntegrals(0.0, 0.0, 0.0, 0.0, 0.0)
        if t <= self.lower:
            e = self.mean - t
            # ∫ x Re G dμ = ½ (free Stein identity for f(x) = x), times 1 + 1/d with the GOE term.
            cross = 0.5 * (1.0 + self.inv_d)
            return ThresholdIntegrals(1.0, e, self.second_moment - 2.0 * t * self.mean + t * t, cross, 0.0)
        if t < self.x_a:
            raise ValueError(f"threshold t = {t:g} is below the contour's start {self.x_a:g}")
        # ∫ (z − t)^k F dz for (F, k) in _MOMENTS along the three legs.
        mom = np.zeros(len(_MOMENTS), dtype=complex)
        # Right leg, downwards (dz = −i dy).
        zr = self.right + 1j * self.r_y - t
        legs = {"g": self.r_g, "dg": self.r_dg}
        for k, (name, power) in enumerate(_MOMENTS):
            mom[k] += -1j * np.sum(self.r_weight * zr**power * legs[name])
        # Horizontal leg from t + iH to R + iH: whole panels right of t, and the panel holding t
        # through the antiderivative of its Legendre interpolant.
        panel = int(np.searchsorted(self.h_edges, t, side="right")) - 1
        a, b = self.h_edges[panel], self.h_edges[panel + 1]
        xi_t = (2.0 * t - a - b) / (b - a)
        zh = self.h_x + 1j * self.height - t
        full = slice(panel + 1, None)
        legs = {"g": self.h_g, "dg": self.h_dg}
        for k, (name, power) in enumerate(_MOMENTS):
            mom[k] += np.sum(self.h_weight[full] * zh[full] ** power * legs[name][full])
            anti = _leg.legint(_H_TO_COEF @ (zh[panel] ** power * legs[name][panel]), lbnd=-1.0)
            mom[k] += 0.5 * (b - a) * (_leg.legval(1.0, anti) - _leg.legval(xi_t, anti))
        # Vertical leg from t up to t + iH (dz = i dy, (z − t)^k = (iy)^k).
        ys, yw, _, der = self._vertical(t)
        g, dg = self._values(der)
        legs = {"g": g, "dg": dg}
        for k, (name, power) in enumerate(_MOMENTS):
            mom[k] += 1j * np.sum(yw * (1j * ys) ** power * legs[name])
        # Below y_min only the k = 0 integrand survives; freeze it at the lowest node.
        mom[0] += 1j * ys[-1] * g[-1]
        val = -mom.imag / math.pi
        return ThresholdIntegrals(
            mass=float(val[0]),
            first=float(val[1]),
            second=float(val[2]),
            cross=float(val[4] / (4.0 * self.delta)),
            tail_re_g=float(val[3] / (2.0 * self.delta)),
        )

    def lower_integrals(self, t: float) -> tuple[float, float, float]:
        """∫ 1{x < t} (x − t)^k μ(dx) for k = 0, 1, 2, without cancellation against the total.

        A second, local contour: from L = lower − δ (left of the support) up to L + iH_L, right to
        t + iH_L and down the vertical leg at t, with H_L ≈ (t − L)/2 + 2δ. Every integrand is then
        of the size of the result's scale (t − L)^k, so small lower integrals (the exact-recovery
        regime, where the whole fixed point is O(δ², t²)) keep their relative accuracy; computing
        them as total moments minus :meth:`threshold_integrals` would not.
        """
        t = float(t)
        if t <= self.lower:
            return 0.0, 0.0, 0.0
        if t >= self.upper:
            e = self.mean - t
            return 1.0, e, self.second_moment - 2.0 * t * self.mean + t * t
        ys, yw, omega, der = self._vertical(t)
        left = self.lower - self.delta
        # H_L: a panel edge of the vertical grid, so the leg below it is a union of whole panels.
        k = _V_NODES.size
        edges = ys[::k] + 0.5 * (ys[::k] - ys[k - 1 :: k]) / _V_NODES[-1] * (1.0 - _V_NODES[-1])
        target = min(self.height, 0.5 * (t - left) + 2.0 * self.delta)
        j0 = int(np.flatnonzero(edges >= target)[-1])
        height = float(edges[j0])
        sub = slice(j0 * k, None)
        # Horizontal leg at height H_L, from t leftwards to L (continued from the vertical leg).
        n_pan = max(1, math.ceil((t - left) / height))
        h_edges = np.linspace(left, t, n_pan + 1)
        half = 0.5 * np.diff(h_edges)
        xs = (0.5 * (h_edges[:-1] + h_edges[1:]))[:, None] + half[:, None] * _H_NODES[None, :]
        hw = half[:, None] * _H_WEIGHTS[None, :]
        xs, hw = xs.ravel()[::-1], hw.ravel()[::-1]
        start = j0 * k
        z0, om0 = t + 1j * height, omega[start]
        om_h, der_h = self._follow(xs + 1j * height, z0, om0, _H_NODES.size)
        # Left leg x = L, from H_L down to 0 (G is analytic within δ of L).
        ly, lw = self._vertical_grid(height, 0.5 * self.delta, to_zero=True)
        zl = left + 1j * height
        _, der_l = self._follow(left + 1j * ly, zl, om_h[-1], _V_NODES.size)
        g_v = self._values(der[:, sub])[0]
        g_h = self._values(der_h)[0]
        g_l = self._values(der_l)[0]
        out = []
        for power in range(3):
            total = 1j * np.sum(lw * (left + 1j * ly - t) ** power * g_l)  # up the left leg
            total += np.sum(hw * (xs + 1j * height - t) ** power * g_h)  # rightwards
            total += -1j * np.sum(yw[sub] * (1j * ys[sub]) ** power * g_v)  # down to t
            if power == 0:
                total += -1j * ys[-1] * g_v[-1]  # below y_min, as in threshold_integrals
            out.append(float(-total.imag / math.pi))
        return out[0], out[1], out[2]
