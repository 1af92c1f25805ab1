"""Parquet shards: how parallel stages hand rows to the single warehouse writer.

DuckDB allows one writing process. Per-record work (parse, decode, select) can run on many threads
or Dask workers, so it never opens the warehouse: each unit of work writes one shard folder holding
one Parquet file per table, renamed into place only when complete (the rename is the done-marker).
:func:`load_shards` is the one writer: it inserts every complete shard in a single transaction with
``INSERT OR IGNORE`` on content-derived primary keys, so loading the same shard twice adds nothing.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from mmrare.errors import FatalError

# Tables that stages fill through shards (runs and ingest_manifest are written by the orchestrator).
SHARD_TABLES: tuple[str, ...] = (
    "articles",
    "sections",
    "sentences",
    "figures",
    "graphics",
    "figure_mentions",
    "article_tables",
    "cases",
    "rejects",
    "source_files",
)

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "JSON": pa.string(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "FLOAT": pa.float32(),
    "BOOLEAN": pa.bool_(),
    "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
}


def arrow_schemas(
    con: duckdb.DuckDBPyConnection, tables: Sequence[str] = SHARD_TABLES
) -> dict[str, pa.Schema]:
    """Arrow schemas of warehouse tables, read from the migrated warehouse (one source of truth)."""
    schemas: dict[str, pa.Schema] = {}
    for table in tables:
        cols = con.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = ? ORDER BY ordinal_position",
            [table],
        ).fetchall()
        if not cols:
            raise FatalError(f"warehouse has no table {table!r}; is the schema migrated?")
        schemas[table] = pa.schema([(name, _ARROW_TYPES[dtype]) for name, dtype in cols])
    return schemas


def write_shard(
    shard_root: Path,
    name: str,
    rows: Mapping[str, Sequence[dict[str, Any]]],
    schemas: Mapping[str, pa.Schema],
) -> Path:
    """Write one unit of work's rows as ``shard_root/name/<table>.parquet``, atomically.

    Rows are validated against the warehouse schema here, in the worker, so a bad row fails its own
    record instead of the shared load step.
    """
    tables = {table: rows_table(table, found, schemas[table]) for table, found in rows.items() if found}
    return write_tables(shard_root, name, tables)


def rows_table(table: str, rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows of warehouse table ``table`` as an Arrow table of its schema; a key the table does not
    have is an error (a missing key is a null)."""
    if rows:
        unknown = set(rows[0]) - set(schema.names)
        if unknown:
            raise ValueError(f"{table}: columns not in the warehouse: {sorted(unknown)}")
    return _table(rows, schema)


