"""Replicates solved in parallel (`fit --workers`, quadratic.solver.workers): same tables as serial."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shallowscaling.config import fit_workers, load_config
from shallowscaling.errors import InputError
from shallowscaling.tasks.fit import fit_replicates

POINT = dict(model="quadratic", d=16, gamma=1.0, noise=0.5, n=200, lam=0.5, seed=3, replicates=3)


@pytest.mark.parametrize("estimator", ["convex", "network"])
def test_workers_give_bit_identical_tables(estimator: str) -> None:
    options = {"tol": 1e-7, "max_iter": 20000}
    serial = fit_replicates(estimator=estimator, **POINT, **options)
    parallel = fit_replicates(estimator=estimator, **POINT, workers=3, **options)
    # The replicates differ from one another, so a table stacked in the wrong order would differ.
    assert serial.fits["excess_risk"].nunique() == POINT["replicates"]
    for name in ("fits", "weights", "solution"):
        pd.testing.assert_frame_equal(getattr(serial, name), getattr(parallel, name), check_exact=True)


def test_workers_refused_for_the_diagonal_model() -> None:
    point = {**POINT, "model": "diagonal", "n": 20}
    with pytest.raises(InputError, match="quadratic fits only"):
        fit_replicates(estimator="lasso", **point, workers=2, tol=1e-8, max_iter=1000)


def test_fit_workers_follow_the_config() -> None:
    config = load_config("config.yaml")
    assert config["quadratic"]["replicates"] == 3
    assert fit_workers(config, "quadratic", 80) == 1  # the default: serial
    config["quadratic"]["solver"].update(workers=8, workers_min_d=40)
    assert [fit_workers(config, "quadratic", d) for d in (20, 40, 80)] == [1, 3, 3]  # capped at the replicates
    assert fit_workers(config, "diagonal", 400) == 1
    assert np.isscalar(fit_workers(config, "quadratic", 40))
