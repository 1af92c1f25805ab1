"""Warehouse queries of a release build, each returning typed records (never loose tuples).

Everything a release says comes from stored rows: the accepted items (``accepted_items``, 006), the
articles and graphics behind them (001), the case diagnoses that name the ORDO file (003), the latest
leakage contexts and dataset flags (005) and earlier releases' split assignments (008).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from mmrare.items import QAItem
from mmrare.warehouse.release.records import ArticleInfo, Exclusion, ImageSource


def _json(value: Any) -> Any:
    """A DuckDB JSON column (text, or already decoded) as Python data."""
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in (_json(value) or ()))


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
    ).fetchone()
    return bool(row and row[0])


@dataclass(frozen=True, slots=True)
class AcceptedItem:
    """An item of the ``accepted_items`` view: its final reviewed version, as the one item record."""

    item: QAItem  # context is the leakage-masked one; question, options, answer, evidence the review's
    version: int


_ACCEPTED = (
    "SELECT a.item_id, a.item_version, a.track, a.question_type, a.pmcid, a.question, a.context,"
    " a.context_sentence_ids, a.images, a.options, a.answer_index, a.answer, a.aliases, a.orpha_code,"
    " a.answer_category, a.rationale, a.evidence_sentence_ids, a.evidence_figure_ids,"
    " q.drafter, q.drafter_version, q.seed, q.status"
    " FROM accepted_items a JOIN qa_items q USING (item_id) ORDER BY a.item_id"
)


def accepted_items(con: duckdb.DuckDBPyConnection) -> tuple[list[AcceptedItem], list[Exclusion]]:
    """Every accepted item at its final version, ordered by item id, and a ``malformed_item``
    exclusion for each row that breaks an item invariant (such a row is never released)."""
    cur = con.execute(_ACCEPTED)
    names = [d[0] for d in cur.description]
    items, malformed = [], []
    for values in cur.fetchall():
        row = dict(zip(names, values, strict=True))
        try:
            items.append(AcceptedItem(QAItem.from_row(row), int(row["item_version"])))
        except ValueError as exc:
            malformed.append(Exclusion(row["pmcid"], row["item_id"], "malformed_item", str(exc)))
    return items, malformed


def articles(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> dict[str, ArticleInfo]:
    rows = con.execute(
        "SELECT pmcid, version, pmid, doi, title, journal, year, licence, licence_url, licence_text, pub_date"
        " FROM articles WHERE list_contains(?, pmcid) ORDER BY pmcid",
        [list(pmcids)],
    ).fetchall()
    return {
        r[0]: ArticleInfo(r[0], int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], pub_date=r[10])
        for r in rows
    }


def image_sources(con: duckdb.DuckDBPyConnection, graphic_ids: Sequence[str]) -> dict[str, ImageSource]:
    rows = con.execute(
        "SELECT g.graphic_id, g.figure_id, g.pmcid, g.path, g.sha256, g.format, g.status,"
        " coalesce(f.label, '') FROM graphics g LEFT JOIN figures f USING (figure_id)"
        " WHERE list_contains(?, g.graphic_id)",
        [list(graphic_ids)],
    ).fetchall()
    return {r[0]: ImageSource(*r) for r in rows}


def retraction_rejects(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> dict[str, str]:
    """PMCIDs a later curation run rejected as retracted (source metadata), with the reject detail."""
    rows = con.execute(
        "SELECT record_id, min(detail) FROM rejects"
        " WHERE reason = 'retracted' AND list_contains(?, record_id) GROUP BY record_id",
        [list(pmcids)],
    ).fetchall()
    return {r[0]: r[1] for r in rows}


@dataclass(frozen=True, slots=True)
class DiagnosisRow:
    """A stored case diagnosis: which ORDO file (and embedding model, if any) named the case's disease."""

    pmcid: str
    code: str | None
    ordo_sha256: str
    ordo_version: str
    embedding_model: str | None
    created_at: datetime


