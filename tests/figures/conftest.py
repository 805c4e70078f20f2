"""Tables the figure tests draw from: one tiny quadratic sweep, fitted and analysed in-process."""

from __future__ import annotations

import pandas as pd
import pytest

from shallowscaling.tasks.fit import fit_replicates
from shallowscaling.tasks.pruning import prune_sweep
from shallowscaling.tasks.spectra import spectra_sweep
from shallowscaling.tasks.teacher import teacher_table

D, SEED = 12, 3
# κ = log_d n_eff ∈ {−0.5, 0.5, 1.2}: phases Ia, IV, VIa at λ = 1/d and Ib, Ib, II at λ = √d.
N_VALUES = [round(D**0.5), round(D**1.5), round(D**2.2)]


@pytest.fixture(scope="session")
def tables():
    teacher = teacher_table("quadratic", D, 1.0, SEED, 1)
    summaries, densities, pruning = [], [], []
    for ell in (-1.0, 0.5):
        runs = [fit_replicates("quadratic", "convex", D, 1.0, 0.5, n, D**ell, SEED, 1, tol=1e-7) for n in N_VALUES]
        fits, weights = [r.fits for r in runs], [r.weights for r in runs]
        out = spectra_sweep("quadratic", "convex", D, 1.0, 0.5, ell, N_VALUES, weights, fits, teacher, seed=SEED)
        summaries.append(out.summary)
        densities.append(out.density)
        if ell == -1.0:
            pruning.append(prune_sweep("quadratic", "convex", D, 1.0, 0.5, ell, N_VALUES, weights, teacher, seed=SEED))
    return pd.concat(summaries), pd.concat(densities), pd.concat(pruning)


@pytest.fixture(scope="session")
def n_values() -> list[int]:
    """The sample sizes of :func:`tables`, one per phase of each row (see the comment above)."""
    return N_VALUES
