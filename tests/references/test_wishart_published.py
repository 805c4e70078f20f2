"""The Bayes-optimal error of a Wishart teacher against the published theory curves.

Maillard, Troiani, Martin, Krzakala & Zdeborová (NeurIPS 2024) published their theory curves as
CSV tables with the paper's code (GitHub: SPOC-group/ExtensiveWidthQuadraticSamples,
``data_theory/line_no_noise_{κ}.csv`` and ``line_noise_0.5_0.25.csv``, the second at κ = 0.5,
Δ = 0.25). A few points of each are copied below, (α, error). Their error is our ``matrix_mse`` at
the paper scale S* = WWᵀ/√(rd), and their Δ is ours (docs/theory.md §10): the reference formula
must match them to the precision of their own quadrature, and our state evolution on the exact
Marchenko–Pastur law within the issue's 10⁻³.
"""

from __future__ import annotations

import pytest

from shallowscaling.references.wishart_bayes import wishart_bayes_mmse
from shallowscaling.state_evolution.quadratic_bayes import solve_quadratic_bayes_se
from shallowscaling.targets import wishart_law

#: (κ, Δ) → [(α, published error)], rows of the published tables.
PUBLISHED = {
    (0.1, 0.0): [
        (0.020244094488188976, 0.9359638736172861),
        (0.05059055118110236, 0.7121789501847128),
        (0.08093700787401575, 0.3386889135725453),
    ],
    (0.5, 0.0): [
        (0.1011259842519685, 0.719940074037354),
        (0.201251968503937, 0.388308778381384),
        (0.3013779527559055, 0.1252649727500233),
    ],
    (1.0, 0.0): [
        (0.10315748031496064, 0.7566538870010768),
        (0.2524645669291339, 0.368926499742146),
        (0.4017716535433071, 0.08184227346294652),
    ],
    (5.0, 0.0): [
        (0.10315748031496064, 0.7867984403571189),
        (0.2524645669291339, 0.4698384300895462),
        (0.4017716535433071, 0.17157639480176284),
    ],
    (0.5, 0.25): [
        (0.10315748031496064, 0.7610967682139579),
        (0.2524645669291339, 0.41195310280113223),
        (0.5, 0.16389157506752275),
    ],
}
CASES = [(kappa, noise, alpha, error) for (kappa, noise), rows in PUBLISHED.items() for alpha, error in rows]


@pytest.mark.parametrize(("kappa", "noise", "alpha", "published"), CASES)
def test_reference_formula_reproduces_published_curve(kappa, noise, alpha, published):
    # Measured: |difference| <= 3e-7; their quadrature runs at 1e-8 (noiseless) and 1e-4 (noisy) tolerance.
    assert wishart_bayes_mmse(alpha, kappa, noise) == pytest.approx(published, abs=2e-5)


@pytest.mark.slow
@pytest.mark.parametrize(("kappa", "noise", "alpha", "published"), CASES[1::3])
def test_state_evolution_reproduces_published_curve(kappa, noise, alpha, published):
    positions, weights = wishart_law(kappa, 400, "paper")
    d = 1000  # only rounds n = αd²
    result = solve_quadratic_bayes_se(positions, round(alpha * d * d), noise, weights=weights, d=d)
    assert result.converged
    assert result.matrix_mse == pytest.approx(published, abs=1e-3)
