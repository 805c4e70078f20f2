"""The dependency direction of the style guide: numerics never reach for I/O or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "shallowscaling"
NUMERICS = ["estimators", "state_evolution", "spectra", "targets.py", "data.py", "rates.py", "seeding.py", "scaling.py"]
FORBIDDEN = {"pandas", "pyarrow", "argparse", "snakemake", "matplotlib", "os", "pathlib"}
FORBIDDEN_INTERNAL = {"cli", "tasks", "io", "figures", "config"}


def _modules() -> list[Path]:
    files: list[Path] = []
    for entry in NUMERICS:
        path = PACKAGE / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return files


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            names.add(base)
    return names


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_numerics_import_numpy_and_scipy_only(path: Path) -> None:
    for name in _imports(path):
        top = name.lstrip(".").split(".")[0]
        if name.startswith("."):
            assert top not in FORBIDDEN_INTERNAL, f"{path.name} imports the {top} layer"
        else:
            assert top not in FORBIDDEN, f"{path.name} imports {name}"


def test_the_scan_sees_imports() -> None:
    # Guard against a scan that finds nothing: the teachers module does import numpy.
    assert "numpy" in _imports(PACKAGE / "targets.py")
