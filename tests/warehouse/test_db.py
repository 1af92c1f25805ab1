from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from mmrare.errors import FatalError
from mmrare.warehouse.db import connect, migrate, migrations, schema_version, table_counts

REQUIRED = {
    "articles",
    "sections",
    "sentences",
    "figures",
    "figure_mentions",
    "cases",
    "rejects",
    "runs",
    "graphics",
    "article_tables",
    "ingest_manifest",
    "source_files",
    "schema_version",
}


def test_fresh_warehouse_has_every_table_and_version(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    assert set(table_counts(con)) >= REQUIRED
    assert schema_version(con) == migrations()[-1][0]


def test_migrate_twice_applies_nothing(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb")
    assert migrate(con) == []
    assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(migrations())


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    con.execute("INSERT INTO schema_version VALUES (999, '999_future.sql', now())")
    con.close()
    with pytest.raises(FatalError, match="newer than this code"):
        connect(path)


def test_read_only_needs_existing_file(tmp_path: Path) -> None:
    with pytest.raises(FatalError, match="run `mmrare build` first"):
        connect(tmp_path / "missing.duckdb", read_only=True)


def test_second_writer_gets_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    con = connect(path)
    try:
        # same process, different config → DuckDB refuses; our message says what to do
        with pytest.raises((FatalError, duckdb.Error)):
            duckdb.connect(str(path), read_only=True)
    finally:
        con.close()


def _hold_in_another_process(path: Path, seconds: float) -> subprocess.Popen[str]:
    """A process that opens ``path`` for writing, says so, and holds it for ``seconds``."""
    code = (
        "import sys, time, duckdb\n"
        f"con = duckdb.connect({str(path)!r})\n"
        "print('held', flush=True)\n"
        f"time.sleep({seconds})\n"
        "con.close()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_warehouse_is_waited_for_with_one_message(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = _hold_in_another_process(path, 1.5)
    told: list[str] = []
    try:
        con = connect(path, read_only=True, wait_s=60, on_wait=told.append)
        con.close()
    finally:
        holder.wait(timeout=60)
    assert len(told) == 1 and f"PID {holder.pid}" in told[0] and str(path) in told[0]


def test_giving_up_on_a_held_warehouse_is_one_line_naming_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    connect(path).close()
    holder = _hold_in_another_process(path, 30)
    try:
        with pytest.raises(FatalError) as caught:
            connect(path, wait_s=0, on_wait=lambda _m: None)
    finally:
        holder.kill()
        holder.wait(timeout=60)
    message = str(caught.value)
    assert "\n" not in message and f"PID {holder.pid}" in message and "try again" in message


def test_a_file_that_is_not_a_warehouse_is_not_called_locked(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(FatalError) as caught:
        connect(path, wait_s=0)
    assert "cannot open warehouse" in str(caught.value) and "PID" not in str(caught.value)


def test_a_build_connection_bounds_duckdb_memory(tmp_path: Path) -> None:
    con = connect(tmp_path / "w.duckdb", memory_mb=256)
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    finally:
        con.close()
    assert limit == "244.1 MiB", limit  # 256 MB as DuckDB says it
