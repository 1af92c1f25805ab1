"""What the link stage reads and writes besides its shards: ORDO's concept tables and the cases
already linked under the current ORDO file, linker and settings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb

from mmrare.warehouse.shards import insert_rows


def ordo_loaded(con: duckdb.DuckDBPyConnection, ordo_sha256: str) -> bool:
    """Whether the concept tables already hold this ORDO file (rows are keyed by its sha256)."""
    row = con.execute("SELECT count(*) FROM ordo_concepts WHERE ordo_sha256 = ?", [ordo_sha256]).fetchone()
    return bool(row and row[0])


def load_ordo_rows(
    con: duckdb.DuckDBPyConnection, rows: Mapping[str, Sequence[dict[str, Any]]]
) -> dict[str, int]:
    """Insert one ORDO file's table rows in one transaction; rows added per table."""
    added = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for table, table_rows in rows.items():
            added[table] = insert_rows(con, table, table_rows)
        con.execute("COMMIT")
    except duckdb.Error:
        con.execute("ROLLBACK")
        raise
    return added


def linked_case_ids(
    con: duckdb.DuckDBPyConnection, ordo_sha256: str, linker_version: str, config_hash: str
) -> set[str]:
    """Cases with a diagnosis row under this ORDO file, linker version and link settings."""
    rows = con.execute(
        "SELECT pmcid FROM case_diagnoses WHERE ordo_sha256 = ? AND linker_version = ? AND config_hash = ?",
        [ordo_sha256, linker_version, config_hash],
    ).fetchall()
    return {r[0] for r in rows}
