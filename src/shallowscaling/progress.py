"""Progress lines of long solves: a start line, a heartbeat, an end line (to ``logging``).

The iterative solvers report through a :class:`Heartbeat`: the LASSO (single fits and paths),
the diagonal network's L-BFGS, the state evolutions and the optimal-λ search (the quadratic
fits, FISTA, the factored PSD solver and the network's L-BFGS, are still to be wired). The
lines go to the logger ``shallowscaling.progress``; the command line sends them to stderr, which
is the rule's log in the workflow. Solvers never print.

The heartbeat interval is read once per solve from the environment variable
``SHALLOWSCALING_HEARTBEAT_S`` (seconds, default 60): a solve that runs longer than that logs a
line (iteration, objective, certificate, elapsed time) at the first check after each interval,
so as often as the interval when the solver checks at least that often. Wall time appears in
logs only, never in an output table, so outputs stay bit-identical from run to run.
"""

from __future__ import annotations

import logging
import math
import os
import time

from .errors import InputError

__all__ = ["DEFAULT_HEARTBEAT_S", "HEARTBEAT_ENV", "Heartbeat", "heartbeat_interval"]

#: Environment variable holding the heartbeat interval in seconds.
HEARTBEAT_ENV = "SHALLOWSCALING_HEARTBEAT_S"
#: Interval when the variable is unset: a line a minute keeps a cluster job's log alive without
#: flooding it (a d = 800 FISTA iteration alone takes about a minute on one core).
DEFAULT_HEARTBEAT_S = 60.0

LOGGER = logging.getLogger("shallowscaling.progress")


def heartbeat_interval() -> float:
    """The heartbeat interval in seconds from ``SHALLOWSCALING_HEARTBEAT_S`` (default 60).

    Raises :class:`~shallowscaling.errors.InputError` naming the variable unless its value is a
    finite number > 0.
    """
    raw = os.environ.get(HEARTBEAT_ENV)
    if raw is None or raw.strip() == "":
        return DEFAULT_HEARTBEAT_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(
            f"environment variable {HEARTBEAT_ENV} (heartbeat interval, seconds) must be a finite number > 0; "
            f"got {raw!r}"
        )
    return value


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


class Heartbeat:
    """Start, heartbeat and end lines of one solve.

    Parameters
    ----------
    solver : str
        Name of the solver, e.g. ``"fit_psd_convex[fista]"``; starts every line.
    certificate : str
        Name of the quantity that decides convergence (``"kkt_residual"``, ``"grad_norm"``,
        ``"duality_gap"``, ``"fixed_point_residual"``).
    **context
        Problem size and parameters for the start line (``d=…, n=…, lam=…``).

    Examples
    --------
    >>> beat = Heartbeat("demo", "grad_norm", d=10)
    >>> for iteration in range(3):
    ...     beat.tick(iteration, objective=1.0 / (iteration + 1), certificate=0.1**iteration)
    >>> beat.end("converged", 3, objective=1 / 3, certificate=0.01)
    """

    def __init__(self, solver: str, certificate: str, **context: object) -> None:
        self.solver = solver
        self.certificate = certificate
        self.interval = heartbeat_interval()
        self.start = time.monotonic()
        self.last = self.start
        details = " ".join(f"{key}={_format(value)}" for key, value in context.items())
        LOGGER.info("%s start %s", solver, details)

    def elapsed(self) -> float:
        """Seconds since the start line."""
        return time.monotonic() - self.start

    def due(self) -> bool:
        """Whether the interval has passed since the last line, i.e. whether :meth:`tick` would log.

        Lets a solver skip computing a certificate it only needs for the heartbeat line (for
        example a gradient inside an L-BFGS callback).
        """
        return time.monotonic() - self.last >= self.interval

    def tick(self, iteration: int, objective: float, certificate: float, **extra: object) -> None:
        """Log a heartbeat line if the interval has passed since the last line (cheap otherwise)."""
        now = time.monotonic()
        if now - self.last < self.interval:
            return
        self.last = now
        details = "".join(f" {key} {_format(value)}" for key, value in extra.items())
        LOGGER.info(
            "%s iteration %d objective %s %s %s%s elapsed %.1fs",
            self.solver,
            iteration,
            _format(float(objective)),
            self.certificate,
            _format(float(certificate)),
            details,
            now - self.start,
        )

    def end(self, status: str, iterations: int, objective: float, certificate: float, **extra: object) -> None:
        """Log the end line: status, iterations, objective, certificate and elapsed time."""
        details = "".join(f" {key} {_format(value)}" for key, value in extra.items())
        LOGGER.info(
            "%s end %s after %d iterations objective %s %s %s%s elapsed %.1fs",
            self.solver,
            status,
            iterations,
            _format(float(objective)),
            self.certificate,
            _format(float(certificate)),
            details,
            self.elapsed(),
        )
