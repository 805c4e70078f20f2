"""Exception and warning types shared by the whole package.

One error shape everywhere: name the key, the paper's symbol, what is allowed and the value
received, e.g. ``gamma (teacher power-law exponent γ) must be > 0.5; got 0.4``.
"""

from __future__ import annotations

__all__ = ["ConfigError", "ConvergenceWarning", "InputError"]


class InputError(ValueError):
    """A function argument or command-line flag is outside what is allowed."""


class ConfigError(InputError):
    """``config.yaml`` (or an overlay) does not satisfy the schema or a cross-field rule.

    The message starts with the path of the offending key, e.g. ``diagonal.gamma[2]``.
    """


class ConvergenceWarning(UserWarning):
    """A solver stopped before meeting its stated tolerance.

    The result it returns carries ``converged=False``; the warning says what failed, how far
    from the tolerance it stopped and what to try.
    """
