"""The study model: every file name, sweep point and job of the workflow, computed in one place.

The rule files (``workflow/rules/*.smk``) take their ``output:``, ``log:`` and ``benchmark:``
strings from :data:`PATHS`, :data:`LOGS` and :data:`BENCHMARKS`, and their inputs and target
lists from the functions below, which are pure functions of the validated config (a mapping) and,
for input functions, of a job's wildcards (any mapping of wildcard name to its text, such as
Snakemake's ``wildcards`` object or a dict). :func:`shallowscaling.workflow.dag.jobs` walks the
same functions from the study's targets to every job, which is what ``shallowscaling plan``
estimates.

A sweep point is a :class:`StudyPoint`; its derived quantities (n_eff, κ = log_d n_eff, λ = d^ℓ,
the file stem) are computed once there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from ..config import fig2_points, format_float, kappa_value, lam_value, n_eff_value, n_grid, tail_sweep
from .paths import (
    BENCHMARKS,
    LOGS,
    PATHS,
    RULE_OUTPUTS,
    SPECTRAL_FIGURE_TABLES,
    WILDCARD_CONSTRAINTS,
    fill_template,
    template,
)
from .teachers import DATA_GAMMA, gamma_tag, is_power_law, tag_gamma, teacher_input, teacher_section, teacher_tags

__all__ = [
    "BENCHMARKS",
    "LOGS",
    "MODELS",
    "PATHS",
    "RULE_OUTPUTS",
    "WILDCARD_CONSTRAINTS",
    "StudyPoint",
    "all_targets",
    "classic_targets",
    "exponent_fit_files",
    "fig2_files",
    "fig5_files",
    "fit_files",
    "fit_point_file",
    "point_stem",
    "pruning_files",
    "reference_files",
    "rule_inputs",
    "scaling_se_files",
    "scaling_targets",
    "se_files",
    "source_files",
    "spectra_files",
    "spectral_targets",
    "stem",
    "sweep",
    "sweep_n",
    "sweep_point_files",
    "template",
]

MODELS = ("diagonal", "quadratic")

# --- a sweep point ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyPoint:
    """One point of a sweep: the wildcards of a fit (``n`` None for a whole sweep of n).

    ``teacher`` is the tag of a teacher other than the power law k^-γ (``sparse0.2``, ...;
    :mod:`shallowscaling.workflow.teachers`), whose ``gamma`` is then :data:`DATA_GAMMA`.
    """

    model: str
    estimator: str | None
    d: int
    gamma: float
    noise: float
    lam_exponent: float
    n: int | None = None
    teacher: str | None = None

    @classmethod
    def from_wildcards(cls, wildcards: Mapping[str, Any] | Any) -> StudyPoint:
        """A point from a job's wildcards (a mapping or Snakemake's ``wildcards``)."""
        get = wildcards.get if isinstance(wildcards, Mapping) else lambda key: getattr(wildcards, key, None)
        n, tag = get("n"), get("teacher")
        gamma = tag_gamma(tag)
        return cls(
            model=get("model"),
            d=int(get("d")),
            gamma=DATA_GAMMA if gamma is None else gamma,
            noise=float(get("noise")),
            lam_exponent=float(get("lam_exponent")),
            n=None if n is None else int(n),
            estimator=get("estimator"),
            teacher=None if gamma is not None else tag,
        )

    @cached_property
    def teacher_tag(self) -> str:
        """The ``teacher`` wildcard: ``gamma{γ}`` for the power law, else :attr:`teacher`."""
        return gamma_tag(self.gamma) if self.teacher is None else self.teacher

    @cached_property
    def stem(self) -> str:
        """``d{d}_{teacher}_noise{Δ}_lexp{ℓ}``: the file stem of the sweep (``gamma{γ}`` for the power law)."""
        return f"d{self.d}_{self.teacher_tag}_noise{format_float(self.noise)}_lexp{format_float(self.lam_exponent)}"

    @cached_property
    def point_stem(self) -> str:
        """The stem of the point: :attr:`stem` plus ``_n{n}``."""
        if self.n is None:
            raise ValueError("a sweep (n = None) has no point stem")
        return f"{self.stem}_n{self.n}"

    @cached_property
    def n_eff(self) -> float:
        """n_eff = n (diagonal) or n/d (quadratic)."""
        if self.n is None:
            raise ValueError("a sweep (n = None) has no n_eff")
        return n_eff_value(self.model, self.d, self.n)

    @cached_property
    def kappa(self) -> float:
        """κ = log_d n_eff."""
        return kappa(self.model, self.d, self.n)

    @cached_property
    def lam(self) -> float:
        """λ = d^ℓ."""
        return lam_value(self.d, self.lam_exponent)

    @cached_property
    def wildcards(self) -> dict[str, str]:
        """The point's wildcards as the file names spell them."""
        out = {"model": self.model}
        if self.estimator is not None:
            out["estimator"] = self.estimator
        out.update(
            d=str(self.d),
            teacher=self.teacher_tag,
            noise=format_float(self.noise),
            lam_exponent=format_float(self.lam_exponent),
        )
        if self.n is not None:
            out["n"] = str(self.n)
        return out

    def path(self, stage: str) -> str:
        """The point's file of ``stage`` (a key of :data:`PATHS`)."""
        return fill_template(PATHS[stage], self.wildcards)


