"""Time the LASSO hard corner n < d, λ = 1/d (docs/theory.md §7) and the network-vs-LASSO agreement.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lasso_hard_corner.py``. Prints wall time,
certified relative duality gap, KKT residual, epochs and active-set steps of a fit from zero and
along a 10-point path from λ_max, at d = 400, n = 200 (the reference point of docs/theory.md §8) and larger d;
then the relative excess-risk difference between the diagonal network and the LASSO at d = 100.
"""

from __future__ import annotations

import math
import time

import numpy as np

from shallowscaling import data, seeding, targets
from shallowscaling.estimators.diagonal_network import fit_diagonal_network
from shallowscaling.estimators.lasso import fit_lasso, fit_lasso_path


def _problem(d: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    theta_star = targets.draw_diagonal_teacher(d, 1.0, seeding.make_rng(seed, "diagonal-teacher", d))
    x, y = data.draw_diagonal_data(theta_star, n, 0.5, seeding.make_rng(seed, "diagonal-data", d, n))
    return theta_star, x, y


def main() -> None:
    print("fit_lasso, λ = 1/d, Δ = 0.5, γ = 1")
    for d, n in [(400, 200), (400, 380), (800, 400), (2000, 1000)]:
        _, x, y = _problem(d, n)
        lam = 1.0 / d
        start = time.perf_counter()
        result = fit_lasso(x, y, lam)
        direct = time.perf_counter() - start
        lam_max = float(np.max(np.abs(x.T @ y))) / math.sqrt(d)
        start = time.perf_counter()
        path = fit_lasso_path(x, y, np.geomspace(lam_max, lam, 10))
        along = time.perf_counter() - start
        print(
            f"d={d:5d} n={n:5d}: from zero {direct:6.2f} s (gap {result.duality_gap:.1e}, "
            f"KKT {result.kkt_residual:.1e}, "
            f"{result.iterations} epochs, {result.active_set_steps} active-set steps, {result.n_nonzero} nonzero); "
            f"10-point path {along:6.2f} s (gap {path[-1].duality_gap:.1e})"
        )
    print("fit_diagonal_network vs fit_lasso, d = 100: |R_net/R_lasso − 1|")
    d = 100
    for n in [50, 200]:
        theta_star, x, y = _problem(d, n)
        for lam in [0.1, 1.0, 10.0]:
            start = time.perf_counter()
            network = fit_diagonal_network(x, y, lam, seeding.make_rng(0, "diagonal-init", d, n))
            seconds = time.perf_counter() - start
            lasso = fit_lasso(x, y, lam, tol=1e-12)
            risk_network = float(np.sum((network.theta - theta_star) ** 2)) / d
            risk_lasso = float(np.sum((lasso.theta - theta_star) ** 2)) / d
            print(
                f"n={n:4d} λ={lam:5g}: {abs(risk_network / risk_lasso - 1):.1e} "
                f"(grad {network.grad_norm:.1e}, {network.iterations} L-BFGS it., "
                f"{network.newton_steps} Newton, {seconds:.2f} s)"
            )


if __name__ == "__main__":
    main()