def diagnoses(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> list[DiagnosisRow]:
    """Case diagnoses of these cases, newest first."""
    rows = con.execute(
        "SELECT pmcid, code, ordo_sha256, ordo_version, embedding_model, created_at FROM case_diagnoses"
        " WHERE list_contains(?, pmcid) ORDER BY created_at DESC, ordo_sha256, linker_version, config_hash",
        [list(pmcids)],
    ).fetchall()
    return [DiagnosisRow(*r) for r in rows]


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """The latest leakage context of an item: its reviewer flags and the versions that decided it."""

    item_id: str
    flags: tuple[str, ...]
    model_id: str
    model_sha256: str
    ordo_version: str
    config_hash: str
    policy_version: str
    policy_sha256: str
    basis: str
    n_masked_spans: int = 0
    n_dropped_sentences: int = 0


def latest_contexts(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> dict[str, ContextInfo]:
    rows = con.execute(
        "SELECT item_id, flags, model_id, model_sha256, ordo_version, config_hash, policy_version,"
        " policy_sha256, basis, n_masked_spans, dropped_sentence_ids FROM latest_leakage_contexts"
        " WHERE list_contains(?, item_id)",
        [list(item_ids)],
    ).fetchall()
    return {r[0]: ContextInfo(r[0], _strings(r[1]), *r[2:9], int(r[9]), len(_strings(r[10]))) for r in rows}


@dataclass(frozen=True, slots=True)
class DatasetFlagRow:
    """A dataset-level leakage finding of the item's latest dataset-check run."""

    item_id: str
    flag: str
    other_item_id: str | None
    ref: str | None
    threshold: float | None
    flagged: bool
    model_id: str
    model_sha256: str
    score: float = 0.0  # 1.0 | cosine | Hamming distance | blind-solver margin (> 0: solved)


def latest_dataset_flags(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> list[DatasetFlagRow]:
    """Flags of each item's latest dataset-check run (every run stores each item's nearest context)."""
    rows = con.execute(
        "SELECT item_id, flag, other_item_id, ref, threshold, flagged, model_id, model_sha256, score"
        " FROM dataset_flags WHERE list_contains(?, item_id)"
        " QUALIFY created_at = max(created_at) OVER (PARTITION BY item_id)"
        " ORDER BY item_id, flag, other_item_id, ref",
        [list(item_ids)],
    ).fetchall()
    return [DatasetFlagRow(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7], float(r[8])) for r in rows]


def item_score_maxima(
    con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]
) -> list[tuple[str, str, float]]:
    """(item_id, detector, highest score) of every detector on each item's latest leakage context:
    the distribution a validity report shows next to the thresholds in force."""
    rows = con.execute(
        "SELECT s.item_id, s.detector, max(s.score) FROM leakage_scores s"
        " JOIN latest_leakage_contexts c ON c.item_id = s.item_id AND c.basis = s.basis"
        " WHERE list_contains(?, s.item_id) GROUP BY s.item_id, s.detector ORDER BY 1, 2",
        [list(item_ids)],
    ).fetchall()
    return [(r[0], r[1], float(r[2])) for r in rows]


def distractor_reasons(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(item_id, reason) of every drafted distractor of these items (``qa_distractors``, 009)."""
    if not table_exists(con, "qa_distractors"):
        return []
    rows = con.execute(
        "SELECT item_id, reason FROM qa_distractors WHERE list_contains(?, item_id)"
        " ORDER BY item_id, ordinal",
        [list(item_ids)],
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def review_verdicts(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """``verdicts[item][annotator]`` of the released items reviewed at least twice."""
    if not table_exists(con, "reviews"):
        return {}
    rows = con.execute(
        "SELECT item_id, annotator, verdict FROM reviews WHERE list_contains(?, item_id)"
        " AND item_id IN (SELECT item_id FROM reviews GROUP BY item_id HAVING count(*) >= 2)"
        " ORDER BY item_id, annotator",
        [list(item_ids)],
    ).fetchall()
    out: dict[str, dict[str, str]] = {}
    for item_id, annotator, verdict in rows:
        out.setdefault(item_id, {})[annotator] = verdict
    return out


def decision_thresholds(
    con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]
) -> list[tuple[str, str, float]]:
    """Distinct (track, detector, threshold) the leakage policy applied to these items' latest contexts."""
    rows = con.execute(
        "SELECT DISTINCT d.track, d.detector, d.threshold FROM leakage_decisions d"
        " JOIN latest_leakage_contexts c ON c.item_id = d.item_id AND c.basis = d.basis"
        "  AND c.policy_sha256 = d.policy_sha256 AND c.config_hash = d.config_hash"
        " WHERE list_contains(?, d.item_id) AND d.threshold IS NOT NULL ORDER BY 1, 2, 3",
        [list(item_ids)],
    ).fetchall()
    return [(r[0], r[1], float(r[2])) for r in rows]


@dataclass(frozen=True, slots=True)
class OrdoTables:
    """The parts of one ORDO file the release needs: labels, synonyms and the hierarchy."""

    sha256: str
    version: str
    labels: dict[str, str]
    obsolete: frozenset[str]
    synonyms: dict[str, tuple[str, ...]]
    parents: dict[str, tuple[str, ...]]


def ordo_tables(con: duckdb.DuckDBPyConnection, sha256: str) -> OrdoTables | None:
    """One ORDO file's concepts, synonyms and parent edges (is_a and part_of), or None if not loaded."""
    concepts = con.execute(
        "SELECT code, label, obsolete, ordo_version FROM ordo_concepts WHERE ordo_sha256 = ?", [sha256]
    ).fetchall()
    if not concepts:
        return None
    synonyms: dict[str, list[str]] = {}
    for code, synonym in con.execute(
        "SELECT code, synonym FROM ordo_synonyms WHERE ordo_sha256 = ? ORDER BY code, synonym", [sha256]
    ).fetchall():
        synonyms.setdefault(code, []).append(synonym)
    parents: dict[str, list[str]] = {}
    for code, parent in con.execute(
        "SELECT DISTINCT code, parent FROM ordo_parents WHERE ordo_sha256 = ? ORDER BY code, parent", [sha256]
    ).fetchall():
        parents.setdefault(code, []).append(parent)
    return OrdoTables(
        sha256=sha256,
        version=str(concepts[0][3]),
        labels={r[0]: r[1] for r in concepts},
        obsolete=frozenset(r[0] for r in concepts if r[2]),
        synonyms={k: tuple(v) for k, v in synonyms.items()},
        parents={k: tuple(v) for k, v in parents.items()},
    )


def ordo_files(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(sha256, version) of every ORDO file loaded in the warehouse."""
    rows = con.execute(
        "SELECT DISTINCT ordo_sha256, ordo_version FROM ordo_concepts ORDER BY ordo_version, ordo_sha256"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def pinned_splits(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The split each case had in earlier releases (a case never moves between splits once released)."""
    if not table_exists(con, "release_items"):
        return {}
    rows = con.execute(
        "SELECT pmcid, min(split), count(DISTINCT split) FROM release_items GROUP BY pmcid ORDER BY pmcid"
    ).fetchall()
    return {r[0]: ("test" if r[2] > 1 else r[1]) for r in rows}


def pinned_positions(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], int]:
    """(item id, item version) -> where its answer sat in the latest release that has it: the same
    reviewed version keeps its place in a later release."""
    if not table_exists(con, "release_items"):
        return {}
    rows = con.execute(
        "SELECT i.item_id, i.item_version, i.answer_index FROM release_items i"
        " JOIN releases r USING (version) WHERE i.answer_index IS NOT NULL ORDER BY r.created_at, i.version"
    ).fetchall()
    return {(item_id, version): index for item_id, version, index in rows}  # the latest wins


def recorded_versions(con: duckdb.DuckDBPyConnection) -> set[str]:
    if not table_exists(con, "releases"):
        return set()
    return {r[0] for r in con.execute("SELECT version FROM releases").fetchall()}
