"""The teacher of each model's sweep (the config's ``teacher:`` section): its checks, its file-name
tag and its command-line flags.

A sweep's file stem names its teacher in the segment after ``d{d}_`` (the ``teacher`` wildcard):

* ``gamma{γ}``: the power law k^-γ, one per value of ``gamma`` (the default; the study's names);
* ``sparse{ε}``, ``wishart{κ}``, ``flat``: a named family (the ``fit``/``predict`` flags
  ``--teacher-family``, ``--sparsity``, ``--width-ratio``);
* ``file-{h}``: a ``--teacher-file``, h the first 12 hex digits of the SHA-256 of its bytes, so a
  new content gets new file names (and the file is an input of its jobs).

These teachers have no γ: ``gamma`` must then hold one value, which is unused, and their data are
drawn with γ = 1 in the seed keys (:data:`DATA_GAMMA`), so that the stem names the draw fully.
Only the Figure-3 stage (fits, SE, Bayes-optimal and optimal-λ curves) runs them: the spectral
stage reads the power-law teacher table, so its targets leave such a model out, and the scaling
stage (``scaling.gamma``, Figure 5) is a power-law study by construction.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from functools import cache
from typing import Any

from ..config import format_float
from ..errors import ConfigError, InputError
from ..io.teacher_file import read_teacher_file, teacher_file_digest
from ..targets import TEACHER_FAMILIES

__all__ = [
    "DATA_GAMMA",
    "TEACHER_TAG",
    "check_teacher_config",
    "gamma_tag",
    "is_power_law",
    "tag_gamma",
    "teacher_command",
    "teacher_input",
    "teacher_label",
    "teacher_section",
    "teacher_tags",
]

#: The γ of the seed keys of every non-power-law teacher's data (the CLI's --gamma, unused otherwise).
DATA_GAMMA = 1.0
#: The ``teacher`` wildcard: a power-law γ, a family with its parameter, or a file digest.
TEACHER_TAG = r"gamma-?[0-9]+(\.[0-9]+)?|sparse[0-9]+(\.[0-9]+)?|wishart[0-9]+(\.[0-9]+)?|flat|file-[0-9a-f]{12}"
_DEFAULT = {"family": "power_law", "sparsity": None, "width_ratio": None, "file": None}
_PARAMETER = {"sparse": "sparsity", "wishart": "width_ratio"}


def teacher_section(config: Mapping[str, Any], model: str) -> dict[str, Any]:
    """The model's ``teacher`` keys, absent ones at their defaults (the power law)."""
    return {**_DEFAULT, **config[model].get("teacher", {})}


def is_power_law(config: Mapping[str, Any], model: str) -> bool:
    section = teacher_section(config, model)
    return section["file"] is None and section["family"] == "power_law"


def check_teacher_config(config: Mapping[str, Any]) -> None:
    """The cross-key rules of both ``teacher`` sections (the schema bounds each key): a ConfigError
    in one line naming the key, the value and what is allowed."""
    for model in ("diagonal", "quadratic"):
        _check_model(config, model)


def _check_model(config: Mapping[str, Any], model: str) -> None:
    section, key = teacher_section(config, model), f"{model}.teacher"
    family, path = section["family"], section["file"]
    if path is not None and family is not None:
        raise ConfigError(
            f"{key}.family: {family} with {key}.file {path}: exclusive, one teacher; set family: null for a file"
        )
    if path is None and family is None:
        raise ConfigError(
            f"{key}.family: null; one of {', '.join(TEACHER_FAMILIES)} is allowed (null only with {key}.file)"
        )
    for wanted, name in _PARAMETER.items():
        if section[name] is not None and family != wanted:
            raise ConfigError(f"{key}.{name}: {section[name]:g} applies to family {wanted} only; got family {family}")
        if family == wanted and section[name] is None:
            bound = "in (0, 1]" if name == "sparsity" else "> 0"
            raise ConfigError(f"{key}.{name}: null; family {wanted} needs a value {bound}")
    if family == "wishart" and model == "diagonal":
        raise ConfigError(f"{key}.family: wishart is a matrix teacher S* = WWᵀ/√(rd): quadratic model only")
    if is_power_law(config, model):
        return
    gammas = config[model]["gamma"]
    if len(gammas) > 1:
        raise ConfigError(
            f"{model}.gamma: {gammas}; a {family or 'file'} teacher has no γ: one value is allowed (unused)"
        )
    if model == "diagonal" and config[model]["se"]["bayes"]:
        raise ConfigError(
            f"diagonal.se.bayes: true; the diagonal Bayes-optimal error needs the power-law Gaussian prior: "
            f"false is allowed with a {family or 'file'} teacher"
        )
    if path is not None:
        _check_file(config, model, path)


