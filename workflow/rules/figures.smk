# Aggregation into tables → figure assembly.


rule aggregate_fig3:
    input:
        fits=rule_input("aggregate_fig3", "fits"),
        se=rule_input("aggregate_fig3", "se"),
    output:
        template(PATHS["table"], table="fig3"),
    log:
        template(LOGS["table"], table="fig3"),
    resources:
        mem_mb=rule_mem_mb("aggregate_fig3"),
        runtime=rule_runtime("aggregate_fig3"),
    params:
        code=rule_code("aggregate_fig3"),
    shell:
        "python -m shallowscaling aggregate {wildcards.model} --fits {input.fits} --se {input.se}"
        " --output {output} 2> {log}"


rule figure_fig3:
    input:
        template(PATHS["table"], table="fig3"),
    output:
        pdf=template(PATHS["figure_pdf"], figure="fig3"),
        png=report(
            template(PATHS["figure_png"], figure="fig3"),
            caption="../report/fig3.rst",
            category="Risk curves",
            labels={"figure": "Figure 3", "model": "{model}"},
        ),
    log:
        template(LOGS["figure"], figure="fig3"),
    resources:
        mem_mb=rule_mem_mb("figure_fig3"),
        runtime=rule_runtime("figure_fig3"),
    params:
        dpi=config["figures"]["dpi"],
        # Empty for the power law (the study's command, unchanged), else " --teacher LABEL".
        teacher=teacher_label_flag,
        code=rule_code("figure_fig3"),
    shell:
        "python -m shallowscaling figure fig3 --model {wildcards.model}{params.teacher} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} 2> {log}"
