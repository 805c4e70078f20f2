"""The study model (shallowscaling.workflow.study): its jobs are Snakemake's, its paths the rules'."""

from __future__ import annotations

import csv
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

from shallowscaling.config import load_config
from shallowscaling.workflow import dag, study
from shallowscaling.workflow.calibration import benchmark_patterns
from shallowscaling.workflow.paths import RULE_OUTPUTS

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "workflow" / "rules"
OVERLAYS = {"default": [], "tiny": [ROOT / "tests" / "configs" / "tiny.yaml"]}


def _snakemake_outputs(tmp_path: Path, overlays: list[Path]) -> set[tuple[str, str]]:
    """(output file, rule) of every job of the study, from `snakemake --summary` (a TSV) of an empty folder."""
    command = [sys.executable, "-m", "snakemake", "--summary", "--cores", "1", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(tmp_path)]  # fmt: skip
    if overlays:
        command += ["--configfile", *map(str, overlays)]
    done = subprocess.run(command, capture_output=True, text=True, check=True, timeout=300)
    rows = csv.DictReader(done.stdout.splitlines(), delimiter="\t")
    return {(row["output_file"], row["rule"]) for row in rows}


def _model_outputs(config) -> set[tuple[str, str]]:
    outputs = set()
    for job in dag.jobs(config):
        for text in RULE_OUTPUTS.get(job.rule, {}).values():
            outputs.add((study.template(text, **job.wildcards), job.rule))
    return outputs


@pytest.mark.parametrize("name", sorted(OVERLAYS))
def test_the_model_runs_the_jobs_snakemake_runs(tmp_path, name) -> None:
    config = load_config(ROOT / "config.yaml", *OVERLAYS[name])
    expected = _snakemake_outputs(tmp_path, OVERLAYS[name])
    assert _model_outputs(config) == expected
    # One job per rule and wildcards, and `rule all` once.
    jobs = dag.jobs(config)
    assert len({(job.rule, tuple(job.wildcards.items())) for job in jobs}) == len(jobs)
    assert [job.rule for job in jobs].count("all") == 1


def test_targets_are_the_files_of_rule_all() -> None:
    config = load_config(ROOT / "config.yaml")
    targets = study.all_targets(config)
    assert len(targets) == len(set(targets))
    assert study.rule_inputs(config, "all", {}) == {"targets": targets}
    assert "results/figures/fig3_diagonal.pdf" in targets and study.PATHS["exponents"] in targets


def test_point_stems_and_closed_forms() -> None:
    point = study.StudyPoint("quadratic", "convex", 200, 1.0, 0.5, -1.0, 2000)
    assert point.stem == "d200_gamma1_noise0.5_lexp-1"
    assert point.point_stem == "d200_gamma1_noise0.5_lexp-1_n2000"
    assert point.n_eff == 10.0  # n / d
    assert point.kappa == pytest.approx(math.log(10.0) / math.log(200.0), rel=1e-15)
    assert point.lam == 200.0**-1
    assert point.path("fit") == "results/fits/quadratic/convex/d200_gamma1_noise0.5_lexp-1_n2000.parquet"
    diagonal = study.StudyPoint("diagonal", "lasso", 400, 0.25, 0.0, 0.5, 8000)
    assert diagonal.stem == "d400_gamma0.25_noise0_lexp0.5"
    assert diagonal.n_eff == 8000.0 and diagonal.kappa == pytest.approx(math.log(8000) / math.log(400))
    assert diagonal.lam == pytest.approx(20.0)
    # n_eff = d^κ gives back κ.
    assert study.kappa("quadratic", 100, 100 * 100**1.5) == pytest.approx(1.5)
    assert study.StudyPoint.from_wildcards(point.wildcards) == point
    with pytest.raises(ValueError, match="no point stem"):
        _ = study.StudyPoint("diagonal", None, 20, 1.0, 0.5, 0.0).point_stem


def test_every_output_matches_back_to_its_rule_and_wildcards() -> None:
    config = load_config(ROOT / "config.yaml", *OVERLAYS["tiny"])
    for job in dag.jobs(config)[1:]:
        for text in RULE_OUTPUTS[job.rule].values():
            path = study.template(text, **job.wildcards)
            assert dag.match_path(path) == (job.rule, dict(job.wildcards)), path


def test_benchmark_files_are_matched_by_the_path_table() -> None:
    patterns = benchmark_patterns()
    assert list(patterns) == list(study.BENCHMARKS)
    wildcards = {"model": "quadratic", "estimator": "convex", "d": "80", "teacher": "gamma1", "gamma": "1",
                 "noise": "0.5", "lam_exponent": "-1", "n": "1283"}  # fmt: skip
    for rule, template in study.BENCHMARKS.items():
        names = re.findall(r"\{(\w+)\}", template)
        path = study.template(template, **{k: wildcards[k] for k in names})
        matched = [r for r, pattern in patterns.items() if pattern.search(path)]
        assert matched[0] == rule, (path, matched)
        assert patterns[rule].search(path).groupdict() == {k: wildcards[k] for k in names}


def test_rule_files_take_every_path_from_the_table() -> None:
    for path in sorted(RULES.glob("*.smk")):
        text = path.read_text(encoding="utf-8")
        for literal in ('"results/', '"logs/', '"benchmarks/', "'results/"):
            assert literal not in text, f"{path.name} spells a path: {literal}"
        assert "conda:" not in text and "CONDA_ENV" not in text, path.name
    rules = {m.group(1) for p in RULES.glob("*.smk") for m in re.finditer(r"^rule (\w+):", p.read_text(), re.M)}
    assert rules == set(RULE_OUTPUTS)
    snakefile = (ROOT / "Snakefile").read_text(encoding="utf-8")
    assert "results/" not in snakefile


def test_one_prune_job_per_sweep_reads_every_fit_of_it() -> None:
    # The default study: 6 weak-λ sweeps (3 diagonal, 3 quadratic), 66 points, one prune job each.
    config = load_config(ROOT / "config.yaml")
    prunes = [job for job in dag.jobs(config) if job.rule == "prune"]
    assert len(prunes) == 6
    assert sum(len(study.sweep_n(config, job.wildcards)) for job in prunes) == 66
    for job in prunes:
        n_values = study.sweep_n(config, job.wildcards)
        assert n_values == sorted(n_values)
        inputs = study.rule_inputs(config, "prune", job.wildcards)
        for name, stage in (("weights", "weights"), ("fits", "fit"), ("solution", "solution")):
            if name == "solution" and job.wildcards["model"] == "diagonal":
                assert inputs[name] == []  # the diagonal θ̂ is in its weights table
                continue
            expected = [study.fill_template(study.PATHS[stage], {**job.wildcards, "n": n}) for n in n_values]
            assert inputs[name] == expected
        # Its output is a table the collected pruning table reads, as the old per-sweep collect wrote.
        table = {"table": "pruning", "model": job.wildcards["model"]}
        output = study.fill_template(study.PATHS["pruning"], job.wildcards)
        assert output in study.rule_inputs(config, "collect_spectral_table", table)["inputs"]
