"""The leakage stage of ``mmrare build``: detectors score, the policy decides, everything is stored.

Two ledgers make a threshold change cheap: scores are keyed by the item's *basis* (context, options
and answer descriptor) and detector version, decisions by (item, basis, policy sha256, leakage stage
hash). So a new draft is scored once; a changed threshold or policy re-decides from the stored scores
and embeds nothing (``Config.stage_hash("leakage")`` covers the thresholds, not the drafts).
Dataset-level checks (same-case pairs, near-duplicate contexts, duplicate images, blind solver) run
over all current items whenever new items were scored, on their original contexts, as a task beside
detection (:mod:`mmrare.flows.leakage_dataset`; decisions and flags are committed together), so they too are
served by the embedding cache; a top-up reads the earlier items as light records with their context
vectors from a content-keyed store (:class:`~mmrare.flows.leakage_inputs.ContextVectors`), so its
checks cost in proportion to the new items. Detection is one batch: it is encoder-bound, and
batching is what keeps the whole step near the encoder's own rate. Its items come back in waves
as the encoder reaches their texts, and each wave is decided and made into rows at once: at
N = 2000 this cut the work left after the last embedding from 17 s to 9.5 s.

Which items need work is decided from a ``stage_work`` ledger row per item, keyed by the item's
content and everything its answer descriptor is made from (ORDO file, link and leakage settings,
policy, detector version), so a build that adds 20 cases to 2,000 builds descriptors for the new
items only. The batch task gets plain data (items, stored scores, image hashes) and returns rows:
it never sees the warehouse connection, so it can run on a Dask worker; this module does every
warehouse read and write in the flow's process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from mmrare.annotations.drafting import get_drafter
from mmrare.embedding.cpushare import python_work
from mmrare.flows.chunks import Sealed
from mmrare.flows.leakage_dataset import DatasetBatch, EncodedCount, dataset_checks_task, encoded_during
from mmrare.flows.leakage_inputs import (
    SCORE_ORDER,
    dataset_items,
    image_phashes,
    leakage_inputs,
    load_items,
)
from mmrare.flows.loading import add_counts, load_stage, stage_diagnoses
from mmrare.flows.perf import section
from mmrare.flows.progress import stage_progress
from mmrare.flows.resources import BuildResources
from mmrare.items import QAItem
from mmrare.leakage import (
    DEFAULT_POLICY,
    LeakageInput,
    LeakageScore,
    Policy,
    Provenance,
    decide,
)
from mmrare.leakage.dataset import CheckedItem
from mmrare.leakage.detect import DetectionWaves
from mmrare.leakage.scores import DETECTOR_VERSION
from mmrare.versions import code_version
from mmrare.warehouse.reads import done_stage_keys
from mmrare.warehouse.shards import TableLoad, arrow_schemas, rows_table

LEAKAGE_TABLES = (
    "leakage_descriptors", "leakage_scores", "leakage_decisions", "leakage_contexts", "dataset_flags",
    "rejects", "stage_work",
)


@dataclass(slots=True)
class LeakageSummary:
    """What the leakage stage did, for the run record and the CLI."""

    items: int = 0
    decided: int = 0
    scored: int = 0
    texts_embedded: int = 0
    encoded: int = 0
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
            "texts_embedded": self.texts_embedded, "encoded": self.encoded, "kept": self.kept,
            "dropped": self.dropped, "masked_spans": self.masked_spans, "flags": self.flags,
        }


def current_items(
    con: duckdb.DuckDBPyConnection, pmcids: list[str], drafter_version: str
) -> dict[str, str]:
    """item_id -> content_sha256 of the drafts of the current cases by the current drafter version."""
    if not pmcids:
        return {}
    rows = con.execute(
        "SELECT item_id, content_sha256 FROM qa_items"
        " WHERE pmcid IN (SELECT unnest(?)) AND drafter_version = ? ORDER BY item_id",
        [pmcids, drafter_version],
    ).fetchall()
    return dict(rows)


def current_item_ids(con: duckdb.DuckDBPyConnection, pmcids: list[str], drafter_version: str) -> list[str]:
    """Drafts of the current cases by the current drafter version."""
    return list(current_items(con, pmcids, drafter_version))


def checked_items(
    con: duckdb.DuckDBPyConnection, item_ids: list[str], todo: list[QAItem]
) -> list[CheckedItem]:
    """The items of the dataset checks, in the order of ``item_ids``: the drafts to decide as loaded,
    the others as :class:`DatasetItem` records (all the checks read of them); when every item is to
    be decided, all are full drafts as before."""
    loaded = {i.item_id: i for i in todo}
    if len(loaded) == len(item_ids):
        return [loaded[i] for i in item_ids if i in loaded]
    others = {d.item_id: d for d in dataset_items(con, [i for i in item_ids if i not in loaded])}
    out: list[CheckedItem] = []
    for item_id in item_ids:
        found = loaded.get(item_id) or others.get(item_id)
        if found is not None:
            out.append(found)
    return out


def leakage_work_key(item_id: str, content_sha256: str, versions: dict[str, str]) -> str:
    """sha256 of the item's content and of everything its descriptor and decision are made from."""
    payload = json.dumps([item_id, content_sha256, versions], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


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
        "SELECT * FROM leakage_scores WHERE basis IN (SELECT unnest(?)) AND detector_version = ?"
        + SCORE_ORDER,
        [bases, DETECTOR_VERSION],
    )
    names = [d[0] for d in cur.description]
    return [LeakageScore.from_row(dict(zip(names, r, strict=True))) for r in cur.fetchall()]


