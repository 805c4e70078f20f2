"""Designs held in memory or redrawn block by block: same numbers, same fits, bounded memory."""

from __future__ import annotations

import numpy as np
import pytest

from shallowscaling.data import draw_quadratic_data, draw_quadratic_design
from shallowscaling.design import ArrayDesign, StreamedDesign, as_design
from shallowscaling.errors import InputError
from shallowscaling.estimators.psd_convex import fit_psd_convex
from shallowscaling.estimators.quadratic_network import fit_quadratic_network
from shallowscaling.seeding import make_rng
from shallowscaling.targets import draw_quadratic_teacher, target_matrix


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
