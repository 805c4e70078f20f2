"""Readers for weight files: the workflow's learned-weights tables and any user-supplied array.

:func:`read_weights_table` reads ``results/weights/...`` (docs/data.md). :func:`read_array_file`
backs ``shallowscaling spectrum FILE``: it accepts

* ``.npy`` — one array;
* ``.npz`` — an archive with one array, or the one named by ``key``;
* Parquet — a table with an ``eigenvalue`` column (one replicate of it when a ``replicate``
  column is present).

The format is recognised from the file's first bytes, not its name. Every failure (missing,
empty, unreadable, non-numeric, non-finite, wrong shape) is an :class:`InputError` whose message
starts with the path and says what is wrong, so the CLI can print it and exit 2.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import InputError
from .parquet import read_table

__all__ = ["WEIGHTS_COLUMNS", "LoadedArray", "read_array_file", "read_weights_table"]

#: Columns every learned-weights table has (``theta`` is added for the diagonal model).
WEIGHTS_COLUMNS = ("replicate", "index", "eigenvalue")

_MAGIC = {b"\x93NUMPY": "npy", b"PK\x03\x04": "npz", b"PAR1": "parquet"}


@dataclass(frozen=True)
class LoadedArray:
    """A numeric array read from a file.

    Attributes
    ----------
    values : ndarray
        1-D (a spectrum) or 2-D (a weight matrix W, one row per hidden unit); finite floats.
    file_format : str
        ``"npy"``, ``"npz"`` or ``"parquet"``.
    source : str
        Where in the file the array came from (npz key, or Parquet column and replicate).
    replicate : int or None
        The replicate selected from a Parquet table that has several; None otherwise.
    """

    values: np.ndarray
    file_format: str
    source: str
    replicate: int | None


def _fail(path: Path, problem: str) -> InputError:
    return InputError(f"{path}: {problem}")


def _sniff(path: Path) -> str:
    if not path.exists():
        raise _fail(path, "no such file")
    if path.is_dir():
        raise _fail(path, "is a directory, not a file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise _fail(path, f"cannot be read ({error.strerror or error})") from None
    if not head:
        raise _fail(path, "is empty (0 bytes)")
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    raise _fail(path, f"is not a .npy, .npz or Parquet file (it starts with {head[:8]!r})")


def _numeric(path: Path, array: np.ndarray, where: str) -> np.ndarray:
    """Finite float copy of ``array`` with 1 or 2 dimensions, else an InputError naming the problem."""
    kind = array.dtype.kind
    if kind == "c":
        raise _fail(path, f"{where} holds complex numbers (dtype {array.dtype}); a spectrum must be real")
    if kind not in "iuf":
        raise _fail(path, f"{where} is not numeric (dtype {array.dtype}); expected real numbers")
    if array.ndim not in (1, 2):
        raise _fail(
            path,
            f"{where} has {array.ndim} dimension(s) (shape {array.shape}); expected a 1-D spectrum or a "
            "2-D weight matrix W (reshape higher-dimensional weights to 2-D first)",
        )
    if array.size == 0:
        raise _fail(path, f"{where} is empty (shape {array.shape})")
    values = array.astype(float)
    bad = int(np.count_nonzero(~np.isfinite(values)))
    if bad:
        raise _fail(path, f"{where} contains {bad} non-finite value(s) (NaN or inf)")
    return values


def _read_npy(path: Path) -> np.ndarray:
    try:
        # Our own handle: NumPy leaves its own open when the file is malformed.
        with open(path, "rb") as handle:
            return np.load(handle, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise _fail(path, "holds Python objects (a pickled array); only numeric arrays are accepted") from None
        raise _fail(path, f"is not a valid .npy file ({error})") from None
    except (OSError, EOFError) as error:
        raise _fail(path, f"is not a valid .npy file ({error})") from None


def _read_npz(path: Path, key: str | None) -> tuple[np.ndarray, str]:
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as archive:
            names = list(archive.files)
            if not names:
                raise _fail(path, "is an .npz archive with no arrays")
            if key is None:
                if len(names) > 1:
                    raise _fail(path, f"holds {len(names)} arrays ({', '.join(names)}); choose one with --key")
                key = names[0]
            elif key not in names:
                raise _fail(path, f"has no array named {key!r}; it holds: {', '.join(names)}")
            return archive[key], f"array {key!r}"
    except InputError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise _fail(path, "holds Python objects (a pickled array); only numeric arrays are accepted") from None
        raise _fail(path, f"is not a valid .npz archive ({error})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise _fail(path, f"is not a valid .npz archive ({error})") from None


def _read_parquet_column(path: Path, column: str, replicate: int | None) -> tuple[np.ndarray, str, int | None]:
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        raise _fail(path, f"is not a readable Parquet file ({error})") from None
    if column not in table.column_names:
        listed = ", ".join(table.column_names) or "none"
        raise _fail(path, f"has no {column!r} column (columns: {listed})")
    frame = table.to_pandas()
    if frame.empty:
        raise _fail(path, "is a Parquet table with no rows")
    chosen = None
    if "replicate" in frame.columns:
        available = sorted(int(r) for r in pd.unique(frame["replicate"]))
        chosen = available[0] if replicate is None else replicate
        if chosen not in available:
            raise _fail(path, f"has no replicate {chosen}; available: {', '.join(map(str, available))}")
        frame = frame[frame["replicate"] == chosen]
        if "index" in frame.columns:
            frame = frame.sort_values("index", kind="stable")
    elif replicate is not None:
        raise _fail(path, f"has no 'replicate' column, so --replicate {replicate} cannot be applied")
    values = frame[column].to_numpy()
    where = f"column {column!r}" + (f" of replicate {chosen}" if chosen is not None else "")
    return values, where, chosen


def read_array_file(
    path: str | Path, *, key: str | None = None, column: str = "eigenvalue", replicate: int | None = None
) -> LoadedArray:
    """Read a spectrum or a weight matrix from ``path`` (.npy, .npz or Parquet).

    Parameters
    ----------
    path : str or Path
        The file; its format is recognised from its first bytes.
    key : str, optional
        The array to take from an .npz archive holding several.
    column : str, default "eigenvalue"
        The column to take from a Parquet table.
    replicate : int, optional
        The replicate to take from a Parquet table with a ``replicate`` column (default: the
        smallest one present).

    Returns
    -------
    LoadedArray

    Raises
    ------
    InputError
        ``"<path>: <problem>"`` for a missing, empty, unreadable, non-numeric, non-finite or
        wrongly shaped input, and for options that do not apply to the file.
    """
    path = Path(path)
    file_format = _sniff(path)
    if key is not None and file_format != "npz":
        raise _fail(path, f"is a {file_format} file; --key only applies to .npz archives")
    if replicate is not None and file_format != "parquet":
        raise _fail(path, f"is a {file_format} file; --replicate only applies to Parquet tables")
    chosen = None
    if file_format == "npy":
        raw, where = _read_npy(path), "the array"
    elif file_format == "npz":
        raw, where = _read_npz(path, key)
    else:
        raw, where, chosen = _read_parquet_column(path, column, replicate)
    values = _numeric(path, np.asarray(raw), where)
    if file_format == "parquet" and values.ndim != 1:
        raise _fail(path, f"{where} must be a column of numbers")
    return LoadedArray(values=values, file_format=file_format, source=where, replicate=chosen)


def read_weights_table(path: str | Path) -> pd.DataFrame:
    """Read a learned-weights table of the workflow and check its columns (docs/data.md)."""
    path = Path(path)
    if _sniff(path) != "parquet":
        raise _fail(path, "is not a Parquet table")
    frame = read_table(path)  # a damaged table: one line naming the file and the fix
    missing = [c for c in WEIGHTS_COLUMNS if c not in frame.columns]
    if missing:
        raise _fail(path, f"is not a learned-weights table: missing column(s) {', '.join(missing)}")
    return frame
