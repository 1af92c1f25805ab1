"""Run records and the ledgers the orchestrator writes directly (it is the single writer)."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import duckdb
import psutil


def new_run_id() -> str:
    """Sortable, unique run id: UTC timestamp plus random suffix."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


INTERRUPTED = "interrupted"


def start_run(con: duckdb.DuckDBPyConnection, command: str, config_hash: str, code_version: str) -> str:
    """Record a new run as ``running``; earlier runs still marked ``running`` become ``interrupted``.

    ``con`` is the warehouse's one writer: DuckDB lets one process open the file for writing, and
    a process runs one command at a time (the build service, one build at a time). Every command
    marks its run ``completed`` or ``failed`` on the way out, even on Ctrl-C, so a run still
    ``running`` here is one whose process was killed or whose machine stopped. Left as it was, a
    reader of ``runs`` would take it for a build in progress.
    """
    now = datetime.now(UTC)
    con.execute(
        "UPDATE runs SET status = ?, finished_at = ? WHERE status = 'running'", [INTERRUPTED, now]
    )
    run_id = new_run_id()
    con.execute(
        "INSERT INTO runs (run_id, command, config_hash, code_version, started_at, status, counts)"
        " VALUES (?, ?, ?, ?, ?, 'running', ?)",
        [run_id, command, config_hash, code_version, now, json.dumps({"process": this_process()})],
    )
    return run_id


def this_process() -> dict[str, Any]:
    """Who runs the command: pid and start time, so a reader can tell a live run from a dead one
    (a pid alone may have been reused)."""
    return {"pid": os.getpid(), "started": psutil.Process().create_time()}


def is_alive(process: dict[str, Any] | None) -> bool:
    """Does the process a ``running`` run recorded still exist?"""
    if not process:
        return False
    try:
        return bool(psutil.Process(int(process["pid"])).create_time() == process["started"])
    except (psutil.Error, KeyError, TypeError, ValueError):
        return False


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, counts: dict[str, Any]) -> None:
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, counts = ? WHERE run_id = ?",
        [datetime.now(UTC), status, json.dumps(counts, sort_keys=True), run_id],
    )


def last_run(con: duckdb.DuckDBPyConnection) -> dict[str, Any] | None:
    cur = con.execute("SELECT * FROM runs ORDER BY started_at DESC LIMIT 1")
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description]
    run = dict(zip(names, row, strict=True))
    if run["status"] == "running" and not is_alive(json.loads(run["counts"] or "{}").get("process")):
        run["status"] = INTERRUPTED  # killed: the next command records it so, a reader sees it now
    return run


def done_work_keys(con: duckdb.DuckDBPyConnection, keys: Iterable[str]) -> set[str]:
    """Which of these work keys the warehouse already holds (their work need not be redone)."""
    wanted = list(keys)
    if not wanted:
        return set()
    rows = con.execute(
        "SELECT work_key FROM source_files WHERE list_contains(?, work_key)", [wanted]
    ).fetchall()
    return {r[0] for r in rows}


def upsert_ingest_manifest(con: duckdb.DuckDBPyConnection, rows: Iterable[dict[str, Any]]) -> int:
    """One row per PMCID + version; a re-run updates status and adds its attempts, never duplicates.
    A success supersedes the article's earlier failures, so the table holds each article's state."""
    n = 0
    for r in rows:
        con.execute(
            "INSERT INTO ingest_manifest (pmcid, version, source, checksum, status, attempts, local_dir,"
            " error, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (pmcid, version) DO UPDATE SET source = excluded.source,"
            " checksum = coalesce(excluded.checksum, ingest_manifest.checksum), status = excluded.status,"
            " attempts = ingest_manifest.attempts + excluded.attempts, local_dir = excluded.local_dir,"
            " error = excluded.error, updated_at = excluded.updated_at",
            [
                r["pmcid"],
                r["version"],
                r["source"],
                r.get("checksum"),
                r["status"],
                r["attempts"],
                r.get("local_dir"),
                r.get("error"),
                datetime.now(UTC),
            ],
        )
        if r["status"] != "failed":  # the article is here now: its failures (version unknown then)
            con.execute(  # are history, kept in rejects, not its state
                "DELETE FROM ingest_manifest WHERE pmcid = ? AND version <> ? AND status = 'failed'",
                [r["pmcid"], r["version"]],
            )
        n += 1
    return n

