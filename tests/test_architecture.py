"""The dependency direction of the style guide, and the layer contract of the package.

* numerics never reach for I/O or the CLI (third-party and internal imports);
* the module graph of ``src/shallowscaling`` (every import, lazy ones included) has no cycle;
* no module imports a higher layer (:data:`LAYERS`, lowest first);
* no module imports another module's private name, and a private module is imported only from
  inside its own subpackage;
* no source file is longer than :data:`MAX_LINES` lines.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "shallowscaling"
ROOT = "shallowscaling"
NUMERICS = [
    "estimators",
    "state_evolution",
    "spectra",
    "_kernels.py",
    "targets.py",
    "data.py",
    "rates.py",
    "references",
    "seeding.py",
    "scaling.py",
]
FORBIDDEN = {"pandas", "pyarrow", "argparse", "snakemake", "matplotlib", "os", "pathlib"}
FORBIDDEN_INTERNAL = {"cli", "tasks", "io", "figures", "config"}

#: Layers, lowest first, by the first component below ``shallowscaling``. A module may import
#: its own layer and the layers below it, never a higher one. The package ``__init__`` is layer 0.
#: Today tasks and figures do not import each other, io does not import config, and figures read
#: only io, rates and spectra.
LAYERS: list[set[str]] = [
    {"", "errors", "_validation", "seeding", "progress", "results"},  # base
    {"_kernels", "targets", "data", "design", "rates", "sweeps", "references"},  # problems
    {"estimators", "state_evolution", "spectra", "scaling"},  # numerics
    {"config", "io", "cost_model"},
    {"tasks"},  # one function per kind of job
    {"figures"},
    {"workflow"},  # pipeline: the study model, code hashes of the jobs, plan and resources
    {"cli", "__main__"},
]

#: Upward imports tolerated, as (importer, imported module): none.
KNOWN_VIOLATIONS: set[tuple[str, str]] = set()

#: Longest source file allowed, in lines.
MAX_LINES = 600

#: Files over :data:`MAX_LINES` allowed for now (none).
KNOWN_OVERSIZE: set[str] = set()


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


# --- the module graph ---------------------------------------------------------------------------


def _module_name(path: Path, package: Path, root: str) -> str:
    parts = list(path.relative_to(package).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([root, *parts])


def _source_files(package: Path) -> list[Path]:
    return sorted(p for p in package.rglob("*.py") if "__pycache__" not in p.parts)


def _edges(package: Path, root: str) -> list[tuple[str, str, str | None]]:
    """Every internal import as (importer, imported module, imported name or None)."""
    files = _source_files(package)
    modules = {_module_name(p, package, root) for p in files}
    edges: list[tuple[str, str, str | None]] = []
    for path in files:
        name = _module_name(path, package, root)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == root or alias.name.startswith(root + "."):
                        edges.append((name, alias.name, None))
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    anchor = name.split(".") if is_package else name.split(".")[:-1]
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                if not (base == root or base.startswith(root + ".")):
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    if sub in modules:  # ``from . import module``
                        edges.append((name, sub, None))
                    else:
                        edges.append((name, base, alias.name))
    return [(a, b, n) for a, b, n in edges if a != b]


def _graph(edges: list[tuple[str, str, str | None]]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for importer, imported, _ in edges:
        graph.setdefault(importer, set()).add(imported)
        graph.setdefault(imported, set())
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _layer(module: str) -> int:
    parts = module.split(".")
    key = parts[1] if len(parts) > 1 else ""
    for rank, members in enumerate(LAYERS):
        if key in members:
            return rank
    raise AssertionError(f"{module} is in no layer; add its top-level name to LAYERS")


EDGES = _edges(PACKAGE, ROOT)


def test_the_graph_sees_imports() -> None:
    graph = _graph(EDGES)
    assert f"{ROOT}.errors" in graph[f"{ROOT}._validation"]
    assert len(graph) > 50


def test_no_import_cycles() -> None:
    assert _cycles(_graph(EDGES)) == []


def test_the_cycle_check_can_fail(tmp_path: Path) -> None:
    package = tmp_path / "fakepkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from .b import x\n")
    (package / "b.py").write_text("def f():\n    from .sub.c import y\n")
    (package / "sub" / "c.py").write_text("import fakepkg.a\n")
    (package / "d.py").write_text("from . import a\n")
    cycles = _cycles(_graph(_edges(package, "fakepkg")))
    assert cycles == [["fakepkg.a", "fakepkg.b", "fakepkg.sub.c"]]
    assert _cycles({"x": {"y"}, "y": set()}) == []


def _upward(edges: list[tuple[str, str, str | None]]) -> set[tuple[str, str]]:
    return {(importer, imported) for importer, imported, _ in edges if _layer(imported) > _layer(importer)}


def _private_imports(edges: list[tuple[str, str, str | None]]) -> list[str]:
    """``from other_module import _name``, and a private module imported from outside its package."""
    bad = []
    for importer, imported, name in edges:
        if name is not None and name.startswith("_") and not name.startswith("__"):
            bad.append(f"{importer}: from {imported} import {name}")
        parts = imported.split(".")
        for depth, part in enumerate(parts[1:], start=1):
            if part.startswith("_") and not part.startswith("__"):
                home = ".".join(parts[:depth])
                if not (importer == home or importer.startswith(home + ".")):
                    bad.append(f"{importer}: imports the private module {imported}")
                break
    return bad


def test_no_upward_imports() -> None:
    upward = _upward(EDGES)
    assert upward - KNOWN_VIOLATIONS == set()
    assert KNOWN_VIOLATIONS - upward == set(), "a known violation is gone: remove it from KNOWN_VIOLATIONS"


def test_no_cross_module_private_imports() -> None:
    assert _private_imports(EDGES) == []


def test_the_layer_and_privacy_checks_can_fail() -> None:
    edges = [
        (f"{ROOT}.spectra.bulk", f"{ROOT}.tasks.spectra", "run"),  # numerics reaching up
        (f"{ROOT}.tasks.fit", f"{ROOT}.estimators.psd_convex", "fit_psd_convex"),  # fine
        (f"{ROOT}.estimators.quadratic_network", f"{ROOT}.estimators.psd_convex", "_rank"),
        (f"{ROOT}.spectra.bulk", f"{ROOT}.estimators._psd_operators", None),
        (f"{ROOT}.estimators.psd_convex", f"{ROOT}.estimators._psd_operators", "forward"),  # fine
        (f"{ROOT}.data", f"{ROOT}._kernels", "quadratic_forms"),  # fine: the root package is home
    ]
    assert _upward(edges) == {(f"{ROOT}.spectra.bulk", f"{ROOT}.tasks.spectra")}
    assert _private_imports(edges) == [
        f"{ROOT}.estimators.quadratic_network: from {ROOT}.estimators.psd_convex import _rank",
        f"{ROOT}.spectra.bulk: imports the private module {ROOT}.estimators._psd_operators",
    ]


def test_no_oversize_source_files() -> None:
    long = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in _source_files(PACKAGE)}
    over = {name for name, n in long.items() if n > MAX_LINES}
    assert over - KNOWN_OVERSIZE == set(), {name: long[name] for name in over - KNOWN_OVERSIZE}
    assert KNOWN_OVERSIZE - over == set(), "a known oversize file was split: remove it from KNOWN_OVERSIZE"


def test_the_architecture_page_names_only_files_that_exist() -> None:
    # docs/architecture.md must match the code: every path it writes in backticks exists.
    import re

    repo = PACKAGE.parents[1]
    text = (repo / "docs" / "architecture.md").read_text(encoding="utf-8")
    paths = [p for p in re.findall(r"`([^`\s]+)`", text) if "/" in p and not p.startswith(("results/", "-"))]
    assert len(paths) > 40  # the page's tables name the modules of every stage
    missing = [p for p in paths if not (repo / p.rstrip("/")).exists()]
    assert missing == []
