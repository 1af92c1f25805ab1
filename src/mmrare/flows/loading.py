"""The one way a stage's Parquet shards enter the warehouse, and the cases the later stages read.

Every stage loads twice: shards an interrupted earlier run left (complete units of work) before it
starts, and its own shards when it ends. Both loads go through :func:`load_stage`, so each is timed
under the build's ``load`` section and counted the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb

from mmrare.config import Config
from mmrare.embedding.cpushare import python_work
from mmrare.flows.perf import section
from mmrare.ontology.index import OrdoIndex
from mmrare.warehouse.reads import StoredDiagnosis, current_diagnoses
from mmrare.warehouse.shards import SHARD_TABLES, load_shards


def load_stage(
    con: duckdb.DuckDBPyConnection, shard_root: Path, tables: Sequence[str] = SHARD_TABLES
) -> dict[str, int]:
    """Load every complete shard under ``shard_root`` (rows added per table), timed as ``load``.

    Marked as Python work: between stages the encoder still embeds (the label index, prefetched
    leakage texts), and DuckDB's insert beside two torch threads would leave both slower than one
    torch thread beside it (``bench/cpushare.py``)."""
    with section("load") as load, python_work():
        added = load_shards(con, shard_root, tables=tables)
        load.items += sum(added.values())
    return added


def add_counts(into: dict[str, int], added: Mapping[str, int]) -> None:
    """Add per-table row counts into ``into``, leaving out tables that gained nothing."""
    for table, n in added.items():
        if n:
            into[table] = into.get(table, 0) + n


def stage_diagnoses(
    con: duckdb.DuckDBPyConnection, cfg: Config, index: OrdoIndex
) -> dict[str, StoredDiagnosis]:
    """The diagnosed cases the draft and leakage stages work on: selected under the current curation
    settings and linked under the current link settings and ORDO file."""
    return current_diagnoses(con, cfg.stage_hash("curation"), cfg.stage_hash("link"), index.release.sha256)