@dataclass(frozen=True, slots=True)
class LeakageBatch:
    """Everything the batch task needs, as plain data (picklable for a Dask worker)."""

    todo: list[LeakageInput]
    stored: list[LeakageScore]
    policy: Policy
    provenance: Provenance  # of every row this run stores, the dataset checks' flags too
    run_id: str
    work_keys: dict[str, str]
    versions: dict[str, str]
    schemas: dict[str, pa.Schema]  # of LEAKAGE_TABLES: rows become Arrow tables in the task


@dataclass(slots=True)
class _ItemRows:
    """One decided item's rows (kept apart until every item is decided, to store them in batch order)."""

    scores: list[LeakageScore]  # made into columns wave by wave (LeakageScore.columns), no dict each
    decisions: list[dict[str, Any]]
    context: dict[str, Any]
    stage_work: dict[str, Any]
    reject: dict[str, Any] | None  # the ``rejects`` row of a dropped item
    masked_spans: int


# Each per-item table and an item's rows in it, in the order they are stored.
_PER_ITEM_ROWS: dict[str, Callable[[_ItemRows], list[Any]]] = {
    "leakage_scores": lambda rows: rows.scores,
    "leakage_decisions": lambda rows: rows.decisions,
    "leakage_contexts": lambda rows: [rows.context],
    "rejects": lambda rows: [rows.reject] if rows.reject is not None else [],
    "stage_work": lambda rows: [rows.stage_work],
}


class _OrderedTables:
    """The per-item tables of decided items, made into Arrow tables a group of items at a time.

    Detection's waves decide items while the encoder still works, in the order the encoder reached
    their texts; making their rows into Arrow columns then (instead of all 189k score rows at N = 2000
    after the last embedding, while one core idles) leaves only the last wave's for the end.
    :meth:`tables` puts the rows in batch order again: by each row's item position, stably, so an
    item's rows keep their own order, exactly as if every row had been collected in batch order.
    """

    def __init__(self, todo: Sequence[LeakageInput], schemas: dict[str, pa.Schema], prov: Provenance) -> None:
        self._position = {entry.item.item_id: n for n, entry in enumerate(todo)}
        self._schemas = schemas
        self._prov = prov
        self._parts: dict[str, list[tuple[pa.Table, np.ndarray]]] = {t: [] for t in _PER_ITEM_ROWS}
        self.outcomes: dict[str, tuple[dict[str, Any] | None, int]] = {}  # item -> (reject row, masked)

    def add(self, decided: dict[str, _ItemRows]) -> None:
        """Convert a group of decided items' rows (any order, each item once)."""
        order = sorted(decided, key=self._position.__getitem__)
        for item_id in order:
            self.outcomes[item_id] = (decided[item_id].reject, decided[item_id].masked_spans)
        for table, rows_of in _PER_ITEM_ROWS.items():
            groups = [rows_of(decided[item_id]) for item_id in order]
            flat = [row for group in groups for row in group]
            if not flat:
                continue
            keys = np.repeat([self._position[i] for i in order], [len(g) for g in groups])
            self._parts[table].append((self._table(table, flat), keys))

    def _table(self, table: str, rows: list[Any]) -> pa.Table:
        """Rows of ``table`` as Arrow (score rows from their :class:`LeakageScore` objects)."""
        if table == "leakage_scores":
            return pa.Table.from_pydict(LeakageScore.columns(rows, self._prov), schema=self._schemas[table])
        return rows_table(table, rows, self._schemas[table])

    def tables(self) -> dict[str, pa.Table]:
        """Each per-item table with its rows in batch order (tables without rows are left out)."""
        out = {}
        for table, parts in self._parts.items():
            if not parts:
                continue
            data = pa.concat_tables([t for t, _ in parts])
            keys = np.concatenate([k for _, k in parts])
            out[table] = data.take(pa.array(np.argsort(keys, kind="stable")))
        return out


