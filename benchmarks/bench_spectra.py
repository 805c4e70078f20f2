"""Spectral-analysis numbers of docs/theory.md §4–§5: tail exponents, tail-fit timing, bulk-edge errors.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_spectra.py``. Prints

1. α̂ of the exact power-law spectra s_i = i^{-γ}, d = 400, against 1 + 1/γ and powerlaw 2.0.0;
2. the wall time of :func:`fit_power_law_tail` at k = 10³–10⁴ (flat worst case and a spectrum);
3. the relative error of :func:`estimate_bulk_edge` on soft-threshold(diag(s) + δZ; t) against the
   free-convolution edge − t and against 2δ − t, per regime, worst over 10 draws;
4. the matrix MSE before and after pruning in an over-fitting regime.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from shallowscaling.seeding import make_rng
from shallowscaling.spectra.bulk import estimate_bulk_edge, free_convolution_edge, predicted_bulk_edge
from shallowscaling.spectra.pruning import prune_matrix
from shallowscaling.spectra.tail import fit_power_law_tail
from shallowscaling.targets import draw_quadratic_teacher, power_law_spectrum, target_matrix


def _goe(d: int, rng: np.random.Generator) -> np.ndarray:
    g = rng.standard_normal((d, d))
    return (g + g.T) / np.sqrt(2.0 * d)


def tail_exponents() -> None:
    import powerlaw

    print("gamma  theory   ours     powerlaw  |ours-powerlaw|")
    for gamma in (0.6, 1.0, 1.25, 2.0):
        s = np.arange(1, 401, dtype=float) ** -gamma
        ours = fit_power_law_tail(s).tail_exponent
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = powerlaw.Fit(s, discrete=False, xmin_distance="D", verbose=False).power_law.alpha
        print(f"{gamma:5.2f}  {1 + 1 / gamma:.4f}  {ours:.4f}  {ref:.4f}    {abs(ours - ref):.1e}")


def tail_timing() -> None:
    rng = make_rng(0, "bench-tail")
    for k in (1_000, 3_000, 10_000):
        pareto = (1.0 - rng.random(k)) ** -1.0
        bulk = np.concatenate([np.abs(rng.standard_normal(k - k // 20)), 3.0 + 30.0 / np.arange(1, k // 20 + 1)])
        for name, data in (("pareto (flat KS, worst case)", pareto), ("bulk + spikes", bulk)):
            start = time.perf_counter()
            fit_power_law_tail(data, relative_cut=0.0)
            print(f"k = {k:6d}  {name:28s} {time.perf_counter() - start:.3f} s")


def bulk_edges() -> None:
    print("d    gamma delta t/delta  fc/2delta  worst |err| est   worst |err| 2delta-t")
    for d in (200, 400):
        for gamma in (None, 2.0, 1.0, 0.6):
            s = np.zeros(d) if gamma is None else power_law_spectrum(d, gamma)
            for delta in (0.3, 1.0, 3.0):
                edge = free_convolution_edge(s, delta)
                for ratio in (0.0, 0.5, 1.0):
                    threshold = ratio * delta
                    truth = edge - threshold
                    worst_est = worst_se = 0.0
                    for seed in range(10):
                        z = _goe(d, make_rng(seed, "bench-bulk", d))
                        spectrum = np.maximum(np.linalg.eigvalsh(np.diag(s) + delta * z) - threshold, 0.0)
                        est = estimate_bulk_edge(spectrum).bulk_edge
                        worst_est = max(worst_est, abs(est / truth - 1))
                        worst_se = max(worst_se, abs(predicted_bulk_edge(delta, threshold) / truth - 1))
                    print(
                        f"{d:4d} {gamma!s:5s} {delta:5.1f} {ratio:7.1f}  {edge / (2 * delta):9.3f}"
                        f"  {worst_est:16.3f}  {worst_se:19.3f}"
                    )


def pruning() -> None:
    d, delta, threshold = 300, 1.0, 0.05
    rng = make_rng(0, "bench-pruning")
    s, basis = draw_quadratic_teacher(d, 1.0, rng)
    s_star = target_matrix(s, basis)
    x, u = np.linalg.eigh(s_star + delta * _goe(d, rng))
    s_hat = (u * np.maximum(x - threshold, 0.0)) @ u.T
    empirical = estimate_bulk_edge(np.linalg.eigvalsh(s_hat)).bulk_edge
    for name, estimate in (
        ("S_hat (t = 0.05)", s_hat),
        ("pruned at SE edge 2δ − t", prune_matrix(s_hat, predicted_bulk_edge(delta, threshold))),
        (f"pruned at empirical edge {empirical:.3f}", prune_matrix(s_hat, empirical)),
    ):
        print(f"{name:34s} matrix_mse = {np.sum((estimate - s_star) ** 2) / d:.4f}")


if __name__ == "__main__":
    tail_exponents()
    tail_timing()
    bulk_edges()
    pruning()
