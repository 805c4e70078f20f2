"""One function per kind of job: validated parameters in, records or DataFrames out.

The CLI and the Snakemake rules call these; notebooks can too.
"""
