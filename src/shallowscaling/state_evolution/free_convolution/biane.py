"""Biane's real parametrisation of the free convolution with a semicircle: the curve v(u), its
image x(u), the far-field sums and the support edges of μ_δ (see the package docstring).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

#: Elements per block of the (nodes × atoms) sums, to bound temporaries at ~16 MB.
_BLOCK_ELEMENTS = 1 << 21


def far_field_sums(pos: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


def curve(u: np.ndarray, pos: np.ndarray, w: np.ndarray, delta: float) -> tuple[np.ndarray, ...]:
    """Biane's curve at real points u: (v, x, Re G, dx/du) (see the package docstring)."""
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


def curve_height_at(u: np.ndarray, pos: np.ndarray, w: np.ndarray, delta: float, max_steps: int) -> np.ndarray:
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


def support_edges(
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


def bulk_component(s: np.ndarray, delta: float) -> tuple[float, int]:
    """(right edge, number of s_i above the bulk component) for sorted s; see ``spectra.bulk.free_convolution_edge``."""
    d = s.size
    weight = delta * delta / d

    def excess(u: float) -> float:
        return weight * float(np.sum((u - s) ** -2.0)) - 1.0

    def edge_at(u: float) -> float:
        return u + weight * float(np.sum(1.0 / (u - s)))

    # F ≥ 2·weight/(g/2)² on a gap of width g (its two ends alone), so only gaps wider than
    # δ·√(8/d) can separate the bulk from what lies above it.
    for j in np.flatnonzero(np.diff(s) > delta * math.sqrt(8.0 / d)):
        low, high = float(s[j]), float(s[j + 1])
        dip = optimize.minimize_scalar(
            excess, bounds=(low, high), method="bounded", options={"xatol": 1e-12 * (high - low)}
        )
        if dip.fun < 0.0:
            # F → +∞ at the left end, F(dip.x) < 0: the bracket holds exactly one root. F(low + ε)
            # ≥ weight/ε² − 1 > 0 needs ε < √weight, which 1e-12 of the gap may not be when δ is
            # tiny (a noiseless fit at n ≪ d gave δ̂ ≈ 1e-9 with many repeated eigenvalues).
            left = low + min(1e-12 * (high - low), 0.5 * math.sqrt(weight))
            root = optimize.brentq(excess, left, float(dip.x), xtol=1e-14, rtol=1e-12)
            return edge_at(root), d - 1 - int(j)
    top = float(s[-1])
    # Above max s, F decreases from +∞ to 0, and F(top + 2δ) ≤ 1/4 brackets the root (at
    # top + δ the bound is exactly 1, which round-off can put on either side).
    root = optimize.brentq(excess, top + 1e-12 * max(delta, abs(top)), top + 2.0 * delta, xtol=1e-14, rtol=1e-12)
    return edge_at(root), 0
