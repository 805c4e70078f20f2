"""Every rule param reaches the code: it is in the rule's command, or it is the code hash.

A param that no command reads still reruns jobs when the config changes it, for nothing. The
flags that the fit rule passes must change the fit (checked cheaply for `--tol` and `--max-iter`
on each estimator, `fit --tol 0.01` on the command line for the networks).
"""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from snakemake.api import SnakemakeApi
from snakemake.settings.types import ConfigSettings, OutputSettings, ResourceSettings

from shallowscaling.io.parquet import read_table
from shallowscaling.tasks.fit import ESTIMATOR_MODULES, fit_point
from shallowscaling.workflow.code_hash import RULES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workflow_rules(tmp_path_factory):
    """The rules of the workflow, loaded by Snakemake's API with the tiny config."""
    with SnakemakeApi(OutputSettings()) as api:
        workflow_api = api.workflow(
            snakefile=ROOT / "Snakefile",
            workdir=tmp_path_factory.mktemp("params"),
            config_settings=ConfigSettings(configfiles=[ROOT / "tests" / "configs" / "tiny.yaml"]),
            resource_settings=ResourceSettings(cores=1),
        )
        yield list(workflow_api._workflow.rules)


def test_every_param_is_in_its_rule_command_or_is_the_code_hash(workflow_rules) -> None:
    commands = [rule for rule in workflow_rules if rule.shellcmd]
    assert commands
    unused = {
        rule.name: [name for name in rule.params._names if name != "code" and f"{{params.{name}}}" not in rule.shellcmd]
        for rule in commands
    }
    assert not {rule: names for rule, names in unused.items() if names}
    # Every rule that runs a command has a code hash, computed from its entries in RULES.
    assert {rule.name for rule in commands if "code" in rule.params._names} == {rule.name for rule in commands}
    assert set(RULES) == {rule.name for rule in commands}


def _fit(model: str, estimator: str, **options):
    d, n = (12, 40) if model == "diagonal" else (6, 30)
    return fit_point(model, estimator, d, 1.5, 0.1, n, d**-0.5, seed=3, **options).record


@pytest.mark.parametrize(("model", "estimator"), sorted(ESTIMATOR_MODULES))
def test_tol_and_max_iter_change_every_fit(model, estimator) -> None:
    default_tol = {"diagonal": 1e-8, "quadratic": 1e-7}[model]  # config.yaml's solver.tol
    reference = _fit(model, estimator, tol=default_tol)
    loose = _fit(model, estimator, tol=1e-2)
    assert loose["iterations"] < reference["iterations"], (loose["iterations"], reference["iterations"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a capped network warns that it did not converge
        capped = _fit(model, estimator, tol=default_tol, max_iter=1)
    assert capped["iterations"] <= 1 < reference["iterations"]


@pytest.mark.parametrize("model", ["diagonal", "quadratic"])
def test_fit_tol_on_the_command_line_reaches_the_network(tmp_path, model) -> None:
    def iterations(*flags: str) -> list[int]:
        output = tmp_path / f"fit{len(flags)}.parquet"
        command = [sys.executable, "-m", "shallowscaling", "fit", model, "--estimator", "network", "--d", "8"]
        command += ["--gamma", "1.5", "--noise", "0.1", "--lam-exponent", "-0.5", "--n", "40", "--seed", "1"]
        command += ["--output", str(output), *flags]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OPENBLAS_NUM_THREADS": "1"}
        run = subprocess.run(command, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr[-2000:]
        return read_table(output)["iterations"].tolist()

    assert iterations("--tol", "0.01") < iterations()


@pytest.mark.slow
def test_the_prune_command_takes_its_models_design_budget(tmp_path) -> None:
    # `snakemake -n -p` on the tiny study with budgets that differ per model and from the default
    # (1.0): each prune command carries its own model's, as each LASSO and quadratic fit does.
    overlay = tmp_path / "budgets.yaml"
    overlay.write_text("diagonal: {solver: {design_memory: 0.25}}\nquadratic: {solver: {design_memory: 2.5}}\n")
    command = [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(tmp_path / "work"), "--configfile", str(ROOT / "tests" / "configs" / "tiny.yaml"),
               str(overlay)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    commands = re.findall(r"Shell command: (.*)", done.stdout + done.stderr)
    budget = {"diagonal": "0.25", "quadratic": "2.5"}
    for verb, count in (("prune", 4), ("fit", 20)):
        checked = 0
        for line in commands:
            found = re.search(rf"shallowscaling {verb} (\w+) --estimator (\w+)", line)
            if found is None or found.group(2) == "network":
                continue
            flags = re.findall(r"--design-memory (\S+)", line)
            assert flags == [budget[found.group(1)]], line
            checked += 1
        assert checked >= count, (verb, checked)
