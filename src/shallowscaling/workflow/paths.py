"""The workflow's file-name table: every rule's output, log and benchmark path template.

The rule files take their ``output:``, ``log:`` and ``benchmark:`` strings from here
(re-exported by :mod:`shallowscaling.workflow.study`); the wildcards are spelled as in the file
names (floats by :func:`shallowscaling.config.format_float`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .teachers import TEACHER_TAG

__all__ = ["BENCHMARKS", "LOGS", "PATHS", "RULE_OUTPUTS", "SPECTRAL_FIGURE_TABLES", "WILDCARD_CONSTRAINTS", "template"]


# `teacher` is `gamma{γ}` for the power law (the study's names) or the tag of another teacher
# (shallowscaling.workflow.teachers); the scaling stage is a power-law study and keeps `gamma`.
_STEM = "d{d}_{teacher}_noise{noise}_lexp{lam_exponent}"
_REF = "d{d}_{teacher}_noise{noise}"
_SCALING = "d{d}_gamma{gamma}_noise{noise}"
_EST = "{model}/{estimator}"

#: Output path templates, by stage; wildcards in braces, spelled as in the file names.
PATHS: dict[str, str] = {
    "teacher": "results/teachers/{model}/d{d}_{teacher}.parquet",
    "fit": f"results/fits/{_EST}/{_STEM}_n{{n}}.parquet",
    "weights": f"results/weights/{_EST}/{_STEM}_n{{n}}.parquet",
    "solution": f"results/solutions/{_EST}/{_STEM}_n{{n}}.parquet",
    "se": f"results/se/{{model}}/{_STEM}.parquet",
    "bayes": f"results/se/{{model}}/bayes/{_REF}.parquet",
    "optimal": f"results/se/{{model}}/optimal/{_REF}.parquet",
    "spectra": f"results/spectra/{_EST}/{_STEM}.parquet",
    "density": f"results/densities/{_EST}/{_STEM}.parquet",
    "pruning": f"results/pruning/{_EST}/{_STEM}.parquet",
    "table": "results/tables/{table}_{model}.parquet",
    "figure_pdf": "results/figures/{figure}_{model}.pdf",
    "figure_png": "results/figures/{figure}_{model}.png",
    "scaling_se": f"results/scaling/se/{{model}}/{_SCALING}.parquet",
    "heatmap": "results/tables/heatmap.parquet",
    "exponents": "results/tables/exponents.parquet",
    "exponents_csv": "results/tables/exponents.csv",
    "exponents_html": "results/tables/exponents.html",
}

#: Log file templates, by stage.
LOGS: dict[str, str] = {
    "teacher": "logs/teachers/{model}/d{d}_{teacher}.log",
    "fit": f"logs/fits/{_EST}/{_STEM}_n{{n}}.log",
    "se": f"logs/se/{{model}}/{_STEM}.log",
    "bayes": f"logs/se/{{model}}/bayes/{_REF}.log",
    "optimal": f"logs/se/{{model}}/optimal/{_REF}.log",
    "spectra": f"logs/spectra/{_EST}/{_STEM}.log",
    "pruning": f"logs/pruning/{_EST}/{_STEM}.log",
    "table": "logs/tables/{table}_{model}.log",
    "figure": "logs/figures/{figure}_{model}.log",
    "scaling_se": f"logs/scaling/se/{{model}}/{_SCALING}.log",
    "heatmap": "logs/tables/heatmap.log",
    "exponents": "logs/tables/exponents.log",
}

#: ``benchmark:`` file templates, by rule (the rules that have one; ``plan --calibrate`` reads them).
BENCHMARKS: dict[str, str] = {
    "state_evolution": f"benchmarks/rules/se/{{model}}/{_STEM}.tsv",
    "bayes_optimal": f"benchmarks/rules/se/{{model}}/bayes/{_REF}.tsv",
    "optimal_lam": f"benchmarks/rules/se/{{model}}/optimal/{_REF}.tsv",
    "scaling_se": f"benchmarks/rules/scaling/se/{{model}}/{_SCALING}.tsv",
    "scaling_heatmap": "benchmarks/rules/tables/heatmap.tsv",
    "scaling_exponents": "benchmarks/rules/tables/exponents.tsv",
    "fit": f"benchmarks/rules/fit/{_EST}/{_STEM}_n{{n}}.tsv",
    "spectra": f"benchmarks/rules/spectra/{_EST}/{_STEM}.tsv",
    "prune": f"benchmarks/rules/pruning/{_EST}/{_STEM}.tsv",
}

_FLOAT = r"-?[0-9]+(\.[0-9]+)?"
#: The workflow's wildcard constraints (common.smk's `wildcard_constraints:` and the rules' own).
WILDCARD_CONSTRAINTS: dict[str, str] = {
    "model": "diagonal|quadratic",
    "estimator": "lasso|network|convex",
    "d": r"[0-9]+",
    "n": r"[0-9]+",
    "gamma": _FLOAT,
    "teacher": TEACHER_TAG,
    "noise": _FLOAT,
    "lam_exponent": _FLOAT,
}
RULE_CONSTRAINTS = {
    "collect_spectral_table": {"table": "spectra|pruning|fig2"},
    "figure_spectral": {"figure": "fig2|fig6|fig7|fig8"},
}
#: Which collected table each spectral figure is drawn from.
SPECTRAL_FIGURE_TABLES = {"fig2": "fig2", "fig6": "spectra", "fig7": "spectra", "fig8": "pruning"}


def template(text: str, **values: Any) -> str:
    """``text`` with the wildcards named in ``values`` filled in, the others left in braces."""
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text)


def fill_template(text: str, values: Mapping[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), text)


def _figure(name: str) -> dict[str, str]:
    return {"pdf": template(PATHS["figure_pdf"], figure=name), "png": template(PATHS["figure_png"], figure=name)}


#: Each rule's output templates, in the order of the rule's `output:` (the first names its wildcards).
RULE_OUTPUTS: dict[str, dict[str, str]] = {
    "teacher": {"teacher": PATHS["teacher"]},
    "fit": {"fit": PATHS["fit"], "weights": PATHS["weights"], "solution": PATHS["solution"]},
    "state_evolution": {"se": PATHS["se"]},
    "bayes_optimal": {"bayes": PATHS["bayes"]},
    "optimal_lam": {"optimal": PATHS["optimal"]},
    "aggregate_fig3": {"table": template(PATHS["table"], table="fig3")},
    "figure_fig3": _figure("fig3"),
    "spectra": {"summary": PATHS["spectra"], "density": PATHS["density"]},
    "prune": {"pruning": PATHS["pruning"]},
    "collect_spectral_table": {"table": PATHS["table"]},
    "figure_spectral": _figure("{figure}"),
    "scaling_se": {"se": PATHS["scaling_se"]},
    "scaling_heatmap": {"heatmap": PATHS["heatmap"]},
    "scaling_exponents": {"table": PATHS["exponents"], "csv": PATHS["exponents_csv"], "html": PATHS["exponents_html"]},
    "figure_fig1": _figure("fig1"),
    "figure_fig4": _figure("fig4"),
    "aggregate_fig5": {"table": template(PATHS["table"], table="fig5")},
    "figure_fig5": _figure("fig5"),
    "classic_table": {"table": template(PATHS["table"], table="classic")},
    "figure_fig9": _figure("fig9"),
}
