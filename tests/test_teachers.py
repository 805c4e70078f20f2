"""Teacher families and teachers from a file (issue 17 part 1): closed forms, and two routes to one teacher."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from shallowscaling import targets
from shallowscaling.cli import main
from shallowscaling.errors import InputError
from shallowscaling.tasks.problem import TeacherSpec, draw_problem, draw_teacher


def test_sparse_and_flat_values_and_their_unit_scale():
    raw = targets.family_values("sparse", 40, sparsity=0.25, normalization="paper")
    assert raw.tolist() == [1.0] * 10 + [0.0] * 30
    # unit: (1/d) Σ v² = 1, i.e. the ten ones become ε^{-1/2} = 2.
    assert targets.family_values("sparse", 40, sparsity=0.25).tolist() == [2.0] * 10 + [0.0] * 30
    assert targets.sparse_count(1000, 1e-9) == 1  # never the zero teacher
    assert targets.sparse_count(30, 0.5) == 15
    assert np.array_equal(targets.family_values("flat", 7), np.ones(7))
    with pytest.raises(InputError, match="sparsity"):
        targets.family_values("sparse", 10, sparsity=0.0)


def test_wishart_spectrum_two_routes_and_its_mean_square():
    d, ratio = 60, 0.5
    values = targets.family_values("wishart", d, np.random.default_rng(3), width_ratio=ratio, normalization="paper")
    w = np.random.default_rng(3).standard_normal((d, 30))
    direct = np.sort(np.linalg.eigvalsh(w @ w.T / math.sqrt(30 * d)))[::-1]
    np.testing.assert_allclose(values, np.clip(direct, 0.0, None), atol=1e-12)
    assert np.count_nonzero(values) == 30
    # E Tr((WWᵀ)²) = d r (d + r + 1), so E Q* = (d + r + 1)/d = 1.5167 here; 200 draws: s.e. ~ 0.002.
    rng = np.random.default_rng(4)
    mean_square = np.mean(
        [np.mean(targets.family_values("wishart", d, rng, width_ratio=ratio, normalization="paper") ** 2)
         for _ in range(200)]
    )  # fmt: skip
    assert mean_square == pytest.approx((d + 30 + 1) / d, abs=0.01)
    unit = targets.family_values("wishart", d, np.random.default_rng(3), width_ratio=ratio)
    assert np.mean(unit**2) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("ratio", [0.3, 1.0, 4.0])
def test_wishart_exact_law_against_its_moments_and_a_large_sample(ratio):
    # Mass 1, mean √κ exactly (bins keep their means); second moment 1 + κ less the within-bin
    # variance (O(400⁻²)). Against the sampled spectrum at d = 800: the distribution functions
    # differ by O(1/d) plus sampling noise, checked at a few points.
    positions, weights = targets.wishart_law(ratio, 400, "paper")
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.sum(weights * positions) == pytest.approx(math.sqrt(ratio), rel=1e-9)
    assert np.sum(weights * positions**2) == pytest.approx(1.0 + ratio, rel=1e-5)
    if ratio < 1:
        assert positions[0] == 0.0 and weights[0] == pytest.approx(1.0 - ratio)
    sample = targets.family_values("wishart", 800, np.random.default_rng(5), width_ratio=ratio, normalization="paper")
    for x in np.quantile(sample, [0.8, 0.9, 0.97]):
        assert np.mean(sample <= x) == pytest.approx(np.sum(weights[positions <= x]), abs=0.01)
    unit, _ = targets.wishart_law(ratio, 400)
    np.testing.assert_allclose(unit, positions / math.sqrt(1.0 + ratio))


def test_default_spec_is_the_power_law_bit_for_bit():
    for model in ("diagonal", "quadratic"):
        plain = draw_teacher(model, 30, 1.0, 5, 2)
        specced = draw_teacher(model, 30, 1.0, 5, 2, "unit", TeacherSpec())
        assert plain.keys() == specced.keys()
        for key in plain:
            assert np.array_equal(plain[key], specced[key])


def test_file_teacher_is_used_as_given_or_unit_scaled():
    values = np.linspace(0.0, 3.0, 25)
    spec = TeacherSpec(values=values)
    assert np.array_equal(draw_problem("diagonal", 25, 1.0, 0.1, 10, 0, 0, None, teacher=spec).theta_star, values)
    scaled = draw_teacher("diagonal", 25, 1.0, 0, 0, "unit", spec)["theta_star"]
    assert np.mean(scaled**2) == pytest.approx(1.0, rel=1e-12)
    # Quadratic: the file gives the eigenvalues; the Haar basis is the power-law teacher's.
    quadratic = draw_teacher("quadratic", 25, 1.0, 0, 0, None, spec)
    assert np.array_equal(quadratic["eigenvalues"], values)
    assert np.array_equal(quadratic["basis"], draw_teacher("quadratic", 25, 1.0, 0, 0)["basis"])


def _json(argv, capsys):
    capsys.readouterr()
    assert main([*argv, "--json"]) in (0, None)
    return json.loads(capsys.readouterr().out)


def test_fit_with_a_file_equals_the_named_family(tmp_path, capsys):
    # Two routes to θ* = (1 on 5 coordinates, 0 elsewhere): the file and --teacher-family sparse
    # at the raw scale; the data stream is keyed by (seed, d, γ, Δ, n, replicate), so the fits agree.
    path = tmp_path / "theta.npy"
    np.save(path, targets.family_values("sparse", 20, sparsity=0.25, normalization="paper"))
    point = ["fit", "diagonal", "--d", "20", "--gamma", "1", "--noise", "0.1", "--n", "15", "--lam", "0.1",
             "--estimator", "lasso"]  # fmt: skip
    from_file = _json([*point, "--teacher-file", str(path)], capsys)
    named = _json([*point, "--teacher-family", "sparse", "--sparsity", "0.25", "--normalization", "paper"], capsys)
    assert from_file["converged"] and from_file == named


def test_predict_quadratic_file_of_the_power_law_spectrum_equals_the_default(tmp_path, capsys):
    path = tmp_path / "eigenvalues.npy"
    np.save(path, targets.power_law_spectrum(30, 1.0))
    point = ["predict", "quadratic", "--d", "30", "--gamma", "1", "--noise", "0.5", "--n", "600", "--lam", "0.3",
             "--route", "deterministic"]  # fmt: skip
    assert _json([*point, "--teacher-file", str(path)], capsys) == _json(point, capsys)


def test_issue17_acceptance_predict_with_a_sparse_teacher_file(tmp_path, capsys):
    # θ* = 1 on εd coordinates, Δ = 0, n/d = 0.5, ε = 0.1 < ε_c(0.5) = 0.1928: converged and R ∝ λ²
    # (R/λ² = 1.01375 from the closed form of tests/state_evolution/test_diagonal_se.py).
    path = tmp_path / "theta.npy"
    np.save(path, targets.family_values("sparse", 1000, sparsity=0.1, normalization="paper"))
    point = ["predict", "diagonal", "--d", "1000", "--gamma", "1", "--noise", "0", "--n", "500",
             "--teacher-file", str(path)]  # fmt: skip
    records = [_json([*point, "--lam", lam], capsys) for lam in ("1e-3", "1e-5")]
    for record in records:
        assert record["converged"] and record["status"] == "converged"
        assert record["fixed_point_residual"] <= 1e-10
        assert record["excess_risk"] / record["lam"] ** 2 == pytest.approx(1.0137515, rel=1e-6)


def test_gamma_is_optional_for_another_teacher_and_keys_the_draws_as_the_workflow(tmp_path, capsys):
    # Without --gamma a file or family teacher draws its data with γ = 1 (workflow.teachers.DATA_GAMMA),
    # so the command equals the one the study's jobs run; the power law still needs it.
    path = tmp_path / "theta.npy"
    np.save(path, targets.family_values("sparse", 20, sparsity=0.25, normalization="paper"))
    point = ["fit", "diagonal", "--d", "20", "--noise", "0.1", "--n", "15", "--lam", "0.1", "--estimator", "lasso",
             "--teacher-file", str(path)]  # fmt: skip
    assert _json(point, capsys) == _json([*point, "--gamma", "1"], capsys)
    assert _json(point, capsys) != _json([*point, "--gamma", "2"], capsys)
    with pytest.raises(SystemExit) as raised:
        main(["predict", "diagonal", "--d", "20", "--noise", "0.1", "--n", "15", "--lam", "0.1"])
    assert raised.value.code == 2
    assert "--gamma is required for the power-law teacher" in capsys.readouterr().err
