"""The pipeline layer: the study model (file names, sweeps, targets, jobs), the code hashes of
the rules, the plan and the cluster resources of its jobs. Above the jobs (``tasks``) and the
figures, whose modules it names; below the command line."""
