"""Load and validate ``config.yaml``, expand sweeps, and format wildcard values canonically.

The schema (``shallowscaling/resources/config.schema.yaml``, package data) closes every object, bounds every number and
describes every key; :func:`validate_config` turns the first schema violation into a
:class:`~shallowscaling.errors.ConfigError` that names the key path, the value and what is
allowed, then checks the cross-field rules the schema cannot express.
"""

from __future__ import annotations

import math
import os
import reprlib
from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from .data import diagonal_design_streamed
from .errors import ConfigError
from .rates import classify_phase
from .sweeps import (  # re-exported: the rules and notebooks read the grids from the config module
    format_float,
    kappa_value,
    lam_value,
    n_eff_value,
    n_from_exponent,
    n_grid,
    parse_float,
    se_n_grid,
)

__all__ = [
    "CUDA_CHECK_ENV",
    "MODELS",
    "SCHEMA_PATH",
    "StrictLoader",
    "check_cuda",
    "cli_bound",
    "cuda_dims",
    "diagonal_fit_bytes",
    "fig2_points",
    "fit_workers",
    "format_float",
    "kappa_value",
    "lam_value",
    "load_config",
    "machine_memory_gb",
    "n_eff_value",
    "n_from_exponent",
    "n_grid",
    "parse_float",
    "quadratic_fit_bytes",
    "quadratic_se_bytes",
    "read_config_file",
    "se_n_grid",
    "tail_sweep",
    "uses_cuda",
    "validate_config",
]

MODELS = ("diagonal", "quadratic")
# The schema is package data, read through importlib.resources so that it is found in an
# installed (not editable) package as well as in the source tree.
SCHEMA_PATH = resources.files("shallowscaling").joinpath("resources", "config.schema.yaml")


@cache
def _schema() -> dict[str, Any]:
    return yaml.safe_load(SCHEMA_PATH.read_text(encoding="utf-8"))


