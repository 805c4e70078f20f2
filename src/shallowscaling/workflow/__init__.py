"""The pipeline layer: the study model, code hashes, the run plan."""
