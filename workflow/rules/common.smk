# Shared helpers: validated config, canonical wildcard values, code hashes, target lists.
import json
import math
import os
import shlex
import sys
from pathlib import Path

from shallowscaling.config import check_cuda, fit_workers, format_float, se_n_grid, uses_cuda, validate_config
from shallowscaling.errors import ConfigError
from shallowscaling.tasks.exponents import check_scaling_config
from shallowscaling.workflow import study
from shallowscaling.workflow.plan import JobResources
from shallowscaling.workflow.resources import RUNTIME_FLOOR_MIN
from shallowscaling.workflow.study import BENCHMARKS, LOGS, PATHS, template
from shallowscaling.workflow.teachers import (
    TEACHER_TAG,
    check_teacher_config,
    tag_gamma,
    teacher_command,
    teacher_label,
)

# A Snakemake killed by `kill -9` (or a crash, a lost session) leaves its lock in .snakemake/locks/;
# the main process removes such a lock when no other run of this workflow is alive in the folder,
# so that the same command resumes (shallowscaling.workflow.locks; jobs on a cluster skip this).
if workflow.is_main_process:
    from shallowscaling.workflow.locks import hold_run_lock

    if hold_run_lock():
        print("shallowscaling: removed the lock left by a killed Snakemake run in this folder", file=sys.stderr)

# Fail before any job runs, in one line naming the key, the value and what is allowed.
try:
    config.update(validate_config(config))
    check_teacher_config(config)
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


# At the end of a run, finished or failed: how many fits and SE points are flagged not converged,
# and in which files (`shallowscaling summary` prints the same on demand). Never fails the run.
def print_convergence_summary():
    from shallowscaling.workflow.summary import summarize, summary_lines

    try:
        lines = summary_lines(summarize("results"))
    except Exception as error:
        lines = [f"no convergence summary ({type(error).__name__}: {error})"]
    for line in lines:
        print(f"shallowscaling: {line}", file=sys.stderr)


onsuccess:
    print_convergence_summary()


onerror:
    print_convergence_summary()


envvars:
    "PATH",


# Jobs must find the interpreter that runs Snakemake (SLURM jobs start with a bare PATH).
# Not a param: the path must not become a rerun trigger.
os.environ["PATH"] = os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", "")

FLOAT = r"-?[0-9]+(\.[0-9]+)?"

# One BLAS thread per job: parallelism comes from Snakemake jobs.
THREADS_ENV = "OPENBLAS_NUM_THREADS={threads} OMP_NUM_THREADS={threads} MKL_NUM_THREADS={threads}"
# The fits' threads are workers that each run one BLAS thread (bit-identical to a serial run).
ONE_BLAS_THREAD = "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1"


wildcard_constraints:
    model="diagonal|quadratic",
    estimator="lasso|network|convex",
    d=r"[0-9]+",
    n=r"[0-9]+",
    gamma=FLOAT,
    noise=FLOAT,
    lam_exponent=FLOAT,
    teacher=TEACHER_TAG,


# Code hashes: each rule's `code` param hashes the import closure of the modules its verb runs
# (shallowscaling.workflow.code_hash.RULES), so an edit reruns exactly the jobs whose code changed.
from shallowscaling.workflow.code_hash import rule_code


# File names, sweeps and target lists: shallowscaling.workflow.study, as pure functions of the
# validated config; the wrappers below bind this workflow's `config`.


def all_targets():
    return study.all_targets(config)


# --- spectral stage (spectra.smk): sweeps, tables and figure targets -----------------------------

# Each job's SLURM requests (mem_mb, runtime): the 2σ upper prediction of the cost model
# (shallowscaling/resources/cost_model.json) for the job itself, times `attempt`, so a retried job
# gets twice, then three times as much. A profile's set-resources still overrides them.
JOB_RESOURCES = JobResources(config)


def rule_mem_mb(rule):
    return JOB_RESOURCES.resource(rule, "mem_mb")


def fit_threads(wildcards):
    """Workers of a fit job (config.fit_workers): replicates solved in parallel."""
    return fit_workers(config, wildcards.model, int(wildcards.d))


