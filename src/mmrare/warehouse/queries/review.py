"""The review stage's SQL: annotators, the queue, reviews, item versions, adjudications and what the
item page reads.

Plain functions over a cursor the caller holds, returning tuples in the column order each one
names, or records of :mod:`mmrare.items`; the review package turns the tuples into its own records.
The transaction a write runs in is opened here too (:func:`transaction`), so the review package
never writes SQL, and the rule that says when an item is decided stays in SQL (006_review.sql).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import duckdb

from mmrare.items import QAItem

Cursor = duckdb.DuckDBPyConnection  # a connection or one of its cursors; the review package's type hint

# Column orders of the review package's records (each record's ``from_row`` reads this order).
VERSION_COLUMNS = (
    "item_id, version, based_on, question, options, answer_index, answer, aliases,"
    " evidence_sentence_ids, evidence_figure_ids, editor, note, content_sha256, created_at"
)
REVIEW_COLUMNS = (
    "item_id, annotator, verdict, item_version, result_version, reject_reason, comment, created_at"
)
ADJUDICATION_COLUMNS = (
    "adjudication_id, item_id, adjudicator, decision, item_version, reject_reason, note, created_at"
)
OUTCOME_COLUMNS = (
    "item_id, track, required_reviews, n_reviews, outcome, final_version, decided_by, decided_at, reopened_at"
)
REOPENING_COLUMNS = (
    "reopening_id, item_id, adjudicator, reason, outcome_before, version_before, decided_by_before,"
    " created_at"
)
_ANNOTATOR = "SELECT name, is_adjudicator, active FROM annotators"
_DECODED = "FROM graphics WHERE graphic_id = ? AND status = 'ok' AND path IS NOT NULL"


@contextmanager
def reading(con: Cursor) -> Iterator[Cursor]:
    """A cursor of its own (a separate connection to the same database) for queries; closed afterwards."""
    cur = con.cursor()
    try:
        yield cur
    finally:
        cur.close()


@contextmanager
def transaction(con: Cursor) -> Iterator[Cursor]:
    """A fresh cursor inside one transaction: commits when the block succeeds, else rolls back."""
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")
    finally:
        cur.close()


def _insert(cur: Cursor, table: str, row: dict[str, Any]) -> None:
    """Insert one record row (column names quoted: some are SQL keywords)."""
    cols = ", ".join(f'"{c}"' for c in row)
    marks = ", ".join("?" for _ in row)
    cur.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", list(row.values()))


def insert_annotator(cur: Cursor, row: dict[str, Any]) -> None:
    _insert(cur, "annotators", row)


def insert_item_version(cur: Cursor, row: dict[str, Any]) -> None:
    _insert(cur, "item_versions", row)


def insert_review(cur: Cursor, row: dict[str, Any]) -> None:
    _insert(cur, "reviews", row)


def insert_adjudication(cur: Cursor, row: dict[str, Any]) -> None:
    _insert(cur, "adjudications", row)


def insert_reopening(cur: Cursor, row: dict[str, Any]) -> None:
    _insert(cur, "reopenings", row)


# --- annotators -----------------------------------------------------------------------------------


def annotator_name_taken(cur: Cursor, name: str) -> bool:
    """Whether an annotator of this name exists, ignoring case (names differing only in case clash)."""
    return cur.execute("SELECT 1 FROM annotators WHERE lower(name) = lower(?)", [name]).fetchone() is not None


def set_token_sha256(cur: Cursor, name: str, sha256: str) -> bool:
    """Store a new token hash for ``name``; False when there is no such annotator."""
    if not cur.execute("SELECT 1 FROM annotators WHERE name = ?", [name]).fetchone():
        return False
    cur.execute("UPDATE annotators SET token_sha256 = ? WHERE name = ?", [sha256, name])
    return True


def annotator_by_token(cur: Cursor, sha256: str) -> tuple[Any, ...] | None:
    """(name, is_adjudicator, active) of the annotator whose token hashes to ``sha256``."""
    return cur.execute(f"{_ANNOTATOR} WHERE token_sha256 = ?", [sha256]).fetchone()


def annotator_by_name(cur: Cursor, name: str) -> tuple[Any, ...] | None:
    """(name, is_adjudicator, active) of ``name``, active or not."""
    return cur.execute(f"{_ANNOTATOR} WHERE name = ?", [name]).fetchone()


def annotators(cur: Cursor) -> list[tuple[Any, ...]]:
    """(name, is_adjudicator, active) of every annotator, by name."""
    return cur.execute(f"{_ANNOTATOR} ORDER BY name").fetchall()


def active_annotator_names(cur: Cursor) -> set[str]:
    return {r[0] for r in cur.execute("SELECT name FROM annotators WHERE active").fetchall()}


# --- drafted items and their versions -------------------------------------------------------------


def qa_item(cur: Cursor, item_id: str) -> QAItem | None:
    """The drafted item as stored in ``qa_items`` with its ``qa_evidence`` rows, or None."""
    found = cur.execute("SELECT * FROM qa_items WHERE item_id = ?", [item_id])
    names = [d[0] for d in found.description]
    row = found.fetchone()
    if row is None:
        return None
    evidence = cur.execute(
        "SELECT kind, ref_id, ordinal FROM qa_evidence WHERE item_id = ?", [item_id]
    ).fetchall()
    return QAItem.from_row(
        dict(zip(names, row, strict=True)), [{"kind": k, "ref_id": r, "ordinal": o} for k, r, o in evidence]
    )


def item_version(cur: Cursor, item_id: str, version: int) -> tuple[Any, ...] | None:
    """One version in :data:`VERSION_COLUMNS` order (version 0 falls back to the draft, see the view)."""
    return cur.execute(
        f"SELECT {VERSION_COLUMNS} FROM item_versions_all WHERE item_id = ? AND version = ?",
        [item_id, version],
    ).fetchone()


def item_versions(cur: Cursor, item_id: str) -> list[tuple[Any, ...]]:
    """Every version of an item in :data:`VERSION_COLUMNS` order, oldest first."""
    return cur.execute(
        f"SELECT {VERSION_COLUMNS} FROM item_versions_all WHERE item_id = ? ORDER BY version", [item_id]
    ).fetchall()


def has_stored_version0(cur: Cursor, item_id: str) -> bool:
    """Whether the draft was already copied into ``item_versions``."""
    return (
        cur.execute("SELECT 1 FROM item_versions WHERE item_id = ? AND version = 0", [item_id]).fetchone()
        is not None
    )


def last_version(cur: Cursor, item_id: str) -> int:
    """The highest stored version number of an item (0 when none is stored)."""
    row = cur.execute(
        "SELECT coalesce(max(version), 0) FROM item_versions WHERE item_id = ?", [item_id]
    ).fetchone()
    return int(row[0]) if row else 0


def case_sentence_ids(cur: Cursor, pmcid: str, sentence_ids: Sequence[str]) -> set[str]:
    """Which of ``sentence_ids`` are sentences of the article ``pmcid``."""
    rows = cur.execute(
        "SELECT sentence_id FROM sentences WHERE pmcid = ? AND list_contains(?, sentence_id)",
        [pmcid, list(sentence_ids)],
    ).fetchall()
    return {r[0] for r in rows}


# --- queue, reviews, outcomes, adjudications ------------------------------------------------------


def enqueue(cur: Cursor, required_reviews: int, now: datetime, tracks: list[str] | None) -> int:
    """Queue every drafted item not queued yet and not dropped by leakage (only ``tracks`` when
    given); returns how many were added."""
    before = cur.execute("SELECT count(*) FROM review_queue").fetchone()
    cur.execute(
        "INSERT INTO review_queue (item_id, required_reviews, enqueued_at)"
        " SELECT q.item_id, ?, ? FROM qa_items q"
        " LEFT JOIN latest_leakage_contexts lc USING (item_id)"
        " WHERE coalesce(lc.status, 'kept') <> 'dropped'"
        "   AND q.item_id NOT IN (SELECT item_id FROM review_queue)"
        "   AND (CAST(? AS VARCHAR[]) IS NULL OR list_contains(CAST(? AS VARCHAR[]), q.track))",
        [required_reviews, now, tracks, tracks],
    )
    after = cur.execute("SELECT count(*) FROM review_queue").fetchone()
    return int(after[0] if after else 0) - int(before[0] if before else 0)


def candidates(cur: Cursor, annotator: str) -> list[tuple[str, int, int]]:
    """(item_id, reviews so far, reviews required) of pending queued items ``annotator`` has not
    reviewed: items with more reviews first, then by queueing time, case, track and id."""
    rows = cur.execute(
        "SELECT o.item_id, o.n_reviews, o.required_reviews FROM review_outcomes o"
        " JOIN review_queue rq USING (item_id)"
        " JOIN qa_items q USING (item_id)"
        " WHERE o.outcome = 'pending' AND o.n_reviews < o.required_reviews"
        "   AND NOT EXISTS (SELECT 1 FROM reviews r WHERE r.item_id = o.item_id AND r.annotator = ?)"
        " ORDER BY o.n_reviews DESC, rq.enqueued_at, q.pmcid, q.track, o.item_id",
        [annotator],
    ).fetchall()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


def queue_state(cur: Cursor, item_id: str) -> tuple[int, int, str] | None:
    """(reviews so far, reviews required, outcome) of a queued item; None when it is not queued."""
    row = cur.execute(
        "SELECT o.n_reviews, o.required_reviews, o.outcome FROM review_outcomes o"
        " JOIN review_queue USING (item_id) WHERE item_id = ?",
        [item_id],
    ).fetchone()
    return None if row is None else (int(row[0]), int(row[1]), row[2])


def outcome(cur: Cursor, item_id: str) -> tuple[Any, ...] | None:
    """The item's ``review_outcomes`` row in :data:`OUTCOME_COLUMNS` order."""
    return cur.execute(
        f"SELECT {OUTCOME_COLUMNS} FROM review_outcomes WHERE item_id = ?", [item_id]
    ).fetchone()


