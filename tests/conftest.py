"""Shared fixtures: one seed fixture, switchable to many seeds with SHALLOWSCALING_SEEDS."""

from __future__ import annotations

import os

import pytest

# `SHALLOWSCALING_SEEDS=all` reruns every seeded test over 10 seeds (scikit-learn's
# global_random_seed pattern); by default one fixed seed keeps the suite fast and reproducible.
_SEEDS = list(range(10)) if os.environ.get("SHALLOWSCALING_SEEDS") == "all" else [0]


@pytest.fixture(params=_SEEDS)
def global_seed(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture(autouse=True)
def _single_thread_blas(monkeypatch: pytest.MonkeyPatch) -> None:
    # Subprocesses (CLI, Snakemake) inherit this; in-process BLAS is set by the CI script.
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
