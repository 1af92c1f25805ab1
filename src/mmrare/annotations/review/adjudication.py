"""Adjudication: an adjudicator settles an item whose reviews disagree, or reopens a decided one.

The adjudicator may accept any existing version (the draft or a reviewer's edit), accept a new edit
of their own (stored as a new version), or reject with a reason. History is kept; the latest
adjudication decides (006_review.sql). An adjudicator never adjudicates an item they reviewed: the
second look must come from someone else.

Any decided item (accepted or rejected, by agreeing reviews or by an adjudication) can be reopened
with a reason (011_review_reopen.sql). Nothing is deleted: the reviews and adjudications that decided
it stay, the reopening is one more row, and until a newer adjudication decides the item it is
``needs_adjudication`` again, so no release takes it as accepted in the meantime. A decided item
takes no new decision without a reopening first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from mmrare.annotations.review.drafts import load_item
from mmrare.annotations.review.errors import Conflict, InvalidInput
from mmrare.annotations.review.records import (
    DECIDED,
    DECISIONS,
    Adjudication,
    AdjudicationRow,
    EditInput,
    Outcome,
    Reopening,
)
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import MAX_COMMENT, check_reject_reason, require_active
from mmrare.annotations.review.versions import add_version, ensure_version0, get_version
from mmrare.warehouse.queries import review as queries
from mmrare.warehouse.queries.review import Cursor


def _row_id(*parts: str | datetime) -> str:
    """sha256 of the parts joined by ``|`` (times as ISO text), first 24 hex digits."""
    key = "|".join(p.isoformat() if isinstance(p, datetime) else p for p in parts)
    return hashlib.sha256(key.encode()).hexdigest()[:24]


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
    """Record a decision. ``accept`` needs ``item_version`` or an ``edit`` (applied to ``base_version``).

    Only an undecided item (reviews disagree, or reopened) takes a decision: changing a decided one
    goes through :func:`reopen`, so every change of a decided item has its reason on record.
    """
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
        state = ready_outcome(cur, item_id)
        if state.decided:
            raise Conflict(f"item {item_id} is already {state.outcome}; reopen it with a reason first")
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
        adj = Adjudication(
            adjudication_id=_row_id(item_id, adjudicator, when),
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


def reopen(
    store: ReviewStore, *, item_id: str, adjudicator: str, reason: str, now: datetime | None = None
) -> Reopening:
    """Reopen a decided item (:class:`Conflict` when it is not decided); ``reason`` is required.

    Any adjudicator may reopen, including one who reviewed the item: reopening decides nothing, and
    the decision that follows still has to come from an adjudicator who did not review it.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("reason: say why the item is reopened")
    if len(reason) > MAX_COMMENT:
        raise InvalidInput(f"reason: at most {MAX_COMMENT} characters")
    when = now or datetime.now(UTC)
    with store.write() as cur:
        require_active(cur, adjudicator, adjudicator=True)
        load_item(cur, item_id)
        outcome = ready_outcome(cur, item_id)
        if outcome.outcome not in DECIDED:
            raise Conflict(f"item {item_id} is not decided ({outcome.outcome}); decide it instead")
        assert outcome.decided_by is not None
        reopening = Reopening(
            reopening_id=_row_id("reopen", item_id, adjudicator, when),
            item_id=item_id,
            adjudicator=adjudicator,
            reason=reason,
            outcome_before=outcome.outcome,
            version_before=outcome.final_version,
            decided_by_before=outcome.decided_by,
            created_at=when,
        )
        queries.insert_reopening(cur, reopening.row())
    return reopening


def reopenings_for(store: ReviewStore, item_id: str) -> list[Reopening]:
    with store.read() as cur:
        rows = queries.reopenings(cur, item_id)
    return [Reopening.from_row(r) for r in rows]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One decision or reopening of an item, for the adjudication page."""

    when: datetime
    who: str
    what: str
    why: str


def history(store: ReviewStore, item_id: str) -> list[HistoryEntry]:
    """The item's adjudications and reopenings, oldest first (the reviews are shown beside them)."""
    with store.read() as cur:
        adjudications = [Adjudication.from_row(r) for r in queries.adjudications(cur, item_id)]
        reopenings = [Reopening.from_row(r) for r in queries.reopenings(cur, item_id)]
    out = [
        HistoryEntry(
            a.created_at,
            a.adjudicator,
            f"accepted version {a.item_version}"
            if a.decision == "accept"
            else f"rejected ({a.reject_reason})",
            a.note,
        )
        for a in adjudications
    ]
    for r in reopenings:
        before = f"accepted at version {r.version_before}" if r.outcome_before == "accepted" else "rejected"
        out.append(
            HistoryEntry(
                r.created_at, r.adjudicator, f"reopened it ({before} by {r.decided_by_before})", r.reason
            )
        )
    return sorted(out, key=lambda e: e.when)


def outcome_of(store: ReviewStore, item_id: str) -> Outcome:
    """The item's outcome once its reviews are in (see :func:`ready_outcome`)."""
    with store.read() as cur:
        return ready_outcome(cur, item_id)


def adjudication_list(store: ReviewStore, decided: bool = False) -> list[AdjudicationRow]:
    """Queued items waiting for an adjudicator (reopened ones included), or with ``decided`` the
    accepted and rejected ones an adjudicator may reopen: track, question and every verdict."""
    wanted = DECIDED if decided else ("needs_adjudication",)
    with store.read() as cur:
        rows = queries.adjudication_rows(cur, wanted)
    return [AdjudicationRow.from_row(r) for r in rows]
