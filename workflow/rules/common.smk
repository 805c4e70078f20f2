# Shared helpers: validated config, canonical wildcard values, code hashes, target lists.
import json
import math
import os
import shlex
import sys
from pathlib import Path

from shallowscaling.config import check_cuda, fig2_points, format_float, n_grid, se_n_grid, tail_sweep, uses_cuda, validate_config
from shallowscaling.errors import ConfigError
from shallowscaling.tasks.exponents import check_scaling_config

# Fail before any job runs, in one line naming the key, the value and what is allowed.
try:
    config.update(validate_config(config))
except ConfigError as error:
    sys.exit(f"shallowscaling: config error: {error}")


# Fits sent to CUDA (quadratic.device) need torch and a GPU: checked once, before the first job,
# by the process that schedules the jobs (`onstart` runs neither in dry runs nor inside a job).
# A cluster executor's jobs run on GPU nodes, so there only torch must import on the submitting
# machine; SHALLOWSCALING_SKIP_CUDA_CHECK=1 skips the check.
onstart:
    try:
        check_cuda(config, need_gpu=workflow.local_exec)
    except ConfigError as error:
        sys.exit(f"shallowscaling: config error: {error}")



envvars:
    "PATH",


# Jobs must find the interpreter that runs Snakemake (SLURM jobs start with a bare PATH).
# Not a param: the path must not become a rerun trigger.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

# For `--use-conda`: the same environment as a conda user's (it installs this package with pip).
CONDA_ENV = "../../environment.yml"

MODELS = ["diagonal", "quadratic"]
FLOAT = r"-?[0-9]+(\.[0-9]+)?"

# One BLAS thread per job: parallelism comes from Snakemake jobs.
THREADS_ENV = "OPENBLAS_NUM_THREADS={threads} OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}"


wildcard_constraints:
    model="diagonal|quadratic",
    estimator="lasso|network|convex",
    d=r"[0-9]+",
    n=r"[0-9]+",
    gamma=FLOAT,
    noise=FLOAT,
    lam_exponent=FLOAT,


# Code hashes: each rule's `code` param hashes the import closure of the modules its verb runs
# (shallowscaling.workflow.code_hash.RULES), so an edit reruns exactly the jobs whose code changed.
from shallowscaling.workflow.code_hash import rule_code


def stem(model, d, gamma, noise, lam_exponent):
    return f"d{d}_gamma{format_float(gamma)}_noise{format_float(noise)}_lexp{format_float(lam_exponent)}"


def sweep(model, section=None):
    """Every (d, gamma, noise, lam_exponent) combination of a model's sweep (or of `section`)."""
    c = section or config[model]
    return [(d, g, s, l) for d in c["d"] for g in c["gamma"] for s in c["noise"] for l in c["lam_exponent"]]


def fit_files(model, folder="fits"):
    c = config[model]
    return [
        f"results/{folder}/{model}/{estimator}/{stem(model, d, g, s, l)}_n{n}.parquet"
        for estimator in c["estimators"]
        for (d, g, s, l) in sweep(model)
        for n in n_grid(model, d, c["n_eff_exponent"])
    ]


def se_files(model):
    return [f"results/se/{model}/{stem(model, *point)}.parquet" for point in sweep(model)]


def reference_files(model, kind):
    """Bayes-optimal (`bayes`) or optimal-λ ERM (`optimal`) SE curves, if the config asks for them."""
    c = config[model]
    if not c["se"]["bayes" if kind == "bayes" else "optimal_lam"]:
        return []
    return [
        f"results/se/{model}/{kind}/d{d}_gamma{format_float(g)}_noise{format_float(s)}.parquet"
        for d in c["d"]
        for g in c["gamma"]
        for s in c["noise"]
    ]


def all_targets():
    fig3 = [f"results/figures/fig3_{model}.{ext}" for model in MODELS for ext in ("pdf", "png")]
    # scaling_targets() lives in scaling.smk (included after this file, before `rule all`).
    return fig3 + spectral_targets() + scaling_targets()


# --- spectral stage (spectra.smk): sweeps, tables and figure targets -----------------------------

# Which collected table each spectral figure is drawn from.
SPECTRAL_FIGURE_TABLES = {"fig2": "fig2", "fig6": "spectra", "fig7": "spectra", "fig8": "pruning"}


TAIL = tail_sweep(config)


def tail_points():
    """Every (d, gamma, noise, lam_exponent) of the quadratic spectra.tail sweep (phase II at larger d)."""
    return sweep("quadratic", {**config["quadratic"], "d": TAIL["d"], "lam_exponent": TAIL["lam_exponent"]})


