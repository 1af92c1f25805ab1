"""Read-side queries that hand stored records to later stages (the orchestrator passes them on)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from mmrare.records import Figure, FigureMention, Graphic, Section, SectionRole, Sentence, stored_fields


@dataclass(frozen=True, slots=True)
class CaseText:
    """A case's title and its sentences in reading order, each with its section role."""

    pmcid: str
    title: str
    sentences: tuple[tuple[str, str, str], ...]  # (sentence_id, section role, text)


def current_case_ids(con: duckdb.DuckDBPyConnection, config_hash: str) -> list[str]:
    """Cases selected under this config (selection decisions are stored per config hash)."""
    rows = con.execute(
        "SELECT pmcid FROM cases WHERE config_hash = ? ORDER BY pmcid", [config_hash]
    ).fetchall()
    return [r[0] for r in rows]


def case_texts(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> list[CaseText]:
    """Title + ordered sentences of each case, in one query per table."""
    if not pmcids:
        return []
    wanted = list(pmcids)
    titles = dict(
        con.execute("SELECT pmcid, title FROM articles WHERE list_contains(?, pmcid)", [wanted]).fetchall()
    )
    rows = con.execute(
        "SELECT s.pmcid, s.sentence_id, sec.role, s.text FROM sentences s"
        " JOIN sections sec USING (section_id)"
        " WHERE list_contains(?, s.pmcid) ORDER BY s.pmcid, s.ordinal",
        [wanted],
    ).fetchall()
    by_case: dict[str, list[tuple[str, str, str]]] = {p: [] for p in wanted}
    for pmcid, sentence_id, role, text in rows:
        by_case[pmcid].append((sentence_id, role, text))
    return [CaseText(p, titles.get(p, ""), tuple(by_case[p])) for p in wanted]


@dataclass(frozen=True, slots=True)
class CaseRecords:
    """The stored curation records of one case, typed as the parser produced them."""

    pmcid: str
    title: str
    sections: tuple[Section, ...]
    sentences: tuple[Sentence, ...]
    figures: tuple[Figure, ...]
    graphics: tuple[Graphic, ...]
    mentions: tuple[FigureMention, ...]


_RECORD_QUERIES: dict[str, tuple[type, str]] = {
    "sections": (Section, "ordinal"),
    "sentences": (Sentence, "ordinal"),
    "figures": (Figure, "ordinal"),
    "graphics": (Graphic, "graphic_id"),
    "figure_mentions": (FigureMention, "sentence_id, figure_id"),
}


def case_records(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> list[CaseRecords]:
    """Typed records of each case (one query per table), in the order of ``pmcids``."""
    wanted = list(pmcids)
    if not wanted:
        return []
    titles = dict(
        con.execute("SELECT pmcid, title FROM articles WHERE list_contains(?, pmcid)", [wanted]).fetchall()
    )
    per_table: dict[str, dict[str, list[Any]]] = {}
    for table, (cls, order) in _RECORD_QUERIES.items():
        names = list(stored_fields(cls))
        cols = ", ".join(f'"{n}"' for n in names)
        rows = con.execute(
            f"SELECT {cols} FROM {table} WHERE list_contains(?, pmcid) ORDER BY pmcid, {order}", [wanted]
        ).fetchall()
        grouped: dict[str, list[Any]] = {p: [] for p in wanted}
        for row in rows:
            values = dict(zip(names, row, strict=True))
            if cls is Section:
                values["role"] = SectionRole(values["role"])
            grouped[values["pmcid"]].append(cls(**values))
        per_table[table] = grouped
    return [
        CaseRecords(
            pmcid=p,
            title=titles.get(p, ""),
            sections=tuple(per_table["sections"][p]),
            sentences=tuple(per_table["sentences"][p]),
            figures=tuple(per_table["figures"][p]),
            graphics=tuple(per_table["graphics"][p]),
            mentions=tuple(per_table["figure_mentions"][p]),
        )
        for p in wanted
    ]


@dataclass(frozen=True, slots=True)
class StoredDiagnosis:
    """A case's current ORDO diagnosis row (``case_diagnoses``)."""

    pmcid: str
    code: str
    label: str
    evidence_sentence_ids: tuple[str, ...]
    ordo_sha256: str
    linker_version: str
    statement_sentence_id: str | None = None  # the sentence stating the final diagnosis


def current_diagnoses(
    con: duckdb.DuckDBPyConnection, curation_hash: str, link_hash: str, ordo_sha256: str
) -> dict[str, StoredDiagnosis]:
    """Cases selected under ``curation_hash`` with a rare-disease diagnosis linked under ``link_hash``
    and this ORDO file (the latest row when several linker versions ran)."""
    rows = con.execute(
        "SELECT d.pmcid, d.code, d.label, d.evidence_sentence_ids, d.ordo_sha256, d.linker_version,"
        " d.statement_sentence_id"
        " FROM case_diagnoses d JOIN cases c ON c.pmcid = d.pmcid AND c.config_hash = ?"
        " WHERE d.config_hash = ? AND d.ordo_sha256 = ? AND d.code IS NOT NULL"
        " QUALIFY row_number() OVER (PARTITION BY d.pmcid ORDER BY d.created_at DESC) = 1"
        " ORDER BY d.pmcid",
        [curation_hash, link_hash, ordo_sha256],
    ).fetchall()
    return {
        r[0]: StoredDiagnosis(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5], r[6]) for r in rows
    }


def done_stage_keys(con: duckdb.DuckDBPyConnection, stage: str, keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` the ``stage_work`` ledger already holds for ``stage``."""
    wanted = list(keys)
    if not wanted:
        return set()
    rows = con.execute(
        "SELECT work_key FROM stage_work WHERE stage = ? AND list_contains(?, work_key)", [stage, wanted]
    ).fetchall()
    return {r[0] for r in rows}
