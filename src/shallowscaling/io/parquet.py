"""Atomic, byte-deterministic Parquet writes with provenance metadata.

Outputs appear only when complete: the table is written to a temporary file in the target
folder and renamed over the target (``os.replace`` is atomic on POSIX). Bytes are
deterministic: rows and columns keep the caller's order, the pandas index is dropped, the
writer options are fixed, and the provenance metadata holds no timestamps, hostnames or
absolute paths.

Files are created with the permissions of an ordinary ``open``: ``tempfile.mkstemp`` makes
the temporary file 0600, so it is chmod-ed to ``0o666 & ~umask`` before the rename (0644
under the usual umask 022).

Every table carries a content checksum (:data:`CHECKSUM_KEY` in the schema metadata, see
:func:`table_checksum`); :func:`read_table` checks it, so a truncated or damaged table fails the
job that reads it with one line (:class:`CorruptTableError`) naming the file and the fix,
``shallowscaling verify --repair``.

A killed writer leaves its temporary file ``.NAME.XXXXXXXX.ext`` behind (8 random characters from
``tempfile``). The writer holds an exclusive ``flock`` on it while it writes, so an orphan is a
temporary file nobody holds: the next writer of the same target removes the orphans next to it,
and ``shallowscaling verify`` reports and removes them (:func:`orphaned_temp_files`). A
temporary file another process is still writing is held, hence left alone. In the workflow
each output has exactly one job writing it, so no two writers of one target ever run at once.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .. import __version__
from ..errors import InputError

__all__ = [
    "CHECKSUM_KEY",
    "CorruptTableError",
    "atomic_path",
    "check_table",
    "orphaned_temp_files",
    "read_provenance",
    "read_table",
    "table_checksum",
    "write_table",
]

METADATA_KEY = b"shallowscaling"
#: Schema-metadata key of a table's content checksum (hex SHA-256, :func:`table_checksum`).
CHECKSUM_KEY = b"shallowscaling.sha256"
#: The fixed options of every table written (part of the byte-determinism contract).
_WRITE_OPTIONS = {"compression": "zstd", "write_statistics": True, "use_dictionary": True}
#: The fix named by every corrupt-table message.
REPAIR_HINT = "run `shallowscaling verify --repair` (plus your --configfile overlays), then snakemake again"
#: A temporary file of :class:`atomic_path`: "." + target name + "." + 8 random characters + suffix.
_TEMP_NAME = re.compile(r"\.(?P<target>.+)\.[a-z0-9_]{8}(?P<suffix>\.[^.]*)?")


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


def _is_orphan(path: Path) -> bool:
    """True when no process holds ``path``'s ``flock`` (its writer is gone); False while one does."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    finally:
        os.close(fd)  # releases the lock just taken, if any
    return True


def _temp_target(path: Path) -> Path | None:
    """The target of a temporary file of :class:`atomic_path` (None for any other name)."""
    match = _TEMP_NAME.fullmatch(path.name)
    if match is None or not match.group("target").endswith(match.group("suffix") or ""):
        return None
    return path.with_name(match.group("target"))


def orphaned_temp_files(folder: str | Path, target: str | Path | None = None) -> list[Path]:
    """Temporary files of killed writers under ``folder`` (recursively), or of ``target`` only.

    A temporary file whose writer still runs holds a lock and is not listed.
    """
    if target is not None:
        target = Path(target)
        candidates = target.parent.glob(f".{glob.escape(target.name)}.*")
    else:
        candidates = Path(folder).rglob(".*")
    found = []
    for path in sorted(candidates):
        owner = _temp_target(path)
        if owner is not None and (target is None or owner == target) and path.is_file() and _is_orphan(path):
            found.append(path)
    return found


