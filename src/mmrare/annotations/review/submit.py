"""Submitting a verdict: one transaction that checks the item's state and writes the review row.

Every check ("not reviewed by you yet", "fewer than the required reviews", "the version you saw
exists") runs inside the same write transaction as the insert (see :mod:`.store`), so two
annotators submitting at once cannot both pass a check that only one of them should.
"""

from __future__ import annotations

from datetime import UTC, datetime

from mmrare.annotations.review.drafts import load_item
from mmrare.annotations.review.errors import Conflict, InvalidInput, NotAllowed
from mmrare.annotations.review.records import REJECT_REASONS, VERDICTS, EditInput, Review
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.versions import add_version, ensure_version0, get_version
from mmrare.warehouse.queries import review as queries
from mmrare.warehouse.queries.review import Cursor

MAX_COMMENT = 4000


def check_reject_reason(reason: str | None, comment: str) -> str:
    """The reason code, or :class:`InvalidInput` (``other`` needs a comment that says what)."""
    if reason not in REJECT_REASONS:
        raise InvalidInput(f"reject reason: choose one of {', '.join(REJECT_REASONS)}")
    if reason == "other" and not comment.strip():
        raise InvalidInput("reject reason 'other' needs a comment saying why")
    return reason


def require_active(cur: Cursor, name: str, adjudicator: bool = False) -> None:
    row = queries.annotator_by_name(cur, name)  # (name, is_adjudicator, active)
    if row is None or not row[2]:
        raise NotAllowed(f"{name!r} is not an active annotator")
    if adjudicator and not row[1]:
        raise NotAllowed(f"{name!r} is not an adjudicator")


def submit_review(
    store: ReviewStore,
    *,
    item_id: str,
    annotator: str,
    verdict: str,
    shown_version: int = 0,
    edit: EditInput | None = None,
    reject_reason: str | None = None,
    comment: str = "",
    now: datetime | None = None,
) -> Review:
    """Record ``annotator``'s verdict on ``item_id`` (an edit also stores a new item version)."""
    if verdict not in VERDICTS:
        raise InvalidInput(f"verdict: one of {', '.join(VERDICTS)}")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise InvalidInput(f"comment: at most {MAX_COMMENT} characters")
    if verdict == "reject":
        reject_reason = check_reject_reason(reject_reason, comment)
    elif reject_reason:
        raise InvalidInput("reject reason: only for a reject")
    if verdict == "edit" and edit is None:
        raise InvalidInput("edit: the edited question, options and answer are missing")
    when = now or datetime.now(UTC)
    with store.write() as cur:
        require_active(cur, annotator)
        item = load_item(cur, item_id)
        queued = queries.queue_state(cur, item_id)
        if queued is None:
            raise Conflict(f"item {item_id} is not in the review queue")
        n_reviews, required, outcome = queued
        if queries.has_reviewed(cur, item_id, annotator):
            raise Conflict(f"you already reviewed item {item_id}")
        if outcome == "dropped_by_leakage":
            raise Conflict(f"item {item_id} was dropped by leakage control; it needs no review")
        if n_reviews >= required:
            raise Conflict(f"item {item_id} already has its {required} reviews; take the next item")
        ensure_version0(cur, item_id, when)
        base = get_version(cur, item_id, shown_version)
        result_version: int | None = shown_version
        if verdict == "edit":
            assert edit is not None
            result_version = add_version(cur, item, base, edit, annotator, when).version
        elif verdict == "reject":
            result_version = None
        review = Review(
            item_id, annotator, verdict, shown_version, result_version, reject_reason, comment, when
        )
        queries.insert_review(cur, review.row())
    return review


def my_review(store: ReviewStore, item_id: str, annotator: str) -> Review | None:
    """The annotator's own review of an item (others' reviews are never shown to reviewers)."""
    with store.read() as cur:
        row = queries.review(cur, item_id, annotator)
    return Review.from_row(row) if row else None


def item_reviews(store: ReviewStore, item_id: str) -> list[Review]:
    """All reviews of an item, for adjudicators only."""
    with store.read() as cur:
        rows = queries.reviews(cur, item_id)
    return [Review.from_row(r) for r in rows]
