"""The fit job's stored solution (`fit --solution-output`): the non-zero eigenpairs of Ŝ."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shallowscaling.cli import main
from shallowscaling.errors import InputError
from shallowscaling.estimators.psd_convex import fit_psd_convex
from shallowscaling.io.parquet import read_table
from shallowscaling.tasks.problem import draw_problem
from shallowscaling.tasks.solution import (
    SOLUTION_COLUMNS,
    eigenpairs_from_table,
    nonzero_eigenpairs,
    solution_table,
)

SEED = 11


def _fit_files(tmp_path, model: str, estimator: str, d: int, n: int, name: str = "run") -> dict[str, str]:
    files = {key: str(tmp_path / f"{name}_{key}.parquet") for key in ("fit", "weights", "solution")}
    assert (
        main(["fit", model, "--estimator", estimator, "--d", str(d), "--gamma", "1", "--noise", "0.5",
              "--lam-exponent", "-1", "--n", str(n), "--seed", str(SEED), "--replicates", "2", "--tol", "1e-7",
              "--output", files["fit"], "--weights-output", files["weights"], "--solution-output", files["solution"]])
        == 0
    )  # fmt: skip
    return files


def test_solution_file_reconstructs_the_fitted_matrix(tmp_path) -> None:
    d, n = 12, 144  # the interpolation peak n_eff = d at λ = 1/d: Ŝ of high but not full rank
    files = _fit_files(tmp_path, "quadratic", "convex", d, n)
    schema = pq.read_schema(files["solution"])
    assert schema.names == list(SOLUTION_COLUMNS)
    assert schema.field("eigenvector").type == pa.list_(pa.float64())
    table = read_table(files["solution"])
    fits = read_table(files["fit"])
    for replicate in (0, 1):
        # The fit job's Ŝ, recomputed: the same solver on the same draw gives the same bits.
        problem = draw_problem("quadratic", d, 1.0, 0.5, n, SEED, replicate)
        s_hat = fit_psd_convex(problem.x, problem.y, 1.0 / d, tol=1e-7, max_iter=100_000).s
        pairs = eigenpairs_from_table(table, replicate, d)
        # One row per non-zero eigenvalue: at least the solver's rank (1e-6 relative cut), and
        # fewer than d, so the test sees dropped null directions (the prox leaves exact zeros).
        assert fits["rank"][replicate] <= pairs.eigenvalues.size < d
        np.testing.assert_allclose(pairs.eigenvectors.T @ pairs.eigenvectors, np.eye(pairs.eigenvalues.size),
                                   atol=1e-13)  # fmt: skip
        # ‖U diag(s) Uᵀ − Ŝ‖_F: an eigensolver's backward error is ~d ε ‖Ŝ‖ (≈ 3e-15 · ‖Ŝ‖ at d = 12).
        error = np.linalg.norm(pairs.matrix() - s_hat) / np.linalg.norm(s_hat)
        assert error < 1e-13
        # The stored eigenvalues are those of the weights table, up to the two LAPACK drivers' rounding.
        weights = read_table(files["weights"])
        spectrum = weights[weights["replicate"] == replicate]["eigenvalue"].to_numpy()
        np.testing.assert_allclose(pairs.eigenvalues, spectrum[: pairs.eigenvalues.size], rtol=0, atol=1e-13)
    # Same config, same bytes: no timestamps in the file.
    again = _fit_files(tmp_path, "quadratic", "convex", d, n, name="again")
    assert Path(again["solution"]).read_bytes() == Path(files["solution"]).read_bytes()


def test_nonzero_eigenpairs_drop_only_rounding() -> None:
    # Rank 3 with eigenvalues over 8 decades: the 1e-8 one is genuine and kept; the null space,
    # at ±(a few ε) after the eigensolver, is dropped.
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    values = np.array([1.0, 1e-3, 1e-8])
    s_hat = (basis[:, :3] * values) @ basis[:, :3].T
    pairs = nonzero_eigenpairs(s_hat)
    np.testing.assert_allclose(pairs.eigenvalues, values, rtol=1e-6)
    assert np.linalg.norm(pairs.matrix() - s_hat) < 1e-14
    assert nonzero_eigenpairs(np.zeros((5, 5))).eigenvalues.size == 0


def test_diagonal_solution_has_no_rows_and_the_reader_checks_the_table(tmp_path) -> None:
    files = _fit_files(tmp_path, "diagonal", "lasso", 20, 40)
    assert read_table(files["solution"]).empty
    assert list(read_table(files["solution"]).columns) == list(SOLUTION_COLUMNS)
    pairs = nonzero_eigenpairs(np.diag([3.0, 2.0, 0.0]))
    table = solution_table([pairs, None])
    assert list(table["replicate"]) == [0, 0] and list(table["component"]) == [1, 2]
    assert eigenpairs_from_table(table, 1, 3).eigenvectors.shape == (3, 0)  # Ŝ = 0
    with pytest.raises(InputError, match="length d = 4"):
        eigenpairs_from_table(table, 0, 4)
    with pytest.raises(InputError, match="lacks the column"):
        eigenpairs_from_table(table.drop(columns="eigenvector"), 0, 3)
