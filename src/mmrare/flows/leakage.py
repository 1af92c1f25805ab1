"""The leakage stage of ``mmrare build``: detectors score, the policy decides, everything is stored.

Two ledgers make a threshold change cheap: scores are keyed by the item's *basis* (context, options
and answer descriptor) and detector version, decisions by (item, basis, policy sha256, leakage stage
hash). So a new draft is scored once; a changed threshold or policy re-decides from the stored scores
and embeds nothing (``Config.stage_hash("leakage")`` covers the thresholds, not the drafts).
Dataset-level checks (same-case pairs, near-duplicate contexts, duplicate images, blind solver) run
over all current items whenever new items were scored, on their original contexts, so they too are
served by the embedding cache. Detection is one batch (one embed call): it is encoder-bound, and
batching is what keeps the whole step near the encoder's own rate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import duckdb
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from mmrare.annotations.drafting import get_drafter
from mmrare.embedding import MODEL_ID, PINNED_MODEL_SHA256
from mmrare.flows.leakage_inputs import image_phashes, leakage_inputs, load_items
from mmrare.flows.progress import stage_progress
from mmrare.flows.resources import BuildResources
from mmrare.leakage import (
    DEFAULT_POLICY,
    LeakageInput,
    LeakageScore,
    Policy,
    Provenance,
    dataset_checks,
    decide,
    detect,
)
from mmrare.leakage.scores import DETECTOR_VERSION
from mmrare.versions import code_version
from mmrare.warehouse.reads import current_diagnoses
from mmrare.warehouse.shards import arrow_schemas, load_shards, write_shard

LEAKAGE_TABLES = (
    "leakage_descriptors", "leakage_scores", "leakage_decisions", "leakage_contexts", "dataset_flags",
    "rejects",
)


@dataclass(slots=True)
class LeakageSummary:
    """What the leakage stage did, for the run record and the CLI."""

    items: int = 0
    decided: int = 0
    scored: int = 0
    texts_embedded: int = 0
    kept: int = 0
    dropped: int = 0
    masked_spans: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    blind_solver: dict[str, Any] = field(default_factory=dict)
    rows_added: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        return {
            "items": self.items, "decided": self.decided, "scored": self.scored,
            "texts_embedded": self.texts_embedded, "kept": self.kept, "dropped": self.dropped,
            "masked_spans": self.masked_spans, "flags": self.flags,
        }


def current_item_ids(con: duckdb.DuckDBPyConnection, pmcids: list[str], drafter_version: str) -> list[str]:
    """Drafts of the current cases by the current drafter version."""
    if not pmcids:
        return []
    rows = con.execute(
        "SELECT item_id FROM qa_items WHERE list_contains(?, pmcid) AND drafter_version = ? ORDER BY item_id",
        [pmcids, drafter_version],
    ).fetchall()
    return [r[0] for r in rows]


def decided_keys(con: duckdb.DuckDBPyConnection, policy: Policy, leakage_hash: str) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT item_id, basis FROM leakage_contexts WHERE policy_sha256 = ? AND config_hash = ?",
        [policy.sha256, leakage_hash],
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def stored_scores(con: duckdb.DuckDBPyConnection, bases: list[str]) -> list[LeakageScore]:
    """Scores already computed for these bases by the current detector version."""
    if not bases:
        return []
    cur = con.execute(
        "SELECT * FROM leakage_scores WHERE list_contains(?, basis) AND detector_version = ?"
        " ORDER BY item_id, coalesce(start, -1), detector, score_id",
        [bases, DETECTOR_VERSION],
    )
    names = [d[0] for d in cur.description]
    return [LeakageScore.from_row(dict(zip(names, r, strict=True))) for r in cur.fetchall()]


def leakage_rows(
    resources: BuildResources,
    con: duckdb.DuckDBPyConnection,
    todo: list[LeakageInput],
    all_inputs: list[LeakageInput],
    policy: Policy,
    summary: LeakageSummary,
    run_id: str,
    advance: Any,
) -> dict[str, list[dict[str, Any]]]:
    """Score what has no scores, decide everything in ``todo``, and (when anything was scored) run
    the dataset checks over ``all_inputs``. Returns the rows to store."""
    cfg = resources.cfg
    index = resources.ordo
    stored = stored_scores(con, sorted({e.basis for e in todo}))
    have = {s.basis for s in stored}
    to_score = [e for e in todo if e.basis not in have]
    embedder: Any = SimpleNamespace(model_id=MODEL_ID, model_sha256=PINNED_MODEL_SHA256)
    scores = list(stored)
    if to_score:
        embedder = resources.embeddings
        detection = detect(to_score, embedder)
        scores += detection.scores
        summary.scored = len(to_score)
        summary.texts_embedded = detection.texts_embedded
    advance("scored")
    decided = decide(todo, scores, policy, cfg.thresholds)
    prov = Provenance.for_run(
        embedder, policy, ordo_version=index.release.version, config_hash=cfg.stage_hash("leakage"),
        code_version=code_version(),
    )
    advance("decided")
    rows: dict[str, list[dict[str, Any]]] = {
        "leakage_descriptors": [e.descriptor.row(e.item.item_id, index.release.version) for e in todo],
        "leakage_scores": [s.row(prov) for s in scores if s.basis not in have],
        "leakage_decisions": [d.row(prov) for d in decided.decisions],
        "leakage_contexts": [c.row(prov) for c in decided.contexts],
        "rejects": [],
    }
    for context in decided.contexts:
        summary.masked_spans += context.n_masked_spans
        reject = context.reject(prov)
        if reject is None:
            summary.kept += 1
        else:
            summary.dropped += 1
            rows["rejects"].append({**reject.row(), "run_id": run_id})
            summary.reject_lines.append(f"leakage: {context.item_id}: {reject.reason} ({reject.detail})")
    if to_score:
        items = [e.item for e in all_inputs]
        report = dataset_checks(items, embedder, policy, phashes=image_phashes(con, items))
        rows["dataset_flags"] = [f.row(prov) for f in report.flags]
        summary.flags = report.summary()["flagged"]
        summary.blind_solver = report.summary()["blind_solver"]
    advance("dataset checks")
    return rows


@task(name="leakage-control", cache_policy=NO_CACHE, task_run_name="leakage-{run_id}")
def leakage_batch(
    resources: BuildResources,
    con: duckdb.DuckDBPyConnection,
    todo: list[LeakageInput],
    all_inputs: list[LeakageInput],
    policy: Policy,
    summary: LeakageSummary,
    run_id: str,
    show_progress: bool,
) -> dict[str, list[dict[str, Any]]]:
    """One Prefect task for the batch (one embed call); its state shows in the flow run."""
    with stage_progress("leakage", 3, show_progress) as advance:
        return leakage_rows(resources, con, todo, all_inputs, policy, summary, run_id, advance)


def run_leakage_stage(
    resources: BuildResources,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    show_progress: bool,
    policy: Policy = DEFAULT_POLICY,
) -> LeakageSummary:
    """Score and decide every current draft not yet decided under this policy and these thresholds."""
    logger = get_run_logger()
    cfg = resources.cfg
    summary = LeakageSummary()
    shard_root = cfg.workspace_dir / "shards" / "leakage"
    summary.rows_added.update(load_shards(con, shard_root, tables=LEAKAGE_TABLES))  # interrupted run
    index = resources.ordo
    diagnoses = current_diagnoses(
        con, cfg.stage_hash("curation"), cfg.stage_hash("link"), index.release.sha256
    )
    drafter_version = get_drafter(cfg.drafting.drafter).version
    items = load_items(con, current_item_ids(con, sorted(diagnoses), drafter_version))
    inputs = leakage_inputs(con, index, items)
    summary.items = len(inputs)
    done = decided_keys(con, policy, cfg.stage_hash("leakage"))
    todo = [e for e in inputs if (e.item.item_id, e.basis) not in done]
    summary.decided = len(todo)
    logger.info("leakage control: %d items, %d to decide", len(inputs), len(todo))
    if todo:
        schemas = arrow_schemas(con, LEAKAGE_TABLES)
        future = leakage_batch.submit(
            resources=resources, con=con, todo=todo, all_inputs=inputs, policy=policy, summary=summary,
            run_id=run_id, show_progress=show_progress,
        )
        write_shard(shard_root, f"leakage-{run_id}", future.result(), schemas)
    for table, n in load_shards(con, shard_root, tables=LEAKAGE_TABLES).items():
        summary.rows_added[table] = summary.rows_added.get(table, 0) + n
    summary.rows_added = {k: v for k, v in summary.rows_added.items() if v}
    return summary
