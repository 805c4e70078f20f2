"""Acceptance numbers of the spectral stage (docs/theory.md §4–6), from a finished study plus a few fits.

Run (after the default study, e.g. ``snakemake --cores 2 --directory WORK``)::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_spectra_acceptance.py --results WORK/results

Prints, in order:

1. HT-SR tail exponent α̂ of the trained quadratic networks in the heavy-tailed phase II at the
   largest d of the study (the ``spectra.tail`` sweep's, d = 160 by default), against 1 + 1/γ
   (from ``results/tables/spectra_quadratic.parquet``),
   and (1b, ``--tail-d D ...``) on fresh fits at larger d at the same λ exponent and κ;
2. the SE-predicted bulk edge (free-convolution edge − t, and 2δ − t) against the edge estimated
   from the trained spectrum, and predicted against observed outlier counts, on fresh convex fits
   at d ≥ 100 with λ = 1/d (``--edge-d``; a noise bulk exists at weak λ), then on the study's
   table at its own d;
3. the largest relative gap between the decomposition's sum and the SE risk over the table;
4. pruning at λ = 1/d in the overfitting phases (κ ≥ 0.8: IV, peak, VIa) at the largest d:
   risk before / after pruning at 2δ − t, the empirical edge and the SE-tuned cut, and after
   cleaning with the SE δ and with δ̂ from the spectrum, against the optimal-λ ERM SE risk and the
   Bayes-optimal SE risk (from the table);
5. the diagonal analogue at the largest d: re-thresholding θ̂ at the noise edge, the empirical
   edge, the SE-tuned cut and the SURE cut (SE δ, and δ̂ from the training residuals or, near
   interpolation, from θ̂).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
import pandas as pd

from shallowscaling.spectra import analyse_spectrum, estimate_bulk_edge, free_convolution_edge, predicted_outliers
from shallowscaling.targets import power_law_spectrum
from shallowscaling.tasks.fit import fit_point
from shallowscaling.tasks.predict import predict_point

SEED = 20250929


def heavy_tails(spectra: pd.DataFrame) -> None:
    d = spectra["d"].max()
    rows = spectra[(spectra["d"] == d) & (spectra["rate_phase"] == "II")]
    print(f"1. tail exponent in phase II, quadratic, d = {d}")
    print("   reference: the same fit on the teacher's own top-k eigenvalues s_1..s_k, k = n_nonzero of the point")
    print("   ℓ      n_eff   α̂ per replicate          mean ± sd    1+1/γ  reference  n_tail  label")
    for (ell, n_eff, gamma), group in rows.groupby(["lam_exponent", "n_eff", "gamma"]):
        values = group["tail_exponent"].to_numpy()
        k = round(group["n_nonzero"].mean())
        reference = analyse_spectrum(power_law_spectrum(int(d), float(gamma))[:k]).tail_exponent if k > 1 else math.nan
        labels = ",".join(sorted(set(group["phase"])))
        print(
            f"   {ell:5.2f} {n_eff:8.3g}   {np.array2string(values, precision=2):24s} {np.nanmean(values):5.2f} ± "
            f"{np.nanstd(values):4.2f}  {1 + 1 / gamma:5.2f}  {reference:6.2f}    "
            f"{group['n_tail'].mean():5.1f}  {labels}"
        )
    target = 1 + 1 / rows["gamma"]
    gap = (rows["tail_exponent"] - target).abs()
    within = gap <= 0.2
    labelled = rows["phase"] == "heavy-tailed"
    print(
        f"   all phase-II fits: mean α̂ = {rows['tail_exponent'].mean():.3f} (1 + 1/γ = {target.iloc[0]:.3f}); "
        f"within ±0.2: {within.sum()} of {len(rows)}, of those labelled heavy-tailed {within[labelled].sum()} of "
        f"{labelled.sum()}; |α̂ − (1 + 1/γ)| / standard error: max {(gap / rows['tail_exponent_se']).max():.2f}"
    )


def heavy_tails_at(d: int, spectra: pd.DataFrame, replicates: int) -> None:
    """α̂ of fresh convex fits at dimension d, at the (ℓ, κ) of the study's phase-II points."""
    study_d = spectra["d"].max()
    rows = spectra[(spectra["d"] == study_d) & (spectra["rate_phase"] == "II")]
    print(f"1b. tail exponent in phase II, quadratic, fresh fits at d = {d} (same ℓ and κ = log_d n_eff as above)")
    print("   ℓ      n_eff   α̂ per replicate          mean    1+1/γ  reference  n_tail")
    for (ell, n_eff, gamma), _ in rows.groupby(["lam_exponent", "n_eff", "gamma"]):
        kappa = math.log(n_eff) / math.log(study_d)
        n = round(d ** (kappa + 1))
        summaries = [
            analyse_spectrum(fit_point("quadratic", "convex", d, gamma, 0.5, n, d**ell, SEED, r, tol=1e-7).weights)
            for r in range(replicates)
        ]
        values = np.array([s.tail_exponent for s in summaries])
        k = round(np.mean([s.n_nonzero for s in summaries]))
        reference = analyse_spectrum(power_law_spectrum(d, float(gamma))[:k]).tail_exponent if k > 1 else math.nan
        print(
            f"   {ell:5.2f} {n / d:8.3g}   {np.array2string(values, precision=2):24s} {np.nanmean(values):5.2f}   "
            f"{1 + 1 / gamma:5.2f}  {reference:6.2f}    {np.mean([s.n_tail for s in summaries]):5.1f}"
        )


