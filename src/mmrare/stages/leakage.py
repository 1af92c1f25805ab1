"""Leakage control as a batch stage: detectors score, the policy decides, everything is stored.

Two ledgers make a threshold change cheap: scores are keyed by the item's *basis* (context, options
and answer descriptor) and detector version, decisions by (item, basis, policy sha256, leakage stage
hash). A new draft is scored once; a changed threshold or policy re-decides from the stored scores
and embeds nothing. Which items need work at all comes from a ``stage_work`` row per item, keyed by
its content and everything its descriptor is made from, so a top-up builds descriptors for the new
items only.

The items to decide are cut into chunks of whole cases (``[build] chunk_cases``), decided and stored
one chunk after the other, so memory holds one chunk's drafts, texts and rows, whatever the corpus.
A chunk is checked like a top-up: dataset-level checks (same-case pairs, near-duplicate contexts,
duplicate images, blind solver) run whenever new items were scored, the chunk's items against every
item decided before it (in earlier runs or earlier chunks), reading those as light records and
their context vectors from a content-keyed store. Each chunk is one unit: its decisions and flags
are committed together or not at all, and an interrupted run goes on from the next chunk.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mmrare.annotations.drafting import get_drafter
from mmrare.items import QAItem
from mmrare.leakage import DEFAULT_POLICY, LeakageInput, LeakageScore, Policy, Provenance, decide, detect
from mmrare.leakage.dataset import CheckedItem, DatasetItem, dataset_checks, graphic_ids
from mmrare.leakage.scores import DETECTOR_VERSION
from mmrare.stages.base import Rows
from mmrare.stages.descriptors import ContextVectors, leakage_inputs
from mmrare.stages.draft import stage_diagnoses
from mmrare.versions import code_version
from mmrare.warehouse.queries import leakage as queries
from mmrare.warehouse.reads import done_stage_keys

if TYPE_CHECKING:
    import duckdb

    from mmrare.stages.resources import BuildResources

LEAKAGE_TABLES = (
    "leakage_descriptors",
    "leakage_scores",
    "leakage_decisions",
    "leakage_contexts",
    "dataset_flags",
    "rejects",
    "stage_work",
)


@dataclass(slots=True)
class LeakageSummary:
    """What leakage control did, for the run record and the CLI."""

    items: int = 0
    decided: int = 0
    scored: int = 0
    texts_embedded: int = 0
    kept: int = 0
    dropped: int = 0
    masked_spans: int = 0
    flags: dict[str, int] = field(default_factory=dict)
    reject_lines: list[str] = field(default_factory=list)

    def add(self, chunk: LeakageSummary) -> None:
        """Count one chunk's work into the run's."""
        self.decided += chunk.decided
        self.scored += chunk.scored
        self.texts_embedded += chunk.texts_embedded
        self.kept += chunk.kept
        self.dropped += chunk.dropped
        self.masked_spans += chunk.masked_spans
        for flag, n in chunk.flags.items():
            self.flags[flag] = self.flags.get(flag, 0) + n
        self.reject_lines += chunk.reject_lines

    def counts(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "decided": self.decided,
            "scored": self.scored,
            "texts_embedded": self.texts_embedded,
            "kept": self.kept,
            "dropped": self.dropped,
            "masked_spans": self.masked_spans,
            "flags": self.flags,
        }


@dataclass(frozen=True, slots=True)
class LeakageBatch:
    """Everything one chunk of a leakage run decides, as plain data (picklable for a Dask worker)."""

    todo: list[LeakageInput]
    stored: list[LeakageScore]  # scores already stored for some of the bases
    checked: list[CheckedItem]  # the dataset checks' items; empty when nothing new was scored
    focus: frozenset[str] | None  # the items new to the checks; None when that is every item
    phashes: dict[str, str | None]
    policy: Policy
    provenance: Provenance  # of every row this run stores
    run_id: str
    work_keys: dict[str, str]
    versions: dict[str, str]
    items: int  # current items, decided or not


def leakage_work_key(item_id: str, content_sha256: str, versions: dict[str, str]) -> str:
    """sha256 of the item's content and of everything its descriptor and decision are made from."""
    payload = json.dumps([item_id, content_sha256, versions], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def checked_items(
    con: duckdb.DuckDBPyConnection, item_ids: list[str], todo: list[QAItem]
) -> list[CheckedItem]:
    """The dataset checks' items in the order of ``item_ids``: the drafts to decide as loaded, the
    others as light :class:`DatasetItem` records (all the checks read of them)."""
    loaded: dict[str, CheckedItem] = {i.item_id: i for i in todo}
    if len(loaded) < len(item_ids):
        others = queries.light_items(con, [i for i in item_ids if i not in loaded])
        loaded.update({row[0]: DatasetItem(*row) for row in others})
    return [loaded[i] for i in item_ids if i in loaded]


@dataclass(frozen=True, slots=True)
class LeakagePlan:
    """What one leakage run has to do: the items to decide in chunks of whole cases, and the items
    decided in earlier runs that the chunks are checked against."""

    chunks: list[list[str]]
    decided_before: list[str]
    work_keys: dict[str, str]
    versions: dict[str, str]
    items: int  # current items, decided or not
    policy: Policy


def leakage_plan(
    con: duckdb.DuckDBPyConnection, resources: BuildResources, policy: Policy = DEFAULT_POLICY
) -> LeakagePlan:
    """The current drafts not yet decided under this policy and these settings, cut into chunks of
    at most ``[build] chunk_cases`` cases (in PMCID order, items in id order within a chunk)."""
    cfg = resources.cfg
    index = resources.ordo
    diagnoses = stage_diagnoses(con, cfg, index)
    contents = queries.current_items(con, sorted(diagnoses), get_drafter(cfg.drafting.drafter).version)
    versions = {
        "ordo_sha256": index.release.sha256,
        "link": cfg.stage_hash("link"),
        "leakage": cfg.stage_hash("leakage"),
        "policy_sha256": policy.sha256,
        "detector": DETECTOR_VERSION,
    }
    keys = {i: leakage_work_key(i, sha, versions) for i, (sha, _) in contents.items()}
    done = done_stage_keys(con, "leakage", keys.values())
    by_case: dict[str, list[str]] = {}
    for item_id, (_, pmcid) in contents.items():
        if keys[item_id] not in done:
            by_case.setdefault(pmcid, []).append(item_id)
    cases = sorted(by_case)
    step = cfg.build.chunk_cases
    chunks = [sorted(i for p in cases[n : n + step] for i in by_case[p]) for n in range(0, len(cases), step)]
    return LeakagePlan(
        chunks=chunks,
        decided_before=[i for i in contents if keys[i] in done],
        work_keys={i: keys[i] for chunk in chunks for i in chunk},
        versions=versions,
        items=len(contents),
        policy=policy,
    )


def pending_batch(
    con: duckdb.DuckDBPyConnection,
    resources: BuildResources,
    plan: LeakagePlan,
    chunk: list[str],
    checked_against: list[str],
    run_id: str,
) -> LeakageBatch | None:
    """One chunk of ``plan`` to decide (None: all of it was decided already), its dataset checks run
    against ``checked_against``: the items decided before it."""
    index = resources.ordo
    policy = plan.policy
    leakage_hash = plan.versions["leakage"]
    inputs = leakage_inputs(con, index, queries.load_items(con, chunk))
    decided_before = queries.decided_keys(con, policy.sha256, leakage_hash, chunk) if inputs else set()
    todo = [e for e in inputs if (e.item.item_id, e.basis) not in decided_before]
    if not todo:
        return None
    bases = sorted({e.basis for e in todo})
    stored = [LeakageScore.from_row(r) for r in queries.score_rows(con, bases, DETECTOR_VERSION)]
    have = {s.basis for s in stored}
    # the dataset checks run only when something is scored: items decided again from stored scores
    # (a changed threshold) were checked when they were scored
    check = any(e.basis not in have for e in todo)
    checked = checked_items(con, sorted([*checked_against, *chunk]), [e.item for e in todo]) if check else []
    return LeakageBatch(
        todo=todo,
        stored=stored,
        checked=checked,
        # items decided before were checked then: check the new ones against everything
        focus=None if len(todo) == len(checked) else frozenset(e.item.item_id for e in todo),
        phashes=queries.image_phashes(con, sorted({g for i in checked for g in graphic_ids(i)})),
        policy=policy,
        provenance=Provenance.for_run(
            resources.embeddings,
            policy,
            ordo_version=index.release.version,
            config_hash=leakage_hash,
            code_version=code_version(),
        ),
        run_id=run_id,
        work_keys={e.item.item_id: plan.work_keys[e.item.item_id] for e in todo},
        versions=plan.versions,
        items=plan.items,
    )


def run_batch(batch: LeakageBatch, resources: BuildResources) -> tuple[Rows, LeakageSummary]:
    """Score what has no scores, decide every item of the batch, run the dataset checks: the rows to
    store per table and what was done."""
    summary = LeakageSummary(items=batch.items, decided=len(batch.todo))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmrare-dataset-checks") as pool:
        # the checks read the drafts, never a decision: they run beside detection, and the encoder
        # takes the texts of both as they come
        checks = pool.submit(_dataset_flags, batch, resources, summary) if batch.checked else None
        rows = _decided_rows(batch, resources, summary)
        if checks is not None:
            rows["dataset_flags"] = checks.result()
    return rows, summary


def _decided_rows(batch: LeakageBatch, resources: BuildResources, summary: LeakageSummary) -> Rows:
    """Score what has no scores and decide every item: the per-item rows."""
    prov = batch.provenance
    have = {s.basis for s in batch.stored}
    to_score = [e for e in batch.todo if e.basis not in have]
    scores = list(batch.stored)
    matchers: dict[Any, Any] = {}
    new_scores: list[LeakageScore] = []
    if to_score:
        prov.require_model(resources.embeddings)
        detection = detect(to_score, resources.embeddings)
        new_scores, matchers = detection.scores, detection.matchers
        summary.scored, summary.texts_embedded = len(to_score), detection.texts_embedded
    decided = decide(
        batch.todo, scores + new_scores, batch.policy, resources.cfg.thresholds, matchers=matchers
    )
    versions = json.dumps(batch.versions, sort_keys=True)
    rows: Rows = {
        "leakage_descriptors": [e.descriptor.row(e.item.item_id, prov.ordo_version) for e in batch.todo],
        "leakage_scores": [s.row(prov) for s in new_scores],
        "leakage_decisions": [d.row(prov) for d in decided.decisions],
        "leakage_contexts": [],
        "rejects": [],
        "stage_work": [],
    }
    for context in decided.contexts:
        rows["leakage_contexts"].append(context.row(prov))
        reject = context.reject(prov)
        summary.masked_spans += context.n_masked_spans
        if reject is None:
            summary.kept += 1
        else:
            summary.dropped += 1
            rows["rejects"].append({**reject.row(), "run_id": batch.run_id})
            summary.reject_lines.append(f"leakage: {reject.record_id}: {reject.reason} ({reject.detail})")
        rows["stage_work"].append(
            {
                "work_key": batch.work_keys[context.item_id],
                "stage": "leakage",
                "record_id": context.item_id,
                "versions": versions,
                "outcome": "kept" if reject is None else reject.reason,
                "run_id": batch.run_id,
                "created_at": prov.created_at,
            }
        )
    return rows


def _dataset_flags(
    batch: LeakageBatch, resources: BuildResources, summary: LeakageSummary
) -> list[dict[str, Any]]:
    """Every dataset check over the batch's items, reusing and storing context vectors by content."""
    embedder = resources.embeddings
    store = ContextVectors(resources.cache_dir / "context-vectors", embedder.model_sha256, embedder.dim)
    vector_keys = {i.item_id: store.key(i.context) for i in batch.checked}
    report = dataset_checks(
        batch.checked,
        embedder,
        batch.policy,
        phashes=batch.phashes,
        focus=batch.focus,
        known_vectors=store.get(vector_keys),
    )
    store.put(vector_keys, report.vectors)
    found = report.summary()
    summary.flags = found["flagged"]
    return [f.row(batch.provenance) for f in report.flags]