def queued_outcomes(cur: Cursor, outcome: str | None = None) -> list[tuple[Any, ...]]:
    """``review_outcomes`` rows of queued items (only ``outcome`` when given), by track and item."""
    return cur.execute(
        f"SELECT {OUTCOME_COLUMNS} FROM review_outcomes"
        " WHERE item_id IN (SELECT item_id FROM review_queue)"
        " AND (CAST(? AS VARCHAR) IS NULL OR outcome = ?) ORDER BY track, item_id",
        [outcome, outcome],
    ).fetchall()


def has_reviewed(cur: Cursor, item_id: str, annotator: str) -> bool:
    return (
        cur.execute(
            "SELECT 1 FROM reviews WHERE item_id = ? AND annotator = ?", [item_id, annotator]
        ).fetchone()
        is not None
    )


def review(cur: Cursor, item_id: str, annotator: str) -> tuple[Any, ...] | None:
    """``annotator``'s review of an item in :data:`REVIEW_COLUMNS` order."""
    return cur.execute(
        f"SELECT {REVIEW_COLUMNS} FROM reviews WHERE item_id = ? AND annotator = ?", [item_id, annotator]
    ).fetchone()


def reviews(cur: Cursor, item_id: str) -> list[tuple[Any, ...]]:
    """Every review of an item in :data:`REVIEW_COLUMNS` order, oldest first."""
    return cur.execute(
        f"SELECT {REVIEW_COLUMNS} FROM reviews WHERE item_id = ? ORDER BY created_at, annotator",
        [item_id],
    ).fetchall()


