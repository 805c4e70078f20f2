"""Stale Snakemake locks: a killed Snakemake leaves ``.snakemake/locks/`` behind; clear them.

Snakemake's lock is a set of files listing the inputs and outputs of a run, with no process id:
after a ``kill -9``, a crash or a lost login session, the next run in the same folder stops with
"Directory cannot be locked" until ``snakemake --unlock``. The workflow (``common.smk``, main
Snakemake process only) calls :func:`hold_run_lock` while it parses the Snakefile, before Snakemake
takes its own lock: every running Snakemake of this workflow holds a shared ``flock`` on
``.snakemake/shallowscaling.lock`` for its whole life (the kernel releases it when the process dies,
``kill -9`` included). A process that can take that lock *exclusively* is alone in the folder, so
any Snakemake lock files there belong to a dead run and are removed; otherwise they are left to
Snakemake, which refuses to run over another live run's files as usual.

``flock`` is reliable on local file systems and on NFSv4 (Linux emulates it with POSIX locks); on a
file system without working locks the exclusive lock may be granted while another run is alive,
so do not start two runs of overlapping targets in one folder there.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["hold_run_lock"]

#: The file every running Snakemake of this workflow holds (under the working directory).
RUN_LOCK = Path(".snakemake") / "shallowscaling.lock"
#: Snakemake's own lock folder (under the working directory).
SNAKEMAKE_LOCKS = Path(".snakemake") / "locks"

_held: list[int] = []  # the descriptor, kept open (hence locked) until the process exits


def hold_run_lock(workdir: str | Path = ".") -> list[Path]:
    """Hold the run lock of ``workdir`` for the rest of this process; return the stale Snakemake
    lock files removed (none unless no other run of this workflow is alive in ``workdir``)."""
    if _held:
        return []
    path = Path(workdir) / RUN_LOCK
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return []  # a folder that cannot be written: Snakemake itself will say so
    removed: list[Path] = []
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        pass  # another run is alive: its locks are not stale
    else:
        locks = Path(workdir) / SNAKEMAKE_LOCKS
        for stale in sorted(locks.glob("*.lock")) if locks.is_dir() else []:
            stale.unlink(missing_ok=True)
            removed.append(stale)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)  # a downgrade, or a wait for the brief exclusive hold of a starting run
    except OSError:
        pass  # no locks on this file system: nothing is ever removed there (the exclusive lock failed too)
    _held.append(fd)
    return removed
