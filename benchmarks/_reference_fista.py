"""The convex PSD solver as it was before the factored solver and the fused kernels (frozen copy).

A verbatim copy of the FISTA iteration of ``estimators/psd_convex.py`` and of the operators of
``estimators/_psd_operators.py`` at commit fbc1768 (two GEMM passes of n·d² per iteration:
forward A(S) and adjoint A*(r)), trimmed to the NumPy backend. The benchmarks time today's
solvers against it in the same process, on the same data, to the same certificate. Do not
edit: it is the reference, not a solver of the package.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_reference_fista"]

_CHUNK_NUMBERS = 65536
_MIN_CHUNK_ROWS = 256
_CHUNK_ROWS = 4096
_POWER_ITERATIONS = 3
_BACKTRACK_GROWTH = 1.25
_BACKTRACK_SLACK = 1e-8
_RANK_RTOL = 1e-6


def _chunk_rows(d: int) -> int:
    return int(min(_CHUNK_ROWS, max(_MIN_CHUNK_ROWS, _CHUNK_NUMBERS // max(d, 1))))


def _forward(x: np.ndarray, s: np.ndarray) -> np.ndarray:
    n, d = x.shape
    rows = _chunk_rows(d)
    out = np.empty(n, dtype=x.dtype)
    buf = np.empty((min(rows, n), d), dtype=x.dtype)
    for start in range(0, n, rows):
        block = x[start : start + rows]
        xs = buf[: block.shape[0]]
        np.matmul(block, s, out=xs)
        out[start : start + rows] = np.einsum("ij,ij->i", xs, block)
    out -= np.trace(s)
    out /= np.sqrt(d)
    return out


def _adjoint(x: np.ndarray, r: np.ndarray) -> np.ndarray:
    n, d = x.shape
    rows = _chunk_rows(d)
    acc = np.zeros((d, d), dtype=x.dtype)
    buf = np.empty((min(rows, n), d), dtype=x.dtype)
    for start in range(0, n, rows):
        block = x[start : start + rows]
        weighted = buf[: block.shape[0]]
        np.multiply(block, r[start : start + rows, None], out=weighted)
        acc += block.T @ weighted
    acc = 0.5 * (acc + acc.T)
    acc[np.diag_indices(d)] -= np.sum(r)
    acc /= np.sqrt(d)
    return acc


def _prox(v: np.ndarray, shrink: float) -> tuple[np.ndarray, np.ndarray]:
    mu, u = np.linalg.eigh(0.5 * (v + v.T))
    lam = np.maximum(mu[::-1] - shrink, 0.0)
    keep = int(np.count_nonzero(lam))
    top = u[:, ::-1][:, :keep]
    s = (top * lam[:keep]) @ top.T
    return 0.5 * (s + s.T), lam


def _lipschitz(x: np.ndarray) -> float:
    n, d = x.shape
    w = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)
    v = _adjoint(x, w)
    rayleigh = 0.0
    for _ in range(_POWER_ITERATIONS):
        norm = float(np.linalg.norm(v))
        if norm == 0.0:
            break
        v /= norm
        av = _forward(x, v)
        rayleigh = float(av @ av)
        v = _adjoint(x, av)
    return 2.0 / d**2 * max(rayleigh, 1e-300)


def _duality_gap(grad: np.ndarray, s: np.ndarray, lam: float, objective: float) -> float:
    d = s.shape[0]
    g = grad + (lam / d) * np.eye(d)
    g_min = float(np.linalg.eigvalsh(0.5 * (g + g.T))[0])
    inner = float(np.sum(g * s))
    if g_min >= 0.0:
        return max(inner, 0.0)
    if lam == 0.0:
        return np.inf
    return max(inner, 0.0) + (-g_min) * d * objective / lam


def fit_reference_fista(x: np.ndarray, y: np.ndarray, lam: float, tol: float, max_iter: int) -> dict:
    """The pre-change ``fit_psd_convex(x, y, lam, tol=tol, max_iter=max_iter)``, as a dict."""
    # Entry checks of the pre-change _check_design (part of the cost of a call).
    x = np.ascontiguousarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (x.shape[0],) or not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x must be a finite (n, d) array and y a finite (n,) array")
    n, d = x.shape
    shrink = lam / d
    lip = _lipschitz(x)

    def gradient(ax):
        return (2.0 / d**2) * _adjoint(x, ax - y)

    grad_zero = gradient(np.zeros(n))
    scale = float(np.linalg.norm(grad_zero)) + lam / np.sqrt(d)
    s_cur, ax_cur, g_cur, eig_cur = np.zeros((d, d)), np.zeros(n), grad_zero, np.zeros(d)
    s_y, ax_y, g_y = s_cur, ax_cur, g_cur
    momentum = 1.0
    residual = np.inf
    status = "max_iter"
    iterations = 0
    while iterations < max_iter:
        iterations += 1
        while True:
            step = 1.0 / lip
            s_new, eig = _prox(s_y - step * g_y, step * shrink)
            ax_new = _forward(x, s_new)
            diff = s_new - s_y
            diff2 = float(np.vdot(diff, diff))
            a_diff = ax_new - ax_y
            curvature = 2.0 / d**2 * float(a_diff @ a_diff)
            if not np.isfinite(curvature) or diff2 == 0.0:
                break
            if curvature <= lip * diff2 * (1.0 + _BACKTRACK_SLACK):
                break
            lip = max(_BACKTRACK_GROWTH * lip, curvature / diff2)
        g_new = gradient(ax_new)
        residual = float(np.linalg.norm(g_new - g_y - diff * lip)) / scale
        if not (np.isfinite(residual) and np.all(np.isfinite(eig))):
            status = "diverged"
            break
        if residual <= tol:
            s_cur, ax_cur, g_cur, eig_cur = s_new, ax_new, g_new, eig
            status = "converged"
            break
        if float(np.vdot(s_y - s_new, s_new - s_cur)) > 0.0:
            momentum = 1.0
        next_momentum = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
        beta = (momentum - 1.0) / next_momentum
        momentum = next_momentum
        s_y = s_new + beta * (s_new - s_cur)
        ax_y = ax_new + beta * (ax_new - ax_cur)
        g_y = g_new + beta * (g_new - g_cur)
        s_cur, ax_cur, g_cur, eig_cur = s_new, ax_new, g_new, eig
    r = y - ax_cur
    objective = float(r @ r) / d**2 + shrink * float(np.trace(s_cur))
    reference = max(float(eig_cur[0]), float(np.sqrt(np.mean(y * y))))
    return {
        "s": s_cur,
        "objective": objective,
        "kkt_residual": residual,
        "duality_gap": _duality_gap(g_cur, s_cur, lam, objective),
        "rank": int(np.count_nonzero(eig_cur > _RANK_RTOL * reference)),
        "iterations": iterations,
        "status": status,
    }
