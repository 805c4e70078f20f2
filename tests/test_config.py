"""Config validation: every bad input names the key, the value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from shallowscaling.config import (
    CUDA_CHECK_ENV,
    check_cuda,
    cuda_dims,
    format_float,
    load_config,
    n_grid,
    parse_float,
    tail_sweep,
    uses_cuda,
    validate_config,
)
from shallowscaling.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base() -> dict:
    with open(REPO / "config.yaml") as handle:
        return yaml.safe_load(handle)


def test_paper_scale_overlay_is_valid() -> None:
    config = load_config(REPO / "config.yaml", REPO / "configs" / "paper.yaml")
    assert config["quadratic"]["d"] == [100, 200, 400, 800]
    assert config["quadratic"]["se"]["route"] == "deterministic"


def test_tail_sweep_is_optional(base: dict) -> None:
    config = copy.deepcopy(base)
    del config["spectra"]["tail"]
    assert tail_sweep(validate_config(config))["d"] == []
    assert tail_sweep(validate_config(base))["d"] == [160]


def test_default_and_tiny_configs_are_valid() -> None:
    config = load_config(REPO / "config.yaml", REPO / "tests" / "configs" / "tiny.yaml")
    assert config["diagonal"]["d"] == [20, 30]
    assert config["diagonal"]["gamma"] == [1.0]  # overlay keeps untouched keys


@pytest.mark.parametrize(
    ("mutate", "fragments"),
    [
        (lambda c: c.update(sede=1), ["sede", "accepted keys", "seed"]),
        (lambda c: c["diagonal"].update(d=[0]), ["diagonal.d[0]", "0", ">= 2"]),
        (lambda c: c["diagonal"].update(gamma=[0.4]), ["diagonal.gamma[0]", "0.4", "> 0.5"]),
        (lambda c: c["quadratic"].update(noise=["big"]), ["quadratic.noise[0]", "'big'", "number"]),
        (lambda c: c["diagonal"].update(lam_exponent=[]), ["diagonal.lam_exponent", "[]", "at least 1"]),
        (lambda c: c["quadratic"].update(width=0), ["quadratic.width", "0"]),
        (lambda c: c["diagonal"].update(estimators=["ridge"]), ["diagonal.estimators[0]", "ridge", "lasso"]),
        (lambda c: c["diagonal"]["n_eff_exponent"].update(start=-0.5), ["diagonal.n_eff_exponent.start", "n = 0 < 1"]),
        (lambda c: c["diagonal"]["n_eff_exponent"].update(start=2.0), ["start (2.0) must be <= stop"]),
        (lambda c: c["spectra"]["tail"].update(d=[80]), ["spectra.tail.d", "80", "quadratic.d", "not in the main"]),
        (lambda c: c["spectra"]["tail"].update(d=[1]), ["spectra.tail.d[0]", "1", ">= 2"]),
        (lambda c: c["spectra"]["tail"]["n_eff_exponent"].update(start=1.5), ["spectra.tail.n_eff", "start (1.5)"]),
        (lambda c: c["spectra"]["tail"].update(gamma=[1.0]), ["spectra.tail", "gamma"]),
        (lambda c: c["quadratic"]["se"].update(mc_rtol=0), ["quadratic.se.mc_rtol", "0"]),
        (lambda c: c["quadratic"]["se"].update(max_draws=4), ["quadratic.se.max_draws: 4", "n_draws (5)", "raise"]),
        (lambda c: c["quadratic"].update(device={"cuda_min_d": 1}), ["quadratic.device.cuda_min_d", "1", ">= 2"]),
        (lambda c: c["quadratic"].update(device={"cuda": True}), ["quadratic.device", "cuda_min_d", "missing"]),
        (
            lambda c: (
                c["quadratic"].update(device={"cuda_min_d": 80}),
                c["quadratic"]["solver"].update(method="factored"),
            ),
            ["quadratic.device.cuda_min_d: 80", "d = 80, 160", "'factored'", "NumPy only", "null"],
        ),
    ],
)
def test_bad_input_names_key_value_and_allowed(base: dict, mutate, fragments: list[str]) -> None:
    config = copy.deepcopy(base)
    mutate(config)
    with pytest.raises(ConfigError) as info:
        validate_config(config)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_canonical_wildcard_floats_round_trip() -> None:
    for value, text in [(0.5, "0.5"), (-1.0, "-1"), (1e-3, "0.001"), (0.0, "0"), (-0.0, "0"), (2.25, "2.25")]:
        assert format_float(value) == text
        assert parse_float(text) == value
    with pytest.raises(ValueError, match="canonical"):
        parse_float("0.50")


def test_n_grid_follows_the_paper_scalings() -> None:
    grid = {"start": 0.0, "stop": 1.0, "num": 3}
    # diagonal n_eff = n = d^κ; quadratic n_eff = n/d = d^κ, so n = d^{κ+1}
    assert n_grid("diagonal", 100, grid) == [1, 10, 100]
    assert n_grid("quadratic", 100, grid) == [100, 1000, 10000]


def test_cuda_selects_the_quadratic_fits_from_cuda_min_d(base: dict) -> None:
    config = copy.deepcopy(base)
    assert cuda_dims(validate_config(config)) == []  # the default: every fit on the CPU
    config["quadratic"]["device"] = {"cuda_min_d": 80}
    config = validate_config(config)
    # The main sweep's d = 80 and the tail sweep's d = 160; never a diagonal fit.
    assert cuda_dims(config) == [80, 160]
    assert [uses_cuda(config, "quadratic", d) for d in (40, 80, 160)] == [False, True, True]
    assert not uses_cuda(config, "diagonal", 800)


def test_cuda_check_names_the_key_and_the_fix(base: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    config = copy.deepcopy(base)
    config["quadratic"]["device"] = {"cuda_min_d": 80}
    monkeypatch.delenv(CUDA_CHECK_ENV, raising=False)
    monkeypatch.setitem(__import__("sys").modules, "torch", None)  # torch absent: its import fails
    with pytest.raises(ConfigError) as info:
        check_cuda(config, need_gpu=False)
    for fragment in ("quadratic.device.cuda_min_d: 80", "d = 80, 160", "PyTorch does not import", CUDA_CHECK_ENV):
        assert fragment in str(info.value)
    monkeypatch.setenv(CUDA_CHECK_ENV, "1")
    check_cuda(config)  # skipped, e.g. on a login node
    base_config = copy.deepcopy(base)
    monkeypatch.delenv(CUDA_CHECK_ENV)
    check_cuda(base_config)  # nothing sent to CUDA: nothing to check, torch or not


def test_fig2_points_outside_their_phase_or_on_a_sweep_d_are_refused() -> None:
    base = load_config(REPO / "config.yaml")
    wrong = copy.deepcopy(base)
    wrong["spectra"]["fig2"]["quadratic"]["III"]["gamma"] = 1.0  # III then needs ℓ > γ − ½ = 0.5
    with pytest.raises(ConfigError, match=r"spectra\.fig2\.quadratic\.III: .* lies in phase II, not III"):
        validate_config(wrong)
    clash = copy.deepcopy(base)
    clash["spectra"]["fig2"]["diagonal"]["III"]["d"] = 100  # a d of the diagonal sweep
    with pytest.raises(ConfigError, match=r"spectra\.fig2\.diagonal\.III\.d: 100 is also a d"):
        validate_config(clash)
