# State-evolution predictions on the same teachers as the simulations.


rule state_evolution:
    input:
        teacher=rule_input("state_evolution", "teacher"),
    output:
        PATHS["se"],
    log:
        LOGS["se"],
    benchmark:
        BENCHMARKS["state_evolution"]
    resources:
        mem_mb=rule_mem_mb("state_evolution"),
        runtime=rule_runtime("state_evolution"),
    params:
        n=lambda w: " ".join(
            map(str, se_n_grid(w.model, int(w.d), config[w.model]["n_eff_exponent"], config[w.model]["se"]["num"]))
        ),
        se=quadratic_se_flags,
        seed=config["seed"],
        gamma=gamma_flag,
        teacher=teacher_flags,
        code=rule_code("state_evolution"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling predict {wildcards.model} --d {wildcards.d}"
            " {params.gamma} --noise {wildcards.noise} --lam-exponent {wildcards.lam_exponent}"
            " --n {params.n} {params.se} --seed {params.seed}"
            " {params.teacher} --output {output} 2> {log}"
        )


rule bayes_optimal:
    input:
        teacher=rule_input("bayes_optimal", "teacher"),
    output:
        PATHS["bayes"],
    log:
        LOGS["bayes"],
    benchmark:
        BENCHMARKS["bayes_optimal"]
    resources:
        mem_mb=rule_mem_mb("bayes_optimal"),
        runtime=rule_runtime("bayes_optimal"),
    params:
        n=lambda w: " ".join(
            map(str, se_n_grid(w.model, int(w.d), config[w.model]["n_eff_exponent"], config[w.model]["se"]["num"]))
        ),
        seed=config["seed"],
        gamma=gamma_flag,
        teacher=teacher_flags,
        code=rule_code("bayes_optimal"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling predict {wildcards.model} --method bayes --d {wildcards.d}"
            " {params.gamma} --noise {wildcards.noise} --n {params.n} --seed {params.seed}"
            " {params.teacher} --output {output} 2> {log}"
        )


rule optimal_lam:
    input:
        teacher=rule_input("optimal_lam", "teacher"),
    output:
        PATHS["optimal"],
    log:
        LOGS["optimal"],
    benchmark:
        BENCHMARKS["optimal_lam"]
    resources:
        mem_mb=rule_mem_mb("optimal_lam"),
        runtime=rule_runtime("optimal_lam"),
    params:
        n=lambda w: " ".join(
            map(str, se_n_grid(w.model, int(w.d), config[w.model]["n_eff_exponent"], config[w.model]["se"]["num"]))
        ),
        se=quadratic_se_flags,
        seed=config["seed"],
        gamma=gamma_flag,
        teacher=teacher_flags,
        code=rule_code("optimal_lam"),
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling predict {wildcards.model} --lam optimal --d {wildcards.d}"
            " {params.gamma} --noise {wildcards.noise} --n {params.n} {params.se} --seed {params.seed}"
            " {params.teacher} --output {output} 2> {log}"
        )
