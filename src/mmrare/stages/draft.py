"""Drafting as a stage: diagnosed cases -> benchmark item drafts for four tracks.

Reads stored records back as typed :class:`~mmrare.items.CaseInput`, adds the ORDO diagnosis with
its aliases and distractor candidates and the case's clinical picture (the other cases diagnosed with
a disease of its differential or an ORDO sibling of its diagnosis, and the vectors that tell how close
each examination and treatment text lies to an item's context), and shares one cross-case distractor
pool with every chunk.
Work key: (pmcid, diagnosis, drafter version, drafting settings, ORDO sha256), kept in the
``stage_work`` ledger: an unchanged case is never drafted twice; a new drafter version drafts again
beside the old items.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from mmrare.annotations.drafting import draft_case, get_drafter
from mmrare.annotations.drafting.picture import option_texts, presentation_sentences
from mmrare.annotations.drafting.pool import case_pool_entries
from mmrare.config import Config, DraftingConfig
from mmrare.items import CaseInput, ClinicalPicture, DiagnosisInput, DistractorPool, PoolEntry, RelatedCase
from mmrare.ontology.distractors import diagnosis_distractors, related_diseases
from mmrare.stages.base import Done, Pending
from mmrare.warehouse.queries.draft import differential_codes, stored_pool
from mmrare.warehouse.reads import (
    CaseRecords,
    StoredDiagnosis,
    case_records,
    current_diagnoses,
    done_stage_keys,
)

if TYPE_CHECKING:
    import duckdb

    from mmrare.ontology.index import OrdoIndex
    from mmrare.stages.resources import BuildResources

MAX_RELATED_CASES = 100  # related cases handed to a case: far more than its few options need


def stage_diagnoses(
    con: duckdb.DuckDBPyConnection, cfg: Config, index: OrdoIndex
) -> dict[str, StoredDiagnosis]:
    """The diagnosed cases drafting and leakage control work on: selected under the current curation
    settings and linked under the current link settings and ORDO file."""
    return current_diagnoses(con, cfg.stage_hash("curation"), cfg.stage_hash("link"), index.release.sha256)


def draft_work_key(diag: StoredDiagnosis, drafter_version: str, drafting: DraftingConfig) -> str:
    """sha256 of everything that changes a case's drafts."""
    payload = json.dumps(
        [
            diag.pmcid,
            diag.code,
            diag.statement_sentence_id,
            diag.ordo_sha256,
            drafter_version,
            drafting.model_dump(mode="json"),
        ],
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def diagnosis_input(
    index: OrdoIndex, diag: StoredDiagnosis, drafting: DraftingConfig, resources: BuildResources | None
) -> DiagnosisInput:
    """Gold concept, its ORDO synonyms as aliases, the sentence stating the final diagnosis and
    distractor candidates (ORDO siblings, then embedding neighbours of the label)."""
    concept = index[diag.code]
    distractors = diagnosis_distractors(
        index,
        diag.code,
        drafting.diagnosis_distractor_candidates,
        neighbours=resources.neighbours if resources is not None else None,
        min_before_neighbours=drafting.options - 1,
    )
    return DiagnosisInput(
        code=diag.code,
        label=concept.label,
        aliases=tuple(concept.synonyms),
        evidence_sentence_ids=(diag.statement_sentence_id,) if diag.statement_sentence_id else (),
        distractors=tuple(distractors),
    )


def related_cases(
    related: Sequence[tuple[str, str, str]],
    pmcid: str,
    cases_by_code: Mapping[str, Sequence[str]],
    limit: int = MAX_RELATED_CASES,
) -> tuple[RelatedCase, ...]:
    """The other cases diagnosed with one of the ``related`` diseases ((relation, code, label), most
    related first, as :func:`~mmrare.ontology.distractors.related_diseases` gives them)."""
    out: list[RelatedCase] = []
    for relation, code, label in related:
        for other in cases_by_code.get(code, ()):
            if other != pmcid:
                out.append(RelatedCase(other, relation, code, label))
                if len(out) >= limit:
                    return tuple(out)
    return tuple(out)


@dataclass(frozen=True, slots=True)
class OptionVectors:
    """The normalised examination and treatment texts of a run and their unit vectors, one row each:
    embedded once per run (and read from the content-keyed cache on later runs), then compared with
    each item's context vector by one matrix-vector product."""

    rows: dict[str, int]
    matrix: np.ndarray

    @classmethod
    def embed(cls, texts: Sequence[str], encode: Callable[[Sequence[str]], np.ndarray]) -> OptionVectors:
        matrix = encode(list(texts)) if texts else np.zeros((0, 1), dtype=np.float32)
        return cls({t: i for i, t in enumerate(texts)}, np.asarray(matrix, dtype=np.float32))


def clinical_picture(
    case: CaseInput, code: str, shared: DraftShared, resources: BuildResources
) -> ClinicalPicture:
    """The case's related cases, the run's option vectors and the vectors of its presentation's
    sentences (embedded here, through the content-keyed cache)."""
    diseases = related_diseases(resources.ordo, code, shared.differentials.get(case.pmcid, ()))
    related = related_cases(diseases, case.pmcid, shared.cases_by_code)
    sentences = presentation_sentences(case)
    if not sentences or not shared.options.rows:
        return ClinicalPicture(related)
    vectors = resources.embeddings.embed([s.text for s in sentences])
    return ClinicalPicture(
        related,
        shared.options.rows,
        shared.options.matrix,
        {s.sentence_id: vectors[i] for i, s in enumerate(sentences)},
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


@dataclass(frozen=True, slots=True)
class DraftShared:
    """What every chunk of one draft run reads: the pool, the option texts' vectors, the cases of
    each diagnosis and, per case, its diagnosis, work key, own pool entries and differential codes."""

    drafter_version: str
    pool: DistractorPool
    diagnoses: dict[str, StoredDiagnosis]
    work_keys: dict[str, str]
    own_pools: dict[str, list[PoolEntry]]
    options: OptionVectors
    cases_by_code: dict[str, tuple[str, ...]]
    differentials: dict[str, tuple[str, ...]]


@dataclass(frozen=True, slots=True)
class DraftStage:
    """Diagnosed cases -> items, evidence, rejects, pool entries and the ledger row."""

    name: str = "draft"
    tables: tuple[str, ...] = (
        "qa_items", "qa_evidence", "qa_distractors", "rejects", "draft_pool", "stage_work"
    )  # fmt: skip

    def pending(self, con: duckdb.DuckDBPyConnection, resources: BuildResources) -> Pending[CaseRecords]:
        cfg = resources.cfg
        drafter_version = get_drafter(cfg.drafting.drafter).version
        diagnoses = stage_diagnoses(con, cfg, resources.ordo)
        keys = {p: draft_work_key(d, drafter_version, cfg.drafting) for p, d in diagnoses.items()}
        done = done_stage_keys(con, "draft", keys.values())
        todo = [p for p in diagnoses if keys[p] not in done]
        if not todo:
            return Pending(records=[], skipped_done=len(diagnoses))
        # the pool: stored entries of cases drafted before, computed entries of the new ones (read a
        # chunk at a time, like the drafting itself, so no more than a chunk of cases is in memory)
        own: dict[str, list[PoolEntry]] = {}
        step = cfg.build.chunk_cases
        for start in range(0, len(todo), step):
            for record in case_records(con, todo[start : start + step]):
                own[record.pmcid] = case_pool_entries(case_input(record, None))
        entries = stored_pool(con, [p for p in diagnoses if p not in own], drafter_version)
        entries += [e for p in sorted(own) for e in own[p]]
        pool = DistractorPool(tuple(sorted(entries, key=lambda e: e.pmcid)))
        options = OptionVectors.embed(option_texts(pool), resources.embeddings.embed)
        by_code: dict[str, list[str]] = {}
        for pmcid, diag in diagnoses.items():
            by_code.setdefault(diag.code, []).append(pmcid)
        mentioned = differential_codes(con, todo, resources.ordo.release.sha256)
        differentials = {
            p: tuple(dict.fromkeys(c for v, c in rows if v == diagnoses[p].linker_version))
            for p, rows in mentioned.items()
        }
        shared = DraftShared(
            drafter_version, pool, diagnoses, keys, own, options,
            {c: tuple(ps) for c, ps in by_code.items()}, differentials,
        )  # fmt: skip
        return Pending(records=todo, shared=shared, skipped_done=len(diagnoses) - len(todo))

    def load(self, con: duckdb.DuckDBPyConnection, keys: Sequence[str]) -> Sequence[CaseRecords]:
        return case_records(con, keys)

    def record_id(self, record: CaseRecords) -> str:
        return record.pmcid

    def run(self, record: CaseRecords, shared: DraftShared, resources: BuildResources, run_id: str) -> Done:
        drafting = resources.cfg.drafting
        dx = diagnosis_input(resources.ordo, shared.diagnoses[record.pmcid], drafting, resources)
        case = case_input(record, dx)
        case = dataclasses.replace(case, picture=clinical_picture(case, dx.code, shared, resources))
        result = draft_case(
            case,
            tracks=drafting.tracks,
            drafter=drafting.drafter,
            options=drafting.options,
            seed=drafting.seed,
            pool=shared.pool,
        )
        per_track: dict[str, int] = {}
        for item in result.items:
            per_track[item.track] = per_track.get(item.track, 0) + 1
        rows = {
            "qa_items": [item.row() for item in result.items],
            "qa_evidence": [row for item in result.items for row in item.evidence_rows()],
            "qa_distractors": [row for item in result.items for row in item.distractor_rows()],
            "rejects": [{**r.row(), "run_id": run_id} for r in result.rejects],
            "draft_pool": [
                {
                    "pmcid": e.pmcid,
                    "drafter_version": shared.drafter_version,
                    "ordinal": i,
                    "kind": e.kind,
                    "text": e.text,
                    "category": e.category,
                    "ref": e.ref,
                    "systems": ",".join(e.systems),
                }
                for i, e in enumerate(shared.own_pools[record.pmcid])
            ],
            "stage_work": [
                {
                    "work_key": shared.work_keys[record.pmcid],
                    "stage": "draft",
                    "record_id": record.pmcid,
                    "versions": json.dumps(
                        {"drafter": shared.drafter_version, **drafting.model_dump(mode="json")}
                    ),
                    "outcome": f"{len(result.items)} items, {len(result.rejects)} rejects",
                    "run_id": run_id,
                    "created_at": datetime.now(UTC),
                }
            ],
        }
        lines = [f"draft: {r['record_id']}: {r['reason']} ({r['detail']})" for r in rows["rejects"]]
        return Done(record.pmcid, "drafted", rows, counts=per_track, reject_lines=lines)


DRAFT = DraftStage()
