"""Figure 9: classic results reproduced by the study's machinery, one long table per model.

Each row is one point of one curve of one panel (schema :data:`CLASSIC_COLUMNS`, docs/data.md):

* ``curve = "reference"``: a closed form, independent of the SE (``d = 0``: the d → ∞ limit,
  or the d it is evaluated at); ``"threshold"``: a closed-form abscissa drawn as a vertical line
  (``y = 0``); ``"se"``: our state evolution; ``"simulation"``: our estimators on drawn data, the
  mean over ``n_replicates`` replicates with its standard error ``y_se``.
* ``y_se`` is never NaN: 0 for closed forms and SE fixed points, half the bisection bracket for a
  located threshold, the Monte-Carlo standard error for simulations.
* ``certificate`` is the number that says how well the point was solved (``certificate_name``:
  ``closed_form`` 0, ``fixed_point_residual`` of the SE, ``kkt_residual`` of a fit (the largest
  over replicates), ``bracket_tol`` of a located threshold); ``converged`` says whether it met
  its tolerance.

Diagonal panels (docs/theory.md §2.1, §10): ``dmm``, the noiseless LASSO transition ε_c(n/d) of
Donoho, Maleki and Montanari (2009), closed form and SE-located; ``ols``, the λ → 0⁺ limit with
n > d, the least-squares risk Δd/(n − d), SE and LASSO fits at tiny λ. The quadratic panels are
in :mod:`.classic_quadratic`. Everything is deterministic: the SE teachers are deterministic and
every data draw comes from :func:`shallowscaling.seeding.make_rng` keyed by (seed, panel, d, n,
replicate).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_choice
from ..data import draw_diagonal_data
from ..estimators.lasso import fit_lasso
from ..rates import dmm_transition
from ..seeding import make_rng
from ..state_evolution.diagonal import solve_diagonal_se
from ..state_evolution.recovery import diagonal_recovery_threshold
from .classic_schema import CLASSIC_COLUMNS, classic_rows, finish_table

__all__ = [
    "CLASSIC_COLUMNS", "CLASSIC_PANELS", "classic_diagonal_table", "classic_table", "dmm_rows", "ols_reference_rows",
    "ols_rows",
]  # fmt: skip

#: Panels of each model, in drawing order.
CLASSIC_PANELS = {
    "diagonal": ("dmm", "ols"),
    "quadratic": ("recovery", "recovery_fits", "wishart", "interpolation"),
}

#: n/d of the SE-located DMM transitions; the SE teacher has d = DMM_D coordinates.
DMM_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
DMM_D = 1000
#: The OLS limit: Δ, n/d of the SE and of the fits, the fits' d, λ and replicates.
OLS_NOISE = 0.5
OLS_RATIOS = (1.25, 1.5, 2.0, 3.0, 4.0, 5.0)
OLS_D = 100
OLS_LAM = 1e-6
OLS_REPLICATES = 8
#: LASSO tolerance of the OLS fits (duality gap, relative; the study's default).
OLS_TOL = 1e-8


def dmm_rows() -> list[pd.DataFrame]:
    """Panel ``dmm``: ε_c(n/d) in closed form and located on the noiseless SE at d = DMM_D."""
    ratios = np.linspace(0.02, 0.98, 49)
    reference = classic_rows("diagonal", "dmm", "reference", "noise", 0.0, ratios, [dmm_transition(r) for r in ratios])
    located = [diagonal_recovery_threshold(ratio, DMM_D) for ratio in DMM_RATIOS]
    se = classic_rows(
        "diagonal", "dmm", "se", "noise", 0.0, [r.sample_ratio for r in located], [r.threshold for r in located],
        y_se=[0.5 * (r.upper - r.lower) for r in located], d=DMM_D, n_replicates=1,
        converged=[r.converged for r in located], certificate=[r.max_residual for r in located],
        certificate_name="fixed_point_residual",
    )  # fmt: skip
    return [reference, se]


def ols_reference_rows() -> list[pd.DataFrame]:
    """Panel ``ols``, reference: the least-squares risk Δd/(n − d) at d = OLS_D."""
    # Imported here: the reference is a separate route from the SE (references layer).
    from ..references.least_squares import ols_risk

    ratios = np.linspace(1.2, 5.0, 39)
    risks = [ols_risk(round(r * OLS_D), OLS_D, OLS_NOISE) for r in ratios]
    return [classic_rows("diagonal", "ols", "reference", "noise", OLS_NOISE, ratios, risks, d=OLS_D)]


def ols_rows(seed: int) -> list[pd.DataFrame]:
    """Panel ``ols``: the SE at λ = OLS_LAM and LASSO fits at that λ (OLS_REPLICATES each), n > d."""
    theta_star = np.ones(OLS_D)  # at λ → 0⁺ with n > d the risk does not depend on θ*
    se_points = [solve_diagonal_se(theta_star, round(r * OLS_D), OLS_LAM, OLS_NOISE) for r in OLS_RATIOS]
    se = classic_rows(
        "diagonal", "ols", "se", "noise", OLS_NOISE, OLS_RATIOS, [p.excess_risk for p in se_points], d=OLS_D,
        n_replicates=1, converged=[p.converged for p in se_points],
        certificate=[p.fixed_point_residual for p in se_points], certificate_name="fixed_point_residual",
    )  # fmt: skip
    means, errors, converged, kkt = [], [], [], []
    for ratio in OLS_RATIOS:
        n = round(ratio * OLS_D)
        risks, fits = [], []
        for replicate in range(OLS_REPLICATES):
            x, y = draw_diagonal_data(theta_star, n, OLS_NOISE, make_rng(seed, "classic-ols", OLS_D, n, replicate))
            fit = fit_lasso(x, y, OLS_LAM, tol=OLS_TOL)
            fits.append(fit)
            risks.append(float(np.mean((fit.theta - theta_star) ** 2)))
        means.append(np.mean(risks))
        errors.append(np.std(risks, ddof=1) / np.sqrt(len(risks)))
        converged.append(all(f.converged for f in fits))
        kkt.append(max(f.kkt_residual for f in fits))
    simulation = classic_rows(
        "diagonal", "ols", "simulation", "noise", OLS_NOISE, OLS_RATIOS, means, y_se=errors, d=OLS_D,
        n_replicates=OLS_REPLICATES, converged=converged, certificate=kkt, certificate_name="kkt_residual",
    )  # fmt: skip
    return [se, simulation]


def classic_diagonal_table(seed: int) -> pd.DataFrame:
    """The diagonal Figure 9 table: panels ``dmm`` and ``ols`` (module docstring)."""
    return finish_table([*dmm_rows(), *ols_reference_rows(), *ols_rows(seed)])


def classic_table(model: str, seed: int) -> pd.DataFrame:
    """The Figure 9 table of ``model`` (``diagonal`` or ``quadratic``); schema :data:`CLASSIC_COLUMNS`."""
    check_choice(model, "model", tuple(CLASSIC_PANELS))
    if model == "diagonal":
        return classic_diagonal_table(seed)
    from .classic_quadratic import classic_quadratic_frames

    return finish_table(classic_quadratic_frames(seed))