def bulk_edges(edge_d: list[int], kappas: list[float], spectra: pd.DataFrame) -> None:
    print("2. bulk edge and outliers at λ = 1/d (convex fits, replicate 0, K = 5 SE draws)")
    print("   empirical: estimate_bulk_edge of eig Ŝ; top bulk: eigenvalue k+1 of Ŝ, k = predicted outliers")
    print("   d     n_eff   empirical  SE(free conv)  rel.err   2δ−t   rel.err   top bulk  rel.err  outliers obs/pred")
    for d in edge_d:
        s = power_law_spectrum(d, 1.0)
        for kappa in kappas:
            n = round(d ** (kappa + 1))
            _, se = predict_point("quadratic", d, 1.0, 0.5, n, 1.0 / d, SEED, target=s, n_draws=5)
            fit = fit_point("quadratic", "convex", d, 1.0, 0.5, n, 1.0 / d, SEED, 0, tol=1e-7)
            estimate = estimate_bulk_edge(fit.weights)
            predicted = free_convolution_edge(s, se.delta) - se.threshold
            outliers = predicted_outliers(s, se.delta, se.threshold, predicted + se.threshold).size
            two_delta = 2 * se.delta - se.threshold
            print(
                f"   {d:4d} {n / d:8.3g}   {estimate.bulk_edge:8.4f}   {predicted:8.4f}      "
                f"{predicted / estimate.bulk_edge - 1:+6.1%}  {two_delta:7.4f} "
                f"{two_delta / estimate.bulk_edge - 1:+6.1%}   {fit.weights[outliers]:7.4f} "
                f"{predicted / fit.weights[outliers] - 1:+6.1%}    {estimate.n_outliers:3d} / {outliers:3d}"
            )
    table = spectra[(spectra["lam_exponent"] == -1.0) & (spectra["n_bulk"] > 0)]
    gap = table["predicted_bulk_edge"] / table["bulk_edge"] - 1
    count = table["n_outliers"] - table["predicted_n_outliers"]
    print(
        f"   study table (d ≤ {table['d'].max()}, λ = 1/d, {len(table)} spectra with a bulk): edge rel. err. "
        f"median {gap.abs().median():.1%}, max {gap.abs().max():.1%}; |n_outliers obs − pred| ≤ 2 in "
        f"{(count.abs() <= 2).mean():.0%} (max {count.abs().max():.0f})"
    )


def decomposition(spectra: pd.DataFrame) -> None:
    parts = spectra[["overfitting", "underfitting", "approximation", "cross"]].sum(axis=1)
    gap = (parts / spectra["se_excess_risk"] - 1).abs()
    print(f"3. decomposition: max |Σ parts / SE risk − 1| over {len(spectra)} rows = {gap.max():.2e}")


