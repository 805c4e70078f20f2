# Teacher & data generation → network training or convex estimation.


rule teacher:
    output:
        PATHS["teacher"],
    log:
        LOGS["teacher"],
    resources:
        mem_mb=rule_mem_mb("teacher"),
        runtime=rule_runtime("teacher"),
    params:
        seed=config["seed"],
        replicates=lambda w: config[w.model]["replicates"],
        normalization=config["normalization"],
        gamma=power_law_gamma,
        code=rule_code("teacher"),
    # The Haar basis is a QR of a d×d Gaussian: one BLAS thread, as everywhere, so that its bits do
    # not depend on the cores of the machine that runs the job.
    threads: 1
    shell:
        THREADS_ENV + (
            " python -m shallowscaling teacher {wildcards.model} --d {wildcards.d} --gamma {params.gamma}"
            " --seed {params.seed} --replicates {params.replicates} --normalization {params.normalization}"
            " --output {output} 2> {log}"
        )


# `solution` holds the non-zero eigenpairs of Ŝ, which the `prune` job reads instead of refitting
# (docs/data.md). A rule's outputs are the same for every wildcard value, so the diagonal fits write
# one too, with no rows: their whole solution θ̂ is in `weights` already, and one rule with an empty
# file is simpler than two rules that differ by one output.
rule fit:
    input:
        teacher=rule_input("fit", "teacher"),
    output:
        fit=PATHS["fit"],
        weights=PATHS["weights"],
        solution=PATHS["solution"],
    log:
        LOGS["fit"],
    benchmark:
        BENCHMARKS["fit"]
    params:
        seed=config["seed"],
        replicates=lambda w: config[w.model]["replicates"],
        normalization=config["normalization"],
        tol=lambda w: config[w.model]["solver"]["tol"],
        max_iter=lambda w: config[w.model]["solver"]["max_iter"],
        width=lambda w: (
            f"--width {config['quadratic']['width']}"
            if w.model == "quadratic" and config["quadratic"]["width"] is not None
            else ""
        ),
        quadratic_solver=quadratic_solver_flags,
        device=device_flag,
        gamma=gamma_flag,
        teacher=teacher_flags,
        code=lambda w: rule_code("fit", w),
    # Large quadratic fits solve their replicates in parallel (quadratic.solver.workers), one BLAS
    # thread per worker: bit-identical tables whatever the thread count (docs/cluster.md, Threads).
    threads: fit_threads
    # One GPU for the fits quadratic.device sends to CUDA (docs/cluster.md, GPUs), none otherwise.
    resources:
        mem_mb=fit_mem_mb,
        runtime=fit_runtime,
        gpu=gpus,
    shell:
        ONE_BLAS_THREAD + " python -m shallowscaling fit {wildcards.model} --estimator {wildcards.estimator}"
        " --d {wildcards.d} {params.gamma} --noise {wildcards.noise}"
        " --lam-exponent {wildcards.lam_exponent} --n {wildcards.n} {params.width} {params.quadratic_solver}"
        " {params.device}"
        " --seed {params.seed} --replicates {params.replicates} --normalization {params.normalization}"
        " --tol {params.tol} --max-iter {params.max_iter}"
        " {params.teacher} --output {output.fit} --weights-output {output.weights}"
        " --solution-output {output.solution} --workers {threads} 2> {log}"
