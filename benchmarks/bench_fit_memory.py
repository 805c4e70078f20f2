"""Peak memory and time per iteration of one paper-scale quadratic fit, in a fresh process.

Runs ``shallowscaling fit quadratic --estimator convex`` with a capped ``--max-iter`` as a
child process and reports its peak resident set size (``ru_maxrss`` of that child alone, from
``os.wait4``), its wall time, and the time per iteration from two caps (the difference cancels
the setup: drawing the labels, the first dual matrix, the step-size estimate). The design of
n·d·8 bytes is far above the default 1 GB budget at these sizes, so it is streamed.

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_fit_memory.py --d 600 --n 1000000
    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_fit_memory.py --d 800 --n 2400000 --iterations 1 3

Acceptance targets (issue "paper scale, part 1"): ≤ 2 GB at d = 800, n = 2.4·10⁶ and ≤ 1.5 GB
at d = 600, n = 10⁶.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time


def run_fit(d: int, n: int, lam_exponent: float, max_iter: int, method: str) -> dict:
    """One capped fit in a child process: its JSON record, peak RSS (GB) and wall time (s)."""
    command = [
        sys.executable, "-m", "shallowscaling", "fit", "quadratic", "--estimator", "convex",
        "--d", str(d), "--gamma", "1", "--noise", "0.5", "--n", str(n), "--lam-exponent", str(lam_exponent),
        "--seed", "0", "--max-iter", str(max_iter), "--solver-method", method, "--json",
    ]  # fmt: skip
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    stdout, stderr = child.stdout.read(), child.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"fit failed: {stderr.strip().splitlines()[-1] if stderr.strip() else status}")
    record = json.loads(stdout)
    # ru_maxrss is in kilobytes on Linux.
    return {"record": record, "peak_rss_gb": usage.ru_maxrss * 1024 / 1e9, "wall_s": wall, "log": stderr}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d", type=int, required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--lam-exponent", type=float, default=0.5, help="ℓ with λ = d^ℓ (default 0.5)")
    parser.add_argument("--method", default="fista", choices=("auto", "fista", "factored"))
    parser.add_argument("--iterations", type=int, nargs=2, default=(1, 2), help="the two iteration caps")
    parser.add_argument("--json", help="also write the summary to this file")
    args = parser.parse_args()
    low, high = (run_fit(args.d, args.n, args.lam_exponent, cap, args.method) for cap in args.iterations)
    iterations = high["record"]["iterations"] - low["record"]["iterations"]
    summary = {
        "d": args.d,
        "n": args.n,
        "lam_exponent": args.lam_exponent,
        "method": args.method,
        "design_gb": 8 * args.n * args.d / 1e9,
        "peak_rss_gb": max(low["peak_rss_gb"], high["peak_rss_gb"]),
        "wall_s": [low["wall_s"], high["wall_s"]],
        "iterations": [low["record"]["iterations"], high["record"]["iterations"]],
        "seconds_per_iteration": (high["wall_s"] - low["wall_s"]) / iterations if iterations > 0 else None,
        "status": high["record"]["status"],
    }
    print(json.dumps(summary, indent=1))
    print(high["log"].strip().splitlines()[-1] if high["log"].strip() else "", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(summary, handle, indent=1)


if __name__ == "__main__":
    main()
