"""GPU check of the quadratic convex fit: agreement with the CPU, then paper-scale cost on one GPU.

Two parts, about 5 minutes on one 80 GB GPU (estimated, not yet measured: see docs/performance.md):

(a) **Agreement.** One FISTA fit of the same problem at d = ``--agreement-d`` (100) on NumPy and
    on ``--device``; their objectives must agree within ``AGREEMENT_RTOL`` relative. Both run
    the same iteration to the same tolerance in float64, so they differ by rounding only (the
    GEMMs sum in another order). λ = d^0.5 and n = d² (n_eff = d) make the fit converge in
    seconds.
(b) **Cost at the paper's largest n.** At each d of ``--sizes`` (400 and 800), n = d^2.2 rounded
    (n_eff = d^1.2, the stop of configs/paper.yaml), λ = d^``--lam-exponent``: the problem is drawn
    once (host memory, ``setup`` below: 15 GB and tens of seconds at d = 800), then fitted twice
    with ``method="fista"`` and capped iterations, 1 and ``--max-iter``. The difference of the two
    wall times over the difference of their iterations is the time per iteration; the rest of the
    first fit is the fit's own setup (moving X to the device, the labels' check, the step size's
    power iteration, the first dual matrix). Also: the peak device memory of each fit
    (``torch.cuda.max_memory_allocated``; the torch backend holds X and one n × d temporary).

The record goes to ``--json`` (default gpu_check.json), a summary to stdout. The capped fits end
with ``converged`` false by design (their ConvergenceWarning is silenced here)::

    python benchmarks/gpu_check.py                               # one GPU, ~5 min
    python benchmarks/gpu_check.py --device cpu --sizes 12 16 --agreement-d 10   # seconds, no GPU

The exit status is 1 when (a) fails, 0 otherwise. ``--help`` works without torch.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

#: Relative objective difference allowed between NumPy and the device (rounding of float64 GEMMs
#: summed in another order, accumulated over a few hundred iterations: ~1e-13 on the CPU).
AGREEMENT_RTOL = 1e-10
#: The paper's largest sample size, n = d^(1 + κ) with κ = 1.2 (configs/paper.yaml's stop).
PAPER_KAPPA = 1.2
#: Seed of the drawn problems (any fixed integer: the check compares runs, not seeds).
SEED = 0


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="gpu_check.py",
        description="GPU vs NumPy agreement of one quadratic fit, then the cost of capped fits at the paper's "
        "largest n (time per iteration, setup, peak device memory).",
    )
    parser.add_argument("--device", default="cuda", help="PyTorch device to check (default: cuda)")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[400, 800], help="d of the cost part, n = d^2.2 (default: 400 800)"
    )
    parser.add_argument("--max-iter", type=int, default=20, help="iteration cap of the cost fits (default: 20)")
    parser.add_argument("--agreement-d", type=int, default=100, help="d of the agreement fit (default: 100)")
    parser.add_argument(
        "--lam-exponent", type=float, default=0.0, help="ℓ of the cost fits, λ = d^ℓ (default: 0, the middle schedule)"
    )
    parser.add_argument("--json", default="gpu_check.json", help="record to write (default: gpu_check.json)")
    args = parser.parse_args(argv)
    if args.max_iter < 2:
        parser.error(f"--max-iter must be >= 2 (the time per iteration needs two caps); got {args.max_iter}")
    if min(args.sizes) < 2 or args.agreement_d < 2:
        parser.error("--sizes and --agreement-d must be >= 2")
    return args


def _fit(problem: Any, lam: float, device: str, tol: float, max_iter: int) -> tuple[Any, float]:
    """One FISTA fit and its wall time (s), the cap's ConvergenceWarning silenced."""
    from shallowscaling.estimators.psd_convex import fit_psd_convex

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = fit_psd_convex(problem.x, problem.y, lam, tol=tol, max_iter=max_iter, device=device, method="fista")
    return result, time.perf_counter() - start


def _agreement(d: int, device: str) -> dict[str, Any]:
    from shallowscaling.tasks.problem import draw_problem

    n, lam = d * d, float(d) ** 0.5
    problem = draw_problem("quadratic", d, 1.0, 0.5, n, SEED, 0)
    reference, reference_s = _fit(problem, lam, "numpy", 1e-8, 5000)
    result, seconds = _fit(problem, lam, device, 1e-8, 5000)
    difference = abs(result.objective - reference.objective) / abs(reference.objective)
    return {
        "d": d,
        "n": n,
        "lam": lam,
        "objective_numpy": reference.objective,
        "objective_device": result.objective,
        "relative_difference": difference,
        "rtol": AGREEMENT_RTOL,
        "passed": bool(difference <= AGREEMENT_RTOL),
        "iterations_numpy": reference.iterations,
        "iterations_device": result.iterations,
        "converged": [reference.converged, result.converged],
        "seconds_numpy": reference_s,
        "seconds_device": seconds,
    }


