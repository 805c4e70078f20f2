"""Two independent routes: the quadratic state evolution against convex ERM simulations (docs/theory.md §8).

At d = 40 the §8 points (0.6, 1) and (1.5, 0.1), plus (1, 0.3) and (2, 1), are reproduced within
two standard errors of the simulated mean over 6 replicates, plus the SE's finite-d bias: the SE
describes the d → ∞ limit and at d = 40 sits 3–7 % below the simulations (the §8 table shows the
same sign, e.g. 0.091 ± 0.001 simulated against 0.084 at (1.5, 0.1)). Left out: the small-sample
points (0.1, 0.01) and (0.1, 0.3) (n_eff = 4, where the SE sits 10–20 % low at d = 40), the
weak-λ point (0.6, 0.01) and the peak (0.3, 0.05), where the finite-d rank-one sensing differs
from the Gaussian sensing the SE describes by more than the Monte-Carlo error (docs/science.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.estimators.psd_convex import fit_psd_convex
from shallowscaling.state_evolution.quadratic_deterministic import solve_quadratic_se_deterministic
from shallowscaling.targets import power_law_spectrum
from shallowscaling.tasks.problem import draw_problem

D = 40
REPLICATES = 6
# Relative finite-d bias allowed at d = 40 (3–7 % measured, see the module docstring).
FINITE_D_BIAS = 0.08


@pytest.mark.slow
@pytest.mark.parametrize(("sample_ratio", "lam"), [(0.6, 1.0), (1.0, 0.3), (1.5, 0.1), (2.0, 1.0)])
def test_quadratic_se_predicts_convex_erm_at_d40(sample_ratio: float, lam: float, global_seed: int) -> None:
    n = round(sample_ratio * D * D)
    errors = []
    for replicate in range(REPLICATES):
        problem = draw_problem("quadratic", D, 1.0, 0.5, n, global_seed, replicate)
        fit = fit_psd_convex(problem.x, problem.y, lam, tol=1e-7)
        assert fit.converged
        errors.append(np.sum((fit.s - problem.s_star) ** 2) / D)
    mean, sem = float(np.mean(errors)), float(np.std(errors, ddof=1) / np.sqrt(REPLICATES))
    se = solve_quadratic_se_deterministic(power_law_spectrum(D, 1.0), n, lam, 0.5)
    assert se.converged
    # The data can tell a wrong SE apart: the spread is a few percent of the value here.
    assert sem < 0.1 * mean
    print(f"α={sample_ratio} λ={lam}: simulated {mean:.4f} ± {sem:.4f}, SE {se.matrix_mse:.4f}")
    assert abs(mean - se.matrix_mse) <= 2.0 * sem + FINITE_D_BIAS * se.matrix_mse
