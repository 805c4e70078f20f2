"""Reproduce the docs/theory.md §8 diagonal table: LASSO simulations vs non-asymptotic SE at d = 400.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_diagonal_table.py [seeds]``. For each row,
prints the table's values, the mean ± standard error over ``seeds`` (default 10) teachers of the
simulated excess risk and of the SE of the same teacher, their paired difference, and the SE
averaged over 100 teachers (the SE depends on the sampled θ*).
"""

from __future__ import annotations

import sys

import numpy as np

from shallowscaling import data, seeding, targets
from shallowscaling.estimators.lasso import fit_lasso
from shallowscaling.state_evolution.diagonal import solve_diagonal_se

D, GAMMA, NOISE = 400, 1.0, 0.5
TABLE = [(100, 0.05, 0.425, 0.408), (200, 1.0, 0.141, 0.132), (400, 1.0, 0.091, 0.085),
         (800, 0.05, 0.440, 0.408), (800, 5.0, 0.186, 0.176), (1600, 20.0, 0.337, 0.369)]  # fmt: skip


def _mean_error(values: list[float]) -> str:
    array = np.asarray(values)
    return f"{array.mean():.3f}±{array.std(ddof=1) / np.sqrt(array.size):.3f}"


def main(seeds: int) -> None:
    teachers = [
        targets.draw_diagonal_teacher(D, GAMMA, seeding.make_rng(seed, "diagonal-teacher", D)) for seed in range(100)
    ]
    print(
        f"{'n':>5} {'λ':>5} | table sim   SE    | sim ({seeds} seeds)  SE same teachers  paired diff   "
        "| SE (100 teachers)"
    )
    for n, lam, table_sim, table_se in TABLE:
        simulated, predicted = [], []
        for seed in range(seeds):
            theta_star = teachers[seed]
            x, y = data.draw_diagonal_data(theta_star, n, NOISE, seeding.make_rng(seed, "diagonal-data", D, n))
            simulated.append(float(np.sum((fit_lasso(x, y, lam).theta - theta_star) ** 2)) / D)
            predicted.append(solve_diagonal_se(theta_star, n, lam, NOISE).excess_risk)
        population = [solve_diagonal_se(theta, n, lam, NOISE).excess_risk for theta in teachers]
        difference = list(np.subtract(simulated, predicted))
        print(
            f"{n:>5} {lam:>5g} | {table_sim:.3f} {table_se:.3f} | {_mean_error(simulated)}  {_mean_error(predicted)}  "
            f"{_mean_error(difference)} | {np.mean(population):.3f} (sd {np.std(population, ddof=1):.3f})"
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