def _cost(d: int, device: str, max_iter: int, lam_exponent: float, torch: Any) -> dict[str, Any]:
    from shallowscaling.config import lam_value, n_from_exponent
    from shallowscaling.tasks.problem import draw_problem

    n = n_from_exponent("quadratic", d, PAPER_KAPPA)
    lam = lam_value(d, lam_exponent)
    design_gb = 8.0 * n * d / 1e9
    start = time.perf_counter()
    # Held in host memory (design_memory above its size): drawn once, used by both fits.
    problem = draw_problem("quadratic", d, 1.0, 0.5, n, SEED, 0, design_memory=2.0 * design_gb + 1.0)
    record: dict[str, Any] = {"d": d, "n": n, "lam": lam, "design_gb": design_gb}
    record["draw_seconds"] = time.perf_counter() - start
    cuda = torch.device(device).type == "cuda"
    runs = []
    for cap in (1, max_iter):
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        try:
            result, seconds = _fit(problem, lam, device, 1e-12, cap)
        except torch.cuda.OutOfMemoryError as error:
            record["error"] = f"out of device memory at max_iter={cap}: {str(error).splitlines()[0]}"
            return record
        if cuda:
            torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated() / 1e9 if cuda else None
        runs.append({"max_iter": cap, "iterations": result.iterations, "seconds": seconds, "peak_device_gb": peak})
        runs[-1].update(status=result.status, objective=result.objective, kkt_residual=result.kkt_residual)
    first, last = runs
    per_iteration = (last["seconds"] - first["seconds"]) / max(last["iterations"] - first["iterations"], 1)
    record.update(
        runs=runs,
        seconds_per_iteration=per_iteration,
        fit_setup_seconds=first["seconds"] - first["iterations"] * per_iteration,
        peak_device_gb=max((run["peak_device_gb"] or 0.0) for run in runs) if cuda else None,
    )
    return record


def _summary(record: dict[str, Any]) -> list[str]:
    agreement = record["agreement"]
    lines = [
        f"device {record['device']} ({record['device_name']}), torch {record['torch']}",
        f"(a) agreement d={agreement['d']} n={agreement['n']}: objective numpy {agreement['objective_numpy']:.15g}, "
        f"device {agreement['objective_device']:.15g}, relative difference {agreement['relative_difference']:.2e} "
        f"(<= {AGREEMENT_RTOL:g}: {'ok' if agreement['passed'] else 'FAILED'}); iterations "
        f"{agreement['iterations_numpy']}/{agreement['iterations_device']}, "
        f"{agreement['seconds_numpy']:.1f} s / {agreement['seconds_device']:.1f} s",
    ]
    for size in record["sizes"]:
        head = f"(b) d={size['d']} n={size['n']} (X {size['design_gb']:.2f} GB): draw {size['draw_seconds']:.1f} s"
        if "error" in size:
            lines.append(f"{head}; {size['error']}")
            continue
        peak = "n/a" if size["peak_device_gb"] is None else f"{size['peak_device_gb']:.2f} GB"
        lines.append(
            f"{head}, fit setup {size['fit_setup_seconds']:.1f} s, {size['seconds_per_iteration']:.3f} s/iteration "
            f"over {size['runs'][-1]['iterations']} iterations, peak device memory {peak}"
        )
    lines.append(f"total {record['seconds']:.0f} s")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    # torch only now: --help and argument errors work where it is not installed.
    import torch

    start = time.perf_counter()
    cuda = torch.device(args.device).type == "cuda"
    if cuda and not torch.cuda.is_available():
        print(f"gpu_check.py: error: --device {args.device} needs a CUDA GPU; none is available", file=sys.stderr)
        return 2
    record: dict[str, Any] = {
        "device": args.device,
        "device_name": torch.cuda.get_device_name(torch.device(args.device)) if cuda else "host CPU",
        "torch": torch.__version__,
        "max_iter": args.max_iter,
        "lam_exponent": args.lam_exponent,
    }
    record["agreement"] = _agreement(args.agreement_d, args.device)
    record["sizes"] = [_cost(d, args.device, args.max_iter, args.lam_exponent, torch) for d in args.sizes]
    record["seconds"] = time.perf_counter() - start
    Path(args.json).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print("\n".join(_summary(record)))
    return 0 if record["agreement"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
