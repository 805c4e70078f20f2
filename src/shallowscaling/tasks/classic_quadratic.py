"""The quadratic panels of Figure 9 (schema and conventions: :mod:`.classic`).

* ``recovery``: the noiseless recovery threshold α_c(ρ) = n/d² of trace-minimising PSD sensing
  with a rank-ρd teacher against ρ: the statistical-dimension closed form (reference) and the
  threshold located on our SE (``se``, d = ``RECOVERY_SE_D``).
* ``recovery_fits``: the convex estimator at tiny λ on drawn data (d = ``RECOVERY_FIT_D``, flat
  rank-ρd teachers, ρ ∈ ``RECOVERY_FIT_RATIOS``): relative error ‖Ŝ − S*‖_F/‖S*‖_F against α,
  with the closed-form α_c(ρ) as ``threshold`` rows.
* ``wishart``: the Bayes-optimal error ‖Ŝ_BO − S*‖²_F/d of a Wishart teacher S* = WWᵀ/√(rd),
  r = κd, against α at Δ = 0 (Maillard et al., NeurIPS 2024): closed form, our GAMP-RIE SE on the
  exact Marchenko–Pastur law (:mod:`shallowscaling.state_evolution.quadratic_bayes`), and the
  perfect-recovery thresholds as ``threshold`` rows.
* ``interpolation``: pure noise (S* = 0, Δ = 1) fitted at tiny λ at d = ``NOISE_D``: the error,
  which here is the estimator's norm ‖Ŝ‖²_F/d, against n across the PSD interpolation threshold
  n = d(d + 1)/4 (``threshold`` row), below which PSD interpolators of the noise exist.

The references (:mod:`shallowscaling.references`) and the SE threshold locator are imported
inside the functions that use them: they are separate routes from the SE.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..data import draw_quadratic_data
from ..estimators.psd_convex import fit_psd_convex
from ..seeding import make_rng
from ..state_evolution.quadratic_bayes import solve_quadratic_bayes_se
from ..targets import wishart_law
from .classic_schema import classic_rows
from .problem import TeacherSpec, draw_problem

__all__ = [
    "classic_quadratic_frames", "interpolation_rows", "recovery_fit_rows", "recovery_se_rows", "reference_rows",
    "wishart_se_rows",
]  # fmt: skip

#: ρ of the reference curve and of the SE-located thresholds (SE at d = RECOVERY_SE_D).
RECOVERY_SE_RATIOS = (0.1, 0.2, 0.5, 0.8, 1.0)
RECOVERY_SE_D = 100
RECOVERY_SE_TOL = 1e-3
#: The convex fits around the threshold: d, ρ, α = n/d², replicates.
RECOVERY_FIT_D = 40
RECOVERY_FIT_RATIOS = (0.2, 0.5)
RECOVERY_FIT_ALPHAS = (0.1, 0.2, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6)
RECOVERY_FIT_REPLICATES = 2
#: λ → 0⁺ of every fit and the solver's relative KKT tolerance. 1e-6 resolves relative errors
#: down to ~1e-4, ample for a transition from O(1) to 0; at 1e-8 the fits near α_c took 35 times
#: longer (150 s instead of 4 s on one core) for the same picture.
FIT_LAM = 1e-6
FIT_TOL = 1e-6
FIT_MAX_ITER = 50000
#: Wishart Bayes-optimal error: κ, α, d of our SE.
WISHART_RATIOS = (0.1, 0.5, 1.0, 5.0)
WISHART_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.45, 0.55, 0.65)
WISHART_D = 1000  # only rounds n = αd² (the law is exact)
WISHART_ATOMS = 100  # equal-mass atoms of the law: the SE then agrees with the closed form to ~2e-4
#: Pure-noise interpolation peak: d, Δ, n, replicates.
NOISE_D = 16
NOISE_NOISE = 1.0
NOISE_N = (34, 46, 56, 62, 68, 74, 82, 100, 130, 170)
NOISE_REPLICATES = 5


def reference_rows() -> list[pd.DataFrame]:
    """The closed forms of every quadratic panel: curves and ``threshold`` rows (references layer)."""
    # Imported here: the references are a separate route from the SE and the fits.
    from ..references.least_squares import psd_interpolation_threshold
    from ..references.statistical_dimension import psd_trace_threshold
    from ..references.wishart_bayes import perfect_recovery_threshold, wishart_bayes_mmse

    ratios, alphas = np.linspace(0.02, 1.0, 50), np.linspace(0.005, 0.7, 70)
    frames = [classic_rows("quadratic", "recovery", "reference", "noise", 0.0, ratios,
                           [psd_trace_threshold(r) for r in ratios])]  # fmt: skip
    frames += [classic_rows("quadratic", "recovery_fits", "threshold", "rank_ratio", rho, psd_trace_threshold(rho), 0.0)
               for rho in RECOVERY_FIT_RATIOS]  # fmt: skip
    for kappa in WISHART_RATIOS:
        frames.append(classic_rows("quadratic", "wishart", "reference", "width_ratio", kappa, alphas,
                                   [wishart_bayes_mmse(a, kappa, 0.0) for a in alphas]))  # fmt: skip
        frames.append(classic_rows("quadratic", "wishart", "threshold", "width_ratio", kappa,
                                   perfect_recovery_threshold(kappa), 0.0))  # fmt: skip
    frames.append(classic_rows("quadratic", "interpolation", "threshold", "noise", NOISE_NOISE,
                               psd_interpolation_threshold(NOISE_D), 0.0, d=NOISE_D))  # fmt: skip
    return frames


def recovery_se_rows() -> list[pd.DataFrame]:
    """Panel ``recovery``: α_c(ρ) located on our noiseless SE at λ → 0⁺ (d = RECOVERY_SE_D)."""
    from ..state_evolution.recovery import quadratic_recovery_threshold

    located = [quadratic_recovery_threshold(r, RECOVERY_SE_D, tol=RECOVERY_SE_TOL) for r in RECOVERY_SE_RATIOS]
    return [classic_rows(
        "quadratic", "recovery", "se", "noise", 0.0, RECOVERY_SE_RATIOS, [r.threshold for r in located],
        y_se=0.5 * RECOVERY_SE_TOL, d=RECOVERY_SE_D, n_replicates=1, converged=[bool(r.converged) for r in located],
        certificate=RECOVERY_SE_TOL, certificate_name="bracket_tol",
    )]  # fmt: skip


def _fit_statistics(fits: list, errors: list[float]) -> tuple[float, float, bool, float]:
    """Mean, standard error (0 for one replicate), all converged, largest KKT residual."""
    sem = float(np.std(errors, ddof=1) / np.sqrt(len(errors))) if len(errors) > 1 else 0.0
    return float(np.mean(errors)), sem, all(f.converged for f in fits), max(f.kkt_residual for f in fits)


def recovery_fit_rows(seed: int) -> list[pd.DataFrame]:
    """Panel ``recovery_fits``: the convex estimator at λ = FIT_LAM on flat rank-ρd teachers."""
    d, frames = RECOVERY_FIT_D, []
    for rho in RECOVERY_FIT_RATIOS:
        points = []
        for alpha in RECOVERY_FIT_ALPHAS:
            n = round(alpha * d * d)
            fits, errors = [], []
            for replicate in range(RECOVERY_FIT_REPLICATES):
                problem = draw_problem("quadratic", d, 1.0, 0.0, n, seed, replicate,
                                       teacher=TeacherSpec("sparse", sparsity=rho))  # fmt: skip
                fit = fit_psd_convex(np.asarray(problem.x), problem.y, FIT_LAM, tol=FIT_TOL, max_iter=FIT_MAX_ITER)
                fits.append(fit)
                errors.append(float(np.linalg.norm(fit.s - problem.s_star) / np.linalg.norm(problem.s_star)))
            points.append(_fit_statistics(fits, errors))
        mean, sem, converged, kkt = (list(column) for column in zip(*points, strict=True))
        frames.append(classic_rows(
            "quadratic", "recovery_fits", "simulation", "rank_ratio", rho, RECOVERY_FIT_ALPHAS, mean, y_se=sem, d=d,
            n_replicates=RECOVERY_FIT_REPLICATES, converged=converged, certificate=kkt, certificate_name="kkt_residual",
        ))  # fmt: skip
    return frames


def wishart_se_rows() -> list[pd.DataFrame]:
    """Panel ``wishart``: our Bayes-optimal SE at Δ = 0 on the exact Marchenko–Pastur law of each κ.

    The law enters as ``WISHART_ATOMS`` equal-mass atoms (:func:`shallowscaling.targets.wishart_law`,
    paper scale), so the SE and the closed form describe the same d → ∞ teacher and must agree to the
    SE's tolerance (measured below 1e-3 with 100 atoms; a drawn spectrum at d = 100 would add its own fluctuations).
    """
    frames = []
    for kappa in WISHART_RATIOS:
        positions, weights = wishart_law(kappa, WISHART_ATOMS, "paper")
        points = [
            solve_quadratic_bayes_se(positions, round(a * WISHART_D**2), 0.0, weights=weights, d=WISHART_D)
            for a in WISHART_ALPHAS
        ]
        frames.append(classic_rows(
            "quadratic", "wishart", "se", "width_ratio", kappa, [p.sample_ratio for p in points],
            [p.matrix_mse for p in points], d=WISHART_D, n_replicates=1, converged=[p.converged for p in points],
            certificate=[p.fixed_point_residual for p in points], certificate_name="fixed_point_residual",
        ))  # fmt: skip
    return frames


def interpolation_rows(seed: int) -> list[pd.DataFrame]:
    """Panel ``interpolation``: convex fits of pure noise (S* = 0, Δ = NOISE_NOISE) at λ = FIT_LAM."""
    d, zero, points = NOISE_D, np.zeros((NOISE_D, NOISE_D)), []
    for n in NOISE_N:
        fits, errors = [], []
        for replicate in range(NOISE_REPLICATES):
            x, y = draw_quadratic_data(zero, n, NOISE_NOISE, make_rng(seed, "classic-pure-noise", d, n, replicate))
            fit = fit_psd_convex(x, y, FIT_LAM, tol=FIT_TOL, max_iter=FIT_MAX_ITER)
            fits.append(fit)
            errors.append(float(np.sum(fit.s**2) / d))  # = ‖Ŝ − S*‖²_F/d, S* = 0
        points.append(_fit_statistics(fits, errors))
    mean, sem, converged, kkt = (list(column) for column in zip(*points, strict=True))
    return [classic_rows("quadratic", "interpolation", "simulation", "noise", NOISE_NOISE, NOISE_N, mean, y_se=sem,
                         d=d, n_replicates=NOISE_REPLICATES, converged=converged, certificate=kkt,
                         certificate_name="kkt_residual")]  # fmt: skip


def classic_quadratic_frames(seed: int) -> list[pd.DataFrame]:
    """Every row of the quadratic Figure 9 table (module docstring): closed forms, SE, fits."""
    return [*reference_rows(), *recovery_se_rows(), *recovery_fit_rows(seed), *wishart_se_rows(),
            *interpolation_rows(seed)]  # fmt: skip
