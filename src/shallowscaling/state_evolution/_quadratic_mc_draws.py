"""GOE draws of the Monte-Carlo quadratic SE and the order parameters they give at one (δ, t).

The K fixed draws Z_k, the spectra of diag(s) + δZ_k, the threshold t that makes the map
consistent with λ, and the averages (q, m, mse, divergence) over the draws.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from .._kernels import goe_matrix


class Draws:
    """K fixed GOE draws and the per-δ spectral data of diag(s) + δZ_k."""

    def __init__(self, s: np.ndarray, n_draws: int, rng: np.random.Generator) -> None:
        self.s = s
        self.z: list[np.ndarray] = []
        self.z_norm2: list[float] = []
        self.z_trace: list[float] = []
        self.extend(n_draws, rng)

    def extend(self, count: int, rng: np.random.Generator) -> None:
        """Append ``count`` draws; drawn in order, so the first K draws never depend on the final K."""
        d = self.s.size
        for _ in range(count):
            z = goe_matrix(d, rng)
            self.z.append(z)
            self.z_norm2.append(float(np.sum(z * z)))
            self.z_trace.append(float(np.trace(z)))

    def spectra(self, delta: float) -> list[tuple[np.ndarray, np.ndarray, float, float]]:
        """Per draw: eigenvalues (decreasing), w_k = u_kᵀ diag(s) u_k, ‖δZ‖²_F and δ Tr Z."""
        out = []
        for z, z_norm2, z_trace in zip(self.z, self.z_norm2, self.z_trace, strict=True):
            y = delta * z
            y[np.diag_indices_from(y)] += self.s
            x, u = scipy.linalg.eigh(y, driver="evd", overwrite_a=True, check_finite=False)
            w = (u * u).T @ self.s
            out.append((x[::-1].copy(), w[::-1].copy(), delta * delta * z_norm2, delta * z_trace))
        return out


def cut_sums(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """V_c = Σ_{i<c≤j} 1/(x_i − x_j) and U_c = Σ_{i<c≤j} x_i/(x_i − x_j), c = 0..d (x decreasing).

    Moving index r = c − 1 from the lower to the upper block adds Σ_{j>r} A_rj and removes
    Σ_{i<r} A_ir for A_ij = 1/(x_i − x_j); both are row/column sums of A, hence O(d²) for all c.
    """
    d = x.size
    diff = x[:, None] - x[None, :]
    np.fill_diagonal(diff, np.inf)
    a = 1.0 / diff
    upper = np.triu(a, 1)
    row_upper = upper.sum(axis=1)
    col_upper = upper.sum(axis=0)
    col_upper_x = x @ upper
    v = np.zeros(d + 1)
    u = np.zeros(d + 1)
    v[1:] = np.cumsum(row_upper - col_upper)
    u[1:] = np.cumsum(x * row_upper - col_upper_x)
    v[d] = u[d] = 0.0  # no pair straddles the cut once every eigenvalue is above it
    return v, u


def threshold_for_lam(
    spectra: list[tuple[np.ndarray, np.ndarray]], cuts: list, sample_ratio: float, lam: float, width: int
) -> float:
    """Exact solution t > 0 of λ = 2t(2α − D(t)) with D piecewise linear between eigenvalues."""
    d = spectra[0][0].size
    k_draws = len(spectra)
    allx = np.concatenate([sp[0] for sp in spectra])
    bp = np.concatenate(([0.0], np.sort(allx[allx > 0.0])))
    # Coefficients of D(t) = a − c t on each interval (bp[m], bp[m+1]) (right limits at bp[m]).
    a_coef = np.zeros(bp.size)
    c_coef = np.zeros(bp.size)
    for (x, *_), (v, u) in zip(spectra, cuts, strict=True):
        above = d - np.searchsorted(x[::-1], bp, side="right")
        kk = np.minimum(above, width)
        a_coef += (2.0 * kk + kk * (kk - 1.0) + 2.0 * u[kk]) / d**2
        c_coef += 2.0 * v[kk] / d**2
    a_coef /= k_draws
    c_coef /= k_draws
    slope = 2.0 * sample_ratio - a_coef  # 2α − D = slope + c t on each interval
    right = np.append(bp[1:], np.inf)
    with np.errstate(invalid="ignore"):
        g_right = 2.0 * right * (slope + c_coef * right)
    g_right[-1] = np.inf
    m = int(np.argmax(g_right >= lam))
    g_left = 2.0 * bp[m] * (slope[m] + c_coef[m] * bp[m])
    if m > 0 and g_left >= lam:
        return float(bp[m])  # λ falls in the jump of D at this eigenvalue
    b, c = slope[m], c_coef[m]
    disc = math.sqrt(max(b * b + 2.0 * c * lam, 0.0))
    t = lam / (b + disc) if b + disc > 0 else bp[m]
    return float(min(max(t, bp[m]), right[m]))


def mean_divergence(spectra, cuts, t: float, width: int) -> float:
    d = spectra[0][0].size
    total = 0.0
    for (x, *_), (v, u) in zip(spectra, cuts, strict=True):
        kk = min(int(np.count_nonzero(x > t)), width)
        total += (2.0 * kk + kk * (kk - 1.0) + 2.0 * (u[kk] - t * v[kk])) / d**2
    return total / len(spectra)


def order_parameters(spectra, t: float, width: int) -> tuple[float, float, float, float]:
    """(q, m, mse_S, nonzero_fraction) averaged over draws.

    mse_S uses ‖Ŝ − S*‖² = ‖δZ − U r Uᵀ‖² = Σ r_i² − 2 Σ r_i (x_i − w_i) + ‖δZ‖², r = x − f (the
    part removed by the denoiser) and x_i − w_i = δ u_iᵀZu_i: every term is O(δ², t²), unlike
    Q* + q − 2m, which cancels O(Q*) numbers and loses all digits when mse_S ≲ 1e-12 Q*. On the
    kept eigenvalues r_i = t, and Σ_i (x_i − w_i) = δ Tr Z exactly, so only the cut ones carry
    eigenvalue rounding (which matters once δ ≲ 1e-8).
    """
    d = spectra[0][0].size
    q = m = mse = nz = 0.0
    for x, w, noise_norm2, noise_trace in spectra:
        f = np.maximum(x - t, 0.0)
        f[width:] = 0.0
        cut = f == 0.0
        kept = int(d - np.count_nonzero(cut))
        xc, dc = x[cut], x[cut] - w[cut]
        cross = t * (noise_trace - float(dc.sum())) + float(xc @ dc)
        q += float(f @ f) / d
        m += float(f @ w) / d
        mse += (kept * t * t + float(xc @ xc) - 2.0 * cross + noise_norm2) / d
        nz += kept / d
    k = len(spectra)
    return q / k, m / k, mse / k, nz / k
