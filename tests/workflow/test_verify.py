"""`shallowscaling verify` without running the study: what it reports in a folder made by hand, and
what `--repair` removes (the damaged file's job and everything downstream of it)."""

import json

import pandas as pd
import pytest
from conftest import TINY_CONFIG

from shallowscaling.cli import main
from shallowscaling.io.parquet import write_table
from shallowscaling.workflow.plan import study_config
from shallowscaling.workflow.verify import downstream_jobs, study_graph, verify_results

TEACHER = "results/teachers/diagonal/d20_gamma1.parquet"


@pytest.fixture(scope="module")
def config():
    return study_config([TINY_CONFIG])


def test_an_empty_folder_misses_every_file(tmp_path, config, capsys):
    report = verify_results(tmp_path / "results", config)
    writer, _ = study_graph(config)
    assert {p.path for p in report.problems} == set(writer)
    assert {p.kind for p in report.problems} == {"missing"}
    assert main(["verify", str(tmp_path / "results"), "--configfile", str(TINY_CONFIG)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("missing: results/") and f"{len(writer)} missing" in out[-2]


def test_a_foreign_table_is_a_schema_problem_and_repair_removes_its_downstream(tmp_path, config, capsys):
    results = tmp_path / "results"
    writer, readers = study_graph(config)
    downstream = downstream_jobs([writer[TEACHER]], readers)
    made = [path for path, job in writer.items() if job in downstream]
    for path in made:  # every output of the teacher's job and of the jobs downstream of it, as placeholders
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(b"placeholder")
    write_table(pd.DataFrame({"replicate": [0], "eigenvalue": [1.0]}), tmp_path / TEACHER)  # a quadratic teacher
    other = tmp_path / "results/teachers/diagonal/d30_gamma1.parquet"
    write_table(pd.DataFrame({"replicate": [0], "index": [1], "theta_star": [0.1], "variance": [1.0]}), other)

    report = verify_results(results, config)
    problems = {p.path: p for p in report.problems}
    assert problems[TEACHER].kind == "schema" and "theta_star" in problems[TEACHER].reason
    assert "results/teachers/diagonal/d30_gamma1.parquet" not in problems

    assert main(["verify", str(results), "--configfile", str(TINY_CONFIG), "--repair", "--json"]) == 0
    removed = set(json.loads(capsys.readouterr().out)["removed"])
    assert set(made) <= removed and TEACHER in removed
    assert other.exists() and not (tmp_path / TEACHER).exists()
    assert not any((tmp_path / path).exists() for path in made)
