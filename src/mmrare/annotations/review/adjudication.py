"""Adjudication: an adjudicator settles an item whose reviews disagree (or overrules agreed ones).

The adjudicator may accept any existing version (the draft or a reviewer's edit), accept a new edit
of their own (stored as a new version), or reject with a reason. History is kept; the latest
adjudication decides (006_review.sql). An adjudicator never adjudicates an item they reviewed: the
second look must come from someone else.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from mmrare.annotations.review.drafts import load_item
from mmrare.annotations.review.errors import Conflict, InvalidInput
from mmrare.annotations.review.records import DECISIONS, Adjudication, EditInput, Outcome
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import check_reject_reason, require_active
from mmrare.annotations.review.versions import add_version, ensure_version0, get_version
from mmrare.warehouse.queries import review as queries
from mmrare.warehouse.queries.review import Cursor


def ready_outcome(cur: Cursor, item_id: str) -> Outcome:
    """The item's outcome once all its reviews are in; :class:`Conflict` before that.

    Also guards the adjudication *page*: an item still open for review never shows its verdicts, so
    an adjudicator who is also a reviewer cannot see colleagues' verdicts before giving their own.
    """
    state = queries.outcome(cur, item_id)
    outcome = Outcome.from_row(state) if state else None
    if outcome is None or outcome.n_reviews < outcome.required_reviews:
        raise Conflict(f"item {item_id} has not had its reviews yet; adjudicate after them")
    if outcome.outcome == "dropped_by_leakage":
        raise Conflict(f"item {item_id} was dropped by leakage control")
    return outcome


def adjudicate(
    store: ReviewStore,
    *,
    item_id: str,
    adjudicator: str,
    decision: str,
    item_version: int | None = None,
    edit: EditInput | None = None,
    base_version: int = 0,
    reject_reason: str | None = None,
    note: str = "",
    now: datetime | None = None,
) -> Adjudication:
    """Record a decision. ``accept`` needs ``item_version`` or an ``edit`` (applied to ``base_version``)."""
    if decision not in DECISIONS:
        raise InvalidInput(f"decision: one of {', '.join(DECISIONS)}")
    note = note.strip()
    if decision == "reject":
        reject_reason = check_reject_reason(reject_reason, note)
    elif item_version is None and edit is None:
        raise InvalidInput("accept: choose the version to accept or submit an edit")
    when = now or datetime.now(UTC)
    with store.write() as cur:
        require_active(cur, adjudicator, adjudicator=True)
        item = load_item(cur, item_id)
        ready_outcome(cur, item_id)
        if queries.has_reviewed(cur, item_id, adjudicator):
            raise Conflict("you reviewed this item; another adjudicator must decide it")
        ensure_version0(cur, item_id, when)
        chosen: int | None = None
        if decision == "accept":
            if edit is not None:
                base = get_version(cur, item_id, base_version)
                chosen = add_version(cur, item, base, edit, adjudicator, when).version
            else:
                assert item_version is not None
                chosen = get_version(cur, item_id, item_version).version
        key = f"{item_id}|{adjudicator}|{when.isoformat()}"
        adj = Adjudication(
            adjudication_id=hashlib.sha256(key.encode()).hexdigest()[:24],
            item_id=item_id,
            adjudicator=adjudicator,
            decision=decision,
            item_version=chosen,
            reject_reason=reject_reason if decision == "reject" else None,
            note=note,
            created_at=when,
        )
        queries.insert_adjudication(cur, adj.row())
    return adj


def adjudications_for(store: ReviewStore, item_id: str) -> list[Adjudication]:
    with store.read() as cur:
        rows = queries.adjudications(cur, item_id)
    return [Adjudication.from_row(r) for r in rows]
