"""Code hashes computed from the import graph (shallowscaling.workflow.code_hash).

Two routes check that a rule's closure holds every module its entries load (the AST walk
against `sys.modules` and `python -X importtime` in a fresh interpreter), and a copy of the
repository checks, with Snakemake itself, that an edit of a module reached only through a
private import reruns exactly the jobs that depend on it.
"""

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shallowscaling.tasks.fit import ESTIMATOR_MODULES
from shallowscaling.workflow.code_hash import (
    RULES,
    SPECTRAL_FIGURES,
    code_hash,
    import_closure,
    module_files,
    rule_code,
    rule_entries,
)

ROOT = Path(__file__).resolve().parents[2]
TINY = "tests/configs/tiny.yaml"


def _all_entries() -> set[tuple[str, ...]]:
    """Every distinct entry tuple a job of the workflow can get."""
    entries = set()
    for rule in RULES:
        for (model, estimator), figure in itertools.product(ESTIMATOR_MODULES, SPECTRAL_FIGURES):
            entries.add(rule_entries(rule, {"model": model, "estimator": estimator, "figure": figure}))
    return entries


_LOADED = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(" ".join(sorted(m for m in sys.modules if m == "shallowscaling" or m.startswith("shallowscaling."))))
"""


@pytest.mark.slow
@pytest.mark.parametrize("entries", sorted(_all_entries()), ids=lambda e: "+".join(m.split(".")[-1] for m in e))
def test_closure_holds_every_module_the_entries_load(entries) -> None:
    # Route 1: sys.modules after importing the entries (nothing called); route 2: -X importtime.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", _LOADED, *entries], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr[-2000:]
    from_modules = set(run.stdout.split())
    from_importtime = {
        match.group(1)
        for match in re.finditer(r"^import time:.*\|\s*(\S+)\s*$", run.stderr, re.MULTILINE)
        if match.group(1).split(".")[0] == "shallowscaling"
    }
    assert from_modules and from_importtime <= from_modules | {"shallowscaling"}
    closure = set(import_closure(*entries))
    assert from_modules <= closure, sorted(from_modules - closure)
    assert from_importtime <= closure, sorted(from_importtime - closure)


def test_lazy_and_relative_imports_count_and_estimators_are_entries() -> None:
    # tasks.predict imports the SE modules inside functions: they are in its closure.
    predict = import_closure("shallowscaling.tasks.predict")
    assert "shallowscaling.state_evolution.quadratic_mc" in predict
    assert {"shallowscaling", "shallowscaling.tasks"} <= set(predict)
    # psd_convex loads the torch backend inside a function (a private module).
    assert "shallowscaling.estimators._torch_backend" in import_closure("shallowscaling.estimators.psd_convex")
    # tasks.fit loads its estimator by name: the fit hash is tasks.fit + the one estimator module.
    assert not any(m.startswith("shallowscaling.estimators.") for m in import_closure("shallowscaling.tasks.fit"))
    lasso = module_files(*rule_entries("fit", {"model": "diagonal", "estimator": "lasso"}))
    assert "estimators/lasso.py" in lasso and "estimators/_lbfgs.py" not in lasso
    network = module_files(*rule_entries("fit", {"model": "quadratic", "estimator": "network"}))
    assert {"estimators/quadratic_network.py", "estimators/_lbfgs.py", "estimators/_psd_common.py"} <= set(network)
    # A diagonal prune job depends on no quadratic estimator; a quadratic one on its refit's.
    assert not any(f.startswith("estimators/") for f in module_files(*rule_entries("prune", {"model": "diagonal"})))
    assert rule_code("fit", {"model": "quadratic", "estimator": "network"}) == code_hash(*network_entries())
    with pytest.raises(ModuleNotFoundError):
        import_closure("shallowscaling.no_such_module")


def network_entries() -> tuple[str, ...]:
    return rule_entries("fit", {"model": "quadratic", "estimator": "network"})


def test_the_hash_is_that_of_the_imported_package_wherever_it_lies(tmp_path) -> None:
    # An installed (non-editable) package: the same files elsewhere give the same hash, and an
    # edit of that copy changes it.
    shutil.copytree(ROOT / "src" / "shallowscaling", tmp_path / "shallowscaling")
    script = (
        "import sys; from shallowscaling.workflow.code_hash import code_hash, _root; "
        "print(_root()); print(code_hash(*sys.argv[1:]))"
    )

    def hash_in(path: Path) -> tuple[str, str]:
        env = {**os.environ, "PYTHONPATH": str(path)}
        command = [sys.executable, "-c", script, *network_entries()]
        run = subprocess.run(command, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stderr
        return tuple(run.stdout.split())

    root, before = hash_in(tmp_path)
    assert Path(root) == tmp_path / "shallowscaling"
    assert before == code_hash(*network_entries())
    with open(tmp_path / "shallowscaling" / "estimators" / "_lbfgs.py", "a") as file:
        file.write("# edited\n")
    assert hash_in(tmp_path)[1] != before


# --- Snakemake on a copy of the repository ---------------------------------------------------------


def _snakemake(copy: Path, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(copy / "src"), "OPENBLAS_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "snakemake", "--cores", "1", "--configfile", TINY, *args]
    run = subprocess.run(command, cwd=copy, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    return run.stdout + run.stderr


@pytest.fixture(scope="module")
def recorded_copy(tmp_path_factory) -> Path:
    """A copy of the repository whose tiny study is recorded as done with today's params.

    Every output is created empty and `snakemake --touch --forceall` records each job's metadata
    (params included) as a finished run would: nothing is computed, and the dry runs below see
    what an edit would rerun.
    """
    copy = tmp_path_factory.mktemp("hash_copy") / "repo"
    copy.mkdir()
    for name in ("Snakefile", "config.yaml", "environment.yml"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, copy / name)
    shutil.copytree(ROOT / "workflow", copy / "workflow")
    shutil.copytree(ROOT / "src", copy / "src", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / TINY).parent.mkdir(parents=True)
    shutil.copy2(ROOT / TINY, copy / TINY)
    summary = _snakemake(copy, "--summary")
    outputs = [line.split("\t")[0] for line in summary.splitlines() if line.startswith("results/")]
    assert outputs
    for output in outputs:
        (copy / output).parent.mkdir(parents=True, exist_ok=True)
        (copy / output).touch()
    _snakemake(copy, "--touch", "--forceall")
    assert "Nothing to be done" in _snakemake(copy, "-n")
    return copy


def _planned_jobs(output: str) -> list[dict[str, str]]:
    """The jobs of a dry run: {"rule", "reason", and each wildcard}."""
    jobs = []
    for block in re.split(r"\n(?=rule \w+:)", output):
        match = re.match(r"rule (\w+):", block)
        if match is None or match.group(1) == "all":
            continue
        job = {"rule": match.group(1)}
        reason = re.search(r"^\s+reason: (.*)$", block, re.MULTILINE)
        job["reason"] = reason.group(1) if reason else ""
        wildcards = re.search(r"^\s+wildcards: (.*)$", block, re.MULTILINE)
        if wildcards:
            job.update(pair.split("=", 1) for pair in wildcards.group(1).split(", "))
        jobs.append(job)
    return jobs


@pytest.mark.slow
@pytest.mark.parametrize("module", ["estimators/_lbfgs.py", "estimators/_torch_backend.py"])
def test_an_edit_of_a_privately_imported_module_reruns_exactly_its_jobs(recorded_copy, module) -> None:
    # Both modules are reached only through private imports (quadratic_network/psd_factored ->
    # _lbfgs; psd_convex -> _torch_backend inside a function): the quadratic fits depend on them,
    # nothing of the diagonal model nor any SE job does. The hand-kept lists missed _torch_backend.
    path = recorded_copy / "src" / "shallowscaling" / module
    original = path.read_bytes()
    path.write_bytes(original + b"# edited\n")
    try:
        jobs = _planned_jobs(_snakemake(recorded_copy, "-n"))
    finally:
        path.write_bytes(original)
    summary = _snakemake(recorded_copy, "--summary")
    quadratic_fits = {
        line.split("\t")[0] for line in summary.splitlines() if line.startswith("results/fits/quadratic/")
    }
    fits = [job for job in jobs if job["rule"] == "fit"]
    assert len(fits) == len(quadratic_fits) > 0
    assert all(job["model"] == "quadratic" and job["reason"].startswith("Params have changed") for job in fits)
    # Every other job runs because a quadratic fit it reads changed, or its own code (the prune
    # refit's estimator); none of the diagonal model, no teacher and no SE job.
    assert all(job.get("model") != "diagonal" for job in jobs), [j for j in jobs if j.get("model") == "diagonal"]
    untouched = {"teacher", "state_evolution", "bayes_optimal", "optimal_lam", "scaling_se", "scaling_heatmap"}
    assert not [job for job in jobs if job["rule"] in untouched]
    assert "Nothing to be done" in _snakemake(recorded_copy, "-n")


def test_a_release_changes_every_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every table records the package version, so a new version must rerun the jobs that wrote them.
    import shallowscaling

    before = code_hash("shallowscaling.io.parquet")
    monkeypatch.setattr(shallowscaling, "__version__", shallowscaling.__version__ + ".post1")
    assert code_hash("shallowscaling.io.parquet") != before