def _path(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _allowed(error: jsonschema.ValidationError) -> str:
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties":
        return "accepted keys: " + ", ".join(sorted(schema.get("properties", {})))
    if error.validator == "enum":
        return "allowed: " + ", ".join(map(str, error.validator_value))
    parts = []
    for key, text in (
        ("type", "type {}"),
        ("minimum", ">= {}"),
        ("exclusiveMinimum", "> {}"),
        ("maximum", "<= {}"),
        ("exclusiveMaximum", "< {}"),
        ("minItems", "at least {} item(s)"),
    ):
        if key in schema:
            parts.append(text.format(schema[key]))
    if "description" in schema:
        parts.append(f"({schema['description']})")
    return "allowed: " + " ".join(parts) if parts else ""


def validate_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Validate a configuration mapping and return it as a plain dict.

    Checked in this order: every number is finite (NaN passes the schema, whose bounds are false
    for NaN), the schema, the cross-field rules, and the memory the largest job of each sweep
    needs against this machine's (:func:`machine_memory_gb`).

    Raises
    ------
    ConfigError
        On the first violation, e.g. ``diagonal.gamma[0]: 0.4 is less than or equal to the
        minimum of 0.5; allowed: type number > 0.5 (teacher power-law exponents γ (> 0.5) ...)``.
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"<top level>: the config must be a mapping of keys; got {type(config).__name__}")
    config = dict(config)
    _check_finite(config, "")
    validator = jsonschema.Draft202012Validator(_schema())
    errors = sorted(validator.iter_errors(config), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if errors:
        # Report the deepest error: a bad list item is more useful than "not valid under oneOf".
        error = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(_describe(error))
    for model in MODELS:
        _check_n_grid(model, model, config[model]["n_eff_exponent"], config[model]["d"])
    _check_tail_sweep(config)
    _check_fig2_points(config)
    se = config["quadratic"]["se"]
    if se["max_draws"] < se["n_draws"]:
        raise ConfigError(
            f"quadratic.se.max_draws: {se['max_draws']} is below quadratic.se.n_draws ({se['n_draws']}), the K the "
            "Monte-Carlo route starts with; raise max_draws or lower n_draws"
        )
    _check_device(config)
    _check_memory(config)
    return config


def _describe(error: jsonschema.ValidationError) -> str:
    """One line for a schema violation: key path, the value (shortened) and what is allowed."""
    path = _path(error)
    if error.validator == "required":
        present = set(error.instance) if isinstance(error.instance, Mapping) else set()
        missing = [key for key in error.validator_value if key not in present]
        where = "" if path == "<top level>" else f"{path}."
        return f"{where}{missing[0]}: missing; required keys here: {', '.join(error.validator_value)}"
    if error.validator == "additionalProperties":
        message = error.message
    else:
        # The value shortened: a bad section must not print the whole config on one line.
        reason = (
            error.message if len(error.message) <= 160 else f"{error.validator} {_SHORT.repr(error.validator_value)}"
        )
        message = f"{_SHORT.repr(error.instance)} is not allowed ({reason})"
    return f"{path}: {message}; {_allowed(error)}".rstrip("; ")


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60
_SHORT.maxlist = _SHORT.maxdict = 4
_SHORT.maxlevel = 2


def _check_finite(value: Any, path: str) -> None:
    """Refuse NaN and ±inf anywhere (YAML ``.nan``, ``.inf``, ``1.0e999``), naming the key path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_finite(item, f"{path}[{index}]")
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(
            f"{path or '<top level>'}: {value!r} is not allowed; allowed: finite numbers (no .nan or .inf)"
        )


def tail_sweep(config: Mapping[str, Any]) -> dict[str, Any]:
    """The optional ``spectra.tail`` sweep of a validated config (``d: []`` when there is none)."""
    tail = config["spectra"].get("tail")
    if tail is None:
        return {"d": [], "lam_exponent": [], "n_eff_exponent": {"start": 0.0, "stop": 0.0, "num": 1}}
    return dict(tail)


def _check_n_grid(key: str, model: str, grid: Mapping[str, Any], dims: Sequence[int]) -> None:
    """The n_eff grid at ``{key}.n_eff_exponent``: start <= stop, and n >= 1 at every d."""
    if grid["start"] > grid["stop"]:
        raise ConfigError(
            f"{key}.n_eff_exponent: start ({grid['start']}) must be <= stop ({grid['stop']}); "
            "swap them or use num: 1 for a single point"
        )
    for d in dims:
        n_min = n_from_exponent(model, d, grid["start"])
        if n_min < 1:
            raise ConfigError(
                f"{key}.n_eff_exponent.start: {grid['start']} gives n = {n_min} < 1 samples at d = {d}; "
                f"raise start to at least {-1.0 if model == 'quadratic' else 0.0}"
            )


def _check_tail_sweep(config: Mapping[str, Any]) -> None:
    tail = tail_sweep(config)
    for d in tail["d"]:
        # A sweep's files are named by (d, γ, Δ, ℓ) only: the same d in both sweeps would give one
        # spectra job two n grids.
        if d in config["quadratic"]["d"]:
            raise ConfigError(
                f"spectra.tail.d: {d} is also in quadratic.d {config['quadratic']['d']}; "
                "allowed: dimensions that are not in the main quadratic sweep (remove it from one of the two)"
            )
    _check_n_grid("spectra.tail", "quadratic", tail["n_eff_exponent"], tail["d"])


def fig2_points(config: Mapping[str, Any], model: str) -> dict[str, dict[str, Any]]:
    """The extra Figure-2 points of ``model`` in a validated config, keyed by phase ({} if none).

    Each value holds ``d``, ``gamma``, ``lam_exponent``, ``n_eff_exponent`` (κ, as configured)
    and ``n``, the sample size the fits use (rounded as on the sweeps' grids).
    """
    points = (config["spectra"].get("fig2") or {}).get(model) or {}
    return {
        phase: {**point, "n": n_from_exponent(model, point["d"], float(point["n_eff_exponent"]))}
        for phase, point in points.items()
    }


def _check_fig2_points(config: Mapping[str, Any]) -> None:
    """Each extra Figure-2 point: n >= 1, d outside its model's sweeps, one n per (d, γ, ℓ), in its phase."""
    for model in MODELS:
        sweeps = set(config[model]["d"]) | (set(tail_sweep(config)["d"]) if model == "quadratic" else set())
        seen: dict[tuple, str] = {}
        for phase, point in (config["spectra"].get("fig2") or {}).get(model, {}).items():
            key = f"spectra.fig2.{model}.{phase}"
            d, ell = point["d"], point["lam_exponent"]
            _check_n_grid(key, model, {"start": point["n_eff_exponent"], "stop": point["n_eff_exponent"]}, [d])
            if d in sweeps:
                # Files are named by (d, γ, Δ, ℓ) and the spectra job reads its n grid by d: a d of
                # the sweep would give one job two grids.
                raise ConfigError(
                    f"{key}.d: {d} is also a d of the {model} sweep (or spectra.tail) {sorted(sweeps)}; "
                    "allowed: a dimension outside them (e.g. one more or less)"
                )
            stem = (d, point["gamma"], ell)
            if stem in seen:
                raise ConfigError(
                    f"{key}: same (d, γ, ℓ) = {stem} as spectra.fig2.{model}.{seen[stem]}; "
                    "allowed: points that differ in d, γ or ℓ (change d of one of them)"
                )
            seen[stem] = phase
            n = fig2_points(config, model)[phase]["n"]
            kappa = kappa_value(model, d, n)
            found = classify_phase(kappa, ell, point["gamma"])
            if found != phase:
                raise ConfigError(
                    f"{key}: (κ, ℓ, γ) = ({kappa:.3g}, {ell:g}, {point['gamma']:g}) with n = {n} lies in phase "
                    f"{found}, not {phase}; move κ or ℓ into {phase} (rates.classify_phase gives its conditions)"
                )


#: Bytes of one float64.
_FLOAT = 8
#: d × d float64 matrices a quadratic fit holds at once besides its design: the teacher S*, the
#: iterate, its previous value (momentum), the gradient, and eigh's eigenvectors and workspace.
#: An estimate from estimators/psd_convex.py; the measured peaks are in the cost model (resources/cost_model.json).
QUADRATIC_DXD_COPIES = 8
#: d × d float64 matrices of the quadratic Monte-Carlo SE: the GOE draw, the teacher and eigh's
#: eigenvectors and workspace.
QUADRATIC_SE_DXD_COPIES = 4
#: Environment variable that overrides the memory (GB) a config or a CLI job may plan for, for a
#: login node that validates a study meant for larger compute nodes (docs/cluster.md).
MEMORY_ENV = "SHALLOWSCALING_MEMORY_GB"


def machine_memory_gb() -> float:
    """Physical memory of this machine in GB (``$SHALLOWSCALING_MEMORY_GB`` overrides it)."""
    text = os.environ.get(MEMORY_ENV)
    if text is not None:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise ConfigError(f"${MEMORY_ENV}: must be a number of GB > 0; got {text!r}")
        return value
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9


def diagonal_fit_bytes(d: int, n: int, design_memory_gb: float | None = None) -> float:
    """Memory of one diagonal fit: the n × d design, its d × d Gram matrix and a few vectors.

    A LASSO design that the budget ``design_memory_gb`` streams
    (:func:`~shallowscaling.data.diagonal_design_streamed`) counts for that budget at most, as a
    quadratic one does; ``None``: the design is held whatever its size (the diagonal network).
    """
    design = float(_FLOAT * n * d)
    if design_memory_gb is not None and diagonal_design_streamed(n, d, design_memory_gb):
        design = design_memory_gb * 1e9
    return design + _FLOAT * (d * d + 4 * (n + d))


def quadratic_fit_bytes(d: int, n: int, design_memory_gb: float, width: int | None = None) -> float:
    """Memory of one quadratic fit: the in-memory part of the n × d design (at most
    ``design_memory_gb``, larger designs are redrawn block by block), the labels, the d × d
    matrices of the solver (:data:`QUADRATIC_DXD_COPIES`) and the network's d × p factor."""
    design = min(float(_FLOAT * n * d), design_memory_gb * 1e9)
    return design + _FLOAT * (4 * n + QUADRATIC_DXD_COPIES * d * d + 2 * d * (width or d))


def quadratic_se_bytes(d: int) -> float:
    """Memory of the quadratic Monte-Carlo state evolution at dimension d (one draw at a time)."""
    return float(_FLOAT * QUADRATIC_SE_DXD_COPIES * d * d)


def fit_workers(config: Mapping[str, Any], model: str, d: int) -> int:
    """Replicates a fit job solves in parallel: ``quadratic.solver.workers`` (at most the
    replicates) for quadratic fits with d >= ``workers_min_d``, else 1. Each worker runs one BLAS
    thread on its own replicates, so the tables are bit-identical to a serial run."""
    solver = config["quadratic"]["solver"]
    if model != "quadratic" or d < solver.get("workers_min_d", 0):
        return 1
    return max(1, min(solver.get("workers", 1), config["quadratic"]["replicates"]))


def _check_memory(config: Mapping[str, Any]) -> None:
    """Refuse a sweep whose largest fit needs more memory than this machine has."""
    limit = machine_memory_gb()
    design_memory = config["quadratic"]["solver"].get("design_memory", 1.0)
    # The diagonal network holds its design whatever the budget (fit_bytes).
    diagonal_memory = (
        None
        if "network" in config["diagonal"]["estimators"]
        else config["diagonal"]["solver"].get("design_memory", 1.0)
    )
    width = config["quadratic"].get("width")
    fig5 = config["scaling"]["fig5"]
    tail = tail_sweep(config)
    sweeps = [
        ("diagonal", "diagonal", config["diagonal"]["d"], config["diagonal"]["n_eff_exponent"]),
        ("quadratic", "quadratic", config["quadratic"]["d"], config["quadratic"]["n_eff_exponent"]),
        ("spectra.tail", "quadratic", tail["d"], tail["n_eff_exponent"]),
        *(
            (f"spectra.fig2.{model}.{phase}", model, [p["d"]], {"stop": p["n_eff_exponent"]})
            for model in MODELS
            for phase, p in fig2_points(config, model).items()
        ),
        ("scaling.fig5.diagonal", "diagonal", fig5["diagonal"]["d"], fig5["diagonal"]["n_eff_exponent"]),
        ("scaling.fig5.quadratic", "quadratic", fig5["quadratic"]["d"], fig5["quadratic"]["n_eff_exponent"]),
    ]
    for key, model, dims, grid in sweeps:
        for index, d in enumerate(dims):
            n = n_from_exponent(model, d, grid["stop"])
            if model == "diagonal":
                need = diagonal_fit_bytes(d, n, diagonal_memory)
            else:
                need = max(
                    fit_workers(config, model, d) * quadratic_fit_bytes(d, n, design_memory, width),
                    quadratic_se_bytes(d),
                )
            if need / 1e9 > limit:
                raise ConfigError(
                    f"{key}.d[{index}]: {d} needs about {need / 1e9:.3g} GB per {model} job (n = {n} at "
                    f"n_eff_exponent.stop = {grid['stop']}), more than this machine's {limit:.3g} GB; allowed: a "
                    f"smaller d or stop (or set ${MEMORY_ENV} to the compute nodes' memory)"
                )


#: Set to 1 to skip :func:`check_cuda`, e.g. to submit GPU jobs from a login node without GPUs.
CUDA_CHECK_ENV = "SHALLOWSCALING_SKIP_CUDA_CHECK"


def _cuda_min_d(config: Mapping[str, Any]) -> int | None:
    return (config["quadratic"].get("device") or {}).get("cuda_min_d")


def uses_cuda(config: Mapping[str, Any], model: str, d: int) -> bool:
    """Whether the fit job of ``model`` at dimension ``d`` runs on a CUDA GPU.

    The one rule that the fit rule (``--device cuda``), its SLURM resources (one GPU) and
    ``shallowscaling plan`` share: the quadratic fits with d >= ``quadratic.device.cuda_min_d``.
    """
    threshold = _cuda_min_d(config)
    return model == "quadratic" and threshold is not None and int(d) >= threshold


def _quadratic_fit_dims(config: Mapping[str, Any]) -> list[int]:
    """Every d at which the study runs quadratic fits (the sweep, the tail sweep, Fig. 2's points, Fig. 5)."""
    extra = [point["d"] for point in fig2_points(config, "quadratic").values()]
    dims = [*config["quadratic"]["d"], *tail_sweep(config)["d"], *extra, *config["scaling"]["fig5"]["quadratic"]["d"]]
    return sorted(set(dims))


def cuda_dims(config: Mapping[str, Any]) -> list[int]:
    """The d of the study's quadratic fits that run on a CUDA GPU (empty: none)."""
    return [d for d in _quadratic_fit_dims(config) if uses_cuda(config, "quadratic", d)]


def _check_device(config: Mapping[str, Any]) -> None:
    """The factored and SSNAL solvers are NumPy-only: they cannot run the fits sent to CUDA."""
    dims = cuda_dims(config)
    method = config["quadratic"]["solver"].get("method", "auto")
    if dims and method in ("factored", "ssnal") and "convex" in config["quadratic"]["estimators"]:
        raise ConfigError(
            f"quadratic.device.cuda_min_d: {_cuda_min_d(config)} sends the convex fits at d = "
            f"{', '.join(map(str, dims))} to CUDA, but quadratic.solver.method is {method!r}, which runs on NumPy "
            "only; use method auto (FISTA on the GPU) or fista, or set cuda_min_d to null"
        )


def check_cuda(config: Mapping[str, Any], need_gpu: bool = True) -> None:
    """Refuse a config that sends fits to CUDA where PyTorch (or, with ``need_gpu``, a GPU) is missing.

    Run by the workflow before any job starts (not in dry runs). Skipped when the environment
    variable ``SHALLOWSCALING_SKIP_CUDA_CHECK`` (:data:`CUDA_CHECK_ENV`) is 1; each GPU job then
    still fails on its own, in one line, if its node has no GPU.

    Raises
    ------
    ConfigError
        Naming ``quadratic.device.cuda_min_d``, what is missing and the fix.
    """
    dims = cuda_dims(config)
    if not dims or os.environ.get(CUDA_CHECK_ENV, "") == "1":
        return
    where = ", ".join(map(str, dims))
    key = f"quadratic.device.cuda_min_d: {_cuda_min_d(config)} sends the quadratic fits at d = {where} to CUDA"
    fix = f"set it to null to fit on the CPU, or set {CUDA_CHECK_ENV}=1 to submit from a machine without GPUs"
    try:
        import torch
    except ImportError as error:
        raise ConfigError(
            f"{key}, but PyTorch does not import ({error}); install a CUDA build of torch "
            f"(pip install 'shallowscaling[torch]'), or {fix}"
        ) from None
    if need_gpu and not torch.cuda.is_available():
        raise ConfigError(f"{key}, but torch.cuda.is_available() is False on this machine; {fix}")


#: The schema node that bounds each command-line flag, so that the CLI and the config accept the
#: same values (JSON pointers into shallowscaling/resources/config.schema.yaml).
CLI_BOUNDS = {
    "d": "$defs/model_common/d/items",
    "se_d": "$defs/scaling_dims/items",
    "gamma": "$defs/model_common/gamma/items",
    "noise": "$defs/model_common/noise/items",
    "lam_exponent": "$defs/model_common/lam_exponent/items",
    "seed": "properties/seed",
    "replicates": "$defs/model_common/replicates",
    "tol": "$defs/solver/properties/tol",
    "max_iter": "$defs/solver/properties/max_iter",
    "width": "properties/quadratic/properties/width/oneOf/1",
    "block_size": "$defs/quadratic_solver/properties/block_size",
    "design_memory": "$defs/quadratic_solver/properties/design_memory",
    "workers": "$defs/quadratic_solver/properties/workers",
    "n_draws": "properties/quadratic/properties/se/properties/n_draws",
    "mc_rtol": "properties/quadratic/properties/se/properties/mc_rtol",
    "max_draws": "properties/quadratic/properties/se/properties/max_draws",
    "margin": "properties/scaling/properties/margin",
    "scaling_tol": "properties/scaling/properties/tol",
    "resamples": "properties/scaling/properties/bootstrap/properties/resamples",
    "confidence": "properties/scaling/properties/bootstrap/properties/confidence",
    "peak_bracket": "properties/scaling/properties/peak_bracket/items",
    "dpi": "properties/figures/properties/dpi",
    "axis": "$defs/axis/properties/start",
}


def cli_bound(name: str) -> dict[str, Any]:
    """The schema's bounds of a flag: ``minimum``, ``exclusiveMinimum``, ``maximum``, ``exclusiveMaximum``."""
    node: Any = _schema()
    for part in CLI_BOUNDS[name].split("/"):
        node = node[int(part)] if isinstance(node, list) else node[part]
    keys = ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum")
    return {key: node[key] for key in keys if key in node}


class StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (plain YAML keeps the last).

    The error names the key path and its line; :func:`read_config_file` adds the file.
    """

    def construct_document(self, node: yaml.Node) -> Any:
        _check_unique_keys(node, "")
        return super().construct_document(node)


class _DuplicateKeyError(yaml.YAMLError):
    """A mapping key written twice; the message names its path and lines."""


def _check_unique_keys(node: yaml.Node, path: str) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            where = f"{path}.{key}" if path else str(key)
            if key in seen:
                raise _DuplicateKeyError(
                    f"{where}: key given twice (lines {seen[key]} and {key_node.start_mark.line + 1}); "
                    "allowed: each key once (YAML would silently keep the last)"
                )
            seen[key] = key_node.start_mark.line + 1
            _check_unique_keys(value_node, where)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _check_unique_keys(item, f"{path}[{index}]")


#: Snakemake runs a config file through YTE (Python expressions evaluated) when its top level
#: holds this key.
YTE_KEY = "__use_yte__"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Read one config file (``config.yaml`` or an overlay) as a mapping, strictly.

    Refused, each in one line naming the file: a missing file, a folder, bytes that are not UTF-8
    text, invalid YAML, a key given twice in one mapping, a top level that is not a mapping, and
    the YTE switch ``__use_yte__`` (templating evaluates Python before any validation).
    """
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder; allowed: a YAML config file") from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file; allowed: a YAML config file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror}); allowed: a readable YAML file") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start}); "
            "allowed: a YAML config file"
        ) from None
    try:
        data = yaml.load(text, Loader=StrictLoader)  # a SafeLoader subclass
    except _DuplicateKeyError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigError(f"{path}: is not valid YAML{where}: {' '.join(str(problem).split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the top level must be a mapping of keys; got {type(data).__name__} "
            f"{_SHORT.repr(data)} (a Snakemake target after --configfile is read as a config file: "
            "write `--configfile FILE -- TARGET` or put the targets before --configfile)"
        )
    if YTE_KEY in data:
        raise ConfigError(
            f"{path}: {YTE_KEY} is not allowed; YTE templating evaluates Python in the config before it is "
            "validated; write plain values instead"
        )
    return data


def load_config(*paths: str | Path) -> dict[str, Any]:
    """Read one or more YAML files (later ones overlay earlier ones, key by key) and validate.

    Each file is read by :func:`read_config_file` (duplicate keys, non-text files and YTE are refused).
    """
    merged: dict[str, Any] = {}
    for path in paths:
        merged = _overlay(merged, read_config_file(path))
    return validate_config(merged)


def _overlay(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _overlay(out[key], value)
        else:
            out[key] = value
    return out
