"""Regenerate ``src/shallowscaling/resources/cost_model.json``: the runs its calibration was fitted to.

Three Snakemake runs, each into its own folder under WORKDIR, then ``shallowscaling plan
--calibrate`` over their ``benchmarks/`` folders (each with the overlays it ran with):

1. ``default``: the whole default study (``config.yaml``, ~25 min on 2 cores);
2. ``larger``: default config, single targets beyond its sizes: quadratic convex fits at
   d = 120, 160, 200 (n up to 1.15·10⁵, all three λ schedules, including the slow λ = 1/d near the
   interpolation peak), LASSO fits at d = 800 (n up to 10⁵), two quadratic spectra jobs at d = 200
   and the Monte-Carlo SE at d = 200, 400 (~15 min);
3. ``paper``: ``configs/paper.yaml``, the quadratic SE on its deterministic route, the Bayes-optimal
   and optimal-λ curves at d = 100–800 (~10 min; optimal λ at d = 400 and 800 fails on this
   route at the time of writing, so it is not requested).

Every fit table must stay where the run wrote it (``results/fits/``): the calibration reads its
iteration counts. Run on an idle machine (or pass the folders of your own cluster runs to
``shallowscaling plan --calibrate`` instead)::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/calibrate_cost_model.py WORKDIR [--cores 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from shallowscaling.config import format_float
from shallowscaling.workflow.study import PATHS, StudyPoint, template

ROOT = Path(__file__).resolve().parents[1]
PAPER = ROOT / "configs" / "paper.yaml"


def _point(model: str, d: int, ell: float, n: int | None = None, estimator: str | None = None) -> StudyPoint:
    """A point of the calibration runs: γ = 1, Δ = 0.5."""
    return StudyPoint(model, estimator, d, 1.0, 0.5, ell, n)


def _reference(kind: str, model: str, d: int) -> str:
    """A Bayes-optimal (`bayes`) or optimal-λ (`optimal`) SE curve of the calibration runs."""
    return template(PATHS[kind], model=model, d=d, gamma=format_float(1.0), noise=format_float(0.5))


LARGER_TARGETS = [
    *(_point("quadratic", d, ell, n, "convex").path("fit")
      for d, ell, n in [(120, -1, 1030), (120, 0, 5500), (120, 0.5, 37000), (160, -1, 1600),
                        (160, -1, 25600), (160, 0, 9400), (160, 0.5, 70000), (200, -1, 2000),
                        (200, 0, 12000), (200, 0.5, 115000)]),
    *(_point("diagonal", 800, ell, n, "lasso").path("fit")
      for ell, n in [(-1, 800), (-1, 3000), (0, 100000), (0.5, 30000)]),
    _point("quadratic", 200, 0.5, estimator="convex").path("spectra"),
    _point("quadratic", 200, 0, estimator="convex").path("spectra"),
    *(_point("quadratic", d, ell).path("se") for d in (200, 400) for ell in (-1, 0.5)),
]  # fmt: skip
PAPER_TARGETS = [
    *(_point("quadratic", d, ell).path("se") for d in (100, 200, 400, 800) for ell in (-1, 0, 0.5)),
    *(_reference("bayes", "quadratic", d) for d in (100, 200, 400, 800)),
    *(_reference("optimal", "quadratic", d) for d in (100, 200)),
    *(_point("diagonal", 800, ell).path("se") for ell in (-1, 0, 0.5)),
    _reference("bayes", "diagonal", 800),
    _reference("optimal", "diagonal", 800),
]  # fmt: skip


def _snakemake(workdir: Path, cores: int, overlays: list[Path], targets: list[str]) -> None:
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
               str(workdir), "--cores", str(cores), "--keep-going"]  # fmt: skip
    if overlays:
        command += ["--configfile", *map(str, overlays)]
    # Targets before a multi-value option would be swallowed by it: pass them last, after `--`.
    subprocess.run([*command, "--", *targets], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path, help="folder for the three runs (default/, larger/, paper/)")
    parser.add_argument("--cores", type=int, default=2, help="Snakemake --cores (default 2)")
    parser.add_argument("--output", type=Path, help="cost-model JSON to write (default: the repository's)")
    args = parser.parse_args()
    runs = [
        (args.workdir / "default", [], []),
        (args.workdir / "larger", [], LARGER_TARGETS),
        (args.workdir / "paper", [PAPER], PAPER_TARGETS),
    ]
    for workdir, overlays, targets in runs:
        _snakemake(workdir, args.cores, overlays, targets)
    command = [sys.executable, "-m", "shallowscaling", "plan"]
    for workdir, overlays, _ in runs:
        command += ["--calibrate", str(workdir / "benchmarks"), *map(str, overlays)]
    if args.output:
        command += ["--output", str(args.output)]
    subprocess.run(command, check=True)


if __name__ == "__main__":
    main()
