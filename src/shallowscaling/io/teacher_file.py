"""A teacher given as a file: a 1-D ``.npy`` array of d numbers (θ*, or the eigenvalues of S*).

One reader for the ``--teacher-file`` flag of ``fit`` and ``predict`` and for the ``teacher.file``
key of the config, so that both refuse the same files with the same reasons; and the file's
content digest, which names the workflow's files of that teacher (a new content, a new name).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ..errors import InputError

__all__ = ["read_teacher_file", "teacher_file_digest"]


def read_teacher_file(path: str | Path, model: str, d: int, name: str, d_name: str = "--d") -> np.ndarray:
    """The values of a teacher file, or an InputError naming ``name`` (the flag or key and the file),
    the value and what is allowed; ``d_name`` names where d comes from."""
    if Path(path).is_dir():
        raise InputError(f"{name}: is a folder; a 1-D .npy file of d = {d} numbers is allowed")
    try:
        values = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except (ValueError, OSError, EOFError) as error:
        reason = " ".join(str(error).split())
        raise InputError(
            f"{name}: cannot be read as a plain .npy array ({reason}); a 1-D .npy of d = {d} numbers"
        ) from None
    if not isinstance(values, np.ndarray):
        values.close()
        raise InputError(f"{name}: an .npz archive; a single 1-D .npy array of d = {d} numbers is allowed")
    if values.dtype.kind not in "iuf":
        raise InputError(f"{name}: dtype {values.dtype}; integer or real numbers are allowed")
    if values.ndim != 1:
        raise InputError(f"{name}: shape {values.shape}; a 1-D array of d = {d} numbers is allowed")
    if values.size != d:
        raise InputError(f"{name}: {values.size} values; {d_name} {d} needs exactly {d}")
    values = values.astype(float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise InputError(f"{name}: {bad.size} values are NaN or infinite (first at index {bad[0]}); finite numbers")
    if model == "quadratic" and np.any(values < 0.0):
        raise InputError(f"{name}: smallest eigenvalue {values.min():g}; S* is PSD, eigenvalues >= 0 are allowed")
    return values


def teacher_file_digest(path: str | Path) -> str:
    """The first 12 hex digits of the SHA-256 of the file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
