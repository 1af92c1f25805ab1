"""Content rows of a built warehouse, for tests that compare two builds of the same cases, and the
last run's counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from mmrare.config import load_config

# What two builds of the same cases must agree on, table by table (sorted rows of these columns).
CONTENT_TABLES = {
    "cases": "pmcid",
    "case_diagnoses": "pmcid, code",
    "qa_items": "item_id, track, answer, context",
    "leakage_scores": "item_id, detector, sentence_id, round(score, 5)",
    "leakage_decisions": "item_id, detector, sentence_id, start, action, reason",
    "leakage_contexts": "item_id, masked_context, status, flags",
}


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


def last_run_counts(config: Path) -> dict[str, Any]:
    """``runs.counts`` of the newest run in the warehouse ``config`` builds into."""
    con = duckdb.connect(str(load_config(config).warehouse_path), read_only=True)
    try:
        (counts,) = con.execute("SELECT counts FROM runs ORDER BY started_at DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return json.loads(counts)
