"""Read-side queries that hand stored records to later stages (the orchestrator passes them on)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb


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
