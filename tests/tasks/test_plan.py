"""`shallowscaling plan`: Snakemake's own job list, calibrated costs, and the SLURM profile sized from them."""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import yaml

from shallowscaling.cli import main
from shallowscaling.config import n_grid
from shallowscaling.workflow import plan
from shallowscaling.workflow.plan import JobResources

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
PAPER = ROOT / "configs" / "paper.yaml"
PROFILE = ROOT / "workflow" / "profiles" / "slurm" / "config.yaml"
TSV_HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def _snakemake_job_counts(tmp_path: Path, overlay: Path) -> dict[str, int]:
    """Snakemake's own "Job stats" table of a dry run into an empty folder."""
    done = subprocess.run(
        [sys.executable, "-m", "snakemake", "--dry-run", "--snakefile", str(ROOT / "Snakefile"),
         "--directory", str(tmp_path / "reference"), "--configfile", str(overlay)],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    table = (done.stdout + done.stderr).split("Job stats:", 1)[1]
    counts = {}
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\S+)\s+(\d+)\s*$", line)
        if match is None:
            break
        counts[match.group(1)] = int(match.group(2))
    return counts


@pytest.fixture(scope="module")
def tiny_jobs() -> list[plan.PlannedJob]:
    return plan.dry_run_jobs([TINY])


@pytest.fixture(scope="module")
def tiny_plan(tiny_jobs) -> plan.Plan:
    return plan.estimate_plan(tiny_jobs, plan.study_config([TINY]), plan.load_cost_model())


