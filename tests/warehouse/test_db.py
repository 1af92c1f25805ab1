from __future__ import annotations

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
