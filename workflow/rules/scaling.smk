# Scaling laws (spec §3, §6): SE across the phase diagram → heat map and exponent table →
# Figures 1 and 4; Figure 5 (Figure 3 at Δ = 0) reuses the fit / SE rules and Figure 3's drawing.
# Helpers and targets: the "scaling stage" section of common.smk.


report: "../report/workflow.rst"


rule scaling_se:
    output:
        "results/scaling/se/{model}/d{d}_gamma{gamma}_noise{noise}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/scaling/se/{model}/d{d}_gamma{gamma}_noise{noise}.log",
    benchmark:
        "benchmarks/rules/scaling/se/{model}/d{d}_gamma{gamma}_noise{noise}.tsv"
    params:
        kappa=" ".join(str(SCALING["grid"]["kappa"][k]) for k in ("start", "stop", "num")),
        lam=" ".join(str(SCALING["grid"]["lam_exponent"][k]) for k in ("start", "stop", "num")),
        windows=lambda w: shlex.quote(json.dumps(SCALING["windows"][w.model][diagram(w.noise)], sort_keys=True)),
        window_points=SCALING["window_points"],
        peak_bracket=" ".join(map(str, SCALING["peak_bracket"])),
        normalization=config["normalization"],
        code=rule_code("scaling_se"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling exponents se {wildcards.model} --d {wildcards.d}"
            " --gamma {wildcards.gamma} --noise {wildcards.noise} --kappa-grid {params.kappa}"
            " --lam-exponent-grid {params.lam} --windows {params.windows} --window-points {params.window_points}"
            " --peak-bracket {params.peak_bracket} --normalization {params.normalization} --output {output} 2> {log}"
        )


rule scaling_heatmap:
    input:
        scaling_se_files(),
    output:
        "results/tables/heatmap.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/tables/heatmap.log",
    benchmark:
        "benchmarks/rules/tables/heatmap.tsv"
    params:
        margin=SCALING["margin"],
        tol=SCALING["tol"],
        code=rule_code("scaling_heatmap"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling exponents heatmap --se {input} --margin {params.margin} --tol {params.tol}"
            " --output {output} 2> {log}"
        )


rule scaling_exponents:
    input:
        se=scaling_se_files(),
        fits=exponent_fit_files(),
    output:
        table="results/tables/exponents.parquet",
        csv=report(
            "results/tables/exponents.csv",
            caption="../report/exponents.rst",
            category="Scaling exponents",
            labels={"table": "exponents", "format": "CSV"},
        ),
        html=report(
            "results/tables/exponents.html",
            caption="../report/exponents.rst",
            category="Scaling exponents",
            labels={"table": "exponents", "format": "HTML"},
        ),
    conda:
        CONDA_ENV
    log:
        "logs/tables/exponents.log",
    benchmark:
        "benchmarks/rules/tables/exponents.tsv"
    params:
        seed=config["seed"],
        resamples=SCALING["bootstrap"]["resamples"],
        confidence=SCALING["bootstrap"]["confidence"],
        code=rule_code("scaling_exponents"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling exponents table --se {input.se} --fits {input.fits} --seed {params.seed}"
            " --resamples {params.resamples} --confidence {params.confidence}"
            " --output {output.table} --csv {output.csv} --html {output.html} 2> {log}"
        )


rule figure_fig1:
    input:
        "results/tables/heatmap.parquet",
    output:
        pdf="results/figures/fig1_{model}.pdf",
        png=report(
            "results/figures/fig1_{model}.png",
            caption="../report/fig1.rst",
            category="Phase diagrams",
            labels={"figure": "Figure 1", "model": "{model}"},
        ),
    conda:
        CONDA_ENV
    log:
        "logs/figures/fig1_{model}.log",
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig1"),
    shell:
        "python -m shallowscaling figure fig1 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"


rule figure_fig4:
    input:
        "results/tables/heatmap.parquet",
    output:
        pdf="results/figures/fig4_{model}.pdf",
        png=report(
            "results/figures/fig4_{model}.png",
            caption="../report/fig4.rst",
            category="Phase diagrams",
            labels={"figure": "Figure 4", "model": "{model}"},
        ),
    conda:
        CONDA_ENV
    log:
        "logs/figures/fig4_{model}.log",
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig4"),
    shell:
        "python -m shallowscaling figure fig4 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"


rule aggregate_fig5:
    input:
        fits=lambda w: fig5_files(w.model, "fits"),
        se=lambda w: fig5_files(w.model, "se"),
    output:
        "results/tables/fig5_{model}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/tables/fig5_{model}.log",
    params:
        code=rule_code("aggregate_fig5"),
    shell:
        "python -m shallowscaling aggregate {wildcards.model} --fits {input.fits} --se {input.se}"
        " --output {output} 2> {log}"


rule figure_fig5:
    input:
        "results/tables/fig5_{model}.parquet",
    output:
        pdf="results/figures/fig5_{model}.pdf",
        png=report(
            "results/figures/fig5_{model}.png",
            caption="../report/fig5.rst",
            category="Risk curves",
            labels={"figure": "Figure 5", "model": "{model}"},
        ),
    conda:
        CONDA_ENV
    log:
        "logs/figures/fig5_{model}.log",
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig5"),
    shell:
        "python -m shallowscaling figure fig5 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"
