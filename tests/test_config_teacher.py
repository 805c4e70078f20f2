"""The `teacher:` section of each model: one-line errors naming the key, the value and what is allowed."""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from shallowscaling.config import validate_config
from shallowscaling.errors import ConfigError
from shallowscaling.workflow.teachers import check_teacher_config, teacher_tags

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base() -> dict:
    with open(REPO / "config.yaml") as handle:
        return yaml.safe_load(handle)


def _checked(config: dict) -> dict:
    config = validate_config(config)
    check_teacher_config(config)
    return config


def _with(base: dict, model: str, teacher: dict, **keys) -> dict:
    """`base` with a model's teacher and keys; the diagonal Bayes curve off (power law only) unless `se` is given."""
    config = copy.deepcopy(base)
    config[model]["teacher"] = teacher
    if model == "diagonal":
        config[model]["se"] = {**config[model]["se"], "bayes": False}
    config[model].update(keys)
    return config


def test_the_default_study_is_a_power_law_with_its_gamma_names(base: dict) -> None:
    config = _checked(copy.deepcopy(base))
    assert teacher_tags(config, "diagonal") == ["gamma1"]
    config = _checked(_with(base, "quadratic", {"family": "power_law"}, gamma=[0.75, 2.0]))
    assert teacher_tags(config, "quadratic") == ["gamma0.75", "gamma2"]


@pytest.mark.parametrize(
    ("model", "teacher", "tag"),
    [
        ("diagonal", {"family": "sparse", "sparsity": 0.2}, "sparse0.2"),
        ("diagonal", {"family": "flat"}, "flat"),
        ("quadratic", {"family": "wishart", "width_ratio": 0.5}, "wishart0.5"),
        ("quadratic", {"family": "sparse", "sparsity": 1}, "sparse1"),
    ],
)
def test_each_family_has_its_own_tag(base: dict, model: str, teacher: dict, tag: str) -> None:
    assert teacher_tags(_checked(_with(base, model, teacher)), model) == [tag]


@pytest.mark.parametrize(
    ("model", "teacher", "keys", "fragments"),
    [
        ("diagonal", {"family": "gaussian"}, {}, ["diagonal.teacher.family", "gaussian", "sparse"]),
        ("diagonal", {"famly": "flat"}, {}, ["diagonal.teacher", "famly", "accepted keys"]),
        ("diagonal", {"family": "sparse", "sparsity": 0}, {}, ["diagonal.teacher.sparsity", "0", "> 0"]),
        ("diagonal", {"family": "sparse", "sparsity": 1.5}, {}, ["diagonal.teacher.sparsity", "1.5", "<= 1"]),
        ("quadratic", {"family": "wishart", "width_ratio": 0}, {}, ["quadratic.teacher.width_ratio", "0", "> 0"]),
        ("diagonal", {"family": "sparse"}, {}, ["diagonal.teacher.sparsity: null", "family sparse", "(0, 1]"]),
        ("quadratic", {"family": "wishart"}, {}, ["quadratic.teacher.width_ratio: null", "> 0"]),
        ("diagonal", {"family": "flat", "sparsity": 0.3}, {}, ["diagonal.teacher.sparsity: 0.3", "sparse only"]),
        ("quadratic", {"family": "sparse", "sparsity": 0.3, "width_ratio": 2}, {}, ["width_ratio: 2", "wishart only"]),
        ("diagonal", {"family": "wishart", "width_ratio": 1}, {}, ["diagonal.teacher.family: wishart", "quadratic"]),
        ("diagonal", {"family": None}, {}, ["diagonal.teacher.family: null", "power_law", "file"]),
        (
            "diagonal",
            {"family": "flat"},
            {"gamma": [1.0, 2.0]},
            ["diagonal.gamma: [1.0, 2.0]", "flat teacher has no γ", "one value"],
        ),
        ("diagonal", {"file": "x.npy"}, {}, ["diagonal.teacher.family: power_law", "exclusive", "family: null"]),
        (
            "diagonal",
            {"family": "flat"},
            {"se": {"num": 40, "bayes": True, "optimal_lam": True}},
            ["diagonal.se.bayes: true", "power-law Gaussian prior", "false is allowed with a flat teacher"],
        ),
    ],
)
def test_bad_teacher_names_key_value_and_allowed(base: dict, model, teacher, keys, fragments) -> None:
    with pytest.raises(ConfigError) as info:
        _checked(_with(base, model, teacher, **keys))
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def _file(tmp_path: Path, values, name: str = "teacher.npy") -> str:
    path = tmp_path / name
    np.save(path, np.asarray(values))
    return str(path)


def test_a_file_teacher_is_named_by_its_content(base: dict, tmp_path: Path) -> None:
    path = _file(tmp_path, np.linspace(1.0, 0.1, 20))
    config = _checked(_with(base, "diagonal", {"family": None, "file": path}, d=[20]))
    (tag,) = teacher_tags(config, "diagonal")
    assert tag == "file-" + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
    np.save(path, np.linspace(1.0, 0.2, 20))  # new content, same name: a new tag
    assert teacher_tags(config, "diagonal") != [tag]


@pytest.mark.parametrize(
    ("model", "values", "keys", "fragments"),
    [
        ("diagonal", np.ones(20), {"d": [20, 30]}, ["diagonal.d: [20, 30]", "one d", "one value"]),
        ("diagonal", np.ones(19), {}, ["diagonal.teacher.file", "19 values", "diagonal.d 20 needs exactly 20"]),
        ("diagonal", np.ones((4, 5)), {}, ["shape (4, 5)", "1-D"]),
        ("diagonal", np.r_[np.ones(19), np.nan], {}, ["1 values are NaN", "index 19", "finite"]),
        ("quadratic", np.r_[np.ones(19), -1.0], {}, ["quadratic.teacher.file", "smallest eigenvalue -1", ">= 0"]),
        ("diagonal", np.zeros(20), {}, ["all zeros", "normalization unit"]),
    ],
)
def test_bad_teacher_files_are_refused(base, tmp_path, model, values, keys, fragments) -> None:
    config = _with(base, model, {"family": None, "file": _file(tmp_path, values)}, **{"d": [20], **keys})
    with pytest.raises(ConfigError) as info:
        _checked(config)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


def test_a_missing_file_and_the_paper_scale_are_refused(base: dict, tmp_path: Path) -> None:
    missing = str(tmp_path / "none.npy")
    with pytest.raises(ConfigError, match=r"diagonal\.teacher\.file: .*none\.npy: no such file"):
        _checked(_with(base, "diagonal", {"family": None, "file": missing}, d=[20]))
    config = _with(base, "diagonal", {"family": None, "file": _file(tmp_path, np.ones(20))}, d=[20])
    config["normalization"] = "paper"
    with pytest.raises(ConfigError, match=r"^normalization: paper; .*unit is allowed"):
        _checked(config)
