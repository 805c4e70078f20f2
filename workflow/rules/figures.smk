# Aggregation into tables → figure assembly.


rule aggregate_fig3:
    input:
        fits=lambda w: fit_files(w.model),
        se=lambda w: se_files(w.model) + reference_files(w.model, "bayes") + reference_files(w.model, "optimal"),
    output:
        "results/tables/fig3_{model}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/tables/fig3_{model}.log",
    params:
        code=rule_code("aggregate_fig3"),
    shell:
        "python -m shallowscaling aggregate {wildcards.model} --fits {input.fits} --se {input.se}"
        " --output {output} 2> {log}"


rule figure_fig3:
    input:
        "results/tables/fig3_{model}.parquet",
    output:
        pdf="results/figures/fig3_{model}.pdf",
        png=report(
            "results/figures/fig3_{model}.png",
            caption="../report/fig3.rst",
            category="Risk curves",
            labels={"figure": "Figure 3", "model": "{model}"},
        ),
    conda:
        CONDA_ENV
    log:
        "logs/figures/fig3_{model}.log",
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig3"),
    shell:
        "python -m shallowscaling figure fig3 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"
