# Spectra of the trained weights, HT-SR diagnostics, error decomposition and pruning (spec §4–6):
# one `spectra` job per sweep; one `prune` job per point (n) of a weak-λ sweep (the quadratic model
# reads the fit job's stored eigenpairs of Ŝ: no solve), stacked per sweep by `collect_pruning`;
# tables; Figures 2, 6, 7, 8.
# Their helpers (target lists) live in common.smk.


rule spectra:
    input:
        teacher="results/teachers/{model}/d{d}_gamma{gamma}.parquet",
        weights=lambda w: sweep_point_files(w, "weights"),
        fits=lambda w: sweep_point_files(w, "fits"),
    output:
        summary="results/spectra/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.parquet",
        density="results/densities/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/spectra/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.log",
    benchmark:
        "benchmarks/rules/spectra/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.tsv"
    params:
        n=lambda w: " ".join(map(str, sweep_n(w))),
        seed=config["seed"],
        n_draws=config["quadratic"]["se"]["n_draws"],
        width=width_flag,
        code=rule_code("spectra"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling spectra {wildcards.model} --estimator {wildcards.estimator}"
            " --d {wildcards.d} --gamma {wildcards.gamma} --noise {wildcards.noise}"
            " --lam-exponent {wildcards.lam_exponent} --n {params.n} --weights {input.weights} --fits {input.fits}"
            " --teacher {input.teacher} --seed {params.seed} --n-draws {params.n_draws} {params.width}"
            " --output {output.summary} --density-output {output.density} 2> {log}"
        )


rule prune:
    input:
        teacher="results/teachers/{model}/d{d}_gamma{gamma}.parquet",
        weights="results/weights/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}_n{n}.parquet",
        # Quadratic only: the diagonal prune reads θ̂ from `weights` (its solution file has no rows).
        solution=lambda w: fit_point_file(w, "solutions") if w.model == "quadratic" else [],
        fits=lambda w: fit_point_file(w, "fits") if w.model == "quadratic" else [],
    output:
        "results/pruning/points/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}_n{n}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/pruning/points/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}_n{n}.log",
    benchmark:
        "benchmarks/rules/pruning/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}_n{n}.tsv"
    params:
        seed=config["seed"],
        normalization=config["normalization"],
        n_draws=config["quadratic"]["se"]["n_draws"],
        width=width_flag,
        stored=lambda w, input: f"--solution {input.solution} --fits {input.fits}" if input.solution else "",
        code=lambda w: rule_code("prune", w),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling prune {wildcards.model} --estimator {wildcards.estimator}"
            " --d {wildcards.d} --gamma {wildcards.gamma} --noise {wildcards.noise}"
            " --lam-exponent {wildcards.lam_exponent} --n {wildcards.n} --weights {input.weights} {params.stored}"
            " --teacher {input.teacher} --seed {params.seed} --normalization {params.normalization}"
            " --n-draws {params.n_draws} {params.width} --output {output} 2> {log}"
        )


# The sweep's table, its points stacked in n order: the rows `prune --n N1 N2 ...` writes in one job.
rule collect_pruning:
    input:
        lambda w: sweep_point_files(w, "pruning/points"),
    output:
        "results/pruning/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/pruning/{model}/{estimator}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.log",
    params:
        code=rule_code("collect_pruning"),
    shell:
        "python -m shallowscaling collect --inputs {input} --output {output} 2> {log}"


rule collect_spectral_table:
    input:
        lambda w: COLLECTED_TABLES[w.table](w.model),
    output:
        "results/tables/{table}_{model}.parquet",
    wildcard_constraints:
        table="spectra|pruning|fig2",
    conda:
        CONDA_ENV
    log:
        "logs/tables/{table}_{model}.log",
    params:
        code=rule_code("collect_spectral_table"),
    shell:
        "python -m shallowscaling collect --inputs {input} --output {output} 2> {log}"


rule figure_spectral:
    input:
        lambda w: f"results/tables/{SPECTRAL_FIGURE_TABLES[w.figure]}_{w.model}.parquet",
    output:
        pdf="results/figures/{figure}_{model}.pdf",
        png=report(
            "results/figures/{figure}_{model}.png",
            caption="../report/spectral.rst",
            category="Spectra",
            labels={"figure": "{figure}", "model": "{model}"},
        ),
    wildcard_constraints:
        figure="fig2|fig6|fig7|fig8",
    conda:
        CONDA_ENV
    log:
        "logs/figures/{figure}_{model}.log",
    params:
        dpi=config["figures"]["dpi"],
        lam_exponent=lambda w: (
            f"--lam-exponent {config['spectra']['weak_lam_exponent']}" if w.figure == "fig6" else ""
        ),
        code=lambda w: rule_code("figure_spectral", w),
    shell:
        "python -m shallowscaling figure {wildcards.figure} --model {wildcards.model} --table {input}"
        " --output {output.pdf} {output.png} --dpi {params.dpi} {params.lam_exponent} 2> {log}"