# Figure 2's extra points (spectra.fig2), one n each, by (model, d, γ, ℓ) as the wildcards spell them.
FIG2_POINTS = {
    (model, str(p["d"]), format_float(p["gamma"]), format_float(p["lam_exponent"])): p
    for model in MODELS
    for p in fig2_points(config, model).values()
}


def sweep_n(wildcards):
    """The simulated sample sizes of the sweep a job belongs to (the tail sweep's and Figure 2's
    extra points' d are their own)."""
    extra = FIG2_POINTS.get((wildcards.model, wildcards.d, wildcards.gamma, wildcards.lam_exponent))
    if extra is not None:
        return [extra["n"]]
    d = int(wildcards.d)
    in_tail = wildcards.model == "quadratic" and d in TAIL["d"]
    return n_grid(wildcards.model, d, TAIL["n_eff_exponent"] if in_tail else config[wildcards.model]["n_eff_exponent"])


def sweep_point_files(wildcards, folder):
    """The per-point files of every n of one sweep, in n order: the fit job's (`fits`, `weights`)
    or the prune job's (`pruning/points`)."""
    prefix = f"results/{folder}/{wildcards.model}/{wildcards.estimator}"
    point = f"d{wildcards.d}_gamma{wildcards.gamma}_noise{wildcards.noise}_lexp{wildcards.lam_exponent}"
    return [f"{prefix}/{point}_n{n}.parquet" for n in sweep_n(wildcards)]


def fit_point_file(wildcards, folder):
    """The fit job's file of the point a job belongs to: its `fits`, `weights` or `solutions`."""
    point = f"d{wildcards.d}_gamma{wildcards.gamma}_noise{wildcards.noise}_lexp{wildcards.lam_exponent}"
    return f"results/{folder}/{wildcards.model}/{wildcards.estimator}/{point}_n{wildcards.n}.parquet"


def quadratic_solver_flags(wildcards):
    """The quadratic fits' solver keys as flags: none for the diagonal fits, and `method` only
    for the convex estimator (the CLI refuses a flag that would do nothing)."""
    if wildcards.model != "quadratic":
        return ""
    solver = config["quadratic"]["solver"]
    flags = f"--design-memory {solver.get('design_memory', 1.0)}"
    if wildcards.estimator == "convex":
        flags += f" --solver-method {solver.get('method', 'auto')}"
    if solver.get("block_size") is not None:
        flags += f" --block-size {solver['block_size']}"
    return flags


def device_flag(wildcards):
    """`--device cuda` for the fits that quadratic.device sends to a GPU, else nothing (NumPy)."""
    return "--device cuda" if uses_cuda(config, wildcards.model, int(wildcards.d)) else ""


def gpus(wildcards):
    """GPUs a fit job asks for: the SLURM executor's `gpu` resource (sbatch --gpus)."""
    return 1 if uses_cuda(config, wildcards.model, int(wildcards.d)) else 0


def quadratic_se_flags(wildcards):
    """The quadratic SE keys as flags of `predict` (the diagonal SE has no such keys)."""
    if wildcards.model != "quadratic":
        return ""
    se = config["quadratic"]["se"]
    return (
        f"--route {se['route']} --n-draws {se['n_draws']} --mc-rtol {se['mc_rtol']} --max-draws {se['max_draws']}"
    )


def width_flag(wildcards):
    width = config["quadratic"]["width"]
    return f"--width {width}" if wildcards.model == "quadratic" and width is not None else ""


def in_sweep(model, lam_exponent):
    """`lam_exponent` if the model's sweep has that λ = d^ℓ schedule, else None (nothing to draw)."""
    return lam_exponent if lam_exponent in config[model]["lam_exponent"] else None


def spectra_files(model):
    c = config[model]
    points = sweep(model) + (tail_points() if model == "quadratic" else [])
    return [
        f"results/spectra/{model}/{estimator}/{stem(model, *point)}.parquet"
        for estimator in c["estimators"]
        for point in points
    ]


def pruning_files(model):
    c = config[model]
    ell = in_sweep(model, config["spectra"]["weak_lam_exponent"])
    if ell is None:
        return []
    return [
        f"results/pruning/{model}/{estimator}/{stem(model, d, g, s, ell)}.parquet"
        for estimator in c["estimators"]
        for d in c["d"]
        for g in c["gamma"]
        for s in c["noise"]
    ]