def write_tables(shard_root: Path, name: str, tables: Mapping[str, pa.Table]) -> Path:
    """Write Arrow tables (already in their warehouse schemas, see :func:`rows_table`) as the shard
    ``shard_root/name/<table>.parquet``: written into a temporary folder, then renamed into place."""
    final = shard_root / name
    tmp = shard_root / f".{name}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(parents=True)
    try:
        for table, data in tables.items():
            if data.num_rows:
                pq.write_table(data, tmp / f"{table}.parquet")
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _table(rows: Sequence[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """``pa.Table.from_pylist(rows, schema=schema)`` (a missing key is a null), column by column:
    cheaper than a dict walk per row for the largest tables (leakage scores)."""
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def complete_shards(shard_root: Path) -> list[Path]:
    """Shard folders that finished writing (temporary folders start with a dot)."""
    if not shard_root.exists():
        return []
    return sorted(p for p in shard_root.iterdir() if p.is_dir() and not p.name.startswith("."))


def load_shards(
    con: duckdb.DuckDBPyConnection,
    shard_root: Path,
    remove: bool = True,
    tables: Sequence[str] = SHARD_TABLES,
) -> dict[str, int]:
    """Insert every complete shard under ``shard_root`` in one transaction; rows added per table.

    Stage output that workers wrote to disk enters the warehouse here (what the flow's own process
    holds goes through :class:`TableLoad` directly; both insert with :func:`_insert_new`). Primary
    keys are content-derived, so ``INSERT OR IGNORE`` makes the load idempotent; on failure nothing
    is inserted and the shards stay on disk for the next attempt.
    """
    shards = complete_shards(shard_root)
    if not shards:
        return {}
    with TableLoad(con) as load:
        for table in tables:
            files = [str(s / f"{table}.parquet") for s in shards if (s / f"{table}.parquet").exists()]
            if not files:
                continue
            if table == "graphics":
                _upgrade_unchecked_graphics(con, files)
            elif table == "articles":
                _refresh_reparsed_articles(con, files)
            load.add_parquet(table, files)
    if remove:
        for shard in shards:
            shutil.rmtree(shard, ignore_errors=True)
    return load.added


class TableLoad:
    """Arrow tables (in their warehouse schemas) into the warehouse in one transaction, added as
    they become ready: ``with TableLoad(con) as load: load.add(...); ...; load.add(...)``.

    :func:`load_shards` reads what workers wrote to disk; this loads what the flow's own process
    holds, without a Parquet round trip. The leakage stage adds its decisions while its dataset
    checks still run, and their flags last; the commit (:meth:`commit`, or leaving the block) comes
    only when everything is in, and an exception rolls everything back, so a failure stores nothing
    of the batch (the next run decides those items again). ``INSERT OR IGNORE`` on content-derived
    keys, as in :func:`load_shards`; :attr:`added` counts the rows that were new.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self._open = False
        self.added: dict[str, int] = {}

    def __enter__(self) -> TableLoad:
        self._con.execute("BEGIN TRANSACTION")
        self._open = True
        return self

    def add(self, tables: Mapping[str, pa.Table]) -> None:
        """Insert each table's rows (tables without rows are skipped)."""
        for table, data in tables.items():
            if data.num_rows:
                self._count_added(table, _insert_arrow(self._transaction(), table, data))

    def add_parquet(self, table: str, files: Sequence[str]) -> None:
        """Insert the rows of Parquet ``files`` (shards written in the warehouse schema)."""
        added = _insert_new(self._transaction(), table, "SELECT * FROM read_parquet(?)", [files])
        self._count_added(table, added)

    def _transaction(self) -> duckdb.DuckDBPyConnection:
        if not self._open:
            raise RuntimeError("TableLoad.add outside its transaction")
        return self._con

    def _count_added(self, table: str, n: int) -> None:
        self.added[table] = self.added.get(table, 0) + n

    def commit(self) -> None:
        """Make everything added so far permanent (once; leaving the block does it otherwise)."""
        if not self._open:
            return
        self._open = False
        try:
            self._con.execute("COMMIT")
        except duckdb.Error:  # a failed commit leaves no transaction open: nothing to roll back
            self.added = {}
            raise

    def __exit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        if exc_type is None:
            self.commit()
        elif self._open:
            self._open = False
            self.added = {}
            self._con.execute("ROLLBACK")


def _upgrade_unchecked_graphics(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """A graphic first stored undecoded (its article was screened out under an earlier config) gets
    the decoder's result when a later run decodes it. ``INSERT OR IGNORE`` alone would keep the
    ``unchecked`` row forever and every later draft would see no usable image. Decoded rows are never
    downgraded: the update only touches rows whose status is still ``unchecked``."""
    con.execute(
        "UPDATE graphics g SET path = n.path, sha256 = n.sha256, phash = n.phash, format = n.format,"
        " width = n.width, height = n.height, mode = n.mode, status = n.status"
        " FROM (SELECT * FROM read_parquet(?) WHERE status <> 'unchecked') n"
        " WHERE g.graphic_id = n.graphic_id AND g.status = 'unchecked'",
        [files],
    )


def _refresh_reparsed_articles(con: duckdb.DuckDBPyConnection, files: list[str]) -> None:
    """An article parsed again from the same XML by another parser version gets that parse's front
    matter (for jats-parser/2, its publication and history dates). ``INSERT OR IGNORE`` on the PMCID
    alone would keep the first parse's row forever, so a parser bump that redoes curation would
    never reach the stored articles. Another XML (a new article version) is left as it is."""
    columns = [f.name for f in arrow_schemas(con, ["articles"])["articles"] if f.name != "pmcid"]
    assignments = ", ".join(f'"{c}" = n."{c}"' for c in columns)
    con.execute(
        f"UPDATE articles a SET {assignments}"
        " FROM (SELECT DISTINCT ON (pmcid) * FROM read_parquet(?) ORDER BY pmcid, parser_version DESC) n"
        " WHERE a.pmcid = n.pmcid AND a.xml_sha256 = n.xml_sha256 AND a.parser_version <> n.parser_version",
        [files],
    )


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Sequence[dict[str, Any]]) -> int:
    """Bulk ``INSERT OR IGNORE`` from the single writer (no shard needed); rows added.

    For reference data the orchestrator itself produces (e.g. ORDO concept tables).
    """
    if not rows:
        return 0
    return _insert_arrow(con, table, _table(rows, arrow_schemas(con, [table])[table]))


def _insert_arrow(con: duckdb.DuckDBPyConnection, table: str, data: pa.Table) -> int:
    """``INSERT OR IGNORE`` an Arrow table (in ``table``'s schema); rows that were new."""
    con.register("mmrare_rows_in", data)
    try:
        return _insert_new(con, table, "SELECT * FROM mmrare_rows_in")
    finally:
        con.unregister("mmrare_rows_in")


def _insert_new(
    con: duckdb.DuckDBPyConnection, table: str, select: str, params: list[Any] | None = None
) -> int:
    """``INSERT OR IGNORE`` what ``select`` gives into ``table`` by column name (content-derived keys
    make it idempotent); rows that were new."""
    before = _count(con, table)
    con.execute(f'INSERT OR IGNORE INTO "{table}" BY NAME {select}', params or [])
    return _count(con, table) - before


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    rows = con.execute(f'SELECT count(*) FROM "{table}"').fetchall()  # drained: register() needs that
    return int(rows[0][0]) if rows else 0