def pruning(table: pd.DataFrame) -> None:
    d = table["d"].max()
    rows = table[(table["d"] == d) & (np.log(table["n_eff"]) / np.log(table["d"]) >= 0.8 - 1e-9)]
    print(f"4. pruning and cleaning at λ = 1/d, quadratic, d = {d} (means over replicates; risks R = 2 mse_S)")
    print("   soft-threshold pruning: at 2δ − t (Corollary 2, SE δ), at the empirical bulk edge, at the SE-tuned cut;")
    print("   cleaning (RIE, spectra.pruning.clean_matrix) with the SE (δ, t) and with (δ̂, t̂) from the spectrum")
    print(
        "   n_eff  phase  Ŝ       2δ−t    emp.edge tuned   | clean SE  clean emp  SE clean | opt-λ ERM  Bayes  |"
        " SE/opt  emp/opt  emp/SE−1  δ̂/δ"
    )
    for n_eff, group in rows.groupby("n_eff"):
        m = group.mean(numeric_only=True)
        optimal = m["optimal_excess_risk"]
        print(
            f"   {n_eff:6.3g} {group['rate_phase'].iloc[0]:5s} {m['excess_risk']:7.4f} "
            f"{m['pruned_2delta_excess_risk']:7.4f} {m['pruned_empirical_excess_risk']:7.4f}  "
            f"{m['pruned_tuned_excess_risk']:7.4f} | {m['cleaned_se_excess_risk']:7.4f}   "
            f"{m['cleaned_empirical_excess_risk']:7.4f}    {m['se_cleaned_excess_risk']:7.4f} |  "
            f"{optimal:7.4f}   {m['bayes_excess_risk']:7.4f} |  {m['cleaned_se_excess_risk'] / optimal:5.2f}  "
            f"{m['cleaned_empirical_excess_risk'] / optimal:6.2f}   "
            f"{m['cleaned_empirical_excess_risk'] / m['cleaned_se_excess_risk'] - 1:+6.1%}   "
            f"{m['empirical_delta'] / m['delta']:5.3f}"
        )


def diagonal_pruning(table: pd.DataFrame) -> None:
    d = table["d"].max()
    rows = table[table["d"] == d]
    print(f"5. diagonal re-thresholding at λ = 1/d, d = {d} (means over replicates; excess risk)")
    print(
        "   n_eff    phase  θ̂       noise edge  emp.edge  tuned   | SURE SE   SURE emp | opt-λ ERM  Bayes  |"
        " SURE/opt  emp/opt  emp/SE−1  δ̂/δ   δ̂ from"
    )
    for n_eff, group in rows.groupby("n_eff"):
        m = group.mean(numeric_only=True)
        optimal = m["optimal_excess_risk"]
        print(
            f"   {n_eff:7.4g} {group['rate_phase'].iloc[0]:5s} {m['excess_risk']:7.4f}  "
            f"{m['pruned_se_excess_risk']:7.4f}"
            f"    {m['pruned_empirical_excess_risk']:7.4f}  {m['pruned_tuned_excess_risk']:7.4f} | "
            f"{m['cleaned_se_excess_risk']:7.4f}   {m['cleaned_empirical_excess_risk']:7.4f} |  {optimal:7.4f}  "
            f"{m['bayes_excess_risk']:7.4f} |  {m['cleaned_se_excess_risk'] / optimal:5.2f}    "
            f"{m['cleaned_empirical_excess_risk'] / optimal:5.2f}   "
            f"{m['cleaned_empirical_excess_risk'] / m['cleaned_se_excess_risk'] - 1:+6.1%}  "
            f"{m['empirical_delta'] / m['delta']:5.3f}  {','.join(sorted(set(group['empirical_delta_source'])))}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, required=True, help="the study's results/ folder")
    parser.add_argument("--edge-d", type=int, nargs="+", default=[100], help="dimensions of the bulk-edge fits")
    parser.add_argument("--kappas", type=float, nargs="+", default=[0.5, 0.8, 1.0], help="κ = log_d n_eff")
    parser.add_argument("--tail-d", type=int, nargs="*", default=[], help="dimensions of fresh phase-II tail fits")
    parser.add_argument("--replicates", type=int, default=3, help="replicates of the fresh tail fits")
    parser.add_argument("--only-tails", action="store_true", help="print sections 1 and 1b only")
    args = parser.parse_args()
    spectra = pd.read_parquet(args.results / "tables" / "spectra_quadratic.parquet")
    heavy_tails(spectra)
    for d in args.tail_d:
        heavy_tails_at(d, spectra, args.replicates)
    if args.only_tails:
        return
    bulk_edges(args.edge_d, args.kappas, spectra)
    decomposition(pd.concat([spectra, pd.read_parquet(args.results / "tables" / "spectra_diagonal.parquet")]))
    pruning(pd.read_parquet(args.results / "tables" / "pruning_quadratic.parquet"))
    diagonal_pruning(pd.read_parquet(args.results / "tables" / "pruning_diagonal.parquet"))


if __name__ == "__main__":
    main()
