# State-evolution predictions on the same teachers as the simulations.


rule state_evolution:
    input:
        teacher="results/teachers/{model}/d{d}_gamma{gamma}.parquet",
    output:
        "results/se/{model}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/se/{model}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.log",
    benchmark:
        "benchmarks/rules/se/{model}/d{d}_gamma{gamma}_noise{noise}_lexp{lam_exponent}.tsv"
    params:
        n=lambda w: " ".join(
            map(str, se_n_grid(w.model, int(w.d), config[w.model]["n_eff_exponent"], config[w.model]["se"]["num"]))
        ),
        se=quadratic_se_flags,
        seed=config["seed"],
        code=rule_code("state_evolution"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling predict {wildcards.model} --d {wildcards.d}"
            " --gamma {wildcards.gamma} --noise {wildcards.noise} --lam-exponent {wildcards.lam_exponent}"
            " --n {params.n} {params.se} --seed {params.seed}"
            " --teacher {input.teacher} --output {output} 2> {log}"
        )


rule bayes_optimal:
    input:
        teacher="results/teachers/{model}/d{d}_gamma{gamma}.parquet",
    output:
        "results/se/{model}/bayes/d{d}_gamma{gamma}_noise{noise}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/se/{model}/bayes/d{d}_gamma{gamma}_noise{noise}.log",
    benchmark:
        "benchmarks/rules/se/{model}/bayes/d{d}_gamma{gamma}_noise{noise}.tsv"
    params:
        n=lambda w: " ".join(
            map(str, se_n_grid(w.model, int(w.d), config[w.model]["n_eff_exponent"], config[w.model]["se"]["num"]))
        ),
        seed=config["seed"],
        code=rule_code("bayes_optimal"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling predict {wildcards.model} --method bayes --d {wildcards.d}"
            " --gamma {wildcards.gamma} --noise {wildcards.noise} --n {params.n} --seed {params.seed}"
            " --teacher {input.teacher} --output {output} 2> {log}"
        )


rule optimal_lam:
    input:
        teacher="results/teachers/{model}/d{d}_gamma{gamma}.parquet",
    output:
        "results/se/{model}/optimal/d{d}_gamma{gamma}_noise{noise}.parquet",
    conda:
        CONDA_ENV
    log:
        "logs/se/{model}/optimal/d{d}_gamma{gamma}_noise{noise}.log",
    benchmark:
        "benchmarks/rules/se/{model}/optimal/d{d}_gamma{gamma}_noise{noise}.tsv"
    params:
        n=lambda w: " ".join(
            map(str, se_n_grid(w.model, int(w.d), config[w.model]["n_eff_exponent"], config[w.model]["se"]["num"]))
        ),
        se=quadratic_se_flags,
        seed=config["seed"],
        code=rule_code("optimal_lam"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling predict {wildcards.model} --lam optimal --d {wildcards.d}"
            " --gamma {wildcards.gamma} --noise {wildcards.noise} --n {params.n} {params.se} --seed {params.seed}"
            " --teacher {input.teacher} --output {output} 2> {log}"
        )
