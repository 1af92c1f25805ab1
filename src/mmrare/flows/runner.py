"""The one runner of every per-record stage: what :class:`~mmrare.stages.base.Stage` leaves out.

For a stage it loads the shards an interrupted earlier run left (complete units of work), asks the
stage for its pending records (light keys), cuts them into chunks, and streams them: a chunk's
records are read from the warehouse just before it is submitted as a Prefect task on the flow's task
runner (threads, or Dask workers), and no more than one chunk per worker and one waiting are in
memory at once, so a build's memory does not grow with the corpus. Each chunk writes its rows as
one Parquet shard (DuckDB has one writer: the flow's process); the shards are loaded at the end, and
the runner keeps the stage's counts, reject lines and timing. Resume is decided by the stage's own
work keys, never by Prefect's task cache.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, as_completed

from mmrare.errors import FatalError
from mmrare.flows.chunks import Sealed, chunk_label, chunked
from mmrare.flows.perf import StageClock
from mmrare.flows.progress import stage_progress
from mmrare.flows.runners import fewest_chunks
from mmrare.memo import clear_chunk_memos
from mmrare.stages.base import Done, Rows, Stage, failed, merge_rows
from mmrare.stages.resources import BuildResources
from mmrare.warehouse.shards import arrow_schemas, load_shards, write_shard

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

_SAFE = re.compile(r"[^A-Za-z0-9_.+-]+")


@dataclass(slots=True)
class StageReport:
    """What one stage did: records processed or skipped, outcomes, counts, rows added, reject lines."""

    processed: int = 0
    skipped_done: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    counts: Counter[str] = field(default_factory=Counter)
    rows_added: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)

    def add_rows(self, added: dict[str, int]) -> None:
        for table, n in added.items():
            if n:
                self.rows_added[table] = self.rows_added.get(table, 0) + n

    def add(self, done: Done) -> None:
        self.processed += 1
        self.outcomes[done.outcome] += 1
        self.counts.update(done.counts)
        self.reject_lines += done.reject_lines

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"processed": self.processed, "skipped_done": self.skipped_done}
        out.update(sorted(self.outcomes.items()))
        if self.counts:
            out["items"] = dict(sorted(self.counts.items()))
        return out


def load_stage(
    con: duckdb.DuckDBPyConnection, shard_root: Path, tables: tuple[str, ...], clock: StageClock
) -> dict[str, int]:
    """Load every complete shard under ``shard_root``, timed as the build's ``load`` section."""
    with clock.stage("load") as load:
        added = load_shards(con, shard_root, tables=tables)
        load.items += sum(added.values())
    return added


@task(name="stage-chunk", cache_policy=NO_CACHE, task_run_name="{stage_name}-{label}")
def run_chunk(
    stage_name: str,
    stage: Sealed[Stage[Any]],
    records: Sealed[list[Any]],
    shared: Sealed[Any],
    resources: Sealed[BuildResources],
    run_id: str,
    shard_root: Path,
    schemas: Sealed[dict[str, pa.Schema]],
    label: str,
) -> list[Done]:
    """Run one chunk of a stage and write its rows as one shard (never the warehouse): the chunk is
    then stored completely or not at all. Returns each record's outcome, without its rows."""
    rows: Rows = {}
    out = []
    try:
        for record in records.value:
            try:
                done = stage.value.run(record, shared.value, resources.value, run_id)
            except FatalError:
                raise  # the run cannot go on (a missing ORDO file, the encoder gone)
            except Exception as exc:  # this record's problem only
                done = failed(stage_name, stage.value.record_id(record), exc, run_id)
            merge_rows(rows, done.rows)
            done.rows = {}
            out.append(done)
    finally:
        clear_chunk_memos()  # memory follows the chunk, not the corpus
    digest = hashlib.sha256("\0".join([run_id, *(d.record_id for d in out)]).encode()).hexdigest()[:16]
    write_shard(shard_root, _SAFE.sub("_", f"{label}-{digest}"), rows, schemas.value)
    return out


def run_stage(
    stage: Stage[Any],
    resources: BuildResources,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    show_progress: bool,
    clock: StageClock,
) -> StageReport:
    """Run ``stage`` over its pending records inside the current flow; see the module docstring."""
    report = StageReport()
    shard_root = resources.cfg.workspace_dir / "shards" / stage.name
    report.add_rows(load_stage(con, shard_root, stage.tables, clock))  # an interrupted run's work
    with clock.stage(stage.name) as figures:
        pending = stage.pending(con, resources)
        report.skipped_done = pending.skipped_done
        schemas = arrow_schemas(con, stage.tables)
        if pending.rejects:
            rejects = [{**r, "run_id": run_id} for r in pending.rejects]
            write_shard(shard_root, f"pending-rejects-{run_id}", {"rejects": rejects}, schemas)
            report.reject_lines += pending.reject_lines
        if pending.records:
            parts = chunked(
                pending.records, min_chunks=fewest_chunks(), max_size=resources.cfg.build.chunk_cases
            )
            window = fewest_chunks() + 1  # every worker busy, and the next chunk read and waiting
            running: list[PrefectFuture[list[Done]]] = []
            with stage_progress(stage.name, len(pending.records), show_progress) as advance:

                def finish_one() -> None:
                    future = next(as_completed(running))
                    running.remove(future)
                    for done in future.result():
                        report.add(done)
                        advance(f"{done.record_id}: {done.outcome}")

                for part in parts:
                    records = stage.load(con, part)
                    running.append(
                        run_chunk.submit(
                            stage_name=stage.name,
                            stage=Sealed(stage),
                            records=Sealed(records),
                            shared=Sealed(pending.shared),
                            resources=Sealed(resources),
                            run_id=run_id,
                            shard_root=shard_root,
                            schemas=Sealed(schemas),
                            label=chunk_label([stage.record_id(r) for r in records] or ["empty"]),
                        )
                    )
                    del records
                    while len(running) >= window:
                        finish_one()
                while running:
                    finish_one()
        figures.items += report.processed
    report.add_rows(load_stage(con, shard_root, stage.tables, clock))
    return report
