"""Release fixtures: a real warehouse built once per session from three sample articles in ../shared.

What the earlier stages really produce: curation rows from ``process_package`` (PMC7500000,
PMC6358579, PMC6358580: sections, sentences, decoded figures), the full ORDO 4.2 tables, a case
diagnosis per case (the gold codes of ../shared/pmc/MANIFEST.tsv, under the loaded ORDO file),
items drafted by the rules drafter, leakage control with the packaged encoder (masked contexts,
decisions, dataset flags) and double review through the review API: most items accepted by both
reviewers, one edited identically by both, one rejected by both, one left with a single review.
Tests copy the warehouse file before changing it; the session release is built from a copy too.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

from mmrare.annotations.drafting import build_pool, draft_case
from mmrare.annotations.review.annotators import add_annotator
from mmrare.annotations.review.queue import enqueue
from mmrare.annotations.review.records import EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.versions import get_version
from mmrare.config import FiguresConfig, SelectionConfig
from mmrare.curation.figures import decode_graphic
from mmrare.curation.jats import parse_jats
from mmrare.curation.process import PackageInput, package_content_sha256, process_package
from mmrare.items import CaseInput, DiagnosisInput, QAItem
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.rows import warehouse_rows
from mmrare.ontology.store import load_ordo
from mmrare.warehouse.db import connect
from mmrare.warehouse.release import BuildResult, LicencePolicy, ReleaseSettings, build_release
from mmrare.warehouse.shards import insert_rows

SHARED = Path(__file__).resolve().parents[4] / "shared"
PACKAGES = SHARED / "pmc" / "packages"
ORDO_FILE = SHARED / "ordo" / "ORDO_en_4.2.owl.gz"
CONFIG_HASH = "release-tests"
RUN_ID = "release-tests"
SEMANTIC = {"diagnosis": 0.62, "treatment": 0.65, "examination": 0.65, "cross_image": 0.70}

# Gold diagnosis per case (../shared/pmc/MANIFEST.tsv) and the sentence that states it.
CASES = {
    "PMC7500000": ("ORPHA:94080", "PMC7500000:sec5:p2:s6"),
    "PMC6358579": ("ORPHA:522037", "PMC6358579:sec2:p0:s8"),
    "PMC6358580": ("ORPHA:485631", "PMC6358580:sec3:p0:s0"),
}


@dataclass
class Facts:
    """What the fixture did to which item, so tests can assert on the release."""

    items: dict[str, QAItem] = field(default_factory=dict)
    accepted: set[str] = field(default_factory=set)
    edited: str = ""
    rejected: str = ""
    pending: str = ""
    dropped: set[str] = field(default_factory=set)
    flagged: str = ""  # the item given a text_answerable flag
    ordo_sha256: str = ""


def curate(pmcid: str) -> dict[str, list[dict]]:
    folder = PACKAGES / pmcid
    xml = folder / f"{pmcid}.xml"
    files = [f for f in folder.iterdir() if f != xml]
    pkg = PackageInput(pmcid, xml, folder, "local", package_content_sha256(xml, files))
    result = process_package(pkg, SelectionConfig(), FiguresConfig(), RUN_ID, CONFIG_HASH)
    assert result.outcome == "case", result.reason
    return result.rows


def diagnosis_input(index: OrdoIndex, code: str, evidence: str) -> DiagnosisInput:
    """The gold concept with ORDO siblings as distractors (what the link stage hands the drafter)."""
    siblings: list[str] = []
    for parent in index.parents(code):
        for child in index.children(parent):
            if child != code and child not in siblings and not index[child].obsolete:
                siblings.append(child)
    concept = index[code]
    return DiagnosisInput(
        code, concept.label, tuple(concept.synonyms), (evidence,),
        tuple((s, index[s].label) for s in siblings[:8]),
    )  # fmt: skip


def case_input(pmcid: str, diagnosis: DiagnosisInput) -> CaseInput:
    parsed = parse_jats(PACKAGES / pmcid / f"{pmcid}.xml", PACKAGES / pmcid)
    cfg = FiguresConfig()
    graphics = tuple(
        decode_graphic(g, max_pixels=cfg.max_pixels, max_bytes=cfg.max_bytes) for g in parsed.graphics
    )
    return CaseInput.from_parsed(dataclasses.replace(parsed, graphics=graphics), diagnosis)


def diagnosis_row(pmcid: str, diagnosis: DiagnosisInput, index: OrdoIndex) -> dict:
    return {
        "pmcid": pmcid, "ordo_sha256": index.release.sha256, "linker_version": "release-tests/1",
        "config_hash": CONFIG_HASH, "code": diagnosis.code, "label": diagnosis.label, "confidence": 1.0,
        "evidence_sentence_ids": json.dumps(list(diagnosis.evidence_sentence_ids)), "alternatives": "[]",
        "reason": "gold", "ordo_version": index.release.version, "embedding_model": None, "run_id": RUN_ID,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
    }  # fmt: skip


def leakage_rows(items: list[QAItem], cases: dict[str, CaseInput], cache_dir: Path, facts: Facts) -> dict:
    """Leakage control as the pipeline runs it: real detectors, encoder and dataset checks."""
    from mmrare.embedding import EmbeddingCache, load_encoder
    from mmrare.leakage import (
        DEFAULT_POLICY,
        AnswerDescriptor,
        DatasetFlag,
        LeakageInput,
        Provenance,
        dataset_checks,
        decide,
        detect,
    )  # fmt: skip

    texts = {s.sentence_id: s.text for c in cases.values() for s in c.sentences}
    inputs = [
        LeakageInput(
            i, AnswerDescriptor.for_item(i), {k: texts[k] for k in i.context_sentence_ids if k in texts}
        )
        for i in items
    ]
    cache = EmbeddingCache(cache_dir, load_encoder(threads=2))
    decided = decide(inputs, detect(inputs, cache).scores, DEFAULT_POLICY, SEMANTIC)
    prov = Provenance.for_run(cache, DEFAULT_POLICY, ordo_version="4.2", config_hash=CONFIG_HASH)
    facts.dropped = {c.item_id for c in decided.contexts if not c.kept}
    kept = [i for i in items if i.item_id not in facts.dropped]
    masked = {c.item_id: c.masked_context for c in decided.contexts}
    # No phashes: the sample figures are placeholders sharing one perceptual hash (MANIFEST.tsv), so the
    # duplicate-image check would flag every item; its resolution rule is tested in test_release_flags.
    report = dataset_checks(kept, cache, DEFAULT_POLICY, contexts=masked)
    # One deterministic unresolved finding: the blind solver's verdict on one item turned into a hit.
    facts.flagged = next(i.item_id for i in kept if i.track == "examination")
    hit = DatasetFlag(
        facts.flagged, "examination", "text_answerable", None, None, 0.3, 0.1, True, {"test": 1}
    )
    flags = [f for f in report.flags if (f.item_id, f.flag) != (hit.item_id, hit.flag)] + [hit]
    return {
        "leakage_decisions": [d.row(prov) for d in decided.decisions],
        "leakage_contexts": [c.row(prov) for c in decided.contexts],
        "dataset_flags": [f.row(prov) for f in flags],
    }


def review(con: duckdb.DuckDBPyConnection, facts: Facts) -> None:
    """Two reviewers: accept most, edit one identically, reject one, leave one with one review."""
    store = ReviewStore(con)
    add_annotator(store, "ana")
    add_annotator(store, "ben")
    add_annotator(store, "cleo", adjudicator=True)
    enqueue(store, 2)
    queued = sorted(i for i in facts.items if i not in facts.dropped)
    by_track = {t: [i for i in queued if facts.items[i].track == t] for t in ("diagnosis", "cross_image")}
    facts.edited = by_track["diagnosis"][0]
    facts.rejected = by_track["cross_image"][0]
    facts.pending = by_track["cross_image"][1]
    for item_id in queued:
        if item_id == facts.edited:
            with store.read() as cur:
                v = get_version(cur, item_id, 0)
            edit = EditInput(
                "Which rare disease best explains this presentation?", v.options, v.answer_index, v.aliases,
                v.evidence_sentence_ids, v.evidence_figure_ids, note="clearer question",
            )  # fmt: skip
            for who in ("ana", "ben"):
                submit_review(store, item_id=item_id, annotator=who, verdict="edit", edit=edit)
        elif item_id == facts.rejected:
            for who in ("ana", "ben"):
                submit_review(
                    store, item_id=item_id, annotator=who, verdict="reject", reject_reason="ambiguous"
                )
        elif item_id == facts.pending:
            submit_review(store, item_id=item_id, annotator="ana", verdict="accept")
        else:
            for who in ("ana", "ben"):
                submit_review(store, item_id=item_id, annotator=who, verdict="accept")
    facts.accepted = set(queued) - {facts.rejected, facts.pending}


@pytest.fixture(scope="session")
def ordo_index(tmp_path_factory: pytest.TempPathFactory) -> OrdoIndex:
    return load_ordo(ORDO_FILE, tmp_path_factory.mktemp("ordo-cache"))


@pytest.fixture(scope="session")
def warehouse_template(tmp_path_factory: pytest.TempPathFactory, ordo_index: OrdoIndex) -> tuple[Path, Facts]:
    """The session's warehouse file (tests copy it; see ``warehouse``) and what was done to it."""
    if not PACKAGES.exists():
        pytest.fail(f"{PACKAGES} is missing: tests need ../shared beside the project root")
    root = tmp_path_factory.mktemp("release-warehouse")
    path = root / "warehouse.duckdb"
    con = connect(path)
    facts = Facts(ordo_sha256=ordo_index.release.sha256)
    for table, rows in warehouse_rows(ordo_index).items():
        insert_rows(con, table, rows)
    cases: dict[str, CaseInput] = {}
    for pmcid, (code, evidence) in CASES.items():
        for table, rows in curate(pmcid).items():
            insert_rows(con, table, rows)
        diagnosis = diagnosis_input(ordo_index, code, evidence)
        insert_rows(con, "case_diagnoses", [diagnosis_row(pmcid, diagnosis, ordo_index)])
        cases[pmcid] = case_input(pmcid, diagnosis)
    pool = build_pool(cases.values())
    items = [i for c in cases.values() for i in draft_case(c, pool=pool).items]
    facts.items = {i.item_id: i for i in items}
    insert_rows(con, "qa_items", [i.row() for i in items])
    insert_rows(con, "qa_evidence", [e for i in items for e in i.evidence_rows()])
    insert_rows(con, "qa_distractors", [d for i in items for d in i.distractor_rows()])
    for table, rows in leakage_rows(items, cases, root / "embeddings", facts).items():
        insert_rows(con, table, rows)
    review(con, facts)
    con.close()
    return path, facts


