"""Atomic, byte-deterministic Parquet writes with provenance metadata.

Outputs appear only when complete: the table is written to a temporary file in the target
folder and renamed over the target (``os.replace`` is atomic on POSIX). Bytes are
deterministic: rows and columns keep the caller's order, the pandas index is dropped, the
writer options are fixed, and the provenance metadata holds no timestamps, hostnames or
absolute paths.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__

__all__ = ["atomic_path", "read_provenance", "read_table", "write_table"]

METADATA_KEY = b"shallowscaling"


class atomic_path:
    """Context manager yielding a temporary path that is renamed to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched.
    """

    def __init__(self, path: str | Path, suffix: str = "") -> None:
        self.path = Path(path)
        self.tmp: Path | None = None
        self.suffix = suffix or self.path.suffix

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=self.suffix, dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(name)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            self.tmp.unlink(missing_ok=True)


def write_table(frame: pd.DataFrame, path: str | Path, provenance: Mapping[str, Any] | None = None) -> None:
    """Write ``frame`` to ``path`` atomically, with ``provenance`` (JSON) in the file metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(
        {"version": __version__, **(provenance or {})}, sort_keys=True, default=str
    ).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True, use_dictionary=True)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_table`."""
    return pq.read_table(path).to_pandas()


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance dictionary stored by :func:`write_table`."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(METADATA_KEY, b"{}"))
