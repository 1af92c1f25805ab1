"""The review queue: which items need reviews, and which one an annotator gets next.

Items enter ``review_queue`` with the number of independent reviews they need (2 by default). An
annotator is offered items they have not reviewed, never items leakage control dropped, and items
that already have a review first (so double reviews complete before new items start). While someone
has an item open it is *leased* to them for a while, so two annotators are not sent to the same item
when it needs only one more review. Leases live in memory: the server is the one process that writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from mmrare.annotations.review.records import Outcome
from mmrare.annotations.review.store import ReviewStore
from mmrare.warehouse.queries import review as queries

DEFAULT_REQUIRED_REVIEWS = 2


class Leases:
    """In-memory claims ``item -> {annotator: expiry}``; thread-safe, expiring after ``seconds``."""

    def __init__(self, seconds: float = 1800.0) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._claims: dict[str, dict[str, float]] = {}

    def claim(self, item_id: str, annotator: str) -> None:
        with self._lock:
            self._claims.setdefault(item_id, {})[annotator] = time.monotonic() + self.seconds

    def release(self, item_id: str, annotator: str) -> None:
        with self._lock:
            self._claims.get(item_id, {}).pop(annotator, None)

    def others(self, item_id: str, annotator: str) -> int:
        """How many other annotators currently hold ``item_id``."""
        now = time.monotonic()
        with self._lock:
            claims = self._claims.get(item_id, {})
            for name in [n for n, until in claims.items() if until < now]:
                del claims[name]
            return sum(1 for n in claims if n != annotator)


def enqueue(
    store: ReviewStore,
    required_reviews: int = DEFAULT_REQUIRED_REVIEWS,
    tracks: Iterable[str] | None = None,
) -> int:
    """Queue every drafted item not queued yet (and not dropped by leakage); returns how many.

    Items already queued keep the number of reviews they were queued with.
    """
    if required_reviews < 1:
        raise ValueError("required_reviews must be at least 1")
    wanted = sorted(tracks) if tracks else None
    with store.write() as cur:
        return queries.enqueue(cur, required_reviews, datetime.now(UTC), wanted)


def candidates(store: ReviewStore, annotator: str) -> list[tuple[str, int, int]]:
    """(item_id, reviews so far, reviews required) the annotator could review, best first."""
    with store.read() as cur:
        return queries.candidates(cur, annotator)


def next_item(
    store: ReviewStore, annotator: str, leases: Leases | None = None, skip: Iterable[str] = ()
) -> str | None:
    """The next item for ``annotator`` (leased to them), or None when nothing is left."""
    skipped = set(skip)
    fallback = None
    for item_id, done, required in candidates(store, annotator):
        if item_id in skipped:
            fallback = fallback or item_id
            continue
        if leases is None:
            return item_id
        if done + leases.others(item_id, annotator) < required:
            leases.claim(item_id, annotator)
            return item_id
    return None if fallback is None else fallback


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """Counts for the dashboard: outcome per track, and what is left for one annotator."""

    by_track: dict[str, dict[str, int]]
    mine_done: int
    mine_left: int


def outcomes(store: ReviewStore, outcome: str | None = None) -> list[Outcome]:
    """Rows of ``review_outcomes`` for queued items (optionally one outcome)."""
    with store.read() as cur:
        rows = queries.queued_outcomes(cur, outcome)
    return [Outcome.from_row(r) for r in rows]


def summary(store: ReviewStore, annotator: str) -> QueueSummary:
    by_track: dict[str, dict[str, int]] = {}
    for o in outcomes(store):
        counts = by_track.setdefault(o.track, {})
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    with store.read() as cur:
        done = queries.review_count(cur, annotator)
    return QueueSummary(by_track, done, len(candidates(store, annotator)))