def fit_mem_mb(wildcards, attempt):
    """A fit's memory request: each worker holds one replicate's problem."""
    return fit_threads(wildcards) * rule_mem_mb("fit")(wildcards, attempt)


def fit_runtime(wildcards, attempt):
    """A fit's runtime request: its replicates in ceil(replicates / workers) rounds."""
    serial = rule_runtime("fit")(wildcards, attempt)
    replicates = config[wildcards.model]["replicates"]
    rounds = math.ceil(replicates / fit_threads(wildcards))
    return max(RUNTIME_FLOOR_MIN * attempt, math.ceil(serial * rounds / replicates))


def rule_runtime(rule):
    return JOB_RESOURCES.resource(rule, "runtime")


def sweep_n(wildcards):
    """The simulated sample sizes of the sweep a job belongs to (study.sweep_n)."""
    return study.sweep_n(config, wildcards)


def rule_input(rule, name):
    """Input function: the files `name` of a job of `rule` (study.rule_inputs)."""
    return lambda wildcards: study.rule_inputs(config, rule, wildcards)[name]


def quadratic_solver_flags(wildcards):
    """The fits' solver keys as flags: the design budget of the LASSO and the quadratic fits, and
    `method` only for the convex estimator (the CLI refuses a flag that would do nothing)."""
    if wildcards.model != "quadratic":
        if wildcards.estimator != "lasso":
            return ""
        return f"--design-memory {config['diagonal']['solver'].get('design_memory', 1.0)}"
    solver = config["quadratic"]["solver"]
    flags = f"--design-memory {solver.get('design_memory', 1.0)}"
    if wildcards.estimator == "convex":
        flags += f" --solver-method {solver.get('method', 'auto')}"
    if solver.get("block_size") is not None:
        flags += f" --block-size {solver['block_size']}"
    return flags


def prune_design_memory_flag(wildcards):
    """`--design-memory` of a prune job: its model's fit budget (diagonal.solver.design_memory or
    quadratic.solver.design_memory), for the designs it redraws (the diagonal δ̂ from residuals; a
    quadratic refit, which the workflow never runs: it passes the stored eigenpairs)."""
    return f"--design-memory {config[wildcards.model]['solver'].get('design_memory', 1.0)}"


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


def gamma_flag(wildcards):
    """`--gamma γ` of a fit or predict job: the power law's, or the γ that keys the data stream of
    another teacher (shallowscaling.workflow.teachers)."""
    return teacher_command(config, wildcards.model, wildcards.teacher, "")[0]


def teacher_flags(wildcards, input):
    """`--teacher TABLE` for the power law; `--teacher-family ...` or `--teacher-file FILE` otherwise."""
    # str(): the input is a one-file Namedlist (its text is the path), shlex.quote needs a str
    return teacher_command(config, wildcards.model, wildcards.teacher, str(input.teacher))[1]


def teacher_label_flag(wildcards):
    """` --teacher LABEL` of Figure 3 for a teacher other than the power law, else nothing."""
    label = teacher_label(config, wildcards.model)
    return "" if label is None else f" --teacher {shlex.quote(label)}"


def power_law_gamma(wildcards):
    """γ of a spectral job: these read the power-law teacher table, the only teacher they get."""
    gamma = tag_gamma(wildcards.teacher)
    if gamma is None:
        raise ValueError(f"the spectral stage runs power-law teachers only; got {wildcards.teacher}")
    return format_float(gamma)


def width_flag(wildcards):
    width = config["quadratic"]["width"]
    return f"--width {width}" if wildcards.model == "quadratic" and width is not None else ""


# --- scaling stage (scaling.smk): SE exponents, heat map, Figures 1, 4, 5 --------------------------

# Windows outside their phase, a peak bracket without n_eff = d, ...: fail before any job runs.
try:
    check_scaling_config(config)
except ConfigError as error:
    sys.exit(f"shallowscaling: config error: {error}")

SCALING = config["scaling"]


def diagram(noise):
    """Which windows a scaling job uses: the noiseless diagram's at Δ = 0."""
    return study.diagram(noise)


def scaling_se_files():
    return study.scaling_se_files(config)


def exponent_fit_files():
    return study.exponent_fit_files(config)
