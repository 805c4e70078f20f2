"""Input/output: atomic, deterministic Parquet tables and weight-file readers."""

from .parquet import read_table, write_table

__all__ = ["read_table", "write_table"]
