"""Accuracy of the empirical bulk edge against the SE free-convolution edge (docs/theory.md §4, issue 6).

Run (about 10 s; ``--fits`` adds convex fits, seconds each at d = 100, ~15 s at d = 150)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_bulk_edge.py [--fits 100 --replicates 8]
    git show HEAD:src/shallowscaling/spectra/bulk.py > /tmp/bulk_old.py   # an earlier estimator
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_bulk_edge.py --baseline /tmp/bulk_old.py

1. SE-simulated spectra: for d ∈ {100, 150, 200, 300}, γ ∈ {0.6, 1, 2}, κ = log_d n_eff ∈ {0.5, 0.8,
   1, 1.2}, λ = 1/d, Δ = 0.5, the SE solution (δ, t) of the quadratic network, and ``--draws``
   spectra soft-threshold(eig(diag(s) + δZ) − t) each; the relative error
   (free_convolution_edge(s, δ) − t)/estimate − 1 and the outlier-count error, summarised.
2. With ``--fits D …``: convex fits at those d (γ = 1, κ ∈ {0.5, 0.8, 1}), the same comparison per
   replicate.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np

from shallowscaling.spectra import estimate_bulk_edge, free_convolution_edge, predicted_outliers
from shallowscaling.targets import power_law_spectrum
from shallowscaling.tasks.fit import fit_point
from shallowscaling.tasks.predict import predict_point

SEED = 20250929


def se_point(d: int, gamma: float, kappa: float) -> tuple[np.ndarray, float, float]:
    s = power_law_spectrum(d, gamma)
    _, se = predict_point("quadratic", d, gamma, 0.5, round(d ** (kappa + 1)), 1.0 / d, SEED, target=s, n_draws=5)
    return s, float(se.delta), float(se.threshold)


def summary(label: str, errors: np.ndarray, count_errors: np.ndarray) -> None:
    a = np.abs(errors)
    print(
        f"   {label}: {a.size} spectra, |rel. err| median {np.median(a):.1%}, 90th pct {np.quantile(a, 0.9):.1%}, "
        f"max {a.max():.1%}, within 5 % {np.mean(a < 0.05):.0%}; outliers within ±2 {np.mean(count_errors <= 2):.0%}"
    )


def simulated(estimators: dict, draws: int) -> None:
    print(f"1. SE-simulated spectra ({draws} draws per point)")
    results = {name: ([], [], {}) for name in estimators}
    for d in (100, 150, 200, 300):
        for gamma in (0.6, 1.0, 2.0):
            for kappa in (0.5, 0.8, 1.0, 1.2):
                s, delta, threshold = se_point(d, gamma, kappa)
                truth = free_convolution_edge(s, delta) - threshold
                n_outliers = predicted_outliers(s, delta, threshold, truth + threshold).size
                rng = np.random.default_rng([SEED, d, round(10 * gamma), round(10 * kappa)])
                for _ in range(draws):
                    g = rng.standard_normal((d, d))
                    z = (g + g.T) / np.sqrt(2.0 * d)
                    spectrum = np.maximum(np.linalg.eigvalsh(np.diag(s) + delta * z) - threshold, 0.0)
                    for name, estimator in estimators.items():
                        estimate = estimator(spectrum)
                        results[name][0].append(truth / estimate.bulk_edge - 1.0)
                        results[name][1].append(abs(estimate.n_outliers - n_outliers))
                        results[name][2].setdefault(d, []).append(truth / estimate.bulk_edge - 1.0)
    for name, (errors, counts, by_d) in results.items():
        summary(name, np.array(errors), np.array(counts))
        within = ", ".join(f"d = {d}: {np.mean(np.abs(e) < 0.05):.0%}" for d, e in by_d.items())
        print(f"      within 5 % by d: {within}")


def fits(edge_d: list[int], replicates: int, estimators: dict) -> None:
    print(f"2. convex fits, γ = 1, λ = 1/d, replicates 0–{replicates - 1}: SE edge / estimate − 1 (outliers obs/pred)")
    for d in edge_d:
        for kappa in (0.5, 0.8, 1.0):
            s, delta, threshold = se_point(d, 1.0, kappa)
            predicted = free_convolution_edge(s, delta) - threshold
            n_outliers = predicted_outliers(s, delta, threshold, predicted + threshold).size
            n = round(d ** (kappa + 1))
            rows = {name: [] for name in estimators}
            for replicate in range(replicates):
                weights = fit_point("quadratic", "convex", d, 1.0, 0.5, n, 1.0 / d, SEED, replicate, tol=1e-7).weights
                for name, estimator in estimators.items():
                    estimate = estimator(weights)
                    rows[name].append((predicted / estimate.bulk_edge - 1.0, estimate.n_outliers))
            for name, row in rows.items():
                errors = np.array([e for e, _ in row])
                cells = " ".join(f"{e:+.1%}({k}/{n_outliers})" for e, k in row)
                print(
                    f"   d = {d} n_eff = {n / d:6.3g} {name}: {cells}; within 5 % {np.mean(np.abs(errors) < 0.05):.0%}"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=8, help="GOE draws per SE point")
    parser.add_argument("--fits", type=int, nargs="*", default=[], help="d of the convex fits (none by default)")
    parser.add_argument("--replicates", type=int, default=3, help="replicates per convex-fit point")
    parser.add_argument("--baseline", type=Path, help="a bulk.py file whose estimate_bulk_edge is compared")
    args = parser.parse_args()
    estimators = {"current": estimate_bulk_edge}
    if args.baseline is not None:
        spec = importlib.util.spec_from_file_location("shallowscaling.spectra._baseline_bulk", args.baseline)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        estimators["baseline"] = module.estimate_bulk_edge
    simulated(estimators, args.draws)
    if args.fits:
        fits(args.fits, args.replicates, estimators)


if __name__ == "__main__":
    main()
