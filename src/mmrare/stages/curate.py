"""Curation as a stage: find the packages (local folders and what ``mmrare ingest`` fetched), skip
those already curated under the same content and settings, and parse, decode and select each one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mmrare.curation.digests import PackageDigests
from mmrare.curation.discover import discover_local, discover_raw_cache
from mmrare.curation.process import STAGE_VERSIONS, PackageInput, process_package, work_key
from mmrare.curation.sources.rawcache import RawCache
from mmrare.stages.base import Done, Pending
from mmrare.warehouse.runs import done_work_keys
from mmrare.warehouse.shards import SHARD_TABLES

if TYPE_CHECKING:
    import duckdb

    from mmrare.stages.resources import BuildResources


@dataclass(frozen=True, slots=True)
class CurateStage:
    """Parse + decode + select; work key: package content sha256 + the curation settings' hash."""

    name: str = "curate"
    tables: tuple[str, ...] = SHARD_TABLES

    def pending(self, con: duckdb.DuckDBPyConnection, resources: BuildResources) -> Pending[PackageInput]:
        cfg = resources.cfg
        ws = cfg.workspace_dir
        curation_hash = cfg.stage_hash("curation")
        digests = PackageDigests(ws / "package_digests.json")
        found = discover_local(
            [cfg.resolve(d) for d in cfg.sources.local_dirs],
            ws / "extracted",
            {**STAGE_VERSIONS, "config_hash": curation_hash},
            digests,
            max_archive_bytes=cfg.sources.max_archive_bytes,
        )
        digests.save()
        found.packages += discover_raw_cache(RawCache(ws / "raw"))
        keys = {p.package_id: work_key(p.content_sha256, curation_hash) for p in found.packages}
        done = done_work_keys(con, keys.values())
        todo = [p for p in found.packages if keys[p.package_id] not in done]
        return Pending(
            records=todo,
            skipped_done=len(found.packages) - len(todo),
            rejects=[r.row() for r in found.rejects],
            reject_lines=[f"ingest: {r.record_id}: {r.reason} ({r.detail})" for r in found.rejects],
        )

    def load(self, con: duckdb.DuckDBPyConnection, keys: Sequence[PackageInput]) -> Sequence[PackageInput]:
        return keys  # a package's record is its path and digest: nothing to read

    def record_id(self, record: PackageInput) -> str:
        return record.package_id

    def run(self, record: PackageInput, shared: object, resources: BuildResources, run_id: str) -> Done:
        cfg = resources.cfg
        result = process_package(record, cfg.selection, cfg.figures, run_id, cfg.stage_hash("curation"))
        lines = [] if result.outcome == "case" else [f"{result.stage}: {record.package_id}: {result.reason}"]
        return Done(record.package_id, result.outcome, result.rows, reject_lines=lines)


CURATE = CurateStage()
