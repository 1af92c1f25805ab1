"""``mmrare build``: discover -> curate (parse/decode/select) -> link to ORDO -> draft items ->
leakage control; each stage writes Parquet shards that the single warehouse writer loads.

A thin Prefect layer: every step is a plain function from a stage package. Resume is keyed on
package content + stage versions + config hash (``source_files.work_key``), not on Prefect's task
cache, so a second build with nothing new submits no curation task and adds no rows.

Per-record stages run a chunk of records per task (:mod:`mmrare.flows.chunks`) on threads (the
default) or on a Dask cluster (:mod:`mmrare.flows.runners`); every stage is timed
(:mod:`mmrare.flows.perf`) and the figures go into ``stages[<stage>]["perf"]`` of the summary.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed

from mmrare.config import Config, FiguresConfig, SelectionConfig, load_config
from mmrare.curation.digests import PackageDigests
from mmrare.curation.discover import discover_local, discover_raw_cache
from mmrare.curation.process import STAGE_VERSIONS, PackageInput, process_package, work_key
from mmrare.curation.sources.rawcache import RawCache
from mmrare.embedding.cpushare import (
    python_work,
    python_work_since,
    python_work_totals,
    short_switch_interval,
)
from mmrare.flows.chunks import Sealed, chunk_label, chunked
from mmrare.flows.draft import run_draft_stage
from mmrare.flows.heap import build_heap, freeze_long_lived
from mmrare.flows.leakage import run_leakage_stage
from mmrare.flows.link import run_link_stage
from mmrare.flows.loading import add_counts, load_stage
from mmrare.flows.perf import StageClock, encoder_timeline, measuring, section
from mmrare.flows.prefetch import EmbeddingPrefetch
from mmrare.flows.progress import stage_progress
from mmrare.flows.resources import build_resources
from mmrare.flows.runners import Executor, fewest_chunks, task_runner, tasks_run_here
from mmrare.versions import code_version
from mmrare.warehouse.db import connect, table_counts
from mmrare.warehouse.runs import done_work_keys, finish_run, start_run
from mmrare.warehouse.shards import arrow_schemas, write_shard

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(slots=True)
class BuildSummary:
    """What a build did; printed by the CLI and stored in ``runs.counts``."""

    run_id: str
    discovered: int = 0
    skipped_done: int = 0
    processed: int = 0
    cases: int = 0
    rejected: int = 0
    rows_added: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    texts_encoded: int | None = 0  # by this process's encoder; None when tasks ran on Dask workers
    encoder: dict[str, Any] | None = None  # when that encoder worked (perf.encoder_timeline)

    def counts(self) -> dict[str, Any]:
        return {
            "discovered": self.discovered,
            "skipped_done": self.skipped_done,
            "processed": self.processed,
            "cases": self.cases,
            "rejected": self.rejected,
            "rows_added": self.rows_added,
            "texts_encoded": self.texts_encoded,
            "encoder": self.encoder,
            "stages": self.stages,
        }

    def add_rows(self, added: dict[str, int]) -> None:
        add_counts(self.rows_added, added)


# Prefect's input-hash cache is off: resume is decided from the warehouse ledger, which survives
# changes of worker count and executor (datatrove's rank-keyed resume breaks there).
@task(name="curate-packages", cache_policy=NO_CACHE, task_run_name="curate-{label}")
def curate_packages(
    pkgs: Sealed[list[PackageInput]],
    selection: Sealed[SelectionConfig],
    figures: Sealed[FiguresConfig],
    run_id: str,
    config_hash: str,
    shard_root: Path,
    schemas: Sealed[dict[str, pa.Schema]],
    label: str,
) -> list[tuple[str, str, str, str]]:
    """Parse + decode + select a chunk of packages and write their rows as one shard (never the
    warehouse); per package (id, outcome, stage, reason)."""
    rows: dict[str, list[dict[str, Any]]] = {}
    out = []
    keys = []
    with python_work():  # the encoder (label index) leaves this core to curation meanwhile
        for pkg in pkgs.value:
            # config_hash is the curation stage hash
            result = process_package(pkg, selection.value, figures.value, run_id, config_hash)
            for table, table_rows in result.rows.items():
                rows.setdefault(table, []).extend(table_rows)
            keys.append(work_key(pkg.content_sha256, config_hash))
            out.append((pkg.package_id, result.outcome, result.stage, result.reason))
    digest = hashlib.sha256("".join(keys).encode()).hexdigest()[:12]
    write_shard(shard_root, _SAFE.sub("_", f"{label}-{digest}"), rows, schemas.value)
    return out


@flow(name="mmrare-build", log_prints=False)
def build_flow(config_file: str | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Build (or top up) the warehouse from the configured local sources."""
    cfg = load_config(Path(config_file) if config_file else None)
    return run_build(cfg, show_progress=show_progress)