@dataclass(frozen=True, slots=True)
class _RowMaker:
    """Decides items and makes their rows, with what every part of one batch shares."""

    batch: LeakageBatch
    thresholds: Any
    prov: Provenance
    matchers: dict[Any, Any]  # detection's compiled matchers, reused by the post-condition

    def rows(
        self, entries: Sequence[LeakageInput], scores: list[LeakageScore], new_scores: bool
    ) -> dict[str, _ItemRows]:
        """Decide ``entries`` from ``scores`` and make their rows (score rows only for ``new_scores``)."""
        batch, prov = self.batch, self.prov
        decided = decide(entries, scores, batch.policy, self.thresholds, matchers=self.matchers)
        score_rows: dict[str, list[LeakageScore]] = {}
        if new_scores:
            for score in scores:
                score_rows.setdefault(score.item_id, []).append(score)
        decision_rows: dict[str, list[dict[str, Any]]] = {}
        for decision in decided.decisions:
            decision_rows.setdefault(decision.item_id, []).append(decision.row(prov))
        versions = json.dumps(batch.versions, sort_keys=True)
        out = {}
        for context in decided.contexts:
            reject = context.reject(prov)
            outcome = "kept" if reject is None else reject.reason
            out[context.item_id] = _ItemRows(
                scores=score_rows.get(context.item_id, []),
                decisions=decision_rows.get(context.item_id, []),
                context=context.row(prov),
                stage_work={
                    "work_key": batch.work_keys[context.item_id], "stage": "leakage",
                    "record_id": context.item_id, "versions": versions, "outcome": outcome,
                    "run_id": batch.run_id, "created_at": prov.created_at,
                },
                reject=None if reject is None else {**reject.row(), "run_id": batch.run_id},
                masked_spans=context.n_masked_spans,
            )
        return out


@dataclass(slots=True)
class DecidedRows:
    """What the batch task returns: the rows to store per table (Arrow, in the warehouse schemas)
    and what was done."""

    tables: dict[str, pa.Table]
    summary: LeakageSummary
    encoded: EncodedCount | None = None  # the cache's count over the task (None: nothing scored)


def leakage_rows(resources: BuildResources, batch: LeakageBatch) -> DecidedRows:
    """Score what has no scores and decide everything in ``batch.todo``: the per-item rows to store
    (dataset flags come from :mod:`mmrare.flows.leakage_dataset`).

    Detection hands its items out in waves (:class:`~mmrare.leakage.detect.DetectionWaves`); each
    wave is decided and turned into Arrow rows at once, while the encoder still embeds the next waves'
    texts, instead of all of it after the last text. The rows come out in ``batch.todo`` order.
    """
    cfg = resources.cfg
    summary = LeakageSummary()
    todo = batch.todo
    have = {s.basis for s in batch.stored}
    to_score = [e for e in todo if e.basis not in have]
    prov = batch.provenance
    matchers: dict[Any, Any] = {}
    detection: DetectionWaves | None = None
    if to_score:
        embedder = resources.leakage_embeddings()
        prov.require_model(embedder)
        encoded_before = embedder.encoded
        detection = DetectionWaves(to_score, embedder)
        matchers = detection.matchers.by_key  # filled before the first wave: decide reuses them
    maker = _RowMaker(batch, cfg.thresholds, prov, matchers)
    schemas = batch.schemas
    decided = _OrderedTables(todo, schemas, prov)
    with python_work():  # beside the encoder (the draft stage's texts), not after its last text
        descriptors = [e.descriptor.row(e.item.item_id, prov.ordo_version) for e in todo]
        descriptor_table = rows_table("leakage_descriptors", descriptors, schemas["leakage_descriptors"])
        tables = {"leakage_descriptors": descriptor_table}
        del descriptors
    for wave in detection or ():
        with python_work():  # the encoder, on the next waves' texts, leaves this core to the decisions
            decided.add(maker.rows(wave.entries, [s for scores in wave.scores for s in scores], True))
    if detection is not None:
        summary.scored = len(to_score)
        summary.texts_embedded = detection.texts_embedded
    stored_entries = [e for e in todo if e.basis in have]
    if stored_entries:
        decided.add(maker.rows(stored_entries, batch.stored, False))
    matchers.clear()  # compiled matchers of every item: the largest thing held here, not needed again
    tables.update(decided.tables())
    for entry in todo:
        reject, masked_spans = decided.outcomes[entry.item.item_id]
        summary.masked_spans += masked_spans
        if reject is None:
            summary.kept += 1
        else:
            summary.dropped += 1
            line = f"leakage: {reject['record_id']}: {reject['reason']} ({reject['detail']})"
            summary.reject_lines.append(line)
    del decided
    encoded = EncodedCount.since(resources.embeddings, encoded_before) if to_score else None
    return DecidedRows(tables, summary, encoded)


