"""Atomic, byte-deterministic Parquet writes with provenance metadata.

Outputs appear only when complete: the table is written to a temporary file in the target
folder and renamed over the target (``os.replace`` is atomic on POSIX). Bytes are
deterministic: rows and columns keep the caller's order, the pandas index is dropped, the
writer options are fixed, and the provenance metadata holds no timestamps, hostnames or
absolute paths.

Files are created with the permissions of an ordinary ``open``: ``tempfile.mkstemp`` makes
the temporary file 0600, so it is chmod-ed to ``0o666 & ~umask`` before the rename (0644
under the usual umask 022).
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


def _umask_by_setting() -> int:
    # os.umask can only be read by setting it, which briefly changes it for every thread of the
    # process; this is done once, at import, before any worker thread writes a file.
    old = os.umask(0o022)
    os.umask(old)
    return old


_IMPORT_UMASK = _umask_by_setting()


def _umask() -> int:
    """The process umask, read without changing it where Linux reports it (``Umask:`` in the
    process status, Linux 4.7+), otherwise the value read at import."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _IMPORT_UMASK


def _file_mode() -> int:
    """The mode ``open`` would give a new file: 0o666 less the umask."""
    return 0o666 & ~_umask()


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
        try:
            os.fchmod(fd, _file_mode())
        finally:
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
