"""Open the DuckDB warehouse and bring its schema up to date with numbered SQL migrations.

DuckDB allows one writing process at a time. Only the orchestrating process opens the warehouse
for writing; stages that run in parallel never touch it and write Parquet shards instead
(see :mod:`mmrare.warehouse.shards`), which one step loads.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

import duckdb

from mmrare.errors import FatalError

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(number, file name, SQL) of every packaged migration, in order."""
    folder = resources.files("mmrare.warehouse") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """Highest applied migration number (0 for an empty database)."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()
    if not exists or not exists[0]:
        return 0
    row = con.execute("SELECT max(version) FROM schema_version").fetchone()
    return int(row[0] or 0) if row else 0


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; returns their names."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    current = schema_version(con)
    known = migrations()
    if known and current > known[-1][0]:
        raise FatalError(
            f"warehouse schema version {current} is newer than this code ({known[-1][0]}); upgrade mmrare"
        )
    done = {int(r[0]) for r in con.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for number, name, sql in known:
        if number in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_version VALUES (?, ?, ?)", [number, name, datetime.now(UTC)])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise FatalError(f"migration {name} failed: {exc}") from exc
        applied.append(name)
    return applied


# How long a command waits for another mmrare process to let go of the warehouse (the review app
# holds it only while it answers a request, so a wait is normally short).
LOCK_WAIT_S = 30.0
_LOCK_HOLDER = re.compile(r"PID (\d+)")


def connect(
    path: Path,
    read_only: bool = False,
    *,
    wait_s: float = LOCK_WAIT_S,
    on_wait: Callable[[str], None] | None = None,
    migrated: bool = False,
    memory_mb: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse (creating and migrating it when writable).

    DuckDB lets one process write (or several only read) at a time. When another process holds the
    file, this waits up to ``wait_s`` for it, telling ``on_wait`` once (default: one line on
    stderr), and then gives up with one line naming the holder. ``migrated``: the caller already
    brought this file up to date (the review app, which opens it per request), so skip the check.
    ``memory_mb``: DuckDB's own memory limit (it spills to disk past it); by default DuckDB may keep
    up to 80% of the machine's memory as buffers, which grow with the warehouse."""
    if read_only and not path.exists():
        raise FatalError(f"{path}: no warehouse yet; run `mmrare build` first")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait_s
    told = False
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            holder = _LOCK_HOLDER.search(str(exc)) if "lock" in str(exc).lower() else None
            if holder is None:
                raise _unreadable(path, exc) from None
            who = f"another mmrare process (PID {holder.group(1)}) holds it"
            if time.monotonic() >= deadline:
                raise FatalError(f"{path}: {who}; try again when it has finished") from None
            if not told:
                (on_wait or _tell_stderr)(f"waiting for {path}: {who}")
                told = True
            time.sleep(0.2)
        except duckdb.Error as exc:
            raise _unreadable(path, exc) from None
    if memory_mb is not None:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
    if not read_only and not migrated:
        migrate(con)
    return con


def _unreadable(path: Path, exc: duckdb.Error) -> FatalError:
    problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return FatalError(
        f"{path}: cannot open warehouse, damaged or not a DuckDB file? ({problem}); "
        "move it aside and `mmrare build` makes a new one"
    )


def _tell_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every base table, for status output and run records."""
    names = [
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name"
        ).fetchall()
    ]
    counts = {}
    for name in names:
        row = con.execute(f'SELECT count(*) FROM "{name}"').fetchone()
        counts[name] = int(row[0]) if row else 0
    return counts


def rejects_by_reason(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, int]]:
    """(stage, reason, count) of the ``rejects`` table, commonest first, for status output and the report.

    Ingest failures of articles fetched since are left out: they are history, not the state."""
    return con.execute(
        "SELECT stage, reason, count(*) FROM rejects WHERE NOT (stage = 'ingest' AND record_id IN"
        " (SELECT pmcid FROM ingest_manifest WHERE status <> 'failed')) GROUP BY ALL ORDER BY 3 DESC, 1, 2"
    ).fetchall()
