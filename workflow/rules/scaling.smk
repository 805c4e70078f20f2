# Scaling laws (docs/theory.md §3, §6): SE across the phase diagram → heat map and exponent table →
# Figures 1 and 4; Figure 5 (Figure 3 at Δ = 0) reuses the fit / SE rules and Figure 3's drawing.
# File names and targets: shallowscaling.workflow.study; the rest: the "scaling stage" section of common.smk.


report: "../report/workflow.rst"


rule scaling_se:
    output:
        PATHS["scaling_se"],
    log:
        LOGS["scaling_se"],
    benchmark:
        BENCHMARKS["scaling_se"]
    resources:
        mem_mb=rule_mem_mb("scaling_se"),
        runtime=rule_runtime("scaling_se"),
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
        PATHS["heatmap"],
    log:
        LOGS["heatmap"],
    benchmark:
        BENCHMARKS["scaling_heatmap"]
    resources:
        mem_mb=rule_mem_mb("scaling_heatmap"),
        runtime=rule_runtime("scaling_heatmap"),
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
        table=PATHS["exponents"],
        csv=report(
            PATHS["exponents_csv"],
            caption="../report/exponents.rst",
            category="Scaling exponents",
            labels={"table": "exponents", "format": "CSV"},
        ),
        html=report(
            PATHS["exponents_html"],
            caption="../report/exponents.rst",
            category="Scaling exponents",
            labels={"table": "exponents", "format": "HTML"},
        ),
    log:
        LOGS["exponents"],
    benchmark:
        BENCHMARKS["scaling_exponents"]
    resources:
        mem_mb=rule_mem_mb("scaling_exponents"),
        runtime=rule_runtime("scaling_exponents"),
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
        PATHS["heatmap"],
    output:
        pdf=template(PATHS["figure_pdf"], figure="fig1"),
        png=report(
            template(PATHS["figure_png"], figure="fig1"),
            caption="../report/fig1.rst",
            category="Phase diagrams",
            labels={"figure": "Figure 1", "model": "{model}"},
        ),
    log:
        template(LOGS["figure"], figure="fig1"),
    resources:
        mem_mb=rule_mem_mb("figure_fig1"),
        runtime=rule_runtime("figure_fig1"),
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig1"),
    shell:
        "python -m shallowscaling figure fig1 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"


rule figure_fig4:
    input:
        PATHS["heatmap"],
    output:
        pdf=template(PATHS["figure_pdf"], figure="fig4"),
        png=report(
            template(PATHS["figure_png"], figure="fig4"),
            caption="../report/fig4.rst",
            category="Phase diagrams",
            labels={"figure": "Figure 4", "model": "{model}"},
        ),
    log:
        template(LOGS["figure"], figure="fig4"),
    resources:
        mem_mb=rule_mem_mb("figure_fig4"),
        runtime=rule_runtime("figure_fig4"),
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig4"),
    shell:
        "python -m shallowscaling figure fig4 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"


rule aggregate_fig5:
    input:
        fits=rule_input("aggregate_fig5", "fits"),
        se=rule_input("aggregate_fig5", "se"),
    output:
        template(PATHS["table"], table="fig5"),
    log:
        template(LOGS["table"], table="fig5"),
    resources:
        mem_mb=rule_mem_mb("aggregate_fig5"),
        runtime=rule_runtime("aggregate_fig5"),
    params:
        code=rule_code("aggregate_fig5"),
    shell:
        "python -m shallowscaling aggregate {wildcards.model} --fits {input.fits} --se {input.se}"
        " --output {output} 2> {log}"


rule figure_fig5:
    input:
        template(PATHS["table"], table="fig5"),
    output:
        pdf=template(PATHS["figure_pdf"], figure="fig5"),
        png=report(
            template(PATHS["figure_png"], figure="fig5"),
            caption="../report/fig5.rst",
            category="Risk curves",
            labels={"figure": "Figure 5", "model": "{model}"},
        ),
    log:
        template(LOGS["figure"], figure="fig5"),
    resources:
        mem_mb=rule_mem_mb("figure_fig5"),
        runtime=rule_runtime("figure_fig5"),
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig5"),
    shell:
        "python -m shallowscaling figure fig5 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"