class atomic_path:
    """Context manager yielding a temporary path that is renamed to ``path`` on success.

    On an exception the temporary file is removed and ``path`` is left untouched. The temporary
    file is ``flock``-ed until the rename, and orphaned temporary files of the same target (left
    by a killed writer) are removed on entry (module docstring).
    """

    def __init__(self, path: str | Path, suffix: str = "") -> None:
        self.path = Path(path)
        self.tmp: Path | None = None
        self.fd: int | None = None
        self.suffix = suffix or self.path.suffix

    def __enter__(self) -> Path:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=self.suffix, dir=self.path.parent)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a fresh file: nobody else holds it
            except OSError:
                pass  # no locks on this file system: orphans are never recognised there, never removed
            os.fchmod(fd, _file_mode())
        except BaseException:
            os.close(fd)
            os.unlink(name)
            raise
        self.fd, self.tmp = fd, Path(name)
        for orphan in orphaned_temp_files(self.path.parent, self.path):
            if orphan != self.tmp:
                orphan.unlink(missing_ok=True)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        assert self.tmp is not None and self.fd is not None
        try:
            if exc_type is None:
                os.replace(self.tmp, self.path)
            else:
                self.tmp.unlink(missing_ok=True)
        finally:
            os.close(self.fd)
            self.fd = None


class CorruptTableError(InputError):
    """A table that cannot be read, or whose content does not match its checksum (one line)."""


def table_checksum(table: pa.Table) -> str:
    """Hex SHA-256 of ``table`` as read from its Parquet file: the Arrow IPC stream of its schema
    (names, types, metadata less :data:`CHECKSUM_KEY`) and its rows as one record batch.

    The writer hashes the table read back from the bytes it is about to write, the reader the
    table read from the file, so both hash the same buffers (same chunks, same bytes under nulls).
    """
    meta = {key: value for key, value in (table.schema.metadata or {}).items() if key != CHECKSUM_KEY}
    table = table.replace_schema_metadata(meta).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        for batch in table.to_batches():
            writer.write_batch(batch)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def write_table(frame: pd.DataFrame, path: str | Path, provenance: Mapping[str, Any] | None = None) -> None:
    """Write ``frame`` to ``path`` atomically, with ``provenance`` (JSON) and a content checksum in
    the file metadata."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta[METADATA_KEY] = json.dumps(
        {"version": __version__, **(provenance or {})}, sort_keys=True, default=str
    ).encode()
    table = table.replace_schema_metadata(meta)
    draft = pa.BufferOutputStream()
    pq.write_table(table, draft, **_WRITE_OPTIONS)
    meta[CHECKSUM_KEY] = table_checksum(pq.read_table(pa.BufferReader(draft.getvalue()))).encode()
    table = table.replace_schema_metadata(meta)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, **_WRITE_OPTIONS)


def _corrupt(path: str | Path, problem: str) -> CorruptTableError:
    return CorruptTableError(f"{path}: {problem}; {REPAIR_HINT}")


def check_table(path: str | Path) -> tuple[pa.Table, bool]:
    """Open the table at ``path`` and check its checksum: (the table, whether it had a checksum).

    Raises :class:`CorruptTableError` (one line naming the file and the fix) when the file cannot
    be read as Parquet or its content does not match its checksum; ``FileNotFoundError`` when it
    does not exist. A table without a checksum (written by another program) is returned as is.
    """
    if not Path(path).exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        table = pq.read_table(path)
    except Exception as error:  # any failure to decode (Arrow, OSError, a damaged footer's JSON, ...)
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise _corrupt(path, f"cannot be read as a Parquet table ({reason})") from None
    stored = (table.schema.metadata or {}).get(CHECKSUM_KEY)
    if stored is None:
        return table, False
    if stored.decode(errors="replace") != table_checksum(table):
        raise _corrupt(path, "its content does not match its checksum (the file is damaged)")
    return table, True


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a table written by :func:`write_table`, checking its checksum (:func:`check_table`)."""
    table, _ = check_table(path)
    try:
        return table.to_pandas()
    except Exception as error:  # e.g. damaged pandas metadata in a table without a checksum
        reason = " ".join(str(error).split())[:200] or type(error).__name__
        raise _corrupt(path, f"cannot be converted to a table ({reason})") from None


def read_provenance(path: str | Path) -> dict[str, Any]:
    """The provenance dictionary stored by :func:`write_table`."""
    meta = pq.read_schema(path).metadata or {}
    return json.loads(meta.get(METADATA_KEY, b"{}"))