def _check_file(config: Mapping[str, Any], model: str, path: str) -> None:
    dims = config[model]["d"]
    if len(dims) > 1:
        raise ConfigError(f"{model}.d: {dims}; a {model}.teacher.file holds one teacher of one d: one value is allowed")
    if config["normalization"] != "unit":
        raise ConfigError(
            f"normalization: {config['normalization']}; a {model}.teacher.file is rescaled to (1/d) Σ v² = 1: "
            "unit is allowed (paper applies to generated teachers)"
        )
    try:
        values = read_teacher_file(path, model, dims[0], f"{model}.teacher.file: {path}", d_name=f"{model}.d")
    except InputError as error:
        raise ConfigError(str(error)) from None
    if not values.any():
        raise ConfigError(f"{model}.teacher.file: {path}: all zeros; normalization unit needs a nonzero teacher")


def gamma_tag(gamma: float) -> str:
    """The ``teacher`` wildcard of the power law k^-γ: ``gamma{γ}``, the study's historical stem."""
    return f"gamma{format_float(gamma)}"


def tag_gamma(tag: str) -> float | None:
    """γ of a power-law tag, None for the other teachers."""
    match = re.fullmatch(r"gamma(-?[0-9]+(\.[0-9]+)?)", tag)
    return None if match is None else float(match.group(1))


def teacher_tags(config: Mapping[str, Any], model: str, section: Mapping[str, Any] | None = None) -> list[str]:
    """The ``teacher`` wildcards of a model's sweep (`section`: a sweep with the model's teacher and
    its own ``gamma``): one per γ for the power law, else the one tag of the teacher."""
    teacher = teacher_section(config, model)
    if is_power_law(config, model):
        return [gamma_tag(g) for g in (section or config[model])["gamma"]]
    if teacher["file"] is not None:
        return [f"file-{_digest(teacher['file'])}"]
    parameter = _PARAMETER.get(teacher["family"])
    return [teacher["family"] + ("" if parameter is None else format_float(teacher[parameter]))]


def _digest(path: str) -> str:
    stat = os.stat(path)
    return _cached_digest(os.path.abspath(path), stat.st_mtime_ns, stat.st_size)


@cache
def _cached_digest(path: str, mtime_ns: int, size: int) -> str:
    # Keyed by mtime and size too: a file rewritten during a session is hashed again.
    return teacher_file_digest(path)


def teacher_label(config: Mapping[str, Any], model: str) -> str | None:
    """How a figure names the model's teacher: None for the power law (the figure prints γ)."""
    teacher = teacher_section(config, model)
    if teacher["file"] is not None:
        return f"teacher file {os.path.basename(teacher['file'])}"
    symbol = {"sparse": "ε", "wishart": "κ"}.get(teacher["family"])
    if teacher["family"] == "power_law":
        return None
    if symbol is None:
        return f"{teacher['family']} teacher"
    return f"{teacher['family']} teacher, {symbol} = {teacher[_PARAMETER[teacher['family']]]:g}"


def teacher_input(config: Mapping[str, Any], model: str, tag: str) -> list[str]:
    """What a job of this teacher reads besides its own inputs: the power law's teacher table is the
    caller's (it has the path table); a file teacher reads its file; a named family reads nothing."""
    if tag.startswith("file-"):
        return [teacher_section(config, model)["file"]]
    return []


def teacher_command(config: Mapping[str, Any], model: str, tag: str, teacher_file: str) -> tuple[str, str]:
    """``(--gamma …, teacher flags)`` of a fit or predict job: ``--gamma γ`` and ``--teacher TABLE``
    for the power law (the study's commands, unchanged), else ``--gamma 1`` (:data:`DATA_GAMMA`) and
    the family's or the file's flags; ``teacher_file`` is the job's teacher input."""
    gamma = tag_gamma(tag)
    if gamma is not None:
        return f"--gamma {format_float(gamma)}", f"--teacher {teacher_file}"
    data_gamma = f"--gamma {format_float(DATA_GAMMA)}"
    if tag.startswith("file-"):
        return data_gamma, f"--teacher-file {shlex.quote(teacher_file)}"
    teacher = teacher_section(config, model)
    flags = f"--teacher-family {teacher['family']}"
    parameter = _PARAMETER.get(teacher["family"])
    if parameter is not None:
        flags += f" --{parameter.replace('_', '-')} {format_float(teacher[parameter])}"
    return data_gamma, flags
