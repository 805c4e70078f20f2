"""Threshold integrals ∫ (x − t)₊^k dμ_δ as contour integrals of G in the upper half-plane
(:class:`ThresholdContour`, used by the ERM state evolution; see the package docstring).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.polynomial import legendre as _leg

from ..._validation import check_int, check_real
from .atoms import ThresholdIntegrals

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
    right_margin : float, optional
        Distance ≥ δ from the top of the support to the right leg (default δ). The default
        keeps the horizontal leg short, but when δ is tiny against the top atom s_n, the right
        leg passes within 3δ of it and ω − s_n, computed as a difference of O(s_n) numbers,
        loses the relative accuracy the integrands need (|G_0′| ~ 1/(ω − s_n)²): at δ = 2e-6
        next to s_n = 3.2 the leg's contribution to ``cross`` was wrong in the second digit. A
        margin of the order of the spread of the atoms keeps the leg where G is smooth.

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
        right_margin: float | None = None,
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
        margin = d
        if right_margin is not None:
            margin = check_real(right_margin, "right_margin", "right-leg distance from the support", lower=d)
        self.right = self.upper + margin
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
