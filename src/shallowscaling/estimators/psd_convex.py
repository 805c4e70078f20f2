"""Convex ERM of the quadratic network: nuclear-norm-regularised PSD matrix sensing (docs/theory.md §1.1, §7).

The estimator minimises, over symmetric positive semi-definite d×d matrices S,

    F(S) = f(S) + (λ/d) Tr S,        f(S) = (1/d²) Σ_μ (y_μ − ⟨S, Z_μ⟩)²,
    Z_μ = (x_μ x_μᵀ − I)/√d,

which is the training loss of a quadratic network of width p ≥ d divided by d² (docs/theory.md §1.1).
It is solved by accelerated proximal gradient (FISTA) with the eigenvalue soft-threshold prox and
the adaptive gradient restart of O'Donoghue & Candès (2015). Each iteration costs one forward and
one adjoint pass of the sensing operator, O(n d²), plus one d×d eigendecomposition; from a cold
start the passes' products with X run in float32 until the KKT residual is below 1e-4
(``_SINGLE_UNTIL``), then in float64. With
``device="cpu"`` or ``"cuda"`` the same iteration runs on PyTorch tensors (:mod:`._torch_backend`);
the default is NumPy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .._validation import check_choice, check_int, check_real
from ..design import ArrayDesign, StreamedDesign
from ..errors import InputError
from ..progress import Heartbeat
from ..results import warn_not_converged
from ._psd_common import RANK_RTOL, check_design, check_lam, count_rank, duality_gap, select_backend
from ._psd_operators import adjoint, forward
from ._psd_result import PSDConvexResult, factored_result, ssnal_result
from .psd_factored import solve_factored

__all__ = [
    "METHODS",
    "RANK_RTOL",
    "PSDConvexResult",
    "fit_psd_convex",
    "fit_psd_convex_path",
    "psd_lam_max",
    "psd_objective",
]


#: ``method`` of :func:`fit_psd_convex`: ``"fista"`` (accelerated proximal gradient on S),
#: ``"factored"`` (S = B Bᵀ with width growth, :mod:`.psd_factored`), ``"ssnal"`` (semismooth
#: Newton augmented Lagrangian in the dual, :mod:`.psd_ssnal`), ``"auto"`` (factored while the
#: width stays ≤ :func:`auto_max_width`, else FISTA, handed over to SSNAL when its decay after
#: ``AUTO_HANDOVER`` iterations predicts more than ``AUTO_HANDOVER_REMAINING`` more).
METHODS = ("auto", "fista", "factored", "ssnal")

Design = ArrayDesign | StreamedDesign

# Power iterations for the starting Lipschitz estimate of ∇f. The spectrum of A*A has no isolated
# top eigenvalue (a Marchenko–Pastur-like edge), so the Rayleigh quotient creeps up slowly (≈ 0.8
# of the top after 3 steps, ≈ 0.95 after 10); backtracking raises the estimate only where the
# iterates need it. A smaller starting estimate means larger steps: one step (the Rayleigh
# quotient at A*(w), a forward pass only) needed as many FISTA iterations as three or fewer (12
# instead of 22 at d = 300, n = d², λ = 4), and it saves five passes over X (measurements:
# docs/performance.md, Notes moved from the source).
_POWER_ITERATIONS = 1
# ... except on small problems (n·d² below _POWER_SMALL_WORK, a pass of a few ms at most), where
# the one-step start cost 5–13 % more iterations at λ = 1/d and λ = 1 on the default study's
# grid and three steps match the pre-change iteration counts for 4 passes more.
_POWER_ITERATIONS_SMALL = 3
_POWER_SMALL_WORK = 1e7
# Growth of the Lipschitz estimate when the backtracking test fails.
_BACKTRACK_GROWTH = 1.25
# Relative slack of the backtracking test: the curvature along a step comes from the difference
# of two forward products, so a violation by less than this is rounding, not curvature.
_BACKTRACK_SLACK = 1e-8
# Bound on ‖A(S)‖'s relative rounding in a float32 pass (measured 2–7e-7 at d = 20–300), for the
# same test while either product came from one: without it a short step's curvature would be
# rounding, and L would grow without bound.
_SINGLE_FORWARD_ERROR = 1e-5
# Mixed precision: FISTA's passes over X run in float32 (products with X only; sums, iterates
# and eigendecompositions stay float64) until the relative KKT residual falls below this, then
# in float64 to the tolerance. A float32 pass costs ~0.55 of a float64 one, and its gradient
# error (2–4e-7 of the residual's scale at d = 120–300) is far below the residual at the switch;
# convergence is declared only from float64 passes (measurements: docs/performance.md).
_SINGLE_UNTIL = 1e-4
# ... from this n·d² on: below it a pass over X takes well under a millisecond, its cost is call
# overhead (1.1× from float32 at d = 20, n = 400), and a changed trajectory can cost more
# iterations than the cheaper passes save.
_SINGLE_MIN_WORK = 1e6
# ... or once this many float32 iterations in a row have not halved the residual (FISTA halves
# it every ~5 iterations above the float32 floor where it is fast, and hands a crawl to SSNAL).
_SINGLE_STALL = 20


def _check_symmetric(s: object, d: int, name: str, symbol: str) -> np.ndarray:
    s = np.asarray(s, dtype=np.float64)
    if s.shape != (d, d) or not np.all(np.isfinite(s)):
        raise InputError(f"`{name}` ({symbol}) must be a finite ({d}, {d}) matrix; got shape {s.shape}")
    return 0.5 * (s + s.T)


def psd_objective(x: np.ndarray, y: np.ndarray, s: np.ndarray, lam: float) -> float:
    """F(S) = (1/d²) Σ_μ (y_μ − ⟨S, Z_μ⟩)² + (λ/d) Tr S (docs/theory.md §1.1), for symmetric ``s`` (d, d).

    Positive semi-definiteness is not checked: this is the smooth part plus the linear trace
    term, the objective :func:`fit_psd_convex` minimises over S ⪰ 0.
    """
    x, y = check_design(x, y)
    d = x.shape[1]
    s = _check_symmetric(s, d, "s", "matrix S")
    lam = check_lam(lam)
    r = forward(x, s) - y
    return float(r @ r) / d**2 + lam / d * float(np.trace(s))


def psd_lam_max(x: np.ndarray, y: np.ndarray) -> float:
    """Smallest λ for which Ŝ = 0: λ_max = (2/d) · max(0, λ_max(A*(y))), A* the adjoint of docs/theory.md §7.

    S = 0 is optimal iff ∇f(0) + (λ/d) I = (λ/d) I − (2/d²) A*(y) ⪰ 0 (the KKT conditions).
    """
    x, y = check_design(x, y)
    d = x.shape[1]
    top = float(np.linalg.eigvalsh(adjoint(x, y))[-1])
    return 2.0 / d * max(top, 0.0)


def _lipschitz(x, ops) -> float:
    """Estimate of the Lipschitz constant (2/d²) ‖A*A‖ of ∇f by power iteration.

    The start A*(w), w_μ = (−1)^μ, is deterministic and generic (a centred Wishart-like matrix).
    The last step needs only the forward product (its Rayleigh quotient is ‖A(v)‖² for unit v).
    ``x`` is a backend array and ``ops`` its backend. The products run in float32: this is an
    estimate, which backtracking corrects.
    """
    n, d = x.shape
    w = ops.to_backend(np.where(np.arange(n) % 2 == 0, 1.0, -1.0))
    v = ops.adjoint(x, w, single=True)
    no_labels = ops.zeros(n)
    steps = _POWER_ITERATIONS_SMALL if n * d**2 < _POWER_SMALL_WORK else _POWER_ITERATIONS
    for _ in range(steps - 1):
        norm = ops.norm(v)
        if norm == 0.0:
            break
        # One fused pass: A(v) and A*(A(v) − 0).
        _, v = ops.forward_adjoint(x, v / norm, no_labels)
    norm = ops.norm(v)
    rayleigh = 0.0
    if norm > 0.0:
        av = ops.forward(x, v / norm, single=True)
        rayleigh = ops.inner(av, av)
    # Guards a degenerate design (A = 0): any positive step is then exact.
    return 2.0 / d**2 * max(rayleigh, 1e-300)


def _fista(
    x,
    y,
    lam: float,
    tol: float,
    max_iter: int,
    s0: np.ndarray | None,
    lipschitz: float,
    ops,
    beat: Heartbeat,
    grad_zero=None,
    handover: bool = False,
    mixed_precision: bool = False,
) -> tuple[PSDConvexResult, float]:
    """FISTA with adaptive restart; returns the result and the final Lipschitz estimate.

    ``x`` and ``y`` are arrays of the backend ``ops``; ``s0`` is a NumPy array or None. The
    iterates stay in the backend; only the final estimate and certificate inputs come back.
    Every iterate comes out of the prox with its factor F (S = F Fᵀ, rank r), so the forward map
    costs n·d·r, and it is fused with the adjoint into one pass over X per iteration
    (:func:`._psd_operators.forward_adjoint_factor`).
    """
    n, d = x.shape
    shrink = lam / d
    grad_scale = 2.0 / d**2

    # ``mixed_precision``: float32 passes while the residual is above _SINGLE_UNTIL (only when
    # tol is below it).
    single = mixed_precision and tol < _SINGLE_UNTIL and n * d**2 >= _SINGLE_MIN_WORK
    if grad_zero is None:
        grad_zero = grad_scale * ops.adjoint(x, -y)
    scale = ops.norm(grad_zero) + lam / np.sqrt(d)
    if scale == 0.0:
        # y = 0 and λ = 0: every S with A(S) = 0 is optimal; keep the residual absolute.
        scale = 1.0
    if s0 is None:
        s_cur, ax_cur, g_cur, eig_cur = ops.zeros((d, d)), ops.zeros(n), grad_zero, ops.zeros(d)
    else:
        # Project the warm start onto the PSD cone so that every iterate is feasible.
        s_cur, eig_cur, factor = ops.prox_psd_trace_factor(ops.to_backend(s0), 0.0)
        ax_cur, adj = ops.forward_adjoint_factor(x, factor, y, single=single)
        g_cur = grad_scale * adj
    lip = lipschitz
    s_y, ax_y, g_y = s_cur, ax_cur, g_cur
    # A cold start's gradient is ∇f(0), computed in float64.
    cur_exact = y_exact = s0 is None or not single
    single_anchor, single_stall, single_iterations = np.inf, 0, 0
    factor_cur = None
    momentum = 1.0
    residual = np.inf
    status = "max_iter"
    iterations = 0
    history: list[float] = []
    while iterations < max_iter:
        iterations += 1
        while True:
            step = 1.0 / lip
            s_new, eig, factor = ops.prox_psd_trace_factor(s_y - step * g_y, step * shrink)
            # The adjoint is computed with the forward map (one pass); a rejected step wastes
            # it, but backtracking is rare after the power-iteration start (see above).
            if factor.shape[1] == 0:
                # S⁺ = 0 (λ ≥ λ_max, or a first step): A(0) = 0 and A*(−y) is known, in float64.
                ax_new, adj_new, new_exact = ops.zeros(n), grad_zero / grad_scale, True
            else:
                ax_new, adj_new = ops.forward_adjoint_factor(x, factor, y, single=single)
                new_exact = not single
            diff = s_new - s_y
            diff2 = ops.inner(diff, diff)
            a_diff = ax_new - ax_y
            # Sufficient decrease f(S⁺) ≤ f(Y) + ⟨∇f(Y), S⁺ − Y⟩ + (L/2)‖S⁺ − Y‖²; f is
            # quadratic, so this is exactly (1/d²)‖A(S⁺ − Y)‖² ≤ (L/2)‖S⁺ − Y‖².
            curvature = 2.0 / d**2 * ops.inner(a_diff, a_diff)
            if not np.isfinite(curvature) or diff2 == 0.0:
                break
            bound = lip * diff2 * (1.0 + _BACKTRACK_SLACK)
            if single or not y_exact:
                # A(S⁺) or A(Y) from a float32 pass: allow its rounding in A(S⁺ − Y).
                rounding = _SINGLE_FORWARD_ERROR * (ops.norm(ax_new) + ops.norm(ax_y))
                bound = (np.sqrt(bound) + np.sqrt(grad_scale) * rounding) ** 2
            if curvature <= bound:
                break
            lip = max(_BACKTRACK_GROWTH * lip, curvature / diff2)
        g_new = grad_scale * adj_new
        # Ξ = ∇f(S⁺) − ∇f(Y) − (S⁺ − Y)/τ lies in ∂F(S⁺) by the prox optimality condition.
        residual = ops.norm(g_new - g_y - diff * lip) / scale
        if not (np.isfinite(residual) and ops.all_finite(eig)):
            status = "diverged"
            break
        # Only a residual from float64 passes alone (at S⁺ and at Y) certifies convergence.
        if residual <= tol and new_exact and y_exact:
            s_cur, ax_cur, g_cur, eig_cur, cur_exact = s_new, ax_new, g_new, eig, new_exact
            status = "converged"
            break
        if handover:
            history.append(residual)
            if iterations == AUTO_HANDOVER and _predicted_iterations(history, tol) > AUTO_HANDOVER_REMAINING:
                s_cur, ax_cur, g_cur, eig_cur, cur_exact = s_new, ax_new, g_new, eig, new_exact
                status = "handover"
                break
        # O'Donoghue–Candès gradient restart: drop the momentum when the prox-gradient step
        # points against the last move (⟨Y − S⁺, S⁺ − S⟩ > 0).
        if ops.inner(s_y - s_new, s_new - s_cur) > 0.0:
            momentum = 1.0
        next_momentum = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * momentum**2))
        beta = (momentum - 1.0) / next_momentum
        momentum = next_momentum
        # Forward products and gradients are linear in S: extrapolate them instead of
        # recomputing them at Y (one forward and one adjoint pass per iteration).
        s_y = s_new + beta * (s_new - s_cur)
        ax_y = ax_new + beta * (ax_new - ax_cur)
        g_y = g_new + beta * (g_new - g_cur)
        y_exact = new_exact and (cur_exact or beta == 0.0)
        s_cur, ax_cur, g_cur, eig_cur, cur_exact, factor_cur = s_new, ax_new, g_new, eig, new_exact, factor
        if single:
            single_iterations += 1
            # A float32 gradient is exact to ~3e-7 of the scale: a residual that stops falling
            # above _SINGLE_UNTIL would be that floor, so float64 takes over then as well.
            if residual <= 0.5 * single_anchor:
                single_anchor, single_stall = residual, 0
            else:
                single_stall += 1
            single = residual > _SINGLE_UNTIL and single_stall < _SINGLE_STALL
        if beat.due():
            r_new = ax_new - y
            objective_new = ops.inner(r_new, r_new) / d**2 + shrink * float(ops.to_numpy(eig).sum())
            beat.tick(iterations, objective_new, residual, precision="float64" if new_exact else "float32")
    if not cur_exact and factor_cur is not None and status != "handover":
        # Stopped during the float32 phase: the reported objective and gap need float64 products.
        ax_cur, adj = ops.forward_adjoint_factor(x, factor_cur, y)
        g_cur = grad_scale * adj
    r = y - ax_cur
    squared = ops.inner(r, r)
    s_cur, g_cur, eig_cur = ops.to_numpy(s_cur), ops.to_numpy(g_cur), ops.to_numpy(eig_cur)
    objective = squared / d**2 + shrink * float(np.trace(s_cur))
    gap = duality_gap(g_cur, s_cur, lam, objective, ops.to_numpy(-r), ops.to_numpy(y))
    rank = count_rank(eig_cur, ops.to_numpy(y))
    converged = status == "converged"
    message = (
        f"{status} after {iterations} iterations: kkt_residual {residual:.3g} "
        f"(tol {tol:.3g}), duality_gap {gap:.3g}, objective {objective:.10g}, rank {rank}"
    )
    beat.end(status, iterations, objective, residual, duality_gap=gap, rank=rank, float32_iterations=single_iterations)
    # "handover": the caller continues with SSNAL and reports the outcome.
    if not converged and status != "handover":
        warn_not_converged(
            "fit_psd_convex",
            message,
            "Increase max_iter, warm-start from a nearby λ (fit_psd_convex_path) or loosen tol.",
        )
    result = PSDConvexResult(
        s=s_cur,
        eigenvalues=eig_cur,
        objective=objective,
        train_loss=squared / n,
        kkt_residual=residual,
        duality_gap=gap,
        rank=rank,
        iterations=iterations,
        converged=converged,
        status=status,
        message=message,
        lam=lam,
    )
    return result, lip


def _check_solver_options(tol: object, max_iter: object) -> tuple[float, int]:
    tol = check_real(tol, "tol", "relative KKT tolerance", lower=0.0, lower_inclusive=False)
    max_iter = check_int(max_iter, "max_iter", "iteration cap", lower=1)
    return tol, max_iter


def fit_psd_convex(
    x: np.ndarray,
    y: np.ndarray,
    lam: float,
    *,
    tol: float = 1e-8,
    max_iter: int = 20000,
    s0: np.ndarray | None = None,
    device: str | None = None,
    method: str = "auto",
    block_size: int | None = None,
) -> PSDConvexResult:
    """Minimise the convex quadratic-network objective over S ⪰ 0 (docs/theory.md §1.1, §7).

    Parameters
    ----------
    x : ndarray, shape (n, d)
        Design, rows x_μ (Gaussian N(0, I_d) in the study). Used in float64.
    y : ndarray, shape (n,)
        Labels y_μ.
    lam : float
        Regularisation λ ≥ 0 (the paper's λ, docs/theory.md §1.1 normalisation).
    tol : float, default 1e-8
        Relative KKT tolerance (see Notes). 1e-8 gives objectives within ~1e-10 relative of
        an interior-point solver at d ≤ 10.
    max_iter : int, default 20000
        Cap on the passes counted by ``iterations`` (a FISTA iteration is one forward and one
        adjoint pass, O(n d²)), all routes together.
    s0 : ndarray, shape (d, d), optional
        Warm start (e.g. the solution at a nearby λ); projected onto the PSD cone. Default 0.
    device : str, optional
        Array backend. None or ``"numpy"`` (default): NumPy. Any other value is a PyTorch device
        (``"cpu"``, ``"cuda"``, ``"cuda:1"``; needs the ``torch`` extra): x, y and the iterates
        live on that device in float64 and the result comes back as NumPy arrays. Same
        iteration and stopping rule; see :mod:`._torch_backend`.
    method : {"auto", "fista", "factored", "ssnal"}, default "auto"
        ``"fista"``: accelerated proximal gradient. ``"factored"``: S = B Bᵀ with the width grown
        until certified (:mod:`.psd_factored`). ``"ssnal"``: semismooth Newton augmented
        Lagrangian in the dual (:mod:`.psd_ssnal`; needs X in memory and λ > 0). ``"auto"``:
        factored when d ≥ ``AUTO_FACTORED_MIN_D`` and G₀ predicts a low rank; otherwise FISTA,
        handed over to SSNAL when d ≥ ``AUTO_SSNAL_MIN_D`` and, after ``AUTO_HANDOVER``
        iterations, the decay of its residual predicts more than ``AUTO_HANDOVER_REMAINING``
        further iterations. Every route
        stops on the same ``kkt_residual`` and reports the same certificates.
    block_size : int, optional
        Rows per block of a pass over the design (default ~64k numbers per block).

    Returns
    -------
    PSDConvexResult

    Notes
    -----
    Objective (docs/theory.md §1.1), with Z_μ = (x_μ x_μᵀ − I)/√d and A(S)_μ = ⟨S, Z_μ⟩:

        F(S) = f(S) + (λ/d) Tr S,  f(S) = (1/d²) ‖y − A(S)‖²,  S ⪰ 0,
        ∇f(S) = (2/d²) A*(A(S) − y),  A*(r) = (Xᵀ diag(r) X − (Σ r) I)/√d.

    Iteration (FISTA, Beck & Teboulle 2009): S⁺ = prox_τ(Y − τ∇f(Y)) with the prox of
    τ(λ/d) Tr S + indicator(S ⪰ 0), i.e. eigenvalues of the symmetric argument mapped to
    (μ_i − τλ/d)₊. The step τ = 1/L starts from a power-iteration estimate of the Lipschitz
    constant (2/d²)‖A‖² and L grows by backtracking whenever
    (1/d²)‖A(S⁺ − Y)‖² > (L/2)‖S⁺ − Y‖². The momentum is reset when ⟨Y − S⁺, S⁺ − S⟩ > 0
    (adaptive gradient restart, O'Donoghue & Candès 2015).

    Stopping rule: the prox optimality condition makes
    Ξ = ∇f(S⁺) − ∇f(Y) − (S⁺ − Y)/τ an element of ∂F(S⁺) (the subdifferential of the objective
    including the PSD indicator). The solver stops at the first iterate with

        ‖Ξ‖_F ≤ tol · (‖∇f(0)‖_F + λ/√d),

    a bound on the distance of 0 to ∂F(S⁺) relative to the gradient scale of the problem at
    S = 0 (invariant under y → cy, λ → cλ). ``duality_gap`` additionally bounds F(Ŝ) − F*.

    Examples
    --------
    >>> from shallowscaling.seeding import make_rng
    >>> rng = make_rng(0, "doctest")
    >>> x = rng.standard_normal((200, 8))
    >>> y = rng.standard_normal(200)
    >>> fit_psd_convex(x, y, lam=1.0).converged
    True
    """
    x, y = check_design(x, y, block_size)
    lam = check_lam(lam)
    tol, max_iter = _check_solver_options(tol, max_iter)
    method = check_choice(method, "method", METHODS)
    n, d = x.shape
    if s0 is not None:
        s0 = _check_symmetric(s0, d, "s0", "warm start S₀")
    # A caller's warm start is meant to be near the optimum already (a λ path, a refit), where
    # float32 passes would only add the switch; a cold start and the factored route's iterate
    # start in float32.
    cold_start = s0 is None
    numpy_backend = device is None or device == "numpy"
    if method == "factored" and not numpy_backend:
        raise InputError(f"`method` 'factored' runs on NumPy only; use method='fista' or 'auto' with device {device!r}")
    ops = select_backend(device)
    x, y = ops.to_backend(x), ops.to_backend(y)
    grad_zero = (2.0 / d**2) * ops.adjoint(x, -y)
    iterations = 0
    auto_factored = method == "auto" and numpy_backend and d >= AUTO_FACTORED_MIN_D
    if (method == "factored" or auto_factored) and s0 is None and lam > 0.0:
        max_width = d if method == "factored" else auto_max_width(d)
        beat = Heartbeat("fit_psd_convex[factored]", "kkt_residual", d=d, n=n, lam=lam, tol=tol, max_width=max_width)
        solve = solve_factored(x, y, lam, grad_zero, tol=tol, max_iter=max_iter, max_width=max_width, beat=beat)
        if solve.status != "width" or method == "factored":
            return factored_result(solve, y, lam, tol, beat)
        beat.end("width", solve.iterations, solve.objective, solve.kkt_residual, width=solve.b.shape[1])
        # Ŝ has high rank: FISTA from the factored iterate (a warm start, not a restart).
        s0 = solve.b @ solve.b.T
        iterations = solve.iterations
    # SSNAL needs X in memory (its CG products use a float32 copy of it) and λ > 0.
    ssnal_ready = numpy_backend and isinstance(x, ArrayDesign) and lam > 0.0
    if method == "ssnal":
        if not ssnal_ready:
            raise InputError(
                f"`method` 'ssnal' needs the NumPy backend, a design held in memory and λ > 0; got "
                f"device {device!r}, {'an in-memory' if isinstance(x, ArrayDesign) else 'a streamed'} design, "
                f"λ = {lam!r}; use method='fista' or 'auto'"
            )
        return ssnal_result(x, y, lam, tol, max_iter, s0, grad_zero)
    beat = Heartbeat("fit_psd_convex[fista]", "kkt_residual", d=d, n=n, lam=lam, tol=tol)
    handover = method == "auto" and ssnal_ready and d >= AUTO_SSNAL_MIN_D
    lipschitz = _lipschitz(x, ops)
    result, _ = _fista(
        x, y, lam, tol, max_iter, s0, lipschitz, ops, beat, grad_zero, handover=handover, mixed_precision=cold_start
    )
    iterations += result.iterations
    if result.status == "handover":
        # FISTA crawls (the interpolation peak): SSNAL from its iterate; FISTA again if SSNAL fails.
        result = ssnal_result(x, y, lam, tol, max_iter - iterations, result.s, grad_zero, quiet=True)
        iterations += result.iterations
        if not result.converged:
            beat = Heartbeat("fit_psd_convex[fista]", "kkt_residual", d=d, n=n, lam=lam, tol=tol)
            result, _ = _fista(x, y, lam, tol, max(max_iter - iterations, 1), result.s, lipschitz, ops, beat)
            iterations += result.iterations
    if iterations != result.iterations:
        result = dataclasses.replace(result, iterations=iterations)
    return result


#: ``method="auto"``: at this FISTA iteration, FISTA's iterate goes to SSNAL if the residual's
#: decay predicts more than ``AUTO_HANDOVER_REMAINING`` further iterations, from d =
#: ``AUTO_SSNAL_MIN_D`` on. The fits FISTA finishes sooner keep their FISTA result bit for bit.
#: SSNAL costs the equivalent of ~400 FISTA iterations at d = 120–200 (its ~1000 CG products at
#: ~0.4 of an iteration each) but about its CG count at small d, where both are overhead-bound:
#: at d = 20 it lost even against an 800-iteration FISTA run, from d = 40 on it won wherever the
#: prediction sent it (measurements: docs/performance.md).
AUTO_HANDOVER = 100
AUTO_HANDOVER_REMAINING = 400
AUTO_SSNAL_MIN_D = 32


def _predicted_iterations(history: list[float], tol: float) -> float:
    """FISTA iterations still needed to reach ``tol``, from the residuals' log-linear decay.

    The rate is the decay of the best residual between the middle and the end of ``history``
    (minima over short windows: the restarted iteration is not monotone).
    """
    half = len(history) // 2
    early, late = min(history[half - 5 : half + 5]), min(history[-10:])
    rate = (np.log(early) - np.log(late)) / (len(history) - half)
    if not rate > 0.0:
        return np.inf
    return float(np.log(late / tol) / rate)


#: ``method="auto"`` tries the factored route only from this d on: below it a pass over X is so
#: cheap that the per-iteration overheads of L-BFGS (SVDs of B, the quartic line search) decide
#: in FISTA's favour (comparison: docs/performance.md, Notes moved from the source).
AUTO_FACTORED_MIN_D = 100


def auto_max_width(d: int) -> int:
    """Widest factor ``method="auto"`` tries before handing over to FISTA: max(4, d/20).

    The factored iteration is cheaper per pass (n·d·p against FISTA's n·d·r + n·d²/2) but
    needs more iterations as the rank grows (the small eigenvalues of Ŝ slow L-BFGS), so it is
    tried only while the rank is small (comparison: docs/performance.md, Notes moved from the source).
    """
    return max(4, d // 20)


def fit_psd_convex_path(
    x: np.ndarray,
    y: np.ndarray,
    lams: Sequence[float],
    *,
    tol: float = 1e-8,
    max_iter: int = 20000,
    device: str | None = None,
) -> list[PSDConvexResult]:
    """Solve :func:`fit_psd_convex` along a λ path, largest λ first, each fit warm-started.

    The path starts at the largest λ (sparsest, fastest solution) and passes each solution
    explicitly as ``s0`` of the next smaller λ; the Lipschitz estimate is shared. Results are
    returned in the order of ``lams``.

    Parameters
    ----------
    lams : sequence of float
        Regularisations λ ≥ 0 (any order, repeats allowed).
    tol, max_iter, device
        As in :func:`fit_psd_convex`, for every fit (the design is moved to ``device`` once).

    Returns
    -------
    list of PSDConvexResult, aligned with ``lams``.
    """
    x, y = check_design(x, y)
    lams = [check_lam(lam) for lam in lams]
    if not lams:
        raise InputError("`lams` (regularisation path λ) must contain at least one value; got []")
    tol, max_iter = _check_solver_options(tol, max_iter)
    ops = select_backend(device)
    x, y = ops.to_backend(x), ops.to_backend(y)
    lipschitz = _lipschitz(x, ops)
    order = sorted(range(len(lams)), key=lambda i: -lams[i])
    results: list[PSDConvexResult | None] = [None] * len(lams)
    warm: np.ndarray | None = None
    for i in order:
        beat = Heartbeat("fit_psd_convex_path[fista]", "kkt_residual", d=x.shape[1], n=x.shape[0], lam=lams[i])
        result, lipschitz = _fista(x, y, lams[i], tol, max_iter, warm, lipschitz, ops, beat)
        results[i] = result
        warm = result.s
    return [r for r in results if r is not None]
