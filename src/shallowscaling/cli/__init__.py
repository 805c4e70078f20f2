"""Command line: ``shallowscaling VERB ...`` (also what the Snakemake rules call).

Verbs: ``fit`` and ``predict`` (one point, or a job of the workflow with ``--output``),
``spectrum`` (heavy-tail diagnostics of any weight file), ``plan`` (jobs, core-hours and peak
memory of a study before it is submitted), ``verify`` (check a results folder, repair it for a
rebuild), and the workflow's own ``teacher``, ``aggregate``,
``exponents``, ``classic`` and ``figure``. ``--json`` prints one JSON object on stdout; logs go to stderr.
This package parses and prints, nothing else: the work is done in :mod:`shallowscaling.tasks`.

One module per verb group: :mod:`.simulate` (fit, predict, teacher, aggregate), :mod:`.spectra`
(spectrum, spectra, prune, collect), :mod:`.scaling` (exponents), :mod:`.classic`, :mod:`.plan`, :mod:`.figure`,
:mod:`.verify`;
:mod:`._args` holds the argument types and shared flags, :mod:`._common` the helpers every verb uses.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from collections.abc import Sequence

from .. import __version__
from ..errors import ConvergenceWarning, InputError
from ..progress import LOGGER as PROGRESS_LOGGER
from ..progress import heartbeat_interval
from ._args import Parser
from .classic import add_classic_verb, run_classic
from .figure import add_figure_verb, run_figure
from .plan import add_plan_verb, run_plan
from .scaling import add_scaling_verbs, run_exponents
from .simulate import add_simulate_verbs, run_aggregate, run_fit, run_predict, run_teacher
from .spectra import add_spectral_verbs, run_collect, run_prune, run_spectra, run_spectrum
from .summary import add_summary_verb, run_summary
from .verify import add_verify_verb, run_verify

__all__ = ["build_parser", "main"]

PAPER = "Defilippis et al., arXiv 2509.24882"


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every verb (also used to render ``--help``)."""
    parser = Parser(
        prog="shallowscaling",
        description=f"Scaling laws and spectra of shallow networks ({PAPER}): fits, SE predictions, spectra.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    add_simulate_verbs(verbs)
    add_spectral_verbs(verbs)
    add_scaling_verbs(verbs)
    add_classic_verb(verbs)
    add_plan_verb(verbs)
    add_figure_verb(verbs)
    add_verify_verb(verbs)
    add_summary_verb(verbs)
    return parser


RUNNERS = {
    "fit": run_fit,
    "predict": run_predict,
    "teacher": run_teacher,
    "aggregate": run_aggregate,
    "figure": run_figure,
    "spectrum": run_spectrum,
    "spectra": run_spectra,
    "prune": run_prune,
    "collect": run_collect,
    "exponents": run_exponents,
    "classic": run_classic,
    "plan": run_plan,
    "verify": run_verify,
    "summary": run_summary,
}


class _StderrHandler(logging.Handler):
    """Writes each record to the *current* ``sys.stderr``.

    A ``StreamHandler`` would keep the stream it was created with; looking it up at every record
    keeps the lines going where stderr points now (a redirected or captured stream, e.g. in tests
    that call :func:`main` several times in one process).
    """

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break the run; report the way logging does
            self.handleError(record)


def _send_progress_to_stderr() -> None:
    """Send the solvers' progress lines (INFO on ``shallowscaling.progress``) to stderr, once.

    Idempotent: a second call in the same process finds its handler and adds no other, so no
    line is ever written twice.
    """
    if not any(isinstance(handler, _StderrHandler) for handler in PROGRESS_LOGGER.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("shallowscaling: %(message)s"))
        PROGRESS_LOGGER.addHandler(handler)
    PROGRESS_LOGGER.setLevel(logging.INFO)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 2 bad input, 1 failure; ``verify``: 1 when the
    folder has a problem).

    Progress lines of long solves (start, heartbeat every ``SHALLOWSCALING_HEARTBEAT_S`` seconds,
    end) go to stderr; a bad value of that variable is a bad input of every verb.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    _send_progress_to_stderr()
    try:
        # Checked before any work, so that a typo fails at once rather than at the first solve.
        heartbeat_interval()
        with warnings.catch_warnings():
            # Convergence problems are recorded in the output (converged=false) and logged once.
            warnings.simplefilter("default", ConvergenceWarning)
            status = RUNNERS[args.verb](args)
    except InputError as error:
        parser.exit(2, f"shallowscaling {args.verb}: error: {' '.join(str(error).split())}\n")
    except OSError as error:
        # A file that cannot be read or written (permissions, a full disk): one line naming it.
        parser.exit(2, f"shallowscaling {args.verb}: error: {error.filename or ''}: {error.strerror or error}\n")
    return status or 0
