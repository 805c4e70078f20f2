"""Every random generator of the study, derived from (base seed, stage, wildcard values).

Generators are built from :class:`numpy.random.SeedSequence` entropy made of stable integers
only: the stage name is turned into an integer with SHA-256 (never Python's salted ``hash``)
and every key must be an ``int`` or ``str``. Floats are deliberately refused: a float key would
make the stream depend on its repr. Two different stages never share a stream, and the same
(base seed, stage, keys) gives the same stream on every machine.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["make_rng", "stable_int"]


def stable_int(text: str) -> int:
    """A 64-bit integer digest of ``text`` that is identical across processes and machines."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def make_rng(base_seed: int, stage: str, *keys: int | str) -> np.random.Generator:
    """Return the generator for one draw of the study.

    Parameters
    ----------
    base_seed : int
        The study's seed (``seed`` in ``config.yaml``), >= 0.
    stage : str
        What is drawn, e.g. ``"diagonal-teacher"``, ``"diagonal-data"``, ``"goe"``.
    *keys : int or str
        The job's wildcard values that identify the draw (d, n, replicate index, ...).

    Examples
    --------
    >>> a = make_rng(1, "diagonal-data", 100, 3).standard_normal()
    >>> b = make_rng(1, "diagonal-data", 100, 3).standard_normal()
    >>> a == b
    True
    """
    entropy = [int(base_seed), stable_int(stage)]
    for key in keys:
        if isinstance(key, (bool, float)) or not isinstance(key, (int, np.integer, str)):
            raise TypeError(f"seed keys must be int or str, got {type(key).__name__} {key!r}")
        entropy.append(stable_int(key) if isinstance(key, str) else int(key))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))