def fig2_files(model):
    """Density tables of the two Figure-2 sweeps (largest d, first γ, Δ and estimator), then those
    of the extra points (spectra.fig2): the figure tells them apart by d, first the sweep's."""
    c = config[model]
    ells = [in_sweep(model, config["spectra"][key]) for key in ("weak_lam_exponent", "strong_lam_exponent")]
    points = [(max(c["d"]), c["gamma"][0], ell) for ell in dict.fromkeys(ells) if ell is not None]
    if points:
        points += [(p["d"], p["gamma"], p["lam_exponent"]) for p in fig2_points(config, model).values()]
    return [
        f"results/densities/{model}/{c['estimators'][0]}/{stem(model, d, g, c['noise'][0], ell)}.parquet"
        for d, g, ell in points
    ]


COLLECTED_TABLES = {"spectra": spectra_files, "pruning": pruning_files, "fig2": fig2_files}


def spectral_targets():
    """Figures 2, 6, 7, 8 of each model (6 and 8 need the weak-λ schedule in the sweep, 2 either one)."""
    targets = []
    for model in MODELS:
        names = ["fig7"] + (["fig2"] if fig2_files(model) else [])
        if in_sweep(model, config["spectra"]["weak_lam_exponent"]) is not None:
            names += ["fig6", "fig8"]
        targets += [f"results/figures/{name}_{model}.{ext}" for name in sorted(names) for ext in ("pdf", "png")]
    return targets


# --- scaling stage (scaling.smk): SE exponents, heat map, Figures 1, 4, 5 --------------------------

# Windows outside their phase, a peak bracket without n_eff = d, ...: fail before any job runs.
try:
    check_scaling_config(config)
except ConfigError as error:
    sys.exit(f"shallowscaling: config error: {error}")

SCALING = config["scaling"]
SCALING_NOISES = {"noisy": SCALING["noise"], "noiseless": 0.0}


def diagram(noise):
    """Which windows a scaling job uses: the noiseless diagram's at Δ = 0."""
    return "noiseless" if float(noise) == 0.0 else "noisy"


def scaling_se_files():
    g = format_float(SCALING["gamma"])
    return [
        f"results/scaling/se/{model}/d{d}_gamma{g}_noise{format_float(noise)}.parquet"
        for model in MODELS
        for noise in SCALING_NOISES.values()
        for d in SCALING["se_d"][model]
    ]


def exponent_fit_files():
    """The fits the simulated exponents read: at the largest d of the main sweep (Δ = scaling.noise)
    and of the Figure-5 sweep (Δ = 0), the points of each window that moves along κ (its schedule
    λ = d^ℓ, κ = log_d n_eff inside [lo, hi])."""
    files = []
    for model in MODELS:
        c = config[model]
        if SCALING["gamma"] not in c["gamma"]:
            continue
        sweeps = [("noisy", c, SCALING["noise"]), ("noiseless", {**c, **SCALING["fig5"][model]}, 0.0)]
        for name, sweep_config, noise in sweeps:
            if name == "noisy" and noise not in c["noise"]:
                continue
            d = max(sweep_config["d"])
            points = set()
            for window in SCALING["windows"][model][name].values():
                ell = window["lam_exponent"]
                if isinstance(ell, list) or ell not in sweep_config["lam_exponent"]:
                    continue  # the peak (λ moves) or a schedule the sweep does not run
                lo, hi = window["kappa"]
                for n in n_grid(model, d, sweep_config["n_eff_exponent"]):
                    kappa = math.log(n / d if model == "quadratic" else n) / math.log(d)
                    if lo - 1e-9 <= kappa <= hi + 1e-9:
                        points.add((ell, n))
            files += [
                f"results/fits/{model}/{estimator}/{stem(model, d, SCALING['gamma'], noise, ell)}_n{n}.parquet"
                for estimator in c["estimators"]
                for ell, n in sorted(points)
            ]
    return files


def fig5_files(model, folder):
    """The Δ = 0 sweep of Figure 5: its fit files (`fits`) or SE curves (`se`)."""
    c, f5 = config[model], SCALING["fig5"][model]
    points = [(d, ell) for d in f5["d"] for ell in f5["lam_exponent"]]
    if folder == "se":
        return [f"results/se/{model}/{stem(model, d, SCALING['gamma'], 0.0, ell)}.parquet" for d, ell in points]
    return [
        f"results/fits/{model}/{estimator}/{stem(model, d, SCALING['gamma'], 0.0, ell)}_n{n}.parquet"
        for estimator in c["estimators"]
        for d, ell in points
        for n in n_grid(model, d, f5["n_eff_exponent"])
    ]


def scaling_targets():
    """Figures 1, 4, 5 of each model and the exponent table."""
    figures = [
        f"results/figures/{name}_{model}.{ext}"
        for name in ("fig1", "fig4", "fig5")
        for model in MODELS
        for ext in ("pdf", "png")
    ]
    return [*figures, "results/tables/exponents.parquet", "results/tables/exponents.csv"]
