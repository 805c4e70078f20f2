"""Designs held in memory or redrawn block by block: same numbers, same fits, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.data import draw_diagonal_data, draw_diagonal_design, draw_quadratic_data, draw_quadratic_design
from shallowscaling.design import ArrayDesign, StreamedDesign, as_design
from shallowscaling.errors import InputError
from shallowscaling.estimators.psd_convex import fit_psd_convex
from shallowscaling.estimators.quadratic_network import fit_quadratic_network
from shallowscaling.seeding import make_rng
from shallowscaling.targets import draw_diagonal_teacher, draw_quadratic_teacher, target_matrix


def _target(seed: int, d: int) -> np.ndarray:
    s, basis = draw_quadratic_teacher(d, 1.0, make_rng(seed, "test-design-teacher", d))
    return target_matrix(s, basis)


def _streamed(seed: int, d: int, n: int, block_rows: int | None = None):
    """(design, y) with the design forced to be streamed (a budget far below n·d·8 bytes)."""
    design, y = draw_quadratic_design(_target(seed, d), n, 0.5, make_rng(seed, "test-design", d, n), design_memory=1e-9)
    assert isinstance(design, StreamedDesign)
    return as_design(design, block_rows), y


def test_streamed_design_is_the_in_memory_draw_bit_for_bit(global_seed):
    # n = 9000 spans three label blocks (4096 rows), so the label loop's edges are covered.
    d, n = 12, 9000
    x, y = draw_quadratic_data(_target(global_seed, d), n, 0.5, make_rng(global_seed, "test-design", d, n))
    design, y_streamed = _streamed(global_seed, d, n)
    assert np.array_equal(y, y_streamed)
    assert np.array_equal(design.materialize(), x)
    for rows in (1, 7, 1000, n + 5):
        # The yielded block is a reused buffer: copy it before advancing.
        blocks = [(start, block.copy()) for start, block in as_design(design, rows).blocks()]
        assert [start for start, _ in blocks] == list(range(0, n, rows))
        assert np.array_equal(np.vstack([block for _, block in blocks]), x)


def test_in_memory_budget_keeps_the_array(global_seed):
    d, n = 12, 500
    x, _ = draw_quadratic_design(_target(global_seed, d), n, 0.5, make_rng(global_seed, "test-design", d, n))
    assert isinstance(x, np.ndarray) and x.shape == (n, d)


@pytest.mark.parametrize("method", ["fista", "factored"])
def test_fits_agree_across_storage_and_block_sizes(method, global_seed):
    d, n, lam = 16, 2000, 1.0
    x, y = draw_quadratic_data(_target(global_seed, d), n, 0.5, make_rng(global_seed, "test-design", d, n))
    in_memory = fit_psd_convex(x, y, lam, tol=1e-9, method=method)
    results = [fit_psd_convex(*_streamed(global_seed, d, n, rows), lam, tol=1e-9, method=method) for rows in (64, 333)]
    again = fit_psd_convex(*_streamed(global_seed, d, n, 64), lam, tol=1e-9, method=method)
    # Same data, same block size: bit-identical. Other block sizes sum in another order: the
    # objectives agree to rounding (both solves stop at a 1e-9 KKT residual).
    assert again.objective == results[0].objective and np.array_equal(again.s, results[0].s)
    for result in results:
        assert result.converged
        assert result.objective == pytest.approx(in_memory.objective, rel=1e-10)


def test_network_accepts_a_streamed_design(global_seed):
    d, n = 10, 800
    design, y = _streamed(global_seed, d, n, 100)
    streamed = fit_quadratic_network(design, y, 1.0, make_rng(global_seed, "init"))
    in_memory = fit_quadratic_network(design.materialize(), y, 1.0, make_rng(global_seed, "init"))
    assert streamed.converged
    assert streamed.objective == pytest.approx(in_memory.objective, rel=1e-10)


def test_bad_block_size_and_budget_name_the_key():
    with pytest.raises(InputError, match=r"`block_size`.*>= 1; got 0"):
        as_design(np.zeros((5, 3)), 0)
    with pytest.raises(InputError, match="`design_memory`"):
        draw_quadratic_design(np.eye(3), 10, 0.5, make_rng(0, "x"), design_memory=-1.0)
    with pytest.raises(InputError, match="`x` \\(design X\\) must be finite"):
        as_design(np.full((5, 3), np.nan))
    assert isinstance(as_design(np.ones((5, 3))), ArrayDesign)


@pytest.mark.parametrize("d", [12, 37])
def test_streamed_diagonal_design_is_the_in_memory_draw_bit_for_bit(d, global_seed):
    # n = 9001 spans three label blocks (4096 rows) and a ragged last one; d = 37 is odd.
    n = 9001
    theta_star = draw_diagonal_teacher(d, 1.0, make_rng(global_seed, "test-design-teacher", d))
    x, y = draw_diagonal_data(theta_star, n, 0.5, make_rng(global_seed, "test-design", d, n))
    design, y_streamed = draw_diagonal_design(
        theta_star, n, 0.5, make_rng(global_seed, "test-design", d, n), design_memory=1e-9
    )
    assert isinstance(design, StreamedDesign)
    assert np.array_equal(y, y_streamed)
    for rows in (1000, None):
        blocks = [(start, block.copy()) for start, block in as_design(design, rows).blocks()]
        assert np.array_equal(np.vstack([block for _, block in blocks]), x)
    # Within the budget, or with n <= d (the Gram matrix would outgrow X), the array is kept.
    kept, _ = draw_diagonal_design(theta_star, n, 0.5, make_rng(global_seed, "test-design", d, n))
    assert isinstance(kept, np.ndarray) and np.array_equal(kept, x)
    wide, _ = draw_diagonal_design(theta_star, d, 0.5, make_rng(global_seed, "x"), design_memory=1e-9)
    assert isinstance(wide, np.ndarray)
    with pytest.raises(InputError, match="`design_memory`"):
        draw_diagonal_design(theta_star, n, 0.5, make_rng(0, "x"), design_memory=0.0)


def test_a_streamed_lasso_fit_job_writes_the_in_memory_tables_to_rounding(global_seed):
    # The fit job's table and weights, and the diagonal prune's residual estimate of δ, from a
    # design held in memory and from the same design streamed under a tiny budget.
    from shallowscaling.spectra.edge_estimate import estimate_noise_from_residuals
    from shallowscaling.tasks.fit import fit_replicates
    from shallowscaling.tasks.problem import draw_problem

    d, n, lam = 30, 2000, 1.0 / 30
    held = fit_replicates("diagonal", "lasso", d, 1.0, 0.5, n, lam, global_seed, 2)
    streamed = fit_replicates("diagonal", "lasso", d, 1.0, 0.5, n, lam, global_seed, 2, design_memory=1e-9)
    numbers = ["excess_risk", "train_loss", "objective"]
    assert np.allclose(streamed.fits[numbers], held.fits[numbers], rtol=1e-10, atol=0.0)
    assert (streamed.fits["duality_gap"] <= 1e-8).all() and streamed.fits["converged"].all()
    assert streamed.fits["rank"].tolist() == held.fits["rank"].tolist()
    assert np.allclose(streamed.weights["theta"], held.weights["theta"], rtol=0.0, atol=1e-10)
    problems = [draw_problem("diagonal", d, 1.0, 0.5, n, global_seed, 0, design_memory=m) for m in (1.0, 1e-9)]
    assert isinstance(problems[1].x, StreamedDesign)
    theta = held.weights["theta"].to_numpy()[:d]
    estimates = [estimate_noise_from_residuals(p.x, p.y, theta, lam).noise_scale for p in problems]
    assert estimates[1] == pytest.approx(estimates[0], rel=1e-12)
