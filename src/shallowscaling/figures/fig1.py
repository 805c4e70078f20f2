"""Paper Figures 1 and 4: the (κ, ℓ) phase diagram, theory next to the SE-measured exponent.

Left panel: the Result-1 diagram (:mod:`shallowscaling.rates`) in κ = log_d n_eff and
ℓ = log_d λ: coloured regions with their rates, black boundaries, the paper's red lines where
the exponent jumps, a sketch of the trained weights' spectrum in each region (docs/theory.md §4: bulk =
learned noise, outliers = learned features) and the headline schedules λ ∈ {1/d, 1, √d} dotted.
Right panel: r − r_theory on a diverging scale (white = agreement, red = the SE decays faster
than the theory, blue = slower), where r = −Δ log R / Δ log d is measured with the
non-asymptotic SE between the two largest d at each grid point, with the theoretical boundaries
on top; scored cells (farther than the margin from every boundary) that miss the theory by more
than the tolerance are crossed, and the title gives the agreement. A cell whose SE did not
converge is grey with a red square, never blank. Figure 1 is the noisy diagram (Δ > 0),
Figure 4 the noiseless one (Δ = 0, paper Result 4).

Why cells miss: most misses sit in phase IV at small κ, where the rate carries a logarithmic
correction that a two-d slope at these d does not resolve (noiseless: the n_eff^(1−2γ) rate of
Result 4 holds up to a log(d/n_eff) factor; noisy diagonal: ρ(t) = −Δ/log t with t = n_eff/d),
so the measured r falls below the theory there and approaches it only as d grows. Cells next to
a boundary are not scored: there the slope mixes two rates (a scored cell just past the margin
can still feel it, e.g. the noiseless quadratic phase-II cell next to the II/IV corner).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap

from ..rates import NOISELESS_PHASES, NOISY_PHASES, boundary_segments, classify_phase
from .style import LAM_LABELS, NOT_CONVERGED_COLOR, PHASE_COLORS, apply_style, model_title

__all__ = ["RATE_LABELS", "SKETCHES", "draw_fig1", "draw_fig4", "draw_phase_diagram"]

#: Rate of each region as drawn in the diagram (docs/theory.md §3); ρ(t) is the overfitting term.
RATE_LABELS = {
    "noisy": {
        "Ia": r"$\Theta(1)$",
        "Ib": r"$\Theta(1)$",
        "II": r"$(\lambda\sqrt{d}/n_{\rm eff})^{2-1/\gamma}$",
        "III": r"$(\lambda d/n_{\rm eff})^2$",
        "IV": r"$n_{\rm eff}^{-1+1/2\gamma}+\rho$",
        "VIa": r"$d/n_{\rm eff}$",
        "VIb": r"$d/n_{\rm eff}$",
    },
    "noiseless": {
        "Ia": r"$\Theta(1)$",
        "Ib": r"$\Theta(1)$",
        "II": r"$(\lambda\sqrt{d}/n_{\rm eff})^{2-1/\gamma}$",
        "III": r"$(\lambda d/n_{\rm eff})^2\to 0$",
        "IV": r"$n_{\rm eff}^{1-2\gamma}$",
    },
}
#: Overfitting term of phases IV/V per model (docs/theory.md §3), t = n_eff/d.
RHO_LABELS = {"diagonal": r"$\rho(t)=-\Delta/\log t$", "quadratic": r"$\rho(t)=\Delta\, t^{2/5}$"}
#: Spectrum of the trained weights in each region (docs/theory.md §4 and its Martin–Mahoney reading).
SKETCHES = {
    "Ia": "bulk",
    "Ib": "collapse",
    "II": "heavy",
    "III": "heavy",
    "IV": "bulk+spikes",
    "VIa": "bulk+spikes",
    "VIb": "heavy",
}
#: Pixels per axis of the region map (the regions are polygons; this only sets edge sharpness).
RESOLUTION = 240
#: The paper's headline schedules, drawn as dotted guides.
HEADLINE = LAM_LABELS


def _sketch(ax: plt.Axes, kind: str, color: str) -> None:
    """A schematic eigenvalue density: noise bulk, outliers (learned features), or power law."""
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_linewidth(0.4)
    ax.set_facecolor("white")
    x = np.linspace(0.0, 1.0, 200)
    bulk = np.where(x < 0.45, np.sqrt(np.clip(x * (0.45 - x), 0.0, None)) * 4.0, 0.0)
    if kind == "collapse":
        ax.bar([0.05], [1.0], width=0.06, color=color)
    elif kind == "heavy":
        ax.plot(x[5:], 0.05 / x[5:] ** 1.0, color=color, lw=0.8)
    else:
        ax.fill_between(x, bulk, color=color, alpha=0.6, lw=0)
        if kind == "bulk+spikes":
            ax.bar([0.62, 0.78, 0.93], [0.5, 0.5, 0.5], width=0.02, color=color)
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.1)


def _boundaries(ax: plt.Axes, gamma: float, noiseless: bool, color: str = "black") -> None:
    for _, (k0, l0, k1, l1), jump in boundary_segments(gamma, noiseless):
        ax.plot([k0, k1], [l0, l1], color="#D00000" if jump else color, lw=2.2 if jump else 0.9, zorder=4)


def _theory_panel(ax: plt.Axes, model: str, gamma: float, noiseless: bool, extent: tuple[float, ...]) -> None:
    kmin, kmax, lmin, lmax = extent
    phases = NOISELESS_PHASES if noiseless else NOISY_PHASES
    kappas = np.linspace(kmin, kmax, RESOLUTION)
    ells = np.linspace(lmin, lmax, RESOLUTION)
    index = np.array([[phases.index(classify_phase(k, ell, gamma, noiseless)) for k in kappas] for ell in ells])
    cmap = ListedColormap([PHASE_COLORS[p] for p in phases])
    ax.imshow(
        index, origin="lower", extent=extent, aspect="auto", cmap=cmap, vmin=-0.5, vmax=len(phases) - 0.5,
        alpha=0.28, interpolation="nearest",
    )  # fmt: skip
    _boundaries(ax, gamma, noiseless)
    labels = RATE_LABELS["noiseless" if noiseless else "noisy"]
    width, height = kmax - kmin, lmax - lmin
    for i, phase in enumerate(phases):
        if phase not in labels:
            continue
        rows, cols = np.nonzero(index == i)
        if rows.size < RESOLUTION:  # too small a sliver of the window to label
            continue
        # Label at the region's pixel nearest its centroid (regions are convex-ish wedges).
        ck, cl = kappas[cols].mean(), ells[rows].mean()
        nearest = np.argmin((kappas[cols] - ck) ** 2 / width**2 + (ells[rows] - cl) ** 2 / height**2)
        k, ell = kappas[cols[nearest]], ells[rows[nearest]]
        ax.text(k, ell, f"{phase}\n{labels[phase]}", ha="center", va="center", fontsize=7, zorder=6)
        inset = ax.inset_axes(
            (k - 0.07 * width, ell - 0.16 * height, 0.14 * width, 0.07 * height), transform=ax.transData
        )
        _sketch(inset, SKETCHES[phase], PHASE_COLORS[phase])
    if not noiseless:
        # Phase V (ρ dominating, κ → 1⁻) and the interpolation peak λ^(−2/3) sit along κ = 1.
        ax.text(0.98, -0.3, "V, peak →", ha="right", va="center", fontsize=7, color="#D00000", zorder=6)
        ax.text(kmin + 0.02 * width, lmax - 0.04 * height, RHO_LABELS[model], fontsize=7, va="top", zorder=6)
    for ell, label in HEADLINE.items():
        if lmin < ell < lmax:
            ax.axhline(ell, color="grey", ls=":", lw=0.7, zorder=3)
            ax.text(kmax - 0.01 * width, ell, label, ha="right", va="bottom", fontsize=6, color="grey", zorder=6)
    ax.set_xlim(kmin, kmax)
    ax.set_ylim(lmin, lmax)
    ax.set_title("theory (Result 1)" + (", Δ = 0 (Result 4)" if noiseless else ""))


#: Colour range of r − r_theory, symmetric about 0: five times the default tolerance 0.1, so that
#: agreement (|r − r_theory| ≤ tol) reads as near-white and a miss as clearly red or blue.
DIFFERENCE_RANGE = 0.5
#: Colour of a cell whose SE did not converge (its exponent is NaN): marked, never blank.
NOT_CONVERGED_CELL = "#B0B0B0"


def _heatmap_panel(fig: plt.Figure, ax: plt.Axes, part: pd.DataFrame, gamma: float, noiseless: bool):
    kappas = np.sort(part["kappa"].unique())
    ells = np.sort(part["lam_exponent"].unique())
    cells = part.set_index(["lam_exponent", "kappa"])
    measured = cells["se_exponent"].unstack("kappa").loc[ells, kappas].to_numpy()
    theory = cells["predicted"].unstack("kappa").loc[ells, kappas].to_numpy()

    def edges(values: np.ndarray) -> np.ndarray:
        step = np.diff(values)
        return np.concatenate([[values[0] - step[0] / 2], values[:-1] + step / 2, [values[-1] + step[-1] / 2]])

    ke, le = edges(kappas), edges(ells)
    cmap = plt.get_cmap("RdBu_r").with_extremes(bad=NOT_CONVERGED_CELL)
    mesh = ax.pcolormesh(
        ke, le, np.ma.masked_invalid(measured - theory), cmap=cmap, vmin=-DIFFERENCE_RANGE, vmax=DIFFERENCE_RANGE,
        shading="flat",
    )  # fmt: skip
    fig.colorbar(mesh, ax=ax, extend="both", label="r − r_theory (r = −Δlog R / Δlog d, SE)")
    _boundaries(ax, gamma, noiseless, color="black")
    missed = part[part["scored"] & ~part["agrees"].astype(bool)]
    ax.plot(missed["kappa"], missed["lam_exponent"], "x", color="black", ms=4, mew=1.0, zorder=5, label="misses")
    failed = part[~part["converged"].astype(bool) | ~np.isfinite(part["se_exponent"])]
    ax.plot(
        failed["kappa"], failed["lam_exponent"], "s", color=NOT_CONVERGED_COLOR, mfc=NOT_CONVERGED_CELL, ms=6,
        zorder=5, label="SE not converged",
    )  # fmt: skip
    scored = part[part["scored"]]
    fraction = scored["agrees"].mean() if len(scored) else float("nan")
    ax.set_xlim(ke[0], ke[-1])
    ax.set_ylim(le[0], le[-1])
    d_low, d_high = int(part["d_low"].max()), int(part["d_high"].max())
    tol, margin = float(part["tol"].iloc[0]), float(part["margin"].iloc[0])
    ax.legend(
        [plt.Line2D([], [], marker="x", color="black", ls="none"),
         plt.Line2D([], [], marker="s", color=NOT_CONVERGED_COLOR, mfc=NOT_CONVERGED_CELL, ls="none")],
        [f"|r − r_theory| > {tol:g} (scored cell)",
         f"SE not converged ({len(failed)})" if len(failed) else "SE not converged (none here)"],
        loc="upper left", fontsize=7, framealpha=0.9,
    )  # fmt: skip
    ax.set_title(
        f"SE, d = {d_low:g} → {d_high:g}: within ±{tol:g} at {fraction:.0%}"
        f" of {len(scored)} cells ≥ {margin:g} from a boundary"
    )
    return _extent(ke, le)


def _extent(kappa_edges: np.ndarray, ell_edges: np.ndarray) -> tuple[float, float, float, float]:
    """(κ_min, κ_max, ℓ_min, ℓ_max) of the heat map, shared by the theory panel."""
    return float(kappa_edges[0]), float(kappa_edges[-1]), float(ell_edges[0]), float(ell_edges[-1])


def draw_phase_diagram(table: pd.DataFrame, model: str, noiseless: bool, figure_label: str) -> plt.Figure:
    """Theory diagram and SE heat map of one model from the ``heatmap`` table.

    Parameters
    ----------
    table : DataFrame
        Rows of :func:`shallowscaling.tasks.exponents.heatmap_table`.
    model : {"diagonal", "quadratic"}
    noiseless : bool
        Draw the Δ = 0 rows (Figure 4) or the Δ > 0 ones (Figure 1; the first Δ if several).
    figure_label : str
        The paper figure regenerated, e.g. ``"Figure 1"``, for the title.
    """
    apply_style()
    part = table[(table["model"] == model) & ((table["noise"] == 0) == noiseless)]
    if part.empty:
        raise ValueError(f"no {'Δ = 0' if noiseless else 'Δ > 0'} rows for the {model} model in the heat-map table")
    noise = float(part["noise"].min())
    part = part[part["noise"] == noise]
    gamma = float(part["gamma"].iloc[0])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.8), gridspec_kw={"width_ratios": [1.0, 1.15]})
    extent = _heatmap_panel(fig, right, part, gamma, noiseless)
    _theory_panel(left, model, gamma, noiseless, extent)
    for ax in (left, right):
        ax.set_xlabel("κ = log_d n_eff" + (" (n_eff = n/d)" if model == "quadratic" else " (n_eff = n)"))
        ax.set_ylabel("ℓ = log_d λ")
        ax.grid(False)
    fig.suptitle(
        f"Paper {figure_label}, {model_title(model)}: R = Θ(d^−r) at γ = {gamma:g}, Δ = {noise:g}; red lines: r jumps"
    )
    return fig


def draw_fig1(table: pd.DataFrame, model: str) -> plt.Figure:
    """Paper Figure 1: the noisy (Δ > 0) phase diagram of one model."""
    return draw_phase_diagram(table, model, noiseless=False, figure_label="Figure 1")


def draw_fig4(table: pd.DataFrame, model: str) -> plt.Figure:
    """Paper Figure 4: the noiseless (Δ = 0) phase diagram of one model."""
    return draw_phase_diagram(table, model, noiseless=True, figure_label="Figure 4")
