"""What leakage control reads: the current drafts, the facts their answer descriptors are made of,
the scores and decisions already stored, and what an audit shows of them.

Rows come back from DuckDB in no fixed order without ORDER BY (two builds of the same corpus return
them differently), so every read that feeds a decision has one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from mmrare.items import QAItem

# the order the build decides scores in; every read of scores uses it
SCORE_ORDER = " ORDER BY item_id, coalesce(start, -1), detector, score_id"


def _dicts(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def current_items(
    con: duckdb.DuckDBPyConnection, pmcids: Sequence[str], drafter_version: str
) -> dict[str, tuple[str, str]]:
    """item_id -> (content_sha256, pmcid) of the drafts of these cases by this drafter version, in
    item id order."""
    if not pmcids:
        return {}
    rows = con.execute(
        "SELECT item_id, content_sha256, pmcid FROM qa_items"
        " WHERE pmcid IN (SELECT unnest(?)) AND drafter_version = ? ORDER BY item_id",
        [list(pmcids), drafter_version],
    ).fetchall()
    return {item_id: (sha, pmcid) for item_id, sha, pmcid in rows}


def load_items(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> list[QAItem]:
    """Stored drafts as :class:`QAItem`, in the order of ``item_ids``."""
    wanted = list(item_ids)
    if not wanted:
        return []
    cur = con.execute("SELECT * FROM qa_items WHERE list_contains(?, item_id)", [wanted])
    names = [d[0] for d in cur.description]
    rows = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    evidence: dict[str, list[dict[str, Any]]] = {i: [] for i in wanted}
    for item_id, kind, ref_id, ordinal in con.execute(
        "SELECT item_id, kind, ref_id, ordinal FROM qa_evidence WHERE list_contains(?, item_id)", [wanted]
    ).fetchall():
        evidence[item_id].append({"kind": kind, "ref_id": ref_id, "ordinal": ordinal})
    return [QAItem.from_row(rows[i], evidence[i]) for i in wanted if i in rows]


def light_items(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """(item_id, track, question_type, pmcid, context, graphic ids) of stored drafts, in the order of
    ``item_ids``: what the dataset checks compare new items with, without loading whole drafts."""
    wanted = list(item_ids)
    if not wanted:
        return []
    rows = con.execute(
        "SELECT item_id, track, question_type, pmcid, context,"
        " CAST(json_extract_string(images, '$[*].graphic_id') AS VARCHAR[]) FROM qa_items"
        " WHERE item_id IN (SELECT unnest(?))",
        [wanted],
    ).fetchall()
    found = {r[0]: (*r[:5], tuple(r[5] or ())) for r in rows}
    return [found[i] for i in wanted if i in found]


def case_sentences(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> dict[str, dict[str, str]]:
    """pmcid -> {sentence_id: text} in reading order."""
    out: dict[str, dict[str, str]] = {p: {} for p in pmcids}
    for pmcid, sid, text in con.execute(
        "SELECT pmcid, sentence_id, text FROM sentences"
        " WHERE list_contains(?, pmcid) ORDER BY pmcid, ordinal",
        [list(pmcids)],
    ).fetchall():
        out[pmcid][sid] = text
    return out


def case_abbreviations(
    con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """pmcid -> [(code, short form)] of every abbreviation mention the linker stored."""
    out: dict[str, list[tuple[str, str]]] = {p: [] for p in pmcids}
    for pmcid, code, text in con.execute(
        "SELECT DISTINCT pmcid, code, text FROM disease_mentions"
        " WHERE match_kind = 'abbreviation' AND pmcid IN (SELECT unnest(?)) ORDER BY pmcid, text",
        [list(pmcids)],
    ).fetchall():
        out[pmcid].append((code, text))
    return out


def figure_texts(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """figure_id -> (label, caption title + text)."""
    rows = con.execute(
        "SELECT figure_id, label, caption_title, caption_text FROM figures WHERE list_contains(?, pmcid)",
        [list(pmcids)],
    ).fetchall()
    return {fid: (label, " ".join(p for p in (title, text) if p).strip()) for fid, label, title, text in rows}


def image_phashes(con: duckdb.DuckDBPyConnection, graphic_ids: Sequence[str]) -> dict[str, str | None]:
    """graphic_id -> perceptual hash, for the duplicate-image check."""
    if not graphic_ids:
        return {}
    rows = con.execute(
        "SELECT graphic_id, phash FROM graphics WHERE list_contains(?, graphic_id)", [sorted(graphic_ids)]
    )
    return dict(rows.fetchall())


def decided_keys(
    con: duckdb.DuckDBPyConnection, policy_sha256: str, leakage_hash: str, item_ids: Sequence[str]
) -> set[tuple[str, str]]:
    """(item_id, basis) pairs of these items already decided under this policy and these settings."""
    rows = con.execute(
        "SELECT item_id, basis FROM leakage_contexts WHERE policy_sha256 = ? AND config_hash = ?"
        " AND item_id IN (SELECT unnest(?))",
        [policy_sha256, leakage_hash, list(item_ids)],
    ).fetchall()
    return {(r[0], r[1]) for r in rows}


def score_rows(
    con: duckdb.DuckDBPyConnection, bases: Sequence[str], detector_version: str | None = None
) -> list[dict[str, Any]]:
    """Stored score rows of these bases (of one detector version when given), in decision order."""
    if not bases:
        return []
    if detector_version is None:
        sql, args = "SELECT * FROM leakage_scores WHERE list_contains(?, basis)", [list(bases)]
    else:
        sql = "SELECT * FROM leakage_scores WHERE basis IN (SELECT unnest(?)) AND detector_version = ?"
        args = [list(bases), detector_version]
    return _dicts(con.execute(sql + SCORE_ORDER, args))


def latest_context(con: duckdb.DuckDBPyConnection, item_id: str) -> dict[str, Any] | None:
    """The item's latest ``leakage_contexts`` row."""
    rows = _dicts(
        con.execute(
            "SELECT * FROM leakage_contexts WHERE item_id = ? ORDER BY created_at DESC LIMIT 1", [item_id]
        )
    )
    return rows[0] if rows else None