def kappa(model: str, d: int, n: int) -> float:
    """κ = log_d n_eff of a fit point (:func:`shallowscaling.config.kappa_value`)."""
    return kappa_value(model, d, n)


def point_stem(d: Any, gamma: float, noise: float, lam_exponent: float) -> str:
    """``d{d}_gamma{γ}_noise{Δ}_lexp{ℓ}`` with the canonical float spellings."""
    return f"d{d}_gamma{format_float(gamma)}_noise{format_float(noise)}_lexp{format_float(lam_exponent)}"


def stem(model: str, d: Any, gamma: float, noise: float, lam_exponent: float) -> str:
    """The sweep's file stem (``model`` is not part of it: the folders name the model)."""
    return point_stem(d, gamma, noise, lam_exponent)


def _path(stage: str, model: str, d: Any, teacher: str, noise: float, ell: float | None = None, **extra: Any) -> str:
    """A file of ``stage``; ``teacher`` is the ``teacher`` wildcard (:func:`gamma_tag` for a power law)."""
    values = {"model": model, "d": d, "teacher": teacher, "noise": format_float(noise), **extra}
    if ell is not None:
        values["lam_exponent"] = format_float(ell)
    return fill_template(PATHS[stage], values)


def _get(wildcards: Mapping[str, Any] | Any, key: str) -> Any:
    return wildcards[key] if isinstance(wildcards, Mapping) else getattr(wildcards, key)


# --- sweeps and target lists (pure functions of the validated config) ---------------------------


def sweep(config: Mapping[str, Any], model: str, section: Mapping[str, Any] | None = None) -> list[tuple]:
    """Every (d, teacher, noise, lam_exponent) combination of a model's sweep (or of `section`);
    teacher is the ``teacher`` wildcard (``gamma{γ}`` for each γ of a power-law sweep)."""
    c = section or config[model]
    tags = teacher_tags(config, model, c)
    return [(d, t, s, ell) for d in c["d"] for t in tags for s in c["noise"] for ell in c["lam_exponent"]]


def fit_files(config: Mapping[str, Any], model: str) -> list[str]:
    """The fit files of a model's main sweep (Figure 3)."""
    c = config[model]
    return [
        _path("fit", model, d, g, s, ell, estimator=estimator, n=n)
        for estimator in c["estimators"]
        for (d, g, s, ell) in sweep(config, model)
        for n in n_grid(model, d, c["n_eff_exponent"])
    ]


def se_files(config: Mapping[str, Any], model: str) -> list[str]:
    return [_path("se", model, *point) for point in sweep(config, model)]


def reference_files(config: Mapping[str, Any], model: str, kind: str) -> list[str]:
    """Bayes-optimal (`bayes`) or optimal-λ ERM (`optimal`) SE curves, if the config asks for them."""
    c = config[model]
    if not c["se"]["bayes" if kind == "bayes" else "optimal_lam"]:
        return []
    return [_path(kind, model, d, t, s) for d in c["d"] for t in teacher_tags(config, model) for s in c["noise"]]


def fig3_inputs(config: Mapping[str, Any], model: str) -> dict[str, list[str]]:
    """The inputs of Figure 3's table: fits, then SE, Bayes and optimal-λ curves."""
    se = se_files(config, model) + reference_files(config, model, "bayes") + reference_files(config, model, "optimal")
    return {"fits": fit_files(config, model), "se": se}


