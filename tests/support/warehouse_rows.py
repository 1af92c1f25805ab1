"""Content rows of a built warehouse, for tests that compare two builds of the same cases."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mmrare.config import load_config


def warehouse_rows(config: Path, tables: dict[str, str]) -> dict[str, list[tuple]]:
    """``{table: sorted rows of the given columns}`` from the warehouse ``config`` builds into."""
    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        return {
            table: sorted(con.execute(f"SELECT {cols} FROM {table}").fetchall())
            for table, cols in tables.items()
        }
    finally:
        con.close()