@pytest.mark.slow
def test_plan_counts_the_jobs_of_snakemake_dry_run(tmp_path, capsys, monkeypatch, tiny_jobs) -> None:
    expected = _snakemake_job_counts(tmp_path, TINY)
    # The CLI on the jobs of the same dry run (made once for this module by the fixture).
    monkeypatch.setattr(plan, "dry_run_jobs", lambda configfiles: tiny_jobs)
    assert main(["plan", "--configfile", str(TINY), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    counts = {row["rule"]: row["jobs"] for row in report["rules"]}
    assert counts == {rule: n for rule, n in expected.items() if rule != "total"}
    assert report["jobs"] == expected["total"]
    for row in report["rules"]:
        if row["rule"] in plan.TARGET_RULES:
            assert row["core_hours"] == 0.0  # `all` only names the targets
            continue
        for key in ("core_hours", "longest_job_hours", "peak_mem_mb", "core_hours_factor", "peak_mem_factor"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["rule"], key, row[key])
        assert row["core_hours_factor"] >= 1.0 and row["peak_mem_factor"] >= 1.0
    # The table the README shows: one line per rule and the total.
    assert main(["plan", "--configfile", str(TINY)]) == 0
    text = capsys.readouterr().out
    assert f"{expected['total']} jobs" in text and re.search(rf"^total\s+{expected['total']}\s", text, re.M)


@pytest.mark.slow
def test_every_job_gets_its_sweep_and_replicates(tiny_plan) -> None:
    # The inner points are read from the config as the rules do: a spectra job of the tiny study
    # covers every n of its sweep for each of its 2 replicates.
    config = plan.study_config([TINY])
    points = plan.job_points("spectra", {"model": "quadratic", "d": "8"}, config)
    assert [n for _, n, _ in points] == n_grid("quadratic", 8, config["quadratic"]["n_eff_exponent"])
    assert {reps for *_, reps in points} == {config["quadratic"]["replicates"]}
    assert (tiny_plan.jobs["seconds"] > 0).sum() == len(tiny_plan.jobs) - 1  # all but `all`


def _write_tsv(path: Path, seconds: float, rss_mb: float, cpu: float = 0.0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TSV_HEADER + f"{seconds}\t0:00:00\t{rss_mb}\t0\t0\t0\t0\t0\t0\t{cpu}\n")


def _write_quadratic_fits(run: Path) -> None:
    """Quadratic fits: s = 0.5 + Σ_replicates 1.5e-10 · iterations · n d², iterations + 1 =
    exp(P(κ) + 0.2 log d), with the tables of iterations where the run writes them."""
    rng = np.random.default_rng(0)
    for d in (20, 40, 80, 160):
        for kappa in (-0.3, 0.2, 0.6, 1.0):
            n = round(d ** (1 + kappa))
            iterations = np.round(np.exp(4.0 + kappa + 0.2 * np.log(d)) * rng.uniform(0.8, 1.25, 3)) - 1
            stem = f"d{d}_gamma1_noise0.5_lexp-1_n{n}"
            _write_tsv(run / f"benchmarks/rules/fit/quadratic/convex/{stem}.tsv",
                       0.5 + 1.5e-10 * iterations.sum() * n * d**2, 150.0 + 1.5e-5 * n * d)  # fmt: skip
            table = run / f"results/fits/quadratic/convex/{stem}.parquet"
            table.parent.mkdir(parents=True, exist_ok=True)
            pd.DataFrame({"replicate": [0, 1, 2], "iterations": iterations.astype(int)}).to_parquet(table)


def test_calibration_recovers_known_exponents_from_synthetic_benchmark_files(tmp_path) -> None:
    run = tmp_path / "run"
    config = plan.study_config()
    # scaling_se, whose d exponent is fitted: s = 2 + c·G·d^0.7, G the grid points of a job.
    for d in (10, 100, 1000, 10000, 100000, 1000000):
        (grid,) = plan.job_points("scaling_se", {"model": "diagonal", "d": str(d), "noise": "0.5"}, config)
        _write_tsv(run / f"benchmarks/rules/scaling/se/diagonal/d{d}_gamma1_noise0.5.tsv",
                   2.0 + 3e-6 * grid[2] * d**0.7, 150.0)  # fmt: skip
    _write_quadratic_fits(run)
    model = plan.calibrate_cost_model([(run / "benchmarks", [])])

    scaling = model["classes"]["scaling_se/diagonal"]["seconds"]
    assert "d_exponent" in scaling["free"]
    # Noiseless synthetic data: recovered to the solver's tolerance (1e-10), well within 1e-4.
    assert scaling["d_exponent"] == pytest.approx(0.7, abs=1e-4)
    assert scaling["base"] == pytest.approx(2.0, rel=1e-4)
    fit = model["classes"]["fit/quadratic/convex"]
    # The fits' exponents stay at their complexity, O(n d²) per iteration; the rate is recovered.
    assert (fit["seconds"]["d_exponent"], fit["seconds"]["n_exponent"]) == (2.0, 1.0)
    assert fit["seconds"]["coef"]["iteration"] == pytest.approx(1.5e-10, rel=1e-4)
    assert fit["max_rss_mb"]["coef"]["*"] == pytest.approx(1.5e-5, rel=1e-4)
    # The iteration profile: the d slope put in (0.2) up to the ±12 % replicate scatter, whose
    # effect on a slope over a factor 8 in d is below 0.1.
    assert fit["iterations"]["d_slope"][0] == pytest.approx(0.2, abs=0.1)
    # The manual constants of the rules without `benchmark:` are in every model.
    assert set(plan.MANUAL_COSTS) <= set(model["classes"])


@pytest.mark.slow
def test_a_quadratic_pruning_job_costs_no_solve(tmp_path) -> None:
    # One `prune` job per sweep, reading the fit jobs' stored solutions: its time is one start-up
    # plus, per n, its SE references, 3 s + Σ_n 1e-4 · R · d² here (no refit, no iteration
    # profile). Six sweeps (three d, two noise levels) free the d exponent (5 jobs needed).
    config = plan.study_config()
    replicates = config["quadratic"]["replicates"]
    sweeps = [(d, noise) for d in (20, 40, 80) for noise in ("0.5", "1")]
    n_points = {d: len(n_grid("quadratic", d, config["quadratic"]["n_eff_exponent"])) for d, _ in sweeps}

    def seconds(d: int) -> float:
        return 3.0 + n_points[d] * 1e-4 * replicates * d**2

    for d, noise in sweeps:
        _write_tsv(tmp_path / f"benchmarks/rules/pruning/quadratic/convex/d{d}_gamma1_noise{noise}_lexp-1.tsv",
                   seconds(d), 200.0)  # fmt: skip
    model = plan.calibrate_cost_model([(tmp_path / "benchmarks", [])])
    entry = model["classes"]["prune/quadratic/convex"]
    assert "iterations_from" not in entry and entry["jobs"] == len(sweeps)
    # Noiseless synthetic data: base, coefficient and d exponent recovered well within 1e-4.
    assert entry["seconds"]["base"] == pytest.approx(3.0, rel=1e-4)
    assert entry["seconds"]["coef"]["-1"] * 20.0 ** entry["seconds"]["d_exponent"] == pytest.approx(
        1e-4 * 20.0**2, rel=1e-4
    )
    assert entry["seconds"]["n_exponent"] == 0.0
    point = {"model": "quadratic", "estimator": "convex", "teacher": "gamma1", "lam_exponent": "-1"}
    jobs = [plan.PlannedJob("prune", {**point, "d": str(d), "noise": noise}) for d, noise in sweeps]
    predicted = plan.estimate_plan(jobs, config, model).jobs["seconds"].to_numpy()
    np.testing.assert_allclose(predicted, [seconds(d) for d, _ in sweeps], rtol=1e-4)
    # The shipped cost model prices a paper-scale prune job (a sweep of 12 n at d = 800) in minutes,
    # not the days of a refit.
    paper = plan.study_config([ROOT / "configs" / "paper.yaml"])
    shipped = plan.estimate_plan([plan.PlannedJob("prune", {**jobs[0].wildcards, "d": "800"})], paper,
                                 plan.load_cost_model())  # fmt: skip
    assert shipped.jobs["seconds"].iloc[0] < 3600.0


def test_dedicated_time_trusts_cpu_time_on_a_loaded_machine(tmp_path) -> None:
    # s = 100 s of wall time but 20 s of CPU: 20 s up to one 30 s sampling gap of Snakemake's timer.
    _write_tsv(tmp_path / "rules/tables/heatmap.tsv", 100.0, 150.0, cpu=20.0)
    _write_tsv(tmp_path / "rules/tables/exponents.tsv", 10.0, 5.0, cpu=0.0)
    table = plan.read_benchmarks(tmp_path).set_index("rule")
    assert table.loc["scaling_heatmap", "seconds"] == 50.0
    assert table.loc["scaling_exponents", "seconds"] == 10.0  # no CPU sample: the wall time
    assert math.isnan(table.loc["scaling_exponents", "max_rss_mb"])  # 5 MB: the shell, not the job


def test_benchmark_patterns_follow_the_rule_files() -> None:
    patterns = plan.benchmark_patterns()
    assert {"fit", "state_evolution", "bayes_optimal", "optimal_lam", "spectra", "prune", "scaling_se"} <= set(patterns)
    match = patterns["fit"].search("benchmarks/rules/fit/quadratic/convex/d80_gamma1_noise0.5_lexp-1_n1283.tsv")
    assert match.groupdict() == {"model": "quadratic", "estimator": "convex", "d": "80", "teacher": "gamma1",
                                 "noise": "0.5", "lam_exponent": "-1", "n": "1283"}  # fmt: skip
    # The Bayes-optimal curves are not state-evolution jobs with model "diagonal/bayes".
    assert patterns["state_evolution"].search("rules/se/diagonal/bayes/d100_gamma1_noise0.5.tsv") is None


def test_plan_reads_neither_the_rule_files_nor_snakemake_output() -> None:
    # The jobs come from the study model, the benchmark templates from its path table.
    for path in (ROOT / "src" / "shallowscaling" / "workflow").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "RULES_DIR" not in text and '"*.smk"' not in text, path.name
        assert "import subprocess" not in text, path.name


@pytest.mark.parametrize(
    ("overlay", "fragments"),
    [
        (None, ["--configfile", "no such file", "missing.yaml"]),
        ("diagonal:\n  d: [1]\n", ["diagonal.d[0]", "1"]),
        ("diagonal:\n  bogus: 1\n", ["bogus"]),
    ],
)
def test_bad_configfile_exits_2_naming_key_and_value(tmp_path, capsys, overlay, fragments) -> None:
    path = tmp_path / "missing.yaml"
    if overlay is not None:
        path = tmp_path / "overlay.yaml"
        path.write_text(overlay)
    with pytest.raises(SystemExit) as info:
        main(["plan", "--configfile", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("shallowscaling plan: error:")
    for fragment in fragments:
        assert fragment in err
    assert "Traceback" not in err


@functools.cache
def _set_resources() -> dict[str, dict[str, str]]:
    """The set-resources block `plan --configfile configs/paper.yaml --resources` prints."""
    estimate = plan.estimate_plan(plan.dry_run_jobs([PAPER]), plan.study_config([PAPER]), plan.load_cost_model())
    return yaml.safe_load(plan.slurm_resources(estimate, plan.load_cost_model()))["set-resources"]


def _requests(rule: str, wildcards: dict[str, str], attempt: int) -> dict[str, int]:
    """Evaluate the printed set-resources of one job as Snakemake does (Python expressions)."""
    namespace = {"wildcards": SimpleNamespace(**wildcards), "attempt": attempt}
    return {name: eval(text, dict(namespace)) for name, text in _set_resources()[rule].items()}


def _callables(resources: JobResources, rule: str, wildcards: dict[str, str], attempt: int) -> dict[str, int]:
    """The rules' `resources:` callables of one job, called as Snakemake calls them."""
    return {name: resources.resource(rule, name)(Wildcards(wildcards), attempt) for name in ("mem_mb", "runtime")}


class Wildcards(dict):
    """Snakemake's wildcards: a mapping with attribute access."""

    __getattr__ = dict.__getitem__


def _wildcards(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split(", ")) if text else {}


@pytest.mark.slow
def test_printed_resources_evaluate_for_every_job_of_the_tiny_study(tiny_plan) -> None:
    resources = JobResources(plan.study_config([TINY]))
    for job in tiny_plan.jobs.itertuples():
        if job.rule in plan.TARGET_RULES:
            continue
        wildcards = _wildcards(job.wildcards)
        for requests in (_requests, functools.partial(_callables, resources)):
            first, second = requests(job.rule, wildcards, 1), requests(job.rule, wildcards, 2)
            assert isinstance(first["mem_mb"], int) and isinstance(first["runtime"], int), (job.rule, first)
            assert first["mem_mb"] >= plan.MEM_FLOOR_MB and first["runtime"] >= plan.RUNTIME_FLOOR_MIN
            assert second == {k: 2 * v for k, v in first.items()}  # a retry asks for twice as much


@pytest.mark.slow
def test_rule_resources_cover_the_paper_scale_predictions() -> None:
    # Each job's request (the rules' callables, and the block `plan --resources` prints) is at
    # least its prediction (the 2σ margin on top).
    config = plan.study_config([PAPER])
    estimate = plan.estimate_plan(plan.dry_run_jobs([PAPER]), config, plan.load_cost_model())
    resources = JobResources(config)
    for job in estimate.jobs.itertuples():
        if job.rule in plan.TARGET_RULES:
            continue
        wildcards = _wildcards(job.wildcards)
        printed, own = _requests(job.rule, wildcards, 1), _callables(resources, job.rule, wildcards, 1)
        for request in (printed, own):
            assert request["runtime"] * 60 >= job.seconds, (job.rule, job.wildcards, request, job.seconds)
            assert request["mem_mb"] >= job.max_rss_mb, (job.rule, job.wildcards, request, job.max_rss_mb)


def test_slurm_profile_relies_on_the_rules_resources() -> None:
    profile = yaml.safe_load(PROFILE.read_text())
    assert "set-resources" not in profile
    for path in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"^rule ", path.read_text(), flags=re.M)[1:]:
            rule = block.split(":", 1)[0]
            if rule == "fit":  # scaled by the fit's workers (fit_mem_mb, fit_runtime in common.smk)
                assert "mem_mb=fit_mem_mb" in block and "runtime=fit_runtime" in block
                continue
            assert f'mem_mb=rule_mem_mb("{rule}")' in block and f'runtime=rule_runtime("{rule}")' in block, rule
    common = (ROOT / "workflow" / "rules" / "common.smk").read_text()
    assert 'rule_mem_mb("fit")(wildcards, attempt)' in common and 'rule_runtime("fit")(wildcards, attempt)' in common


@pytest.mark.slow
def test_gpu_jobs_are_counted_apart_from_core_hours(tiny_jobs, tiny_plan) -> None:
    # quadratic.device.cuda_min_d = 8 sends the quadratic fits at d = 8 (2 ℓ × 3 n), at the
    # tail sweep's d = 10 (2 n) and at Figure 2's extra phase-III point d = 12 (1 n) to a GPU:
    # 9 jobs, none of them a diagonal fit or another rule.
    config = plan.study_config([TINY])
    config["quadratic"]["device"] = {"cuda_min_d": 8}
    gpu_plan = plan.estimate_plan(tiny_jobs, config, plan.load_cost_model())
    on_gpu = gpu_plan.jobs[gpu_plan.jobs["gpu"] == 1]
    assert len(on_gpu) == gpu_plan.total_gpu_jobs == 9
    assert set(on_gpu["rule"]) == {"fit"}
    assert all("model=quadratic" in w and re.search(r"\bd=(8|10|12)\b", w) for w in on_gpu["wildcards"])
    fit_cpu, fit_gpu = (r.set_index("rule").loc["fit"] for r in (tiny_plan.rules, gpu_plan.rules))
    # Same predictions, split: the GPU jobs' hours leave the core-hours for the GPU-hours bound.
    assert fit_gpu["core_hours"] + fit_gpu["gpu_hours"] == pytest.approx(fit_cpu["core_hours"])
    assert fit_gpu["gpu_hours"] == pytest.approx(on_gpu["seconds"].sum() / 3600.0)
    assert tiny_plan.total_gpu_jobs == 0 and tiny_plan.total_gpu_hours == 0.0


def test_a_streamed_quadratic_fit_is_priced_at_its_memory_budget() -> None:
    # Past quadratic.solver.design_memory the design is redrawn block by block, so the planned
    # peak memory of a d = 800, n = 2.4·10⁶ fit (X alone: 15.4 GB) follows the budget, and a
    # larger budget raises it: the cap is the budget, not a constant.
    config = plan.study_config([PAPER])
    wildcards = {"model": "quadratic", "estimator": "convex", "gamma": "1", "noise": "0.5", "lam_exponent": "-1"}
    job = [plan.PlannedJob("fit", {**wildcards, "d": "800", "n": "2400000"})]
    default = plan.estimate_plan(job, config, plan.load_cost_model()).jobs["max_rss_mb"].iloc[0]
    config["quadratic"]["solver"]["design_memory"] = 8.0
    larger = plan.estimate_plan(job, config, plan.load_cost_model()).jobs["max_rss_mb"].iloc[0]
    assert default < 4000.0
    assert larger > 2.0 * default


def test_every_diagonal_lasso_fit_of_the_paper_overlay_is_planned_within_4_gb() -> None:
    # The LASSO streams a design past diagonal.solver.design_memory (its fit needs XᵀX and Xᵀy
    # only): the d = 800, n = 640000 fit (X alone: 4.1 GB, planned at 9.3 GB when held) follows
    # the budget, and a budget above X leaves the in-memory prediction.
    config = plan.study_config([PAPER])
    jobs = [job for job in plan.dry_run_jobs([PAPER]) if job.rule == "fit" and job.wildcards["model"] == "diagonal"]
    planned = plan.estimate_plan(jobs, config, plan.load_cost_model()).jobs
    assert len(planned) > 0 and planned["max_rss_mb"].max() < 4000.0
    largest = [plan.PlannedJob("fit", {**jobs[0].wildcards, "d": "800", "n": "640000"})]
    capped = plan.estimate_plan(largest, config, plan.load_cost_model()).jobs["max_rss_mb"].iloc[0]
    config["diagonal"]["solver"]["design_memory"] = 8.0
    held = plan.estimate_plan(largest, config, plan.load_cost_model()).jobs["max_rss_mb"].iloc[0]
    assert capped < 4000.0 < held


def test_the_prune_job_is_priced_at_the_fits_design_budget() -> None:
    # The diagonal prune redraws each replicate's design for the residual estimate of δ̂ under
    # diagonal.solver.design_memory (the rule's --design-memory): its d = 800 sweep (X up to
    # 4.1 GB at n = 640000) is planned at the budget (observed 0.69, 2.2 and 8.5 GB at 0.25, 1
    # and 8 GB; at 8 GB X is held whole), the d = 100 one (X ≤ 8 MB) never streams. The quadratic
    # prune reads the stored eigenpairs of Ŝ: no budget moves it.
    config = plan.study_config([PAPER])
    jobs = [job for job in plan.dry_run_jobs([PAPER]) if job.rule == "prune"]

    def planned(budget: float) -> dict[tuple[str, str], float]:
        for model in ("diagonal", "quadratic"):
            config[model]["solver"]["design_memory"] = budget
        frame = plan.estimate_plan(jobs, config, plan.load_cost_model()).jobs
        return {(j.wildcards["model"], j.wildcards["d"]): m for j, m in zip(jobs, frame["max_rss_mb"], strict=True)}

    small, default, large = planned(0.25), planned(1.0), planned(8.0)
    assert small["diagonal", "800"] < default["diagonal", "800"] < 4000.0 < large["diagonal", "800"]
    assert large["diagonal", "800"] > 3.0 * default["diagonal", "800"]
    assert small["diagonal", "100"] == default["diagonal", "100"] == large["diagonal", "100"]
    for d in ("100", "200", "400", "800"):
        assert small["quadratic", d] == default["quadratic", d] == large["quadratic", d]