def _figure_files(names: Iterable[str], models: Iterable[str]) -> list[str]:
    return [
        fill_template(PATHS[f"figure_{ext}"], {"figure": name, "model": model})
        for name in names
        for model in models
        for ext in ("pdf", "png")
    ]


def classic_targets(config: Mapping[str, Any]) -> list[str]:
    """Figure 9 (the classic results reproduced) of each model in ``figures.classic``."""
    return _figure_files(["fig9"], config["figures"]["classic"])


def all_targets(config: Mapping[str, Any]) -> list[str]:
    """The study's targets (`rule all`): Figures 3 and 9, the spectral and scaling figures, the tables."""
    fig3 = [f for model in MODELS for f in _figure_files(["fig3"], [model])]
    return fig3 + spectral_targets(config) + scaling_targets(config) + classic_targets(config)


def tail_points(config: Mapping[str, Any]) -> list[tuple]:
    """Every (d, teacher, noise, lam_exponent) of the quadratic spectra.tail sweep (phase II at larger d)."""
    tail = tail_sweep(config)
    return sweep(config, "quadratic", {**config["quadratic"], "d": tail["d"], "lam_exponent": tail["lam_exponent"]})


def _fig2_extra(config: Mapping[str, Any]) -> dict[tuple, dict[str, Any]]:
    """Figure 2's extra points (spectra.fig2), one n each, by (model, d, γ, ℓ) as the wildcards spell them."""
    return {
        (model, str(p["d"]), gamma_tag(p["gamma"]), format_float(p["lam_exponent"])): p
        for model in MODELS
        for p in fig2_points(config, model).values()
    }


def sweep_n(config: Mapping[str, Any], wildcards: Mapping[str, Any] | Any) -> list[int]:
    """The simulated sample sizes of the sweep a job belongs to (the tail sweep's and Figure 2's
    extra points' d are their own)."""
    model, d = _get(wildcards, "model"), _get(wildcards, "d")
    key = (model, str(d), str(_get(wildcards, "teacher")), str(_get(wildcards, "lam_exponent")))
    extra = _fig2_extra(config).get(key)
    if extra is not None:
        return [extra["n"]]
    d = int(d)
    tail = tail_sweep(config)
    in_tail = model == "quadratic" and d in tail["d"]
    return n_grid(model, d, tail["n_eff_exponent"] if in_tail else config[model]["n_eff_exponent"])


def _wildcard_values(wildcards: Mapping[str, Any] | Any, keys: Sequence[str]) -> dict[str, str]:
    return {key: str(_get(wildcards, key)) for key in keys}


_SWEEP_KEYS = ("model", "estimator", "d", "teacher", "noise", "lam_exponent")


def sweep_point_files(config: Mapping[str, Any], wildcards: Mapping[str, Any] | Any, stage: str) -> list[str]:
    """The fit job's files (`fit`, `weights` or `solution`) of every n of one sweep, in n order."""
    values = _wildcard_values(wildcards, _SWEEP_KEYS)
    return [fill_template(PATHS[stage], {**values, "n": n}) for n in sweep_n(config, wildcards)]


def fit_point_file(wildcards: Mapping[str, Any] | Any, stage: str) -> str:
    """The fit job's file of the point a job belongs to: its `fit`, `weights` or `solution`."""
    return fill_template(PATHS[stage], _wildcard_values(wildcards, (*_SWEEP_KEYS, "n")))


def in_sweep(config: Mapping[str, Any], model: str, lam_exponent: float) -> float | None:
    """`lam_exponent` if the model's sweep has that λ = d^ℓ schedule, else None (nothing to draw)."""
    return lam_exponent if lam_exponent in config[model]["lam_exponent"] else None


def spectra_files(config: Mapping[str, Any], model: str) -> list[str]:
    # The spectral stage reads the power-law teacher table: none for another teacher.
    if not is_power_law(config, model):
        return []
    c = config[model]
    points = sweep(config, model) + (tail_points(config) if model == "quadratic" else [])
    return [_path("spectra", model, *point, estimator=estimator) for estimator in c["estimators"] for point in points]


def pruning_files(config: Mapping[str, Any], model: str) -> list[str]:
    c = config[model]
    ell = in_sweep(config, model, config["spectra"]["weak_lam_exponent"])
    if ell is None or not is_power_law(config, model):
        return []
    return [
        _path("pruning", model, d, t, s, ell, estimator=estimator)
        for estimator in c["estimators"]
        for d in c["d"]
        for t in teacher_tags(config, model)
        for s in c["noise"]
    ]


