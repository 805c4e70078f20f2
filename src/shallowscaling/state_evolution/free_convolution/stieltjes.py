"""G(z) = ∫ μ_δ(dx)/(z − x) on a grid z = x + iη by Newton on the subordination equation with an
η-homotopy (docs/theory.md §2.2(b)); an independent check of :func:`.density.semicircle_free_convolution`.
"""

from __future__ import annotations

import numpy as np

from ..._validation import check_int, check_real


def stieltjes_transform(
    positions: np.ndarray, weights: np.ndarray, delta: float, z: np.ndarray, *, steps: int = 60
) -> np.ndarray:
    """G(z) of μ_δ at points of the upper half-plane, by Newton's method with an η-homotopy.

    Solves ω + δ² G_0(ω) = z for the subordination function (Im ω ≥ Im z) and returns
    G(z) = G_0(ω). Each point is continued from z + iH (H large, where G ≈ 1/z) down to z along a
    geometric sequence of heights, with a few Newton steps at each height; this is the grid route
    of docs/theory.md §2.2(b), kept as an independent check of :func:`semicircle_free_convolution`.

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