def latest_descriptor(con: duckdb.DuckDBPyConnection, item_id: str) -> str | None:
    """The JSON of the item's descriptor (the last by sha256 when several were stored)."""
    rows = con.execute(
        "SELECT descriptor FROM leakage_descriptors WHERE item_id = ? ORDER BY descriptor_sha256", [item_id]
    ).fetchall()
    return rows[-1][0] if rows else None


def item_score_rows(con: duckdb.DuckDBPyConnection, item_id: str, basis: str) -> list[dict[str, Any]]:
    return _dicts(
        con.execute(
            "SELECT * FROM leakage_scores WHERE item_id = ? AND basis = ?" + SCORE_ORDER, [item_id, basis]
        )
    )


def item_decision_rows(con: duckdb.DuckDBPyConnection, context: dict[str, Any]) -> list[dict[str, Any]]:
    """The decisions behind one ``leakage_contexts`` row."""
    return _dicts(
        con.execute(
            "SELECT * FROM leakage_decisions WHERE item_id = ? AND basis = ? AND policy_sha256 = ?"
            " AND config_hash = ? ORDER BY coalesce(start, -1), detector",
            [context["item_id"], context["basis"], context["policy_sha256"], context["config_hash"]],
        )
    )


def item_flags(con: duckdb.DuckDBPyConnection, item_id: str) -> list[dict[str, Any]]:
    return _dicts(
        con.execute(
            "SELECT flag, other_item_id, ref, score, threshold, flagged FROM dataset_flags"
            " WHERE item_id = ? AND flagged ORDER BY flag, other_item_id",
            [item_id],
        )
    )


def decided_item_ids(con: duckdb.DuckDBPyConnection, track: str | None = None) -> list[str]:
    """Items with a stored leakage decision (of one track when given)."""
    rows = con.execute(
        "SELECT DISTINCT c.item_id FROM leakage_contexts c JOIN qa_items q USING (item_id)"
        " WHERE (CAST(? AS VARCHAR) IS NULL OR q.track = ?) ORDER BY 1",
        [track, track],
    ).fetchall()
    return [r[0] for r in rows]


def descriptors(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> dict[str, str]:
    """item_id -> descriptor JSON."""
    return dict(
        con.execute(
            "SELECT item_id, descriptor FROM leakage_descriptors WHERE list_contains(?, item_id)",
            [list(item_ids)],
        ).fetchall()
    )
