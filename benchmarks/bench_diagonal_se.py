"""Time one non-asymptotic LASSO state-evolution solve at d = 10⁵ (docs/theory.md §2.1: well under 0.1 s).

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_diagonal_se.py``. Prints, for each (n, λ),
the best of five wall times, the fixed-point residual and the number of full-vector map
evaluations; then the Bayes-optimal SE (mixture prior, 2048 components) at the same d.
"""

from __future__ import annotations

import time

from shallowscaling import seeding, targets
from shallowscaling.state_evolution.diagonal import solve_diagonal_se
from shallowscaling.state_evolution.diagonal_bayes import solve_diagonal_bayes_se

D = 100_000
#: (n, λ): the λ ∈ {1/d, 1, √d} columns of Figure 3 across the regimes n ≪ d, n ≈ d, n ≫ d.
POINTS = [
    (1_000, 1e-5),
    (50_000, 1e-5),
    (100_000, 1e-5),
    (200_000, 1.0),
    (10_000_000, 1.0),
    (100, 316.0),
    (1_000_000, 316.0),
]


def _best_of(repeats: int, call):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return min(times), result


def _report(label: str, seconds: float, result) -> None:
    residual, evaluations = result.fixed_point_residual, result.iterations
    print(f"{label} {seconds:>9.4f} {residual:>9.1e} {evaluations:>5} {result.excess_risk:>12.6g}")


def main() -> None:
    theta_star = targets.draw_diagonal_teacher(D, 1.0, seeding.make_rng(0, "diagonal-teacher", D))
    print(f"solve_diagonal_se at d = {D}, γ = 1, Δ = 0.5")
    print(f"{'n':>10} {'λ':>8} {'time [s]':>9} {'residual':>9} {'evals':>5} {'excess_risk':>12}")
    for n, lam in POINTS:
        seconds, result = _best_of(5, lambda n=n, lam=lam: solve_diagonal_se(theta_star, n, lam, 0.5))
        _report(f"{n:>10} {lam:>8g}", seconds, result)
    variances = targets.diagonal_variances(D, 1.0)
    print("solve_diagonal_bayes_se (mixture prior) at the same d")
    for n in [1_000, 100_000, 10_000_000]:
        seconds, result = _best_of(3, lambda n=n: solve_diagonal_bayes_se(variances, n, 0.5))
        _report(f"{n:>10} {'-':>8}", seconds, result)


if __name__ == "__main__":
    main()
