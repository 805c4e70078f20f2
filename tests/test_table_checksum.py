"""Tables carry a content checksum: byte-deterministic, checked on read, a damaged table is one line;
orphaned temporary files of killed writers are removed; stale Snakemake locks are cleared."""

import hashlib
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from shallowscaling.cli import main
from shallowscaling.io.parquet import (
    CHECKSUM_KEY,
    CorruptTableError,
    atomic_path,
    check_table,
    orphaned_temp_files,
    read_table,
    table_checksum,
    write_table,
)
from shallowscaling.workflow.locks import RUN_LOCK, SNAKEMAKE_LOCKS, hold_run_lock


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "replicate": [0, 0, 1],
            "value": [1.5, np.nan, -2.0],
            "status": ["converged", None, "max_iter"],
            "outliers": [[1.0, 2.0], [], [3.0]],
            "converged": [True, False, True],
        }
    )


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_checksum_is_byte_deterministic_and_checked(tmp_path):
    first, second = tmp_path / "a.parquet", tmp_path / "sub" / "b.parquet"
    write_table(_frame(), first, {"rule": "fit", "seed": 1})
    write_table(_frame(), second, {"rule": "fit", "seed": 1})
    assert _digest(first) == _digest(second)
    table, has_checksum = check_table(first)
    assert has_checksum
    assert table.schema.metadata[CHECKSUM_KEY].decode() == table_checksum(table)
    pd.testing.assert_frame_equal(read_table(first), _frame())
    # The checksum covers the content and the provenance: another seed, another checksum.
    write_table(_frame(), second, {"rule": "fit", "seed": 2})
    assert check_table(second)[0].schema.metadata[CHECKSUM_KEY] != table.schema.metadata[CHECKSUM_KEY]


def test_a_table_changed_under_its_checksum_is_refused(tmp_path):
    path = tmp_path / "t.parquet"
    write_table(_frame(), path)
    table = pq.read_table(path)
    changed = pa.Table.from_pandas(_frame().assign(value=[1.5, np.nan, -3.0]), preserve_index=False)
    pq.write_table(changed.replace_schema_metadata(table.schema.metadata), path)  # the old checksum
    with pytest.raises(CorruptTableError, match="does not match its checksum") as error:
        read_table(path)
    assert str(path) in str(error.value) and "shallowscaling verify --repair" in str(error.value)


def test_a_table_without_checksum_is_read(tmp_path):
    path = tmp_path / "plain.parquet"
    pq.write_table(pa.Table.from_pandas(_frame(), preserve_index=False), path)
    assert not check_table(path)[1]
    pd.testing.assert_frame_equal(read_table(path), _frame())


@pytest.mark.parametrize("cut", [0, 0.5, 0.9])
def test_a_truncated_input_fails_the_job_in_one_line(tmp_path, capsys, cut):
    fits = tmp_path / "fits.parquet"
    write_table(_frame(), fits)
    data = fits.read_bytes()
    fits.write_bytes(data[: int(len(data) * cut)])
    with pytest.raises(SystemExit) as stop:
        main(["aggregate", "diagonal", "--fits", str(fits), "--output", str(tmp_path / "out.parquet")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"`--fits` {fits}: cannot be read as a Parquet table" in err
    assert "shallowscaling verify --repair" in err
    assert not (tmp_path / "out.parquet").exists()


def test_the_next_writer_removes_orphaned_temp_files_only(tmp_path):
    target = tmp_path / "t.parquet"
    orphan = tmp_path / ".t.parquet.ab12cd_9.parquet"  # a writer killed mid-write
    other = tmp_path / ".u.parquet.ab12cd_9.parquet"  # another target's
    orphan.write_bytes(b"PAR1")
    other.write_bytes(b"PAR1")
    assert orphaned_temp_files(tmp_path) == [orphan, other]
    with atomic_path(target) as held:
        held.write_bytes(b"x")
        # A writer at work holds its temporary file: neither listed nor removed.
        assert held not in orphaned_temp_files(tmp_path)
        with atomic_path(target) as second:
            second.write_bytes(b"y")
        assert held.exists()
    assert not orphan.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".u.parquet.ab12cd_9.parquet", "t.parquet"]


_HOLD = textwrap.dedent(
    """
    import sys, time
    from shallowscaling.workflow.locks import hold_run_lock
    hold_run_lock(sys.argv[1])
    print("held", flush=True)
    time.sleep(60)
    """
)


def test_stale_snakemake_locks_are_removed_only_when_no_run_is_alive(tmp_path):
    locks = tmp_path / SNAKEMAKE_LOCKS
    alive = subprocess.Popen([sys.executable, "-c", _HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert alive.stdout.readline().strip() == "held"
        locks.mkdir(parents=True)
        (locks / "0.input.lock").write_text("results/x\n")  # the live run's own lock
        # Not this module's global state: a fresh process, as a second Snakemake would be.
        probe = "import sys; from shallowscaling.workflow.locks import hold_run_lock as h; print(len(h(sys.argv[1])))"
        out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "0" and (locks / "0.input.lock").exists()
    finally:
        alive.kill()
        alive.wait()
        alive.stdout.close()
    # The run died (SIGKILL): its locks are stale.
    assert hold_run_lock(tmp_path) == [locks / "0.input.lock"]
    assert not any(locks.iterdir()) and (tmp_path / RUN_LOCK).exists()
