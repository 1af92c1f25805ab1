"""The draft stage of ``mmrare build``: diagnosed cases -> benchmark item drafts for four tracks.

This module is the orchestrator the drafting package expects: it reads stored records back as typed
:class:`~mmrare.items.CaseInput`, adds the ORDO diagnosis with aliases and distractor candidates
(``ontology.distractors``), builds the cross-case distractor pool, and runs one task per chunk of
cases. Each task writes one Parquet shard holding its cases' items, evidence, rejects, pool entries
and ``stage_work`` ledger rows, so a case is either fully drafted in the warehouse or not at all.
Work key: (pmcid, diagnosis, drafter version, drafting settings, ORDO sha256): an unchanged case is
never drafted twice; a new drafter version drafts again beside the old items.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.task_runners import ThreadPoolTaskRunner

from mmrare.annotations.drafting import draft_case, get_drafter, resolve_tracks
from mmrare.annotations.drafting.pool import case_pool_entries
from mmrare.config import DraftingConfig, load_config
from mmrare.embedding.cpushare import python_work
from mmrare.flows.chunks import Sealed, chunk_label, chunked
from mmrare.flows.loading import add_counts, load_stage, stage_diagnoses
from mmrare.flows.prefetch import item_texts
from mmrare.flows.progress import stage_progress
from mmrare.flows.resources import BuildResources
from mmrare.flows.runners import fewest_chunks
from mmrare.items import CaseInput, DiagnosisInput, DistractorPool, PoolEntry
from mmrare.ontology.distractors import diagnosis_distractors
from mmrare.ontology.index import OrdoIndex
from mmrare.versions import code_version
from mmrare.warehouse.db import connect
from mmrare.warehouse.reads import (
    CaseRecords,
    StoredDiagnosis,
    case_records,
    done_stage_keys,
)
from mmrare.warehouse.runs import finish_run, start_run
from mmrare.warehouse.shards import arrow_schemas, write_shard

DRAFT_TABLES = ("qa_items", "qa_evidence", "rejects", "draft_pool", "stage_work")


@dataclass(slots=True)
class DraftSummary:
    """What the draft stage did, for the run record and the CLI."""

    drafter: str = ""
    cases: int = 0
    skipped_done: int = 0
    items: dict[str, int] = field(default_factory=dict)
    rejected: int = 0
    rows_added: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "drafter": self.drafter,
            "cases": self.cases,
            "skipped_done": self.skipped_done,
            "items": dict(sorted(self.items.items())),
            "rejected_drafts": self.rejected,
        }


def draft_work_key(diag: StoredDiagnosis, drafter_version: str, drafting: DraftingConfig) -> str:
    """sha256 of everything that changes a case's drafts."""
    payload = json.dumps(
        [diag.pmcid, diag.code, diag.statement_sentence_id, diag.ordo_sha256, drafter_version,
         drafting.model_dump(mode="json")],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def diagnosis_input(
    index: OrdoIndex,
    diag: StoredDiagnosis,
    drafting: DraftingConfig,
    resources: BuildResources | None,
) -> DiagnosisInput:
    """Gold concept, its ORDO synonyms as aliases, the sentence stating the final diagnosis (where the
    diagnosis context is cut; without one the drafter searches for a statement itself) and
    distractor candidates."""
    concept = index[diag.code]
    neighbours = resources.neighbours if resources is not None else None
    distractors = diagnosis_distractors(
        index, diag.code, drafting.diagnosis_distractor_candidates, neighbours=neighbours,
        min_before_neighbours=drafting.options - 1,
    )
    return DiagnosisInput(
        code=diag.code,
        label=concept.label,
        aliases=tuple(concept.synonyms),
        evidence_sentence_ids=(diag.statement_sentence_id,) if diag.statement_sentence_id else (),
        distractors=tuple(distractors),
    )


def case_input(records: CaseRecords, diagnosis: DiagnosisInput | None) -> CaseInput:
    return CaseInput(
        pmcid=records.pmcid,
        title=records.title,
        sections=records.sections,
        sentences=records.sentences,
        figures=records.figures,
        graphics=records.graphics,
        mentions=records.mentions,
        diagnosis=diagnosis,
    )


def stored_pool(con: duckdb.DuckDBPyConnection, pmcids: list[str], drafter_version: str) -> list[PoolEntry]:
    if not pmcids:
        return []
    rows = con.execute(
        "SELECT kind, text, category, pmcid FROM draft_pool"
        " WHERE drafter_version = ? AND list_contains(?, pmcid) ORDER BY pmcid, ordinal",
        [drafter_version, pmcids],
    ).fetchall()
    return [PoolEntry(*r) for r in rows]


def draft_one(
    case: CaseInput,
    pool: DistractorPool,
    own_pool: list[PoolEntry],
    *,
    drafting: DraftingConfig,
    drafter_version: str,
    work_key: str,
    run_id: str,
) -> dict[str, list[dict[str, Any]]]:
    """Rows for one case: items, evidence, rejects, its pool entries and the ledger row."""
    result = draft_case(
        case, tracks=drafting.tracks, drafter=drafting.drafter, options=drafting.options,
        seed=drafting.seed, pool=pool,
    )
    now = datetime.now(UTC)
    outcome = f"{len(result.items)} items, {len(result.rejects)} rejects"
    return {
        "qa_items": [item.row() for item in result.items],
        "qa_evidence": [row for item in result.items for row in item.evidence_rows()],
        "rejects": [{**r.row(), "run_id": run_id} for r in result.rejects],
        "draft_pool": [
            {"pmcid": e.pmcid, "drafter_version": drafter_version, "ordinal": i, "kind": e.kind,
             "text": e.text, "category": e.category}
            for i, e in enumerate(own_pool)
        ],
        "stage_work": [
            {"work_key": work_key, "stage": "draft", "record_id": case.pmcid,
             "versions": json.dumps({"drafter": drafter_version, **drafting.model_dump(mode="json")}),
             "outcome": outcome, "run_id": run_id, "created_at": now}
        ],
    }


@task(name="draft-cases", cache_policy=NO_CACHE, task_run_name="draft-{label}")
def draft_cases_task(
    records: Sealed[list[CaseRecords]],
    diagnoses: Sealed[dict[str, StoredDiagnosis]],
    pool: Sealed[DistractorPool],
    own_pools: Sealed[dict[str, list[PoolEntry]]],
    resources: Sealed[BuildResources],
    drafter_version: str,
    work_keys: dict[str, str],
    run_id: str,
    shard_root: Path,
    schemas: Sealed[dict[str, pa.Schema]],
    label: str,
) -> list[tuple[str, dict[str, int], list[str]]]:
    """Draft a chunk of cases into one shard; per case (pmcid, items per track, reject lines).

    When the build runs a prefetch of leakage texts in this process, each case's texts are queued as
    soon as it is drafted: the encoder, idle once the label index is done, starts on them while the
    rest of the chunk is drafted (queued per chunk, it waited ~4.7 s at N = 2000 for the first one).
    """
    res = resources.value
    cfg = res.cfg
    prefetch = res.leakage_prefetch
    rows: dict[str, list[dict[str, Any]]] = {table: [] for table in DRAFT_TABLES}
    out = []
    res.await_label_index()  # drafting may need the label index: wait here, not inside python_work
    with python_work():  # the encoder (prefetched leakage texts) leaves this core to drafting
        for r in records.value:
            dx = diagnosis_input(res.ordo, diagnoses.value[r.pmcid], cfg.drafting, res)
            case_rows = draft_one(
                case_input(r, dx), pool.value, own_pools.value[r.pmcid], drafting=cfg.drafting,
                drafter_version=drafter_version, work_key=work_keys[r.pmcid], run_id=run_id,
            )
            for table, table_rows in case_rows.items():
                rows[table] += table_rows
            per_track: dict[str, int] = {}
            for item in case_rows["qa_items"]:
                per_track[item["track"]] = per_track.get(item["track"], 0) + 1
            lines = [f"draft: {j['record_id']}: {j['reason']} ({j['detail']})" for j in case_rows["rejects"]]
            if prefetch is not None:
                sentences = {s.sentence_id: s.text for s in r.sentences}
                prefetch.add(t for item in case_rows["qa_items"] for t in item_texts(item, sentences))
            out.append((r.pmcid, per_track, lines))
    digest = hashlib.sha256("".join(work_keys[r.pmcid] for r in records.value).encode()).hexdigest()
    write_shard(shard_root, f"{label}-{digest[:16]}", rows, schemas.value)
    return out


def run_draft_stage(
    resources: BuildResources,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    show_progress: bool,
) -> DraftSummary:
    """Draft every diagnosed case not yet drafted under the current drafter and settings.

    When ``resources`` run a prefetch (``mmrare build``, where leakage control follows), every drafted
    case's leakage texts go to it, to be embedded in the background (:mod:`mmrare.flows.prefetch`)."""
    logger = get_run_logger()
    cfg = resources.cfg
    drafting = cfg.drafting
    drafter_version = get_drafter(drafting.drafter).version
    summary = DraftSummary(drafter=drafter_version)
    shard_root = cfg.workspace_dir / "shards" / "draft"
    add_counts(summary.rows_added, load_stage(con, shard_root, DRAFT_TABLES))  # interrupted run
    index = resources.ordo
    diagnoses = stage_diagnoses(con, cfg, index)
    keys = {p: draft_work_key(d, drafter_version, drafting) for p, d in diagnoses.items()}
    done = done_stage_keys(con, "draft", keys.values())
    todo = [p for p in diagnoses if keys[p] not in done]
    summary.skipped_done = len(diagnoses) - len(todo)
    logger.info("drafting %d cases with %s", len(todo), drafter_version)
    if todo:
        with python_work():  # the encoder (label index, leakage texts) leaves this core to the pool
            records = case_records(con, todo)
            # the pool: stored entries of cases drafted before, computed entries of the new ones
            own = {r.pmcid: case_pool_entries(case_input(r, None)) for r in records}
            entries = stored_pool(con, [p for p in diagnoses if p not in own], drafter_version)
            entries += [e for p in sorted(own) for e in own[p]]
            pool = DistractorPool(tuple(sorted(entries, key=lambda e: e.pmcid)))
        schemas = arrow_schemas(con, DRAFT_TABLES)
        with stage_progress("draft", len(todo), show_progress) as advance:
            futures = []
            for chunk in chunked(records, min_chunks=fewest_chunks()):
                ids = [r.pmcid for r in chunk]
                # Sealed: Prefect would otherwise walk the whole pool for futures, once per task
                futures.append(
                    draft_cases_task.submit(
                        records=Sealed(chunk), diagnoses=Sealed({p: diagnoses[p] for p in ids}),
                        pool=Sealed(pool), own_pools=Sealed({p: own[p] for p in ids}),
                        resources=Sealed(resources), drafter_version=drafter_version,
                        work_keys={p: keys[p] for p in ids}, run_id=run_id, shard_root=shard_root,
                        schemas=Sealed(schemas), label=chunk_label(ids),
                    )
                )
            for future in as_completed(futures):
                for pmcid, per_track, lines in future.result():
                    summary.cases += 1
                    for track, n in per_track.items():
                        summary.items[track] = summary.items.get(track, 0) + n
                    summary.rejected += len(lines)
                    summary.reject_lines += lines
                    advance(f"{pmcid}: {sum(per_track.values())} items")
    add_counts(summary.rows_added, load_stage(con, shard_root, DRAFT_TABLES))
    return summary


@flow(name="mmrare-draft", log_prints=False)
def draft_flow(
    config_file: str | None = None,
    tracks: list[str] | None = None,
    drafter: str | None = None,
    show_progress: bool = True,
) -> dict[str, Any]:
    """``mmrare draft``: the draft stage alone, on cases already curated and linked by ``mmrare build``.

    ``tracks`` / ``drafter`` override the config's ``[drafting]`` for this run; they are part of the
    work key, so drafting one track later drafts the others without redoing this one's work.
    """
    cfg = load_config(Path(config_file) if config_file else None)
    update: dict[str, Any] = {}
    if tracks:
        update["tracks"] = list(resolve_tracks(tracks))
    if drafter:
        get_drafter(drafter)  # an unknown name fails here, with a "did you mean"
        update["drafter"] = drafter
    if update:
        cfg = cfg.model_copy(update={"drafting": cfg.drafting.model_copy(update=update)})
    con = connect(cfg.warehouse_path)
    run_id = start_run(con, "draft", cfg.config_hash, code_version())
    try:
        summary = run_draft_stage(BuildResources(cfg), con, run_id, show_progress)
        finish_run(con, run_id, "completed", {"stages": {"draft": summary.counts()}})
    except BaseException:
        finish_run(con, run_id, "failed", {})
        raise
    finally:
        con.close()
    return {
        "run_id": run_id,
        "stages": {"draft": summary.counts()},
        "rows_added": summary.rows_added,
        "reject_lines": summary.reject_lines,
    }


def run_draft_flow(
    config_file: str | None, tracks: list[str] | None, drafter: str | None, workers: int,
    show_progress: bool = True,
) -> dict[str, Any]:
    runner = ThreadPoolTaskRunner(max_workers=max(1, workers))
    return draft_flow.with_options(task_runner=runner)(
        config_file=config_file, tracks=tracks, drafter=drafter, show_progress=show_progress
    )