def fig2_files(config: Mapping[str, Any], model: str) -> list[str]:
    """Density tables of the two Figure-2 sweeps (largest d, first γ, Δ and estimator), then those
    of the extra points (spectra.fig2): the figure tells them apart by d, first the sweep's."""
    c = config[model]
    if not is_power_law(config, model):
        return []
    ells = [in_sweep(config, model, config["spectra"][key]) for key in ("weak_lam_exponent", "strong_lam_exponent")]
    points = [(max(c["d"]), gamma_tag(c["gamma"][0]), ell) for ell in dict.fromkeys(ells) if ell is not None]
    if points:
        points += [(p["d"], gamma_tag(p["gamma"]), p["lam_exponent"]) for p in fig2_points(config, model).values()]
    return [_path("density", model, d, g, c["noise"][0], ell, estimator=c["estimators"][0]) for d, g, ell in points]


COLLECTED_TABLES: dict[str, Callable[[Mapping[str, Any], str], list[str]]] = {
    "spectra": spectra_files,
    "pruning": pruning_files,
    "fig2": fig2_files,
}


def spectral_targets(config: Mapping[str, Any]) -> list[str]:
    """Figures 2, 6, 7, 8 of each model (6 and 8 need the weak-λ schedule in the sweep, 2 either one;
    none for a model whose teacher is not a power law)."""
    targets = []
    for model in MODELS:
        if not is_power_law(config, model):
            continue
        names = ["fig7"] + (["fig2"] if fig2_files(config, model) else [])
        if in_sweep(config, model, config["spectra"]["weak_lam_exponent"]) is not None:
            names += ["fig6", "fig8"]
        targets += _figure_files(sorted(names), [model])
    return targets


SCALING_DIAGRAMS = ("noisy", "noiseless")


def scaling_noises(config: Mapping[str, Any]) -> dict[str, float]:
    return {"noisy": config["scaling"]["noise"], "noiseless": 0.0}


def diagram(noise: Any) -> str:
    """Which windows a scaling job uses: the noiseless diagram's at Δ = 0."""
    return "noiseless" if float(noise) == 0.0 else "noisy"


def scaling_se_files(config: Mapping[str, Any]) -> list[str]:
    scaling = config["scaling"]
    return [
        fill_template(
            PATHS["scaling_se"],
            {"model": model, "d": d, "gamma": format_float(scaling["gamma"]), "noise": format_float(noise)},
        )
        for model in MODELS
        for noise in scaling_noises(config).values()
        for d in scaling["se_d"][model]
    ]


def exponent_fit_files(config: Mapping[str, Any]) -> list[str]:
    """The fits the simulated exponents read: at the largest d of the main sweep (Δ = scaling.noise)
    and of the Figure-5 sweep (Δ = 0), the points of each window that moves along κ (its schedule
    λ = d^ℓ, κ = log_d n_eff inside [lo, hi])."""
    scaling = config["scaling"]
    files = []
    for model in MODELS:
        c = config[model]
        power_law = is_power_law(config, model)
        if power_law and scaling["gamma"] not in c["gamma"]:
            continue
        sweeps = [("noisy", c, scaling["noise"]), ("noiseless", {**c, **scaling["fig5"][model]}, 0.0)]
        for name, sweep_config, noise in sweeps:
            # The noisy windows read the main sweep: not a power law at scaling.gamma for another teacher.
            if name == "noisy" and (noise not in c["noise"] or not power_law):
                continue
            d = max(sweep_config["d"])
            points = set()
            for window in scaling["windows"][model][name].values():
                ell = window["lam_exponent"]
                if isinstance(ell, list) or ell not in sweep_config["lam_exponent"]:
                    continue  # the peak (λ moves) or a schedule the sweep does not run
                lo, hi = window["kappa"]
                for n in n_grid(model, d, sweep_config["n_eff_exponent"]):
                    if lo - 1e-9 <= kappa(model, d, n) <= hi + 1e-9:
                        points.add((ell, n))
            files += [
                _path("fit", model, d, gamma_tag(scaling["gamma"]), noise, ell, estimator=estimator, n=n)
                for estimator in c["estimators"]
                for ell, n in sorted(points)
            ]
    return files


