# Shared helpers: validated config, canonical wildcard values, code hashes, target lists.
import hashlib
import os
import sys
from pathlib import Path

from shallowscaling.config import format_float, n_grid, se_n_grid, validate_config

# Fail before any job runs, naming the key, the value and what is allowed.
config.update(validate_config(config))

envvars:
    "PATH",


# Jobs must find the interpreter that runs Snakemake (SLURM jobs start with a bare PATH).
# Not a param: the path must not become a rerun trigger.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

# For `--use-conda`: the same environment as a conda user's (it installs this package with pip).
CONDA_ENV = "../../environment.yml"

PACKAGE = Path(workflow.basedir) / "src" / "shallowscaling"
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


def code_hash(*modules):
    """SHA-256 of the package modules (files or folders) a rule depends on.

    Snakemake does not see code inside an installed package; putting this hash in `params`
    makes an edit rerun exactly the jobs whose code changed.
    """
    digest = hashlib.sha256()
    for module in modules:
        path = PACKAGE / module
        files = sorted(path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(PACKAGE)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


COMMON_MODULES = ("config.py", "seeding.py", "targets.py", "data.py", "_validation.py", "results.py", "io")
FIT_MODULES = {
    ("diagonal", "lasso"): ("estimators/lasso.py",),
    ("diagonal", "network"): ("estimators/diagonal_network.py",),
    ("quadratic", "convex"): ("estimators/psd_convex.py", "estimators/_psd_operators.py"),
    ("quadratic", "network"): ("estimators/quadratic_network.py", "estimators/_psd_operators.py"),
}
SE_MODULES = {
    "diagonal": ("state_evolution/diagonal.py",),
    "quadratic": (
        "state_evolution/quadratic_mc.py",
        "state_evolution/quadratic_deterministic.py",
        "state_evolution/free_convolution.py",
    ),
}


def fit_code(wildcards):
    return code_hash(*COMMON_MODULES, "tasks/problem.py", "tasks/fit.py", *FIT_MODULES[(wildcards.model, wildcards.estimator)])


def se_code(wildcards):
    return code_hash(*COMMON_MODULES, "tasks/problem.py", "tasks/predict.py", *SE_MODULES[wildcards.model])


def stem(model, d, gamma, noise, lam_exponent):
    return f"d{d}_gamma{format_float(gamma)}_noise{format_float(noise)}_lexp{format_float(lam_exponent)}"


def sweep(model):
    """Every (d, gamma, noise, lam_exponent) combination of a model's sweep."""
    c = config[model]
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


def all_targets():
    return [f"results/figures/fig3_{model}.{ext}" for model in MODELS for ext in ("pdf", "png")]
