"""Code hashes computed from the import graph, not kept by hand.

A job's code is the import closure of its entry modules: every module of the ``shallowscaling``
package that an entry imports, directly or through other modules, with every import statement
of a file counted wherever it stands (a lazy import inside a function counts as much as one at
the top), together with the package ``__init__`` files on the way. :func:`code_hash` hashes
those files (their paths relative to the package and their bytes), so that Snakemake, given the
hash as a rule param, reruns exactly the jobs whose code changed.

The files are found from the imported package's ``__file__`` (through ``importlib.util``), so
the hash is that of the code the jobs run, whether the package is installed or used in place.
Only ``shallowscaling`` modules count: third-party code and data files are outside the hash.
A module loaded by name at run time (``importlib.import_module``) is not in its importer's
closure: whoever loads it that way names it as an entry (see ``tasks.fit.ESTIMATOR_MODULES``).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import cache
from pathlib import Path

__all__ = ["PACKAGE", "RULES", "code_hash", "import_closure", "module_files", "rule_code", "rule_entries"]

PACKAGE = "shallowscaling"

_P = PACKAGE + "."
#: What every verb runs besides its task: the Parquet reader and writer (``cli`` itself parses
#: flags and is in no hash, as before).
_IO = (_P + "io.parquet",)
#: Every ``figure`` verb imports Figure 3's module and the style, whichever figure it draws.
_FIGURE = (*_IO, _P + "figures.fig3", _P + "figures.style")
_PREDICT = (*_IO, _P + "tasks.predict", _P + "tasks.teacher")
#: Each rule's entry modules: what its ``python -m shallowscaling VERB`` calls (see ``cli``).
#: Rules whose entries depend on wildcards are completed by :func:`rule_entries`.
RULES = {
    "teacher": (*_IO, _P + "tasks.teacher"),
    "fit": (*_IO, _P + "tasks.fit"),  # + the estimator module of (model, estimator)
    "state_evolution": _PREDICT,
    "bayes_optimal": _PREDICT,
    "optimal_lam": _PREDICT,
    "aggregate_fig3": (*_IO, _P + "tasks.aggregate"),
    "aggregate_fig5": (*_IO, _P + "tasks.aggregate"),
    "figure_fig3": _FIGURE,
    "figure_fig5": _FIGURE,
    "figure_fig1": (*_FIGURE, _P + "figures.fig1"),
    "figure_fig4": (*_FIGURE, _P + "figures.fig1"),
    "figure_spectral": _FIGURE,  # + the module of the figure (wildcard `figure`)
    "scaling_se": (*_IO, _P + "tasks.exponents"),
    "scaling_heatmap": (*_IO, _P + "tasks.exponents"),
    "scaling_exponents": (*_IO, _P + "tasks.exponents"),
    "spectra": (*_IO, _P + "io.weights", _P + "tasks.spectra"),
    "prune": (*_IO, _P + "io.weights", _P + "tasks.pruning"),  # + the quadratic refit's estimator
    "collect_spectral_table": _IO,
    "classic_table": (*_IO, _P + "tasks.classic"),
    "figure_fig9": (*_FIGURE, _P + "figures.fig9"),
}
#: The module that draws each spectral figure (``figure_spectral``'s wildcard `figure`).
SPECTRAL_FIGURES = {
    "fig2": _P + "figures.fig2",
    "fig6": _P + "figures.decomposition",
    "fig7": _P + "figures.htsr",
    "fig8": _P + "figures.pruning",
}


@cache
def _root() -> Path:
    """The folder of the imported ``shallowscaling`` package."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(f"cannot find the {PACKAGE} package")
    return Path(spec.origin).parent


def _file(module: str) -> Path | None:
    """The source file of a package module (``.py`` or a subpackage's ``__init__.py``), or None."""
    parts = module.split(".")
    if parts[0] != PACKAGE:
        return None
    base = _root().joinpath(*parts[1:])
    if len(parts) > 1 and base.with_suffix(".py").is_file():
        return base.with_suffix(".py")
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    return None


def _is_package(module: str) -> bool:
    path = _file(module)
    return path is not None and path.name == "__init__.py"


def _imports(module: str) -> set[str]:
    """Every ``shallowscaling`` module that `module`'s import statements name, anywhere in it."""
    path = _file(module)
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            found.add(source)
            # `from . import x` or `from .pkg import sub`: x and sub may be modules themselves.
            found.update(f"{source}.{alias.name}" for alias in node.names if alias.name != "*")
    return {name for name in found if _file(name) is not None}


def _with_parents(module: str) -> list[str]:
    """`module` and the packages above it (importing a.b.c runs a and a.b first)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_closure(*entries: str) -> list[str]:
    """The sorted names of every package module the `entries` import, them included."""
    for entry in entries:
        if _file(entry) is None:
            raise ModuleNotFoundError(f"{entry} is not a module of the {PACKAGE} package")
    seen: set[str] = set()
    todo = [parent for entry in entries for parent in _with_parents(entry)]
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        for name in _imports(module):
            todo.extend(parent for parent in _with_parents(name) if parent not in seen)
    return sorted(seen)


def module_files(*entries: str) -> list[str]:
    """The closure's files, as sorted POSIX paths relative to the package folder."""
    return sorted(_file(module).relative_to(_root()).as_posix() for module in import_closure(*entries))


def code_hash(*entries: str) -> str:
    """SHA-256 (16 hex digits) of the package version, then the closure of `entries`: each file's
    relative path, then its bytes.

    The version is hashed because every table records it in its provenance: after a release, a
    cached table would no longer be byte for byte what the code writes.
    """
    from .. import __version__

    digest = hashlib.sha256(__version__.encode())
    for relative in module_files(*entries):
        digest.update(relative.encode())
        digest.update((_root() / relative).read_bytes())
    return digest.hexdigest()[:16]


def rule_entries(rule: str, wildcards=None) -> tuple[str, ...]:
    """The entry modules of a job of `rule`; `wildcards` (attributes or a mapping) when they matter.

    ``fit`` adds the estimator module of (model, estimator) and ``prune`` the quadratic refit's
    (both as :data:`shallowscaling.tasks.fit.ESTIMATOR_MODULES` names them: the tasks load them by
    name), ``figure_spectral`` the module of its figure.
    """

    def wildcard(name: str) -> str:
        return wildcards[name] if isinstance(wildcards, dict) else getattr(wildcards, name)

    entries = RULES[rule]
    if rule == "fit" or (rule == "prune" and wildcard("model") == "quadratic"):
        from ..tasks.fit import ESTIMATOR_MODULES

        entries = (*entries, ESTIMATOR_MODULES[(wildcard("model"), wildcard("estimator"))])
    elif rule == "figure_spectral":
        entries = (*entries, SPECTRAL_FIGURES[wildcard("figure")])
    return entries


@cache
def _cached_hash(entries: tuple[str, ...]) -> str:
    return code_hash(*entries)


def rule_code(rule: str, wildcards=None) -> str:
    """The ``code`` param of a job of `rule`: :func:`code_hash` of its :func:`rule_entries`.

    Cached per entry tuple: one Snakemake process hashes each closure once, however many jobs.
    """
    return _cached_hash(rule_entries(rule, wildcards))