def fig5_files(config: Mapping[str, Any], model: str, stage: str) -> list[str]:
    """The Δ = 0 sweep of Figure 5: its fit files (`fit`) or SE curves (`se`)."""
    c, f5, gamma = config[model], config["scaling"]["fig5"][model], gamma_tag(config["scaling"]["gamma"])
    points = [(d, ell) for d in f5["d"] for ell in f5["lam_exponent"]]
    if stage == "se":
        return [_path("se", model, d, gamma, 0.0, ell) for d, ell in points]
    return [
        _path("fit", model, d, gamma, 0.0, ell, estimator=estimator, n=n)
        for estimator in c["estimators"]
        for d, ell in points
        for n in n_grid(model, d, f5["n_eff_exponent"])
    ]


def scaling_targets(config: Mapping[str, Any]) -> list[str]:
    """Figures 1, 4, 5 of each model and the exponent table."""
    return [*_figure_files(("fig1", "fig4", "fig5"), MODELS), PATHS["exponents"], PATHS["exponents_csv"]]


# --- every rule's inputs, and every job of the study --------------------------------------------


def _teacher(w: Mapping[str, Any] | Any) -> str:
    return fill_template(PATHS["teacher"], _wildcard_values(w, ("model", "d", "teacher")))


def _teacher_inputs(config: Mapping[str, Any], w: Mapping[str, Any] | Any) -> list[str]:
    """The teacher a fit or SE job reads: the power law's table, or the teacher file (none for a family)."""
    tag = str(_get(w, "teacher"))
    return [_teacher(w)] if tag_gamma(tag) is not None else teacher_input(config, _get(w, "model"), tag)


def rule_inputs(config: Mapping[str, Any], rule: str, wildcards: Mapping[str, Any] | Any) -> dict[str, list[str]]:
    """A job's input files by the rule's input names (lists; empty where the rule reads none)."""
    w = wildcards
    if rule in ("fit", "state_evolution", "bayes_optimal", "optimal_lam"):
        return {"teacher": _teacher_inputs(config, w)}
    if rule == "aggregate_fig3":
        return fig3_inputs(config, _get(w, "model"))
    if rule == "aggregate_fig5":
        return {"fits": fig5_files(config, _get(w, "model"), "fit"), "se": fig5_files(config, _get(w, "model"), "se")}
    if rule == "spectra":
        return {
            "teacher": [_teacher(w)],
            "weights": sweep_point_files(config, w, "weights"),
            "fits": sweep_point_files(config, w, "fit"),
        }
    if rule == "prune":
        # One job per sweep, as `spectra`: every n's weights, fit table (its replicates'
        # `converged`) and, quadratic only, stored eigenpairs of Ŝ (the diagonal θ̂ is in `weights`).
        quadratic = _get(w, "model") == "quadratic"
        return {
            "teacher": [_teacher(w)],
            "weights": sweep_point_files(config, w, "weights"),
            "solution": sweep_point_files(config, w, "solution") if quadratic else [],
            "fits": sweep_point_files(config, w, "fit"),
        }
    if rule == "collect_spectral_table":
        return {"inputs": COLLECTED_TABLES[_get(w, "table")](config, _get(w, "model"))}
    if rule == "figure_spectral":
        return {"table": [figure_table(w)]}
    if rule in ("figure_fig3", "figure_fig5"):
        table = rule.removeprefix("figure_")
        return {"table": [fill_template(PATHS["table"], {"table": table, "model": _get(w, "model")})]}
    if rule == "figure_fig9":
        return {"table": [fill_template(PATHS["table"], {"table": "classic", "model": _get(w, "model")})]}
    if rule in ("figure_fig1", "figure_fig4"):
        return {"table": [PATHS["heatmap"]]}
    if rule == "scaling_heatmap":
        return {"se": scaling_se_files(config)}
    if rule == "scaling_exponents":
        return {"se": scaling_se_files(config), "fits": exponent_fit_files(config)}
    if rule == "all":
        return {"targets": all_targets(config)}
    return {}


def source_files(config: Mapping[str, Any]) -> set[str]:
    """The files the study reads and no rule writes: the models' teacher files."""
    return {teacher_section(config, model)["file"] for model in MODELS} - {None}


def figure_table(wildcards: Mapping[str, Any] | Any) -> str:
    """The collected table a spectral figure is drawn from."""
    table = SPECTRAL_FIGURE_TABLES[_get(wildcards, "figure")]
    return fill_template(PATHS["table"], {"table": table, "model": _get(wildcards, "model")})
