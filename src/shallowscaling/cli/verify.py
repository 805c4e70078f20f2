"""Verb ``verify``: check a results folder against the study, and repair it for a rebuild."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from ._common import emit


def add_verify_verb(verbs) -> None:
    verify = verbs.add_parser(
        "verify",
        help="check every table and figure of a results folder (opens, columns, checksum); --repair removes the "
        "damaged ones and everything downstream, for `snakemake` to rebuild",
        description="Check the results folder of the study (config.yaml plus the --configfile overlays): every file "
        "the study expects is there, every table opens, has the columns its readers need and matches its content "
        "checksum, every figure is complete; any other table under the folder is checked too, and temporary files "
        "left by a killed job are reported. One line per problem, then a summary; exit status 1 when something is "
        "wrong, 0 when the folder is clean. --repair removes each damaged or missing file's job outputs and the "
        "outputs of every job downstream of it (figures included), and the temporary files: the same `snakemake` "
        "command then rebuilds exactly those, with the bytes of an undamaged run (exit status 0 once removed). "
        "Run it while no Snakemake runs in the folder: files being written would look missing.",
    )
    verify.add_argument("results", nargs="?", default="results", metavar="RESULTS_DIR",
                        help="the results folder (default: results)")  # fmt: skip
    verify.add_argument(
        "--configfile", nargs="+", default=[], metavar="OVERLAY",
        help="overlays of config.yaml, as given to snakemake (e.g. configs/paper.yaml)",
    )  # fmt: skip
    verify.add_argument(
        "--repair", action="store_true",
        help="remove the damaged files and their downstream outputs, for snakemake to rebuild",
    )  # fmt: skip
    verify.add_argument("--json", action="store_true", help="print one JSON object on stdout")


def run_verify(args: argparse.Namespace) -> int:
    from ..workflow.plan import study_config
    from ..workflow.verify import repair_results, verify_results

    results = Path(args.results)
    if results.exists() and not results.is_dir():
        raise InputError(f"`RESULTS_DIR` {args.results!r}: is a file; allowed: the study's results folder")
    config = study_config(args.configfile)
    report = verify_results(results, config)
    if args.repair and report.problems:
        repair_results(results, config, report)
    if args.json:
        emit(
            {
                "results": str(results),
                "configfiles": ["config.yaml", *args.configfile],
                "checked": report.checked,
                "ok": report.ok,
                "problems": [
                    {"path": p.path, "kind": p.kind, "reason": p.reason, "expected": p.expected}
                    for p in report.problems
                ],
                "removed": report.removed,
            }
        )
    else:
        _print_report(report, args)
    return 0 if report.ok or args.repair else 1


def _print_report(report, args: argparse.Namespace) -> None:
    for problem in report.problems:
        print(f"{problem.kind}: {problem.path}: {problem.reason}")
    counts = {}
    for problem in report.problems:
        counts[problem.kind] = counts.get(problem.kind, 0) + 1
    found = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    if report.ok:
        print(f"{args.results}: {report.checked} files checked, all good")
        return
    print(f"{args.results}: {report.checked} files checked; {found}")
    overlays = "".join(f" {path}" for path in args.configfile)
    configfile = f" --configfile{overlays}" if overlays else ""
    if args.repair:
        print(f"removed {len(report.removed)} file(s) (the damaged ones and everything downstream); rebuild them with:")
        print(f"  snakemake --cores N{configfile}")
    else:
        repair = f"shallowscaling verify {args.results}{configfile} --repair"
        print(f"to rebuild: {repair}, then snakemake --cores N{configfile}")
