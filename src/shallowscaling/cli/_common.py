"""What every verb shares: reading input tables, refusing bad outputs or memory, printing."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..config import machine_memory_gb
from ..errors import InputError
from ..results import json_safe


def emit(payload: dict[str, Any]) -> None:
    print(json.dumps({k: json_safe(v) for k, v in payload.items()}, allow_nan=False))


#: Columns a table must have to be read as each kind of input (the rest of the table is the job's).
TABLE_COLUMNS = {
    "teacher diagonal": ("replicate", "index", "theta_star", "variance"),
    "teacher quadratic": ("replicate", "index", "eigenvalue"),
}


def read_input_table(path: str, flag: str, kind: str | None = None):
    """Read a Parquet input; a missing, unreadable or wrong table is one line naming the file.

    An unreadable or damaged table (checksum) is :class:`~shallowscaling.io.parquet.CorruptTableError`,
    whose one line, from :func:`~shallowscaling.io.parquet.read_table`, names the file and the fix
    (here after the flag).
    """
    from ..io.parquet import CorruptTableError, read_table

    if not Path(path).is_file():
        what = "is a folder" if Path(path).is_dir() else "no such file"
        raise InputError(f"`{flag}` {path!r}: {what}; allowed: a Parquet table written by shallowscaling")
    try:
        table = read_table(path)
    except CorruptTableError as error:
        raise CorruptTableError(f"`{flag}` {error}") from None
    missing = [c for c in TABLE_COLUMNS.get(kind, ()) if c not in table.columns]
    if missing:
        raise InputError(
            f"`{flag}` {path!r}: is not a {kind} table (no column {', '.join(missing)}); allowed: the table of "
            f"`shallowscaling teacher {kind.split()[-1]}`"
        )
    return table


def check_outputs(args: argparse.Namespace, *flags: str) -> None:
    """Refuse an output that cannot be written before any work: a folder, or a folder not writable."""
    for flag in flags:
        paths = getattr(args, flag.lstrip("-").replace("-", "_"), None)
        for path in [paths] if isinstance(paths, str) else paths or []:
            target = Path(path)
            if target.is_dir():
                raise InputError(f"`{flag}` {path!r}: is a folder; allowed: a file path")
            parent = target.parent
            while not parent.exists() and parent != parent.parent:
                parent = parent.parent
            if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(f"`{flag}` {path!r}: cannot be written ({parent} is not a writable folder)")


def _default_max_memory() -> float:
    """Half of this machine's memory (GB): room for the system and other jobs."""
    return 0.5 * machine_memory_gb()


def check_memory(args: argparse.Namespace, need_bytes: float, what: str) -> None:
    """Refuse a job whose estimated memory exceeds --max-memory, before allocating anything."""
    limit = args.max_memory if args.max_memory is not None else _default_max_memory()
    if need_bytes / 1e9 > limit:
        raise InputError(
            f"`--max-memory` {limit:.3g} GB: {what} needs about {need_bytes / 1e9:.3g} GB; lower --d or --n, or "
            "raise --max-memory if the machine has the memory"
        )


def consistent_status(record: dict[str, Any]) -> dict[str, Any]:
    """A record that is not converged never says status "converged".

    estimators/lasso.py returns status "converged" with converged false when its duality gap is
    NaN (the loop ``while gap > tol`` never runs; e.g. ``--noise 1e308``); such a row is reported
    as diverged here, where the CLI builds its records. Converged rows are left untouched.
    """
    if record.get("converged") or record.get("status") != "converged":
        return record
    return {**record, "status": "diverged", "message": f"the certificate is not finite; {record.get('message', '')}"}


def consistent_frame(frame):
    """:func:`consistent_status` on every row of a table (unchanged where rows are consistent)."""
    if "converged" not in frame or "status" not in frame:
        return frame
    bad = ~frame["converged"].astype(bool) & (frame["status"] == "converged")
    if bad.any():
        frame = frame.copy()
        frame.loc[bad, "status"] = "diverged"
        if "message" in frame:
            frame.loc[bad, "message"] = "the certificate is not finite; " + frame.loc[bad, "message"].astype(str)
    return frame


def concat_frames(frames: list) -> Any:
    """Stack tables (an empty list gives an empty table)."""
    import pandas as pd

    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def print_record(record: dict[str, Any]) -> None:
    width = max(map(len, record))
    for key, value in record.items():
        print(f"{key:<{width}}  {value}")