@task(name="leakage-control", cache_policy=NO_CACHE, task_run_name="leakage-{run_id}")
def leakage_batch(
    resources: Sealed[BuildResources], batch: Sealed[LeakageBatch], run_id: str
) -> DecidedRows:
    """One Prefect task for the batch (one embed call); its state shows in the flow run."""
    return leakage_rows(resources.value, batch.value)


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
    add_counts(summary.rows_added, load_stage(con, shard_root, LEAKAGE_TABLES))  # interrupted run
    index = resources.ordo
    diagnoses = stage_diagnoses(con, cfg, index)
    drafter_version = get_drafter(cfg.drafting.drafter).version
    contents = current_items(con, sorted(diagnoses), drafter_version)
    versions = {
        "ordo_sha256": index.release.sha256, "link": cfg.stage_hash("link"),
        "leakage": cfg.stage_hash("leakage"), "policy_sha256": policy.sha256, "detector": DETECTOR_VERSION,
    }
    with python_work():  # the encoder (drafted texts still queued) leaves this core to descriptors
        keys = {i: leakage_work_key(i, sha, versions) for i, sha in contents.items()}
        done = done_stage_keys(con, "leakage", keys.values())
        pending = [i for i in contents if keys[i] not in done]
        inputs = leakage_inputs(con, index, load_items(con, pending))
    summary.items = len(contents)
    decided_before = decided_keys(con, policy, cfg.stage_hash("leakage")) if inputs else set()
    todo = [e for e in inputs if (e.item.item_id, e.basis) not in decided_before]
    summary.decided = len(todo)
    logger.info("leakage control: %d items, %d to decide", len(contents), len(todo))
    if todo:
        stored = stored_scores(con, sorted({e.basis for e in todo}))
        have = {s.basis for s in stored}
        # the dataset checks run only when something is scored: items decided again from stored
        # scores (a changed threshold) were checked when they were scored
        check = any(e.basis not in have for e in todo)
        checked = checked_items(con, list(contents), [e.item for e in todo]) if check else []
        phashes = image_phashes(con, checked) if check else {}
        # one provenance for the run's decisions, contexts, scores and flags, whichever task makes them
        prov = Provenance.for_run(
            resources.leakage_embeddings(), policy, ordo_version=index.release.version,
            config_hash=cfg.stage_hash("leakage"), code_version=code_version(),
        )
        batch = LeakageBatch(
            todo=todo, stored=stored, policy=policy, provenance=prov, run_id=run_id,
            work_keys={e.item.item_id: keys[e.item.item_id] for e in todo}, versions=versions,
            schemas=arrow_schemas(con, LEAKAGE_TABLES),
        )
        checks = None
        if check:
            # items decided in earlier runs were checked then (their flags are stored): check the
            # new ones against everything instead of everything against everything again
            focus = None if len(todo) == len(checked) else frozenset(e.item.item_id for e in todo)
            dataset_batch = DatasetBatch(
                items=checked, focus=focus, phashes=phashes, policy=policy, provenance=prov,
                schema=batch.schemas["dataset_flags"],
            )
        with stage_progress("leakage", 1, show_progress) as advance:
            future = leakage_batch.submit(resources=Sealed(resources), batch=Sealed(batch), run_id=run_id)
            if check:  # beside detection: the checks read no decision
                checks = dataset_checks_task.submit(
                    resources=Sealed(resources), batch=Sealed(dataset_batch), run_id=run_id
                )
            decided = future.result()
            advance(f"{len(todo)} items decided")
        for name in ("scored", "texts_embedded", "kept", "dropped", "masked_spans"):
            setattr(summary, name, getattr(decided.summary, name))
        summary.reject_lines += decided.summary.reject_lines
        counts = [decided.encoded]
        with TableLoad(con) as load:  # decisions and their flags are committed together or not at all
            with section("load"):
                load.add(decided.tables)  # while the checks run
            flags: dict[str, pa.Table] = {}
            if checks is not None:
                outcome = checks.result()
                summary.flags, summary.blind_solver = outcome.flagged, outcome.blind_solver
                counts.append(outcome.encoded)
                flags["dataset_flags"] = outcome.flags
            with section("load") as timed:
                load.add(flags)
                load.commit()
                timed.items += sum(load.added.values())
        summary.encoded = encoded_during(counts)
        add_counts(summary.rows_added, load.added)
    return summary