@pytest.fixture(scope="session")
def facts(warehouse_template: tuple[Path, Facts]) -> Facts:
    return warehouse_template[1]


@pytest.fixture
def warehouse(tmp_path: Path, warehouse_template: tuple[Path, Facts]) -> Path:
    """A private copy of the session warehouse."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(warehouse_template[0], path)
    return path


@pytest.fixture
def con(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    c = connect(warehouse)
    yield c
    c.close()


def release_settings(**overrides: object) -> ReleaseSettings:
    """Two of the three sample articles are CC BY-NC-ND, which a release leaves out by default; the
    layout tests need all three, so they release them (flagged), as ``--include-no-derivatives`` does."""
    values: dict = {"policy": LicencePolicy.from_selection(SelectionConfig(), exclude_no_derivatives=False)}
    values.update(overrides)
    return ReleaseSettings(**values)  # type: ignore[arg-type]


def build(
    con: duckdb.DuckDBPyConnection, root: Path, version: str = "1.0.0", **overrides: object
) -> BuildResult:
    """Build ``version`` into ``root`` with the test config hash and thresholds."""
    return build_release(
        con,
        version,
        root,
        release_settings(**overrides),
        config_hash=CONFIG_HASH,
        semantic_thresholds=SEMANTIC,
    )


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory, warehouse_template: tuple[Path, Facts]) -> BuildResult:
    """Release 1.0.0 of the session warehouse (read-only for tests; copy it before changing it)."""
    root = tmp_path_factory.mktemp("release")
    path = root / "warehouse.duckdb"
    shutil.copy(warehouse_template[0], path)
    c = connect(path)
    try:
        return build(c, root / "releases")
    finally:
        c.close()


@pytest.fixture(scope="session")
def builder() -> object:
    """``builder(con, releases_root, version="1.0.0", **settings)`` (test modules cannot import conftest)."""
    return build
