# Figure 9: the classic results reproduced by the study's machinery (closed forms, SE, small fits).


rule classic_table:
    output:
        template(PATHS["table"], table="classic"),
    log:
        template(LOGS["table"], table="classic"),
    resources:
        mem_mb=rule_mem_mb("classic_table"),
        runtime=rule_runtime("classic_table"),
    params:
        seed=config["seed"],
        code=rule_code("classic_table"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling classic {wildcards.model} --seed {params.seed} --output {output} 2> {log}"
        )


rule figure_fig9:
    input:
        template(PATHS["table"], table="classic"),
    output:
        pdf=template(PATHS["figure_pdf"], figure="fig9"),
        png=report(
            template(PATHS["figure_png"], figure="fig9"),
            caption="../report/fig9.rst",
            category="Classic results",
            labels={"figure": "Figure 9", "model": "{model}"},
        ),
    log:
        template(LOGS["figure"], figure="fig9"),
    resources:
        mem_mb=rule_mem_mb("figure_fig9"),
        runtime=rule_runtime("figure_fig9"),
    params:
        dpi=config["figures"]["dpi"],
        code=rule_code("figure_fig9"),
    shell:
        "python -m shallowscaling figure fig9 --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"
