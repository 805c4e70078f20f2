"""The kernels with one copy in the package (``shallowscaling._kernels`` and the Biane edges)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shallowscaling._kernels import goe_matrix, quadratic_forms
from shallowscaling.data import quadratic_forward
from shallowscaling.estimators._psd_operators import forward
from shallowscaling.spectra.decomposition import draw_goe
from shallowscaling.state_evolution.free_convolution.biane import bulk_component, support_edges
from shallowscaling.targets import power_law_spectrum


def test_goe_matrix_is_the_closed_form_and_draws_d_squared_normals() -> None:
    d = 9
    rng, twin = np.random.default_rng(3), np.random.default_rng(3)
    z = goe_matrix(d, rng)
    g = twin.standard_normal((d, d))
    np.testing.assert_array_equal(z, (g + g.T) / math.sqrt(2.0 * d))
    assert rng.standard_normal() == twin.standard_normal()  # the stream is left where it was
    # The spectral decomposition's GOE draws are this kernel, drawn in order.
    stack = draw_goe(d, 2, np.random.default_rng(4))
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(stack, np.stack([goe_matrix(d, rng), goe_matrix(d, rng)]))


def test_goe_matrix_spectrum_is_the_semicircle_on_minus_two_two() -> None:
    eigenvalues = np.linalg.eigvalsh(goe_matrix(400, np.random.default_rng(5)))
    assert eigenvalues[-1] == pytest.approx(2.0, abs=0.1)
    assert eigenvalues[0] == pytest.approx(-2.0, abs=0.1)
    assert np.mean(eigenvalues**2) == pytest.approx(1.0, abs=0.02)  # semicircle variance


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_quadratic_forms_match_the_trace_formula(chunk: int) -> None:
    rng = np.random.default_rng(6)
    n, d = 30, 5
    x = rng.standard_normal((n, d))
    s = rng.standard_normal((d, d))
    s = s + s.T
    blocks = ((start, x[start : start + chunk]) for start in range(0, n, chunk))
    got = quadratic_forms(blocks, n, d, s)
    expected = np.array([np.trace(s @ (np.outer(row, row) - np.eye(d))) for row in x]) / math.sqrt(d)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # The labels and the solvers' forward operator are this kernel.
    np.testing.assert_array_equal(quadratic_forward(x, s, chunk_rows=chunk), got)
    np.testing.assert_array_equal(forward(x, s), quadratic_forms([(0, x)], n, d, s))


@pytest.mark.parametrize(("d", "gamma", "delta"), [(200, 0.6, 1.0), (300, 1.0, 0.3), (100, 1.5, 0.1)])
def test_the_two_biane_edges_agree(d: int, gamma: float, delta: float) -> None:
    """The scalar bulk edge and the vectorised support edges are the same Biane construction."""
    s = np.sort(power_law_spectrum(d, gamma))
    edge, _ = bulk_component(s, delta)
    w = np.full(d, 1.0 / d)
    intervals, demote = support_edges(s, w, delta, np.ones(d, dtype=bool))
    assert not demote.any()
    u = intervals[0][1]
    x = u + delta * delta * float(np.sum(w / (u - s)))
    assert x == pytest.approx(edge, rel=1e-13)  # measured: within 1 ulp on 75 power-law cases
