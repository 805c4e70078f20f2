"""A study of another teacher (the `teacher:` section): its file names, its jobs and its commands;
and the power-law study's names and commands, unchanged by the section's arrival."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from shallowscaling.config import load_config
from shallowscaling.workflow import dag, study
from shallowscaling.workflow.paths import RULE_OUTPUTS
from shallowscaling.workflow.teachers import check_teacher_config, teacher_command

ROOT = Path(__file__).resolve().parents[2]
TINY = ROOT / "tests" / "configs" / "tiny.yaml"
# SHA-256 of the sorted output files of every job, and of the sorted shell commands of
# `snakemake -n -p`, for config.yaml (and the tiny overlay), recorded before the teacher section
# existed: the power-law study must keep exactly these names and commands. Re-recorded once, when
# the prune rule became one job per sweep: the only lines that changed are the per-point prune
# files (66; tiny: 12), gone, and the prune commands (one per sweep) and the per-sweep `collect`
# of their points, gone. And the commands once more, when the LASSO fits took the design budget:
# the 158 diagonal LASSO fit commands gained `--design-memory 1.0` (checked: nothing else changed);
# and when the prune job took it too: its 6 commands (3 diagonal, 3 quadratic) gained
# `--design-memory 1.0`, the other 417 are unchanged (checked).
DEFAULT_OUTPUTS = "d99218459010fe6787242f06c5948d71ca6a96f6bf984f9b080fc441c73e63d2"
TINY_OUTPUTS = "033c65fe26c2cf69018de8cbf99de0bf205c239963451dbcbee68c7455fa7323"
DEFAULT_COMMANDS = "28cf19539542338dd561205e1e717c41e8d3b7dece7a5db49c2cb0c8a6cf25b4"
# Figure 9 (the classic results) came later and does not depend on the study's teacher.
ADDED_LATER = ("classic", "fig9")
# The diagonal Bayes-optimal error needs the power law's Gaussian prior: off for another teacher.
SPARSE = {"diagonal": {"teacher": {"family": "sparse", "sparsity": 0.2}, "se": {"bayes": False}}}
FIT_SE_RULES = ("fit", "state_evolution", "bayes_optimal", "optimal_lam")


def _sha256(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def _outputs(config: dict) -> list[str]:
    return [
        study.template(t, **job.wildcards) for job in dag.jobs(config) for t in RULE_OUTPUTS.get(job.rule, {}).values()
    ]


def _pinned(lines: list[str]) -> list[str]:
    """The lines the pinned hashes cover: all but those of the stages added after the pin."""
    return [line for line in lines if not any(word in line for word in ADDED_LATER)]


def _overlay(tmp_path: Path, content: dict, name: str = "teacher.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(content))
    return path


def _config(*overlays: Path) -> dict:
    config = load_config(ROOT / "config.yaml", TINY, *overlays)
    check_teacher_config(config)
    return config


def test_the_power_law_study_keeps_its_file_names() -> None:
    assert _sha256(_pinned(_outputs(load_config(ROOT / "config.yaml")))) == DEFAULT_OUTPUTS
    assert _sha256(_pinned(_outputs(load_config(ROOT / "config.yaml", TINY)))) == TINY_OUTPUTS


def test_a_sparse_study_names_its_teacher_and_leaves_the_quadratic_study_alone(tmp_path: Path) -> None:
    sparse = _outputs(_config(_overlay(tmp_path, SPARSE)))
    power = _outputs(_config())
    for n in (6, 20, 66):
        assert f"results/fits/diagonal/lasso/d20_sparse0.2_noise0.5_lexp-1_n{n}.parquet" in sparse
    assert "results/se/diagonal/d30_sparse0.2_noise0.5_lexp0.5.parquet" in sparse
    assert "results/se/diagonal/optimal/d30_sparse0.2_noise0.5.parquet" in sparse
    assert not [f for f in sparse if f.startswith("results/se/diagonal/bayes/d30_")]
    # No teacher table (fit and SE draw the family themselves), no spectral stage for this model.
    assert not [f for f in sparse if "sparse" in f and ("teachers/" in f or "spectra/" in f or "densities/" in f)]
    assert not [f for f in sparse if re.search(r"fig[2678]_diagonal", f)]
    # The main sweep is the sparse teacher's; the Δ = 0 sweep of Figure 5 stays the power law at scaling.gamma.
    assert not [f for f in sparse if f.startswith("results/fits/diagonal/") and "gamma1_noise0.5" in f]
    assert "results/fits/diagonal/lasso/d20_gamma1_noise0_lexp-1_n6.parquet" in sparse
    assert sorted(f for f in sparse if "quadratic" in f) == sorted(f for f in power if "quadratic" in f)
    wildcards = {"model": "diagonal", "estimator": "lasso", "d": "20", "teacher": "sparse0.2", "noise": "0.5",
                 "lam_exponent": "-1", "n": "6"}  # fmt: skip
    assert study.rule_inputs(_config(_overlay(tmp_path, SPARSE)), "fit", wildcards) == {"teacher": []}


def _file_overlay(tmp_path: Path) -> tuple[Path, str]:
    """A quadratic file teacher at d = 6 (eigenvalues ≥ 0), and its tag."""
    path = tmp_path / "eigenvalues.npy"
    np.save(path, np.array([3.0, 2.0, 1.0, 0.5, 0.0, 0.0]))
    tag = "file-" + hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    teacher = {"family": None, "file": str(path)}
    overlay = {"quadratic": {"d": [6], "teacher": teacher}, "spectra": {"fig2": {"quadratic": {}}}}
    return _overlay(tmp_path, overlay, "file.yaml"), tag


def test_a_file_teacher_is_an_input_and_its_digest_names_the_files(tmp_path: Path) -> None:
    overlay, tag = _file_overlay(tmp_path)
    config = _config(overlay)
    files = _outputs(config)
    assert f"results/fits/quadratic/convex/d6_{tag}_noise0.5_lexp-1_n15.parquet" in files
    assert f"results/se/quadratic/optimal/d6_{tag}_noise0.5.parquet" in files
    wildcards = {"model": "quadratic", "estimator": "convex", "d": "6", "teacher": tag, "noise": "0.5",
                 "lam_exponent": "-1", "n": "15"}  # fmt: skip
    for rule in FIT_SE_RULES:
        assert study.rule_inputs(config, rule, wildcards) == {"teacher": [str(tmp_path / "eigenvalues.npy")]}
    # A new content is a new teacher: new names, so no cache of the old one is reused.
    np.save(tmp_path / "eigenvalues.npy", np.array([3.0, 2.0, 1.0, 0.5, 0.25, 0.0]))
    assert f"results/fits/quadratic/convex/d6_{tag}_noise0.5_lexp-1_n15.parquet" not in _outputs(config)


def _dry_run(tmp_path: Path, *overlays: Path) -> list[str]:
    """The shell commands of `snakemake -n -p` in an empty folder."""
    command = [sys.executable, "-m", "snakemake", "-n", "-p", "--cores", "1", "--snakefile", str(ROOT / "Snakefile"),
               "--directory", str(tmp_path / "work")]  # fmt: skip
    if overlays:
        command += ["--configfile", *map(str, overlays)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return re.findall(r"Shell command: (.*)", done.stdout + done.stderr)


@pytest.mark.slow
def test_the_commands_pass_the_teacher_flags(tmp_path: Path) -> None:
    file_overlay, tag = _file_overlay(tmp_path)
    commands = _dry_run(tmp_path, TINY, _overlay(tmp_path, SPARSE), file_overlay)
    sparse = [c for c in commands if "_sparse0.2_" in c]
    verbs = {re.search(r"shallowscaling (\w+)", c).group(1) for c in sparse}
    assert verbs == {"fit", "predict", "aggregate"}
    for command in sparse:
        if " aggregate " in command:
            continue
        assert " --gamma 1 " in command and " --teacher-family sparse --sparsity 0.2 " in command, command
        assert " --teacher " not in command, command
    with_file = [c for c in commands if f"_{tag}_" in c and " aggregate " not in c]
    assert len(with_file) > 0
    for command in with_file:
        assert f" --teacher-file {tmp_path / 'eigenvalues.npy'} " in command and " --gamma 1 " in command, command
    assert "figure fig3 --model diagonal --teacher 'sparse teacher, ε = 0.2' --table" in "\n".join(commands)
    assert "figure fig3 --model quadratic --teacher 'teacher file eigenvalues.npy' --table" in "\n".join(commands)
    # The Δ = 0 sweep of Figure 5 keeps the power law's teacher table.
    assert any("--teacher results/teachers/diagonal/d20_gamma1.parquet" in c for c in commands)


@pytest.mark.slow
def test_the_default_study_keeps_its_commands(tmp_path: Path) -> None:
    assert _sha256(_pinned(_dry_run(tmp_path))) == DEFAULT_COMMANDS


@pytest.mark.parametrize(
    ("teacher", "tag", "flags"),
    [
        ({"family": "power_law"}, "gamma0.75", ("--gamma 0.75", "--teacher TABLE")),
        (
            {"family": "sparse", "sparsity": 0.05},
            "sparse0.05",
            ("--gamma 1", "--teacher-family sparse --sparsity 0.05"),
        ),
        (
            {"family": "wishart", "width_ratio": 2.0},
            "wishart2",
            ("--gamma 1", "--teacher-family wishart --width-ratio 2"),
        ),
        ({"family": "flat"}, "flat", ("--gamma 1", "--teacher-family flat")),
        ({"family": None, "file": "a b.npy"}, "file-0123456789ab", ("--gamma 1", "--teacher-file 'a b.npy'")),
    ],
)
def test_each_teacher_has_its_flags(teacher: dict, tag: str, flags: tuple[str, str]) -> None:
    config = {"quadratic": {"teacher": teacher}}
    source = "a b.npy" if tag.startswith("file-") else "TABLE"
    assert teacher_command(config, "quadratic", tag, source) == flags