def reviewed_pairs(cur: Cursor) -> set[tuple[str, str]]:
    """(item_id, annotator) of every review, to tell an import what is already stored."""
    return {(r[0], r[1]) for r in cur.execute("SELECT item_id, annotator FROM reviews").fetchall()}


def review_count(cur: Cursor, annotator: str) -> int:
    row = cur.execute("SELECT count(*) FROM reviews WHERE annotator = ?", [annotator]).fetchone()
    return int(row[0]) if row else 0


def double_review_verdicts(cur: Cursor) -> list[tuple[str, str, str, str]]:
    """(item_id, track, annotator, verdict) of every item with at least two reviews."""
    return cur.execute(
        "SELECT r.item_id, q.track, r.annotator, r.verdict FROM reviews r JOIN qa_items q USING (item_id)"
        " WHERE r.item_id IN (SELECT item_id FROM reviews GROUP BY item_id HAVING count(*) >= 2)"
        " ORDER BY r.item_id, r.annotator"
    ).fetchall()


def adjudications(cur: Cursor, item_id: str) -> list[tuple[Any, ...]]:
    """Every adjudication of an item in :data:`ADJUDICATION_COLUMNS` order, oldest first."""
    return cur.execute(
        f"SELECT {ADJUDICATION_COLUMNS} FROM adjudications WHERE item_id = ? ORDER BY created_at",
        [item_id],
    ).fetchall()


