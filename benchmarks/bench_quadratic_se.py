"""Quadratic state evolution: timings and the acceptance tables (docs/theory.md §2.2, §2.3, §8).

Run: ``OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/bench_quadratic_se.py [--quick]``.
Prints (wall times, best of three where cheap):

1. Monte-Carlo route at d = 400, K = 3, on the grid α ∈ {0.25, 1, 4} × λ ∈ {1/d, 1, √d}
   (target ≤ 2 s per point on one core);
2. deterministic route at d = 10⁴ on the same grid (target ≤ 2 s per point) and at d = 10⁵
   (feasibility), with the number of atoms after compression;
3. route (a) (K = 20, mean ± sd over 4 seeds) against route (b) at d = 200;
4. docs/theory.md §8 quadratic table at d = 40: ref. SE, our MC SE (K = 3, mean ± sd over 8 seeds),
   K = 50, and route (b);
5. the Wishart perfect-recovery threshold of the Bayes-optimal SE (Δ = 0) against κ − κ²/2.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

from shallowscaling import seeding, targets
from shallowscaling.state_evolution.free_convolution import spectral_atoms
from shallowscaling.state_evolution.quadratic_bayes import rie_mmse
from shallowscaling.state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic
from shallowscaling.state_evolution.quadratic_mc import solve_quadratic_se_mc

NOISE = 0.5
SEED = 0
REFERENCE_TABLE = [
    (0.1, 0.01, 0.752),
    (0.1, 0.3, 0.567),
    (0.3, 0.05, 0.457),
    (0.6, 0.01, 0.274),
    (0.6, 1.0, 0.156),
    (1.5, 0.1, 0.084),
]
ROUTE_POINTS = [(0.05, 0.005), (0.1, 0.01), (0.25, 0.005), (0.6, 0.01), (0.6, 1.0), (2.0, 0.1), (5.0, 5.0), (0.3, 20.0)]


def _timed(call, repeats: int = 1):
    best, result = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - start)
    return best, result


def _grid(d: int, quick: bool):
    ratios = (1.0,) if quick else (0.25, 1.0, 4.0)
    return [(r, lam) for r in ratios for lam in (1.0 / d, 1.0, math.sqrt(d))]


def timings(quick: bool) -> None:
    print("## Timings (wall s per point; K = 3 for MC)")
    print(f"{'route':>14} {'d':>7} {'n/d²':>6} {'λ':>9} {'s':>7} {'mse_S':>11} {'evals':>5} {'conv':>5}  notes")
    d = 400
    s = targets.power_law_spectrum(d, 1.0)
    for ratio, lam in _grid(d, quick):
        n = round(ratio * d * d)
        sec, res = _timed(
            lambda n=n, lam=lam: solve_quadratic_se_mc(
                s, n, lam, NOISE, n_draws=3, rng=seeding.make_rng(SEED, "bench-se-goe", d)
            ),
            repeats=1 if quick else 3,
        )
        print(
            f"{'mc':>14} {d:>7} {ratio:>6g} {lam:>9.3g} {sec:>7.3f} {res.matrix_mse:>11.5g} {res.iterations:>5} "
            f"{res.converged!s:>5}"
        )
    for d in (10_000,) if quick else (10_000, 100_000):
        s = targets.power_law_spectrum(d, 1.0)
        for ratio, lam in _grid(d, quick) if d == 10_000 else [(1.0, 1.0), (100.0, 1.0)]:
            n = round(ratio * d * d)
            sec, res = _timed(lambda n=n, lam=lam, s=s: solve_quadratic_se_deterministic(s, n, lam, NOISE))
            atoms = res.message.split(";")[-1].strip()
            print(
                f"{'deterministic':>14} {d:>7} {ratio:>6g} {lam:>9.3g} {sec:>7.3f} {res.matrix_mse:>11.5g} "
                f"{res.iterations:>5} {res.converged!s:>5}  {atoms}"
            )
    d = 10_000
    s = targets.power_law_spectrum(d, 1.0)
    sec, res = _timed(lambda: solve_quadratic_se_deterministic(s, d * d, 1.0, NOISE, with_spectrum=True))
    print(
        f"{'det+spectrum':>14} {d:>7} {1:>6g} {1.0:>9.3g} {sec:>7.3f} {res.matrix_mse:>11.5g} {res.iterations:>5} "
        f"{res.converged!s:>5}  with_spectrum=True"
    )


def routes(quick: bool) -> None:
    print("\n## Route (a) MC (K = 20, 4 seeds) vs route (b) deterministic, d = 200, γ = 1, Δ = 0.5")
    print(f"{'n/d²':>6} {'λ':>7} {'det mse_S':>11} {'MC mean':>11} {'MC sd':>9} {'rel diff':>9}")
    d = 200
    s = targets.power_law_spectrum(d, 1.0)
    for ratio, lam in ROUTE_POINTS[:3] if quick else ROUTE_POINTS:
        n = round(ratio * d * d)
        det = solve_quadratic_se_deterministic(s, n, lam, NOISE).matrix_mse
        mc = np.array(
            [
                solve_quadratic_se_mc(s, n, lam, NOISE, n_draws=20, rng=np.random.default_rng(100 + k)).matrix_mse
                for k in range(4)
            ]
        )
        print(f"{ratio:>6g} {lam:>7g} {det:>11.5f} {mc.mean():>11.5f} {mc.std():>9.5f} {mc.mean() / det - 1:>+9.4f}")


def section8(quick: bool) -> None:
    print("\n## docs/theory.md §8 quadratic table, d = 40, γ = 1, Δ = 0.5 (mse_S)")
    print(f"{'α':>5} {'λ':>6} {'ref. SE':>8} {'MC K=3 (8 seeds)':>18} {'MC K=50':>8} {'det':>7}")
    d = 40
    s = targets.power_law_spectrum(d, 1.0)
    for ratio, lam, reference in REFERENCE_TABLE:
        n = round(ratio * d * d)
        k3 = np.array(
            [
                solve_quadratic_se_mc(s, n, lam, NOISE, rng=np.random.default_rng(k)).matrix_mse
                for k in range(3 if quick else 8)
            ]
        )
        k50 = solve_quadratic_se_mc(s, n, lam, NOISE, n_draws=50, rng=np.random.default_rng(123)).matrix_mse
        det = solve_quadratic_se_deterministic(s, n, lam, NOISE).matrix_mse
        print(f"{ratio:>5g} {lam:>6g} {reference:>8.3f} {k3.mean():>10.3f} ± {k3.std():.3f} {k50:>8.3f} {det:>7.3f}")


def wishart() -> None:
    print("\n## Bayes-optimal SE, Wishart target, Δ = 0: α_PR = ½ lim mmse_S/δ² vs κ − κ²/2 (d = 1000)")
    rng = np.random.default_rng(0)
    for kappa in (0.25, 0.5, 0.75, 1.0):
        d, r = 1000, int(kappa * 1000)
        w = rng.standard_normal((2000, int(kappa * 2000)))
        sample = np.linalg.eigvalsh(w.T @ w / 2000)
        s = np.concatenate([np.zeros(d - r), np.quantile(sample, (np.arange(r) + 0.5) / r) / math.sqrt(kappa)])
        limit = rie_mmse(*spectral_atoms(s), 1e-4) / 1e-8
        theory = kappa - kappa**2 / 2
        rel = limit / 2 / theory - 1
        print(f"κ = {kappa:4.2f}: α_PR = {limit / 2:.5f}, κ − κ²/2 = {theory:.5f}, rel diff {rel:+.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer points and seeds")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # non-converged points show in the tables' conv column
    timings(args.quick)
    routes(args.quick)
    section8(args.quick)
    wishart()


if __name__ == "__main__":
    main()
