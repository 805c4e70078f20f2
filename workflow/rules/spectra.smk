# Spectra of the trained weights, HT-SR diagnostics, error decomposition and pruning (docs/theory.md §4–6):
# one `spectra` job per sweep; one `prune` job per weak-λ sweep, every n in one process (the
# quadratic model reads the fit jobs' stored eigenpairs of Ŝ: no solve; one process per sweep pays
# the interpreter start-up once, not once per n); tables; Figures 2, 6, 7, 8.
# File names and inputs: shallowscaling.workflow.study; the wrappers: common.smk.


rule spectra:
    input:
        teacher=PATHS["teacher"],
        weights=rule_input("spectra", "weights"),
        fits=rule_input("spectra", "fits"),
    output:
        summary=PATHS["spectra"],
        density=PATHS["density"],
    log:
        LOGS["spectra"],
    benchmark:
        BENCHMARKS["spectra"]
    resources:
        mem_mb=rule_mem_mb("spectra"),
        runtime=rule_runtime("spectra"),
    params:
        n=lambda w: " ".join(map(str, sweep_n(w))),
        seed=config["seed"],
        n_draws=config["quadratic"]["se"]["n_draws"],
        width=width_flag,
        gamma=power_law_gamma,
        code=rule_code("spectra"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling spectra {wildcards.model} --estimator {wildcards.estimator}"
            " --d {wildcards.d} --gamma {params.gamma} --noise {wildcards.noise}"
            " --lam-exponent {wildcards.lam_exponent} --n {params.n} --weights {input.weights} --fits {input.fits}"
            " --teacher {input.teacher} --seed {params.seed} --n-draws {params.n_draws} {params.width}"
            " --output {output.summary} --density-output {output.density} 2> {log}"
        )


rule prune:
    input:
        teacher=PATHS["teacher"],
        weights=rule_input("prune", "weights"),
        # Quadratic only: the diagonal prune reads θ̂ from `weights` (its solution file has no rows);
        # `fits` (both models) gives each replicate's `converged` flag.
        solution=rule_input("prune", "solution"),
        fits=rule_input("prune", "fits"),
    output:
        PATHS["pruning"],
    log:
        LOGS["pruning"],
    benchmark:
        BENCHMARKS["prune"]
    resources:
        mem_mb=rule_mem_mb("prune"),
        runtime=rule_runtime("prune"),
    params:
        n=lambda w: " ".join(map(str, sweep_n(w))),
        seed=config["seed"],
        normalization=config["normalization"],
        n_draws=config["quadratic"]["se"]["n_draws"],
        width=width_flag,
        stored=lambda w, input: (f"--solution {input.solution} " if input.solution else "") + f"--fits {input.fits}",
        gamma=power_law_gamma,
        design_memory=prune_design_memory_flag,
        code=lambda w: rule_code("prune", w),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling prune {wildcards.model} --estimator {wildcards.estimator}"
            " --d {wildcards.d} --gamma {params.gamma} --noise {wildcards.noise}"
            " --lam-exponent {wildcards.lam_exponent} --n {params.n} --weights {input.weights} {params.stored}"
            " --teacher {input.teacher} --seed {params.seed} --normalization {params.normalization}"
            " --n-draws {params.n_draws} {params.width} {params.design_memory} --output {output} 2> {log}"
        )


rule collect_spectral_table:
    input:
        rule_input("collect_spectral_table", "inputs"),
    output:
        PATHS["table"],
    wildcard_constraints:
        table="spectra|pruning|fig2",
    log:
        LOGS["table"],
    resources:
        mem_mb=rule_mem_mb("collect_spectral_table"),
        runtime=rule_runtime("collect_spectral_table"),
    params:
        code=rule_code("collect_spectral_table"),
    shell:
        "python -m shallowscaling collect --inputs {input} --output {output} 2> {log}"


rule figure_spectral:
    input:
        rule_input("figure_spectral", "table"),
    output:
        pdf=PATHS["figure_pdf"],
        png=report(
            PATHS["figure_png"],
            caption="../report/spectral.rst",
            category="Spectra",
            labels={"figure": "{figure}", "model": "{model}"},
        ),
    wildcard_constraints:
        figure="fig2|fig6|fig7|fig8",
    log:
        LOGS["figure"],
    resources:
        mem_mb=rule_mem_mb("figure_spectral"),
        runtime=rule_runtime("figure_spectral"),
    params:
        dpi=config["figures"]["dpi"],
        lam_exponent=lambda w: (
            f"--lam-exponent {config['spectra']['weak_lam_exponent']}" if w.figure == "fig6" else ""
        ),
        code=lambda w: rule_code("figure_spectral", w),
    shell:
        "python -m shallowscaling figure {wildcards.figure} --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} {params.lam_exponent} 2> {log}"
