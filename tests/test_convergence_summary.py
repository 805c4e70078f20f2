"""The not-converged summary (`shallowscaling summary`, printed at the end of every run) on synthetic tables."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from shallowscaling.cli import main
from shallowscaling.workflow.summary import MAX_LINES, summarize, summary_lines


def _write(path: Path, converged: list[bool], **columns) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"converged": converged, "excess_risk": 1.0, **columns}).to_parquet(path)


def test_counts_fits_and_se_points_once_file_by_file(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results / "fits/quadratic/convex/a_n1.parquet", [False, False])
    _write(results / "fits/quadratic/convex/a_n2.parquet", [True, True])
    _write(results / "se/quadratic/optimal/a.parquet", [True, False, True])
    _write(results / "scaling/se/quadratic/a.parquet", [True])
    # Derived tables repeat the flags of the fits: not counted again.
    _write(results / "tables/fig3_quadratic.parquet", [False])
    (results / "fits/broken.parquet").write_bytes(b"not parquet")
    summary = summarize(results)
    assert summary.rows == {"fit": 4, "SE point": 4}
    assert summary.not_converged == {"fit": 2, "SE point": 1}
    assert [(f.kind, f.not_converged, f.rows) for f in summary.files] == [("fit", 2, 2), ("SE point", 1, 3)]
    assert summary.unreadable == [str(results / "fits/broken.parquet")]
    lines = summary_lines(summary)
    assert lines[0] == "not converged: 2 of 4 fits (1 file), 1 of 4 SE points (1 file)"
    assert lines[1] == f"  {results}/fits/quadratic/convex/a_n1.parquet: 2 of 2 fits"
    assert lines[-1].startswith("  1 unreadable tables")


def test_caps_the_list_and_says_when_all_converged(tmp_path: Path) -> None:
    results = tmp_path / "results"
    assert summary_lines(summarize(results)) == [f"no fit or SE table under {results}/ yet"]
    for i in range(MAX_LINES + 5):
        _write(results / f"fits/diagonal/lasso/p_n{i:02d}.parquet", [True])
    assert summary_lines(summarize(results)) == [
        f"every fit and SE point under {results}/ converged (25 fits, 0 SE points)"
    ]
    for i in range(MAX_LINES + 5):
        _write(results / f"fits/diagonal/lasso/p_n{i:02d}.parquet", [False])
    lines = summary_lines(summarize(results))
    assert len(lines) == 1 + MAX_LINES + 1
    assert lines[-1] == "  ... and 5 more files (`shallowscaling summary --all` lists them)"


def test_verb_prints_text_or_json(tmp_path: Path, capsys) -> None:
    results = tmp_path / "results"
    _write(results / "fits/diagonal/lasso/p_n1.parquet", [False, True])
    assert main(["summary", str(results)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "not converged: 1 of 2 fits (1 file), 0 of 0 SE points (0 files)"
    assert main(["summary", str(results), "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["not_converged"] == {"fit": 1, "SE point": 0}
    assert payload["files"][0]["path"].endswith("p_n1.parquet")