def reopenings(cur: Cursor, item_id: str) -> list[tuple[Any, ...]]:
    """Every reopening of an item in :data:`REOPENING_COLUMNS` order, oldest first."""
    return cur.execute(
        f"SELECT {REOPENING_COLUMNS} FROM reopenings WHERE item_id = ? ORDER BY created_at", [item_id]
    ).fetchall()


def adjudication_rows(cur: Cursor, outcomes: Sequence[str]) -> list[tuple[Any, ...]]:
    """What the adjudication list shows of queued items with one of ``outcomes``: (outcome row in
    :data:`OUTCOME_COLUMNS` order..., draft question, [(annotator, verdict, reject_reason)] oldest
    first, reason of the reopening that holds the item open or None), by track and item."""
    return cur.execute(
        f"SELECT {', '.join('o.' + c.strip() for c in OUTCOME_COLUMNS.split(','))},"
        " v.question,"
        " (SELECT list([r.annotator, r.verdict, r.reject_reason] ORDER BY r.created_at, r.annotator)"
        "  FROM reviews r WHERE r.item_id = o.item_id),"
        " (SELECT arg_max(x.reason, x.created_at) FROM reopenings x"
        "  WHERE x.item_id = o.item_id AND x.created_at = o.reopened_at)"
        " FROM review_outcomes o JOIN item_versions_all v ON v.item_id = o.item_id AND v.version = 0"
        " WHERE o.item_id IN (SELECT item_id FROM review_queue) AND list_contains(?, o.outcome)"
        " ORDER BY o.track, o.item_id",
        [list(outcomes)],
    ).fetchall()


# --- what the item page shows ---------------------------------------------------------------------


def sentence_texts(cur: Cursor, sentence_ids: Sequence[str]) -> dict[str, str]:
    """``sentence_id -> text`` of the given sentences that exist."""
    if not sentence_ids:
        return {}
    rows = cur.execute(
        "SELECT sentence_id, text FROM sentences WHERE list_contains(?, sentence_id)", [list(sentence_ids)]
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def figure_caption(cur: Cursor, figure_id: str) -> tuple[str, str] | None:
    """(label, caption title + text) of a figure."""
    return cur.execute(
        "SELECT label, trim(caption_title || ' ' || caption_text) FROM figures WHERE figure_id = ?",
        [figure_id],
    ).fetchone()


def decoded_graphic(cur: Cursor, graphic_id: str) -> tuple[str, str | None] | None:
    """(path, format) of a graphic registered as decoded (status ok, a file on disk), else None."""
    return cur.execute(f"SELECT path, format {_DECODED}", [graphic_id]).fetchone()


def latest_leakage_context(cur: Cursor, item_id: str) -> tuple[Any, ...] | None:
    """(masked_context, status, reason, flags, basis) of the item's latest leakage decision."""
    return cur.execute(
        "SELECT masked_context, status, reason, flags, basis FROM latest_leakage_contexts WHERE item_id = ?",
        [item_id],
    ).fetchone()


def leakage_decisions(cur: Cursor, item_id: str, basis: str) -> list[tuple[Any, ...]]:
    """(action, detector, reason, matched_text, score, threshold, sentence_id) under ``basis``, in
    text order (item-level decisions last)."""
    return cur.execute(
        "SELECT action, detector, reason, matched_text, score, threshold, sentence_id"
        " FROM leakage_decisions WHERE item_id = ? AND basis = ? ORDER BY start NULLS LAST, detector",
        [item_id, basis],
    ).fetchall()


def dataset_flags(cur: Cursor, item_id: str) -> list[tuple[Any, ...]]:
    """(flag, other_item_id, other item's pmcid, other item's question, ref, score, threshold, detail
    as JSON text) of the flags the item's latest dataset-check run raised (as a release reads them),
    each once, by flag, ref and other item."""
    return cur.execute(
        "WITH latest AS (SELECT * FROM dataset_flags WHERE item_id = ?"
        "  QUALIFY created_at = max(created_at) OVER ())"
        " SELECT DISTINCT f.flag, f.other_item_id, q.pmcid, q.question, f.ref, f.score, f.threshold,"
        " f.detail::VARCHAR"
        " FROM latest f LEFT JOIN qa_items q ON q.item_id = f.other_item_id"
        " WHERE f.flagged"
        " ORDER BY f.flag, f.ref NULLS FIRST, q.pmcid NULLS FIRST, f.other_item_id NULLS FIRST",
        [item_id],
    ).fetchall()
