"""The PyTorch backend (device="cpu") against the NumPy path: operators and full fits agree.

Both backends evaluate the same formulas in float64; only the summation order inside the GEMMs
and the eigensolver differ (OpenBLAS/LAPACK vs PyTorch's kernels), so agreement is to rounding.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from shallowscaling.data import draw_quadratic_data  # noqa: E402
from shallowscaling.errors import InputError  # noqa: E402
from shallowscaling.estimators import _psd_operators as numpy_ops  # noqa: E402
from shallowscaling.estimators._torch_backend import TorchOperators  # noqa: E402
from shallowscaling.estimators.psd_convex import fit_psd_convex, fit_psd_convex_path  # noqa: E402
from shallowscaling.estimators.quadratic_network import fit_quadratic_network  # noqa: E402
from shallowscaling.seeding import make_rng  # noqa: E402
from shallowscaling.targets import draw_quadratic_teacher, target_matrix  # noqa: E402
from shallowscaling.tasks.fit import fit_point  # noqa: E402

# Sums of ≤ 5000 O(1) products in a different order differ by ~1e-16·√n relative; 1e-10 leaves
# six orders of magnitude of room while any formula error (a missing 1/√d, a wrong sign, a lost
# trace term) changes results at O(1).
RTOL = 1e-10


def _problem(seed: int, d: int, n: int, noise: float = 0.5):
    s, basis = draw_quadratic_teacher(d, 1.0, make_rng(seed, "test-torch-teacher", d))
    x, y = draw_quadratic_data(target_matrix(s, basis), n, noise, make_rng(seed, "test-torch-data", d, n))
    return x, y


def _close(torch_value, numpy_value, ops: TorchOperators, atol: float = 0.0) -> None:
    np.testing.assert_allclose(ops.to_numpy(torch_value), numpy_value, rtol=RTOL, atol=atol)


def test_sensing_operators_and_prox_agree(global_seed):
    # n = 5000 at d = 4 spans two NumPy row blocks (4096 rows each), while torch does one product:
    # the agreement also covers the block edges.
    rng = make_rng(global_seed, "test-torch-operators")
    n, d = 5000, 4
    ops = TorchOperators("cpu")
    x = rng.standard_normal((n, d))
    s = rng.standard_normal((d, d))
    s = s + s.T
    r = rng.standard_normal(n)
    tx, ts, tr = ops.to_backend(x), ops.to_backend(s), ops.to_backend(r)
    _close(ops.forward(tx, ts), numpy_ops.forward(x, s), ops, atol=1e-12)
    _close(ops.adjoint(tx, tr), numpy_ops.adjoint(x, r), ops, atol=1e-11)
    # The data can tell the prox apart from the identity: the shift removes some eigenvalues.
    shrink = 1.0
    s_np, eig_np = numpy_ops.prox_psd_trace(s, shrink)
    assert 0 < np.count_nonzero(eig_np) < d
    s_t, eig_t = ops.prox_psd_trace(ts, shrink)
    _close(eig_t, eig_np, ops, atol=1e-13)
    _close(s_t, s_np, ops, atol=1e-13)


def test_factored_network_operators_agree(global_seed):
    rng = make_rng(global_seed, "test-torch-factored")
    d, p, lam = 10, 6, 0.4
    x, y = _problem(global_seed, d, 600)
    b = rng.standard_normal((d, p)) / np.sqrt(d)
    direction = rng.standard_normal((d, p))
    ops = TorchOperators("cpu")
    tx, ty, tb, tdir = (ops.to_backend(a) for a in (x, y, b, direction))

    loss_np, grad_np, r_np = numpy_ops.factored_loss_grad(x, y, b, lam)
    loss_t, grad_t, r_t = ops.factored_loss_grad(tx, ty, tb, lam)
    assert loss_t == pytest.approx(loss_np, rel=RTOL)
    _close(grad_t, grad_np, ops, atol=1e-13)
    _close(r_t, r_np, ops, atol=1e-12)

    xp_np, xp_t = np.empty((x.shape[0], p)), ops.empty((x.shape[0], p))
    c_np, q_np = numpy_ops.line_coefficients(x, x @ b, b, direction, xp_np)
    c_t, q_t = ops.line_coefficients(tx, tx @ tb, tb, tdir, xp_t)
    _close(c_t, c_np, ops, atol=1e-12)
    _close(q_t, q_np, ops, atol=1e-12)
    _close(xp_t, xp_np, ops, atol=1e-12)

    # One step of X B ← X B + t X P, then the gradient pieces at the new factor.
    step = 0.3
    xb_np, xb_t = x @ b, tx @ tb
    r_step_np, xtrxb_np = numpy_ops.factor_step_gradient(x, y, b + step * direction, xb_np, xp_np, step)
    r_step_t, xtrxb_t = ops.factor_step_gradient(tx, ty, tb + step * tdir, xb_t, xp_t, step)
    _close(r_step_t, r_step_np, ops, atol=1e-12)
    _close(xtrxb_t, xtrxb_np, ops, atol=1e-11)
    # ... and they are the loss pieces at B + tP computed from scratch.
    loss_fresh, _, _ = numpy_ops.factored_loss_grad(x, y, b + step * direction, lam)
    loss_from, _ = ops.factor_loss_grad_from(xtrxb_t, r_step_t, tb + step * tdir, lam)
    assert loss_from == pytest.approx(loss_fresh, rel=RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("lam", [0.02, 0.5])
def test_convex_fit_agrees_with_numpy(lam, global_seed):
    # n = 500 > d² = 144: the objective is strongly convex, so the minimiser is unique and two
    # runs that differ by rounding converge to the same Ŝ (not just the same objective).
    x, y = _problem(global_seed, 12, 500)
    reference = fit_psd_convex(x, y, lam, tol=1e-11)
    result = fit_psd_convex(x, y, lam, tol=1e-11, device="cpu")
    assert reference.converged and result.converged
    assert isinstance(result.s, np.ndarray) and isinstance(result.eigenvalues, np.ndarray)
    assert result.objective == pytest.approx(reference.objective, rel=RTOL)
    # Ŝ is determined to ~tol·(condition of A*A) ≈ 1e-9 by the stopping rule; both runs follow
    # the same iterates up to rounding, so they agree far below that.
    np.testing.assert_allclose(result.s, reference.s, rtol=0.0, atol=1e-8 * np.abs(reference.s).max())
    assert result.rank == reference.rank
    # The gap's second term multiplies λ_min(G) (here ~ −1e-13, i.e. rounding) by d·F/λ ≈ 600,
    # so two roundings of the same iterates differ by ~1e-12 in absolute terms.
    assert result.duality_gap == pytest.approx(reference.duality_gap, rel=1e-4, abs=1e-11)


@pytest.mark.slow
def test_convex_path_agrees_with_numpy(global_seed):
    x, y = _problem(global_seed, 8, 300)
    lams = [0.05, 1.0, 0.2]
    reference = fit_psd_convex_path(x, y, lams, tol=1e-10)
    results = fit_psd_convex_path(x, y, lams, tol=1e-10, device="cpu")
    for got, want in zip(results, reference, strict=True):
        assert got.lam == want.lam
        assert got.objective == pytest.approx(want.objective, rel=RTOL)


@pytest.mark.slow
@pytest.mark.parametrize("width", [None, 3])
def test_network_fit_agrees_with_numpy(width, global_seed):
    # width 3 < rank of the convex optimum exercises the rank-constrained branch as well.
    d, lam = 10, 0.1
    x, y = _problem(global_seed, d, 400)
    reference = fit_quadratic_network(x, y, lam, make_rng(global_seed, "test-torch-init"), width=width)
    result = fit_quadratic_network(x, y, lam, make_rng(global_seed, "test-torch-init"), width=width, device="cpu")
    assert reference.converged and result.converged
    assert result.objective == pytest.approx(reference.objective, rel=RTOL)
    # Same B₀ (drawn with NumPy) and the same deterministic L-BFGS: the factors agree to the
    # gradient tolerance (gtol 1e-9 on ‖∇L‖ bounds ‖ΔB‖ through the local curvature).
    np.testing.assert_allclose(result.s, reference.s, rtol=0.0, atol=1e-7 * np.abs(reference.s).max())
    assert result.kkt_min_eigenvalue == pytest.approx(reference.kkt_min_eigenvalue, rel=1e-6, abs=1e-10)


@pytest.mark.slow
def test_fit_point_passes_the_device_through(global_seed):
    common = dict(d=8, gamma=1.0, noise=0.5, n=200, lam=0.1, seed=global_seed)
    numpy_record = fit_point("quadratic", "convex", **common).record
    torch_record = fit_point("quadratic", "convex", device="cpu", **common).record
    assert torch_record["matrix_mse"] == pytest.approx(numpy_record["matrix_mse"], rel=1e-8)
    with pytest.raises(InputError, match="quadratic fits only"):
        fit_point("diagonal", "lasso", device="cpu", **common)


def test_device_errors_name_the_argument():
    x, y = _problem(0, 4, 50)
    with pytest.raises(InputError, match="`device`"):
        fit_psd_convex(x, y, 0.1, device="no-such-device")
    with pytest.raises(InputError, match="`device`"):
        fit_quadratic_network(x, y, 0.1, make_rng(0, "test-torch-init"), device=3)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA"):
            fit_psd_convex(x, y, 0.1, device="cuda")


@pytest.mark.slow
def test_numpy_path_never_imports_torch():
    # Numerics must not pull torch in at import or on the default path (style guide).
    code = (
        "import sys; import numpy as np;"
        "from shallowscaling.estimators.psd_convex import fit_psd_convex;"
        "from shallowscaling.estimators.quadratic_network import fit_quadratic_network;"
        "from shallowscaling.tasks.fit import fit_point;"
        "rng = np.random.default_rng(0); x = rng.standard_normal((60, 4)); y = rng.standard_normal(60);"
        "fit_psd_convex(x, y, 1.0); fit_quadratic_network(x, y, 1.0, rng);"
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
