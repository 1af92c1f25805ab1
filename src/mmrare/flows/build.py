"""``mmrare build``: curate -> link to ORDO -> draft -> leakage control, as one Prefect flow run.

A thin layer: every stage is a declaration in :mod:`mmrare.stages`, run by
:func:`~mmrare.flows.runner.run_stage` (or, for leakage control's batch, by one task here). Resume is
keyed on content + versions + settings, so a second build with nothing new adds no rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from mmrare.config import Config, load_config
from mmrare.flows.chunks import Sealed, chunk_label
from mmrare.flows.perf import StageClock
from mmrare.flows.progress import stage_progress
from mmrare.flows.runner import StageReport, load_stage, run_stage
from mmrare.flows.runners import Executor, task_runner, tasks_run_here
from mmrare.memo import clear_chunk_memos
from mmrare.stages.curate import CURATE
from mmrare.stages.draft import DRAFT
from mmrare.stages.leakage import (
    LEAKAGE_TABLES,
    LeakageBatch,
    LeakageSummary,
    leakage_plan,
    pending_batch,
    run_batch,
)
from mmrare.stages.link import LINK, ensure_ordo_tables
from mmrare.stages.resources import BuildResources
from mmrare.versions import code_version
from mmrare.warehouse.db import connect
from mmrare.warehouse.runs import finish_run, start_run
from mmrare.warehouse.shards import arrow_schemas, write_shard

if TYPE_CHECKING:
    import pyarrow as pa

_ORDER = ("curate", "link", "draft", "leakage", "load", "total")


@task(name="leakage-control", cache_policy=NO_CACHE, task_run_name="leakage-{label}")
def leakage_task(
    batch: Sealed[LeakageBatch],
    resources: Sealed[BuildResources],
    label: str,
    shard_root: Path,
    schemas: Sealed[dict[str, pa.Schema]],
) -> LeakageSummary:
    """Leakage control of one chunk of cases; its state shows in the flow run. Its rows go to one
    shard, like a per-record stage's chunk: the flow loads it in one transaction, a chunk finished
    before an interruption is loaded by the next run instead of decided again, and only the
    summary travels back (from a Dask worker too)."""
    try:
        rows, summary = run_batch(batch.value, resources.value)
    finally:
        clear_chunk_memos()  # memory follows the chunk, not the corpus
    write_shard(shard_root, f"{label}-{batch.value.run_id}", rows, schemas.value)
    return summary


def run_leakage(
    resources: BuildResources, con: Any, run_id: str, show_progress: bool, clock: StageClock
) -> tuple[LeakageSummary, dict[str, int]]:
    """Decide every current draft not yet decided, a chunk of cases at a time; each chunk's rows are
    committed in one transaction before the next chunk is read (an interrupted run's chunks first)."""
    shard_root = resources.cfg.workspace_dir / "shards" / "leakage"
    added = load_stage(con, shard_root, LEAKAGE_TABLES, clock)
    with clock.stage("leakage"):
        plan = leakage_plan(con, resources)
    summary = LeakageSummary(items=plan.items)
    checked_against = list(plan.decided_before)
    schemas = arrow_schemas(con, LEAKAGE_TABLES)
    total = sum(len(chunk) for chunk in plan.chunks)
    with stage_progress("leakage", total, show_progress and total > 0) as advance:
        for chunk in plan.chunks:
            label = chunk_label(chunk)
            with clock.stage("leakage") as figures:
                batch = pending_batch(con, resources, plan, chunk, checked_against, run_id)
                if batch is not None:
                    done = leakage_task.submit(
                        Sealed(batch), Sealed(resources), label, shard_root, Sealed(schemas)
                    ).result()
                    summary.add(done)
                    figures.items += done.decided
                del batch
            for table, n in load_stage(con, shard_root, LEAKAGE_TABLES, clock).items():
                added[table] = added.get(table, 0) + n
            checked_against += chunk
            advance(f"{label}: decided", len(chunk))
    return summary, added


@flow(name="mmrare-build", log_prints=False)
def build_flow(config_file: str | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Build (or top up) the warehouse from the configured sources."""
    cfg = load_config(Path(config_file) if config_file else None)
    return run_build(cfg, show_progress=show_progress)


def run_build_flow(
    config_file: str | None,
    workers: int,
    show_progress: bool = True,
    executor: Executor = "threads",
    dask_address: str | None = None,
) -> dict[str, Any]:
    """Run the build flow with its per-record tasks on ``workers`` threads, on a local Dask cluster
    of ``workers`` processes (``executor="dask"``), or on the Dask scheduler at ``dask_address``."""
    with task_runner(executor, workers, dask_address) as runner:
        return build_flow.with_options(task_runner=runner)(
            config_file=config_file, show_progress=show_progress
        )


def run_build(cfg: Config, show_progress: bool = True) -> dict[str, Any]:
    """Body of the build flow (must run inside a flow, so tasks get a runner)."""
    logger = get_run_logger()
    clock = StageClock()
    con = connect(cfg.warehouse_path, memory_mb=cfg.build.warehouse_memory_mb)
    run_id = start_run(con, "build", cfg.config_hash, code_version())
    resources = BuildResources(cfg)
    reports: dict[str, StageReport] = {}
    result: dict[str, Any] = {"run_id": run_id, "stages": {}}
    try:
        if tasks_run_here():
            resources.start_label_index()  # the encoder embeds ORDO's labels while curation runs
        curate = reports["curate"] = run_stage(CURATE, resources, con, run_id, show_progress, clock)
        logger.info("curated %d packages, %d already done", curate.processed, curate.skipped_done)
        with clock.stage("load"):
            ordo_rows = ensure_ordo_tables(con, resources)
        reports["link"] = run_stage(LINK, resources, con, run_id, show_progress, clock)
        reports["link"].add_rows(ordo_rows)
        reports["draft"] = run_stage(DRAFT, resources, con, run_id, show_progress, clock)
        leakage, leakage_rows = run_leakage(resources, con, run_id, show_progress, clock)
        result = _result(run_id, reports, leakage, leakage_rows, clock)
        finish_run(con, run_id, "completed", _counts(result))
    except BaseException:
        result = _result(run_id, reports, LeakageSummary(), {}, clock)
        finish_run(con, run_id, "failed", _counts(result))
        raise
    finally:
        resources.close()
        con.close()
    return result


def _result(
    run_id: str,
    reports: dict[str, StageReport],
    leakage: LeakageSummary,
    leakage_rows: dict[str, int],
    clock: StageClock,
) -> dict[str, Any]:
    """The build's summary: printed by the CLI, stored in ``runs.counts`` (without ``reject_lines``)."""
    curate = reports.get("curate", StageReport())
    stages: dict[str, dict[str, Any]] = {name: r.summary() for name, r in reports.items()}
    stages["leakage"] = leakage.counts()
    rows_added: dict[str, int] = {}
    for report in reports.values():
        for table, n in report.rows_added.items():
            rows_added[table] = rows_added.get(table, 0) + n
    for table, n in leakage_rows.items():
        rows_added[table] = rows_added.get(table, 0) + n
    for name, figures in clock.report().items():
        stages.setdefault(name, {})["perf"] = figures
    return {
        "run_id": run_id,
        "discovered": curate.processed + curate.skipped_done,
        "skipped_done": curate.skipped_done,
        "processed": curate.processed,
        "cases": curate.outcomes["case"],
        "rejected": curate.processed - curate.outcomes["case"],
        "rows_added": dict(sorted(rows_added.items())),
        "stages": {
            k: stages[k] for k in sorted(stages, key=lambda k: _ORDER.index(k) if k in _ORDER else 99)
        },
        "reject_lines": [line for r in reports.values() for line in r.reject_lines] + leakage.reject_lines,
    }


def _counts(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k not in ("run_id", "reject_lines")}


@flow(name="mmrare-draft", log_prints=False)
def draft_flow(
    config_file: str | None = None,
    tracks: list[str] | None = None,
    drafter: str | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """``mmrare draft``: the draft stage alone, on cases already curated and linked.

    ``tracks`` / ``drafter`` override the config's ``[drafting]`` for this run; they are part of the
    work key, so drafting one track later drafts the others without redoing this one's work.
    """
    from mmrare.annotations.drafting import get_drafter, resolve_tracks

    cfg = load_config(Path(config_file) if config_file else None)
    update: dict[str, Any] = {}
    if tracks:
        update["tracks"] = list(resolve_tracks(tracks))
    if drafter:
        get_drafter(drafter)  # an unknown name fails here, with a "did you mean"
        update["drafter"] = drafter
    if update:
        cfg = cfg.model_copy(update={"drafting": cfg.drafting.model_copy(update=update)})
    con = connect(cfg.warehouse_path, memory_mb=cfg.build.warehouse_memory_mb)
    run_id = start_run(con, "draft", cfg.config_hash, code_version())
    resources = BuildResources(cfg)
    try:
        report = run_stage(DRAFT, resources, con, run_id, show_progress, StageClock())
        summary = {**report.summary(), "drafter": get_drafter(cfg.drafting.drafter).version}
        finish_run(con, run_id, "completed", {"stages": {"draft": summary}})
    except BaseException:
        finish_run(con, run_id, "failed", {})
        raise
    finally:
        resources.close()
        con.close()
    return {
        "run_id": run_id,
        "stages": {"draft": summary},
        "rows_added": report.rows_added,
        "reject_lines": report.reject_lines,
    }


def run_draft_flow(
    config_file: str | None,
    tracks: list[str] | None,
    drafter: str | None,
    workers: int,
    show_progress: bool = True,
) -> dict[str, Any]:
    runner = ThreadPoolTaskRunner(max_workers=max(1, workers))
    return draft_flow.with_options(task_runner=runner)(
        config_file=config_file, tracks=tracks, drafter=drafter, show_progress=show_progress
    )


__all__ = ["build_flow", "draft_flow", "run_build", "run_build_flow", "run_draft_flow"]
