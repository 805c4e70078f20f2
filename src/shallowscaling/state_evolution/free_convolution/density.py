"""The density of μ_δ on its support: :func:`semicircle_free_convolution` → :class:`FreeConvolution`,
integrated with adaptively refined Gauss–Legendre panels in the Biane parameter (see the package
docstring).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial import legendre as _leg
from scipy.optimize import brentq

from ..._validation import check_real
from .atoms import ThresholdIntegrals
from .biane import curve, curve_height_at, far_field_sums, support_edges

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
    g0, h = far_field_sums(pos, w) if far_field is None else far_field
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
        intervals, demote = support_edges(pos, w, delta, ~iso)
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
    v_at_atoms = curve_height_at(pos[idx], pos, w, delta, 3)
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
    v, x, re_g, dxdu = curve(u.ravel(), pos, w, delta)
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
