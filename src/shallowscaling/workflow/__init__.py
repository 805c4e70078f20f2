"""The pipeline layer: the study model (file names, sweeps, targets, jobs), the code hashes of
the rules, the plan and the cluster resources of its jobs. Above config, numerics and io; below
the command line."""
