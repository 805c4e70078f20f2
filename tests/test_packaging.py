"""Packaging: result files follow the umask, and a regular (non-editable) install works outside
the checkout: the CLI, a fit and a Snakemake dry run use the installed package and its data."""

from __future__ import annotations

import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pandas as pd
import pytest

import shallowscaling
from shallowscaling.io import parquet

ROOT = Path(__file__).resolve().parents[1]

# What a copy of the repository leaves out: version control, environments, run outputs, caches.
_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "results", "logs", ".snakemake", "__pycache__", "*.egg-info", "build", "dist",
    ".pytest_cache", ".ruff_cache", ".mypy_cache",
)


def test_version_matches_pyproject_and_changelog() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    version = re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1)
    assert shallowscaling.__version__ == version
    releases = re.findall(r"^## \[?(\d+\.\d+\.\d+)\]?", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert releases, "CHANGELOG.md has no release heading"
    assert releases[0] == version


def test_schema_is_package_data() -> None:
    from shallowscaling import config

    assert config.SCHEMA_PATH.is_file()
    assert config._schema()["type"] == "object"


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="the umask is read from the process status (Linux)")
@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_written_table_follows_umask(tmp_path: Path, umask: int, mode: int) -> None:
    old = os.umask(umask)
    try:
        parquet.write_table(pd.DataFrame({"a": [1.0, 2.0]}), tmp_path / "t.parquet")
    finally:
        os.umask(old)
    assert (tmp_path / "t.parquet").stat().st_mode & 0o777 == mode
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]  # no temporary file left


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), parquet.atomic_path(tmp_path / "t.parquet") as tmp:
        tmp.write_bytes(b"partial")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def _run(argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh virtual environment with a regular install of a copy of the repository.

    The venv sees the running interpreter's packages (the dependencies: ``--system-site-packages``
    for a system interpreter, a ``.pth`` line for a virtual environment, whose packages a nested
    venv would not otherwise see) but not its ``shallowscaling``: an editable install there is
    activated by a ``.pth`` file that a plain path line does not process, and the venv's own
    site-packages come first on ``sys.path``. The venv has no pip of its own, so that the running
    interpreter's setuptools (new enough for this ``pyproject.toml``) builds the package.
    """
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=_IGNORE)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    outer = dict.fromkeys([*site.getsitepackages(), sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(purelib, "zz_outer_environment.pth").write_text("".join(f"{path}\n" for path in outer), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    result = _run([str(python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--no-index", "-q", "."],
                  cwd=source, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    return python, env


@pytest.mark.slow
def test_installed_package_is_used(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    python, env = installed
    result = _run([str(python), "-c", "import shallowscaling, sys; print(shallowscaling.__file__); "
                   "print(shallowscaling.__version__)"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    location, version = result.stdout.split()
    assert Path(location).is_relative_to(python.parent.parent), location
    assert version == shallowscaling.__version__
    result = _run([str(python), "-c", "from shallowscaling import config; print(config.SCHEMA_PATH.is_file())"],
                  cwd=tmp_path, env=env)
    assert result.stdout.strip() == "True", result.stderr


@pytest.mark.slow
def test_installed_cli_help_and_fit(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    python, env = installed
    result = _run([str(python), "-m", "shallowscaling", "--help"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout
    output = tmp_path / "fit.parquet"
    result = _run([str(python), "-m", "shallowscaling", "fit", "diagonal", "--estimator", "lasso", "--d", "10",
                   "--gamma", "1", "--noise", "0.5", "--n", "20", "--lam", "1", "--seed", "0", "--replicates", "1",
                   "--output", str(output)], cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(parquet.read_table(output)) == 1
    assert parquet.read_provenance(output)["version"] == shallowscaling.__version__


@pytest.mark.slow
def test_installed_snakemake_dry_run(installed: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    python, env = installed
    workdir = tmp_path / "study"
    shutil.copytree(ROOT, workdir, ignore=_IGNORE)
    shutil.rmtree(workdir / "src")  # the installed package must be the one used
    result = _run([str(python), "-m", "snakemake", "-n", "--cores", "2", "--quiet", "rules"], cwd=workdir, env=env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
