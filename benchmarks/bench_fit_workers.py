"""Replicates in parallel: wall time of one quadratic fit job with 1 and with W workers.

Run: ``OPENBLAS_NUM_THREADS=1 python benchmarks/bench_fit_workers.py [--d 200] [--workers 2]``.
Fits R = W replicates of one quadratic convex point (default d = 200, n/d² = 0.5, λ = 1, the
default study's largest class of point) once serially and once with ``workers=W``, in the same
process on the same data, checks that the three tables are identical bit for bit, and prints the
wall times and their ratio (the speed-up; at most W, less when the workers share memory
bandwidth or the machine has fewer than W idle cores). One BLAS thread per worker: the BLAS
itself is not threaded, which is what keeps the results bit-identical (a 2-thread BLAS moved this
fit's excess risk by 6e-15 relative and its certificates by 6e-9, docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import os
import time

import pandas as pd

from shallowscaling.tasks.fit import fit_replicates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--d", type=int, default=200)
    parser.add_argument("--sample-ratio", type=float, default=0.5, help="n/d² (default 0.5)")
    parser.add_argument("--lam", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        raise SystemExit("set OPENBLAS_NUM_THREADS=1: each worker must run one BLAS thread")
    n = round(args.sample_ratio * args.d**2)
    point = dict(model="quadratic", estimator="convex", d=args.d, gamma=1.0, noise=0.5, n=n, lam=args.lam, seed=0,
                 replicates=args.workers, tol=1e-7, max_iter=20000)  # fmt: skip
    times, tables = {}, {}
    for workers in (1, args.workers):
        start = time.perf_counter()
        tables[workers] = fit_replicates(**point, workers=workers)
        times[workers] = time.perf_counter() - start
    for name in ("fits", "weights", "solution"):
        pd.testing.assert_frame_equal(getattr(tables[1], name), getattr(tables[args.workers], name), check_exact=True)
    print(json.dumps({"d": args.d, "n": n, "lam": args.lam, "replicates": args.workers, "serial_s": times[1],
                      "parallel_s": times[args.workers], "speed_up": times[1] / times[args.workers],
                      "bit_identical": True, "cpus": os.cpu_count()}))  # fmt: skip


if __name__ == "__main__":
    main()