def run_build_flow(
    config_file: str | None,
    workers: int,
    show_progress: bool = True,
    executor: Executor = "threads",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Run the build flow: per-record tasks on ``workers`` threads (default), on a local Dask cluster
    of ``workers`` processes (``executor="dask"``), or on the Dask scheduler at ``dask_address``."""
    with task_runner(executor, workers, dask_address) as runner:
        flow_with_runner = build_flow.with_options(task_runner=runner)
        return flow_with_runner(config_file=config_file, show_progress=show_progress)


def run_build(cfg: Config, show_progress: bool = True) -> dict[str, Any]:
    """Body of the build flow (must run inside a flow so tasks get a runner)."""
    clock = StageClock()
    # the encoder beside Python: see cpushare; the collector and the build's heap: see heap
    with measuring(clock), short_switch_interval(), build_heap():
        result = _run_build(cfg, show_progress, clock)
    return result


def _run_build(cfg: Config, show_progress: bool, clock: StageClock) -> dict[str, Any]:
    logger = get_run_logger()
    started = time.monotonic()
    marked_before = python_work_totals()
    ws = cfg.workspace_dir
    con = connect(cfg.warehouse_path)
    run_id = start_run(con, "build", cfg.config_hash, code_version())
    summary = BuildSummary(run_id=run_id)
    shard_root = ws / "shards" / "curation"
    prefetch: EmbeddingPrefetch | None = None
    try:
        # Shards left by an interrupted earlier run are complete units of work: load them first.
        summary.add_rows(load_stage(con, shard_root))
        curation_hash = cfg.stage_hash("curation")  # selection/figures/sources only: see Config.stage_hash
        with section("ingest") as ingest:
            versions = {**STAGE_VERSIONS, "config_hash": curation_hash}
            dirs = [cfg.resolve(d) for d in cfg.sources.local_dirs]
            digests = PackageDigests(ws / "package_digests.json")
            found = discover_local(dirs, ws / "extracted", versions, digests)
            digests.save()
            found.packages += discover_raw_cache(RawCache(ws / "raw"))  # what `mmrare ingest` fetched
            summary.discovered = ingest.items = len(found.packages)
            keys = {p.package_id: work_key(p.content_sha256, curation_hash) for p in found.packages}
            done = done_work_keys(con, keys.values())
            todo = [p for p in found.packages if keys[p.package_id] not in done]
            summary.skipped_done = len(found.packages) - len(todo)
        logger.info("discovered %d packages, %d already done", summary.discovered, summary.skipped_done)

        resources = build_resources(cfg)
        if todo and tasks_run_here():
            # encoder work overlapping curation and linking; it must start first (see the method)
            # when its start-up is this process's Python, else curation uses the core meanwhile
            label_index_started = resources.prefetch_label_index()  # once: the CLI may have started it
            if resources.label_prefetch_holds_the_gil():
                label_index_started.wait()
        schemas = arrow_schemas(con)
        if found.rejects:
            rows = [{**r.row(), "run_id": run_id} for r in found.rejects]
            write_shard(shard_root, f"discover-{run_id}", {"rejects": rows}, schemas)
            summary.reject_lines += [f"ingest: {r.record_id}: {r.reason} ({r.detail})" for r in found.rejects]

        freeze_long_lived()  # imports, config, the digests; ORDO and the encoder when prefetched
        with section("parse") as parse:
            _curate_all(todo, cfg, run_id, shard_root, schemas, show_progress, summary)
            parse.items = summary.processed
        summary.add_rows(load_stage(con, shard_root))
        # leakage texts of drafted items, embedded beside drafting and then beside leakage control's
        # own Python (descriptors, lexical matchers), which starts before this backlog is done
        prefetch = resources.start_leakage_prefetch() if tasks_run_here() else None

        with section("link") as stage:
            link = run_link_stage(resources, con, run_id, show_progress)
            stage.items = link.linked
        summary.stages["link"] = link.counts()
        summary.add_rows(link.rows_added)
        summary.reject_lines += link.reject_lines
        freeze_long_lived()  # the linker, the label index
        with section("draft") as stage:
            draft = run_draft_stage(resources, con, run_id, show_progress)
            stage.items = draft.cases
        summary.stages["draft"] = draft.counts()
        summary.add_rows(draft.rows_added)
        summary.reject_lines += draft.reject_lines
        freeze_long_lived()  # what drafting loaded and keeps (vocabularies, matchers)
        with section("leakage") as stage:
            leakage = run_leakage_stage(resources, con, run_id, show_progress)
            stage.items = leakage.decided
        summary.stages["leakage"] = leakage.counts()
        summary.add_rows(leakage.rows_added)
        summary.reject_lines += leakage.reject_lines
        summary.rows_added = dict(sorted(summary.rows_added.items()))
        if prefetch is not None:
            prefetch.close()  # embeds nothing more by now: leakage control waited for it
        if tasks_run_here():
            summary.texts_encoded = resources.texts_encoded_for_this_build()
            # from the flow's start: a label index the CLI prestarted may make first_call_s negative
            summary.encoder = encoder_timeline(resources.encode_spans(), started, time.monotonic())
            summary.encoder["by_threads"] = resources.encoder_thread_use_for_this_build()
            summary.encoder["python_work"] = python_work_since(marked_before)
        else:
            summary.texts_encoded = None
        _add_perf(summary, clock)
        finish_run(con, run_id, "completed", summary.counts())
    except BaseException:
        _add_perf(summary, clock)
        finish_run(con, run_id, "failed", summary.counts())
        raise
    finally:
        if prefetch is not None:
            prefetch.close()  # a failed build leaves no thread behind
        con.close()
    return {**summary.counts(), "run_id": run_id, "reject_lines": summary.reject_lines}


def _add_perf(summary: BuildSummary, clock: StageClock) -> None:
    """Stage figures into ``summary.stages[stage]["perf"]`` (ingest, parse and load get entries too)."""
    report = clock.report()
    summary.stages.setdefault("ingest", {}).update(
        discovered=summary.discovered, skipped_done=summary.skipped_done
    )
    summary.stages.setdefault("parse", {}).update(
        processed=summary.processed, cases=summary.cases, rejected=summary.rejected
    )
    for name, figures in report.items():
        summary.stages.setdefault(name, {})["perf"] = figures
    order = ("ingest", "parse", "link", "draft", "leakage", "load", "total")
    rank = {name: i for i, name in enumerate(order)}
    names = sorted(summary.stages, key=lambda k: rank.get(k, len(order)))
    summary.stages = {k: summary.stages[k] for k in names}


def _curate_all(
    todo: list[PackageInput],
    cfg: Config,
    run_id: str,
    shard_root: Path,
    schemas: dict[str, pa.Schema],
    show_progress: bool,
    summary: BuildSummary,
) -> None:
    if not todo:
        return
    with stage_progress("curate", len(todo), show_progress) as advance:
        futures = [
            curate_packages.submit(
                pkgs=Sealed(chunk),
                selection=Sealed(cfg.selection),
                figures=Sealed(cfg.figures),
                run_id=run_id,
                config_hash=cfg.stage_hash("curation"),
                shard_root=shard_root,
                schemas=Sealed(schemas),
                label=chunk_label([p.package_id for p in chunk]),
            )
            for chunk in chunked(todo, min_chunks=fewest_chunks())
        ]
        for future in as_completed(futures):
            for package_id, outcome, stage, reason in future.result():
                summary.processed += 1
                if outcome == "case":
                    summary.cases += 1
                else:
                    summary.rejected += 1
                    summary.reject_lines.append(f"{stage}: {package_id}: {reason}")
                advance(f"{package_id}: {outcome}")


def warehouse_counts(cfg: Config) -> dict[str, int]:
    """Row counts for the summary (read-only)."""
    con = connect(cfg.warehouse_path, read_only=True)
    try:
        return table_counts(con)
    finally:
        con.close()
