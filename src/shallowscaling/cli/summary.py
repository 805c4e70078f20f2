"""Verb ``summary``: the fits and SE points of a results folder flagged not converged, file by file."""

from __future__ import annotations

import argparse

from ._common import emit


def add_summary_verb(verbs) -> None:
    summary = verbs.add_parser(
        "summary",
        help="which fits and SE points of a results folder did not converge (what a run prints at its end)",
        description="Count the fits (results/fits/) and SE points (results/se/, results/scaling/se/) flagged "
        "converged=false, reading only the `converged` column of the tables that exist, and list the files "
        "that hold them.",
    )
    summary.add_argument("results", nargs="?", default="results", help="the results folder (default: results)")
    summary.add_argument("--all", action="store_true", help="list every file, not only the first 20")
    summary.add_argument("--json", action="store_true", help="print one JSON object instead")


def run_summary(args: argparse.Namespace) -> None:
    from ..workflow.summary import MAX_LINES, summarize, summary_lines

    summary = summarize(args.results)
    if args.json:
        emit(summary.as_dict())
        return
    for line in summary_lines(summary, max_lines=len(summary.files) if args.all else MAX_LINES):
        print(line)
