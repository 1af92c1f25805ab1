"""Typed records of the review stage: annotators, item versions, reviews, adjudications, edits.

Rows of the 006 migration's tables become these records at the edge (``from_row``, reading the column
order that :mod:`mmrare.warehouse.queries.review` names for each), so the rest of the code never
passes loose tuples or dicts around; ``row()`` is what the warehouse inserts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

VERDICTS: tuple[str, ...] = ("accept", "edit", "reject")
DECISIONS: tuple[str, ...] = ("accept", "reject")

# Reject reasons offered to annotators (code -> label). Codes are stored; labels may be reworded.
REJECT_REASONS: dict[str, str] = {
    "wrong_answer": "Gold answer is wrong or not supported by the case",
    "answer_leaked": "Context, images or options give the answer away",
    "ambiguous": "More than one option is defensible",
    "bad_options": "Options are implausible, overlapping or malformed",
    "not_answerable": "The case does not contain enough to answer",
    "images_unusable": "Images are missing, unreadable or do not fit the question",
    "not_rare_disease": "Not a rare-disease case",
    "sensitive": "Identifying or otherwise sensitive content",
    "other": "Other (explain in the comment)",
}

# Outcomes of the review_outcomes view (see 006_review.sql for the rule).
OUTCOMES: tuple[str, ...] = ("pending", "needs_adjudication", "accepted", "rejected", "dropped_by_leakage")
DECIDED: tuple[str, ...] = ("accepted", "rejected")  # the outcomes an adjudicator can reopen


def _tuple(value: Any) -> tuple[str, ...]:
    """A JSON column (text, or already a list) as a tuple of strings."""
    data = json.loads(value) if isinstance(value, str) else (value or [])
    return tuple(str(v) for v in data)


@dataclass(frozen=True, slots=True)
class Annotator:
    """Someone who may review (and, when ``is_adjudicator``, adjudicate)."""

    name: str
    is_adjudicator: bool
    active: bool


@dataclass(frozen=True, slots=True)
class EditInput:
    """What an annotator submits when editing an item; validated into a new :class:`ItemVersion`."""

    question: str
    options: tuple[str, ...]
    answer_index: int
    aliases: tuple[str, ...] = ()
    evidence_sentence_ids: tuple[str, ...] = ()
    evidence_figure_ids: tuple[str, ...] = ()
    note: str = ""

    @property
    def answer(self) -> str:
        return self.options[self.answer_index]


@dataclass(frozen=True, slots=True)
class ItemVersion:
    """One version of an item's reviewable content (0 = the draft as drafted)."""

    item_id: str
    version: int
    based_on: int | None
    question: str
    options: tuple[str, ...]
    answer_index: int
    answer: str
    aliases: tuple[str, ...]
    evidence_sentence_ids: tuple[str, ...]
    evidence_figure_ids: tuple[str, ...]
    editor: str
    note: str
    content_sha256: str
    created_at: datetime | None

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> ItemVersion:
        """From a row in ``VERSION_COLUMNS`` order (:mod:`mmrare.warehouse.queries.review`)."""
        return cls(
            item_id=row[0],
            version=int(row[1]),
            based_on=None if row[2] is None else int(row[2]),
            question=row[3],
            options=_tuple(row[4]),
            answer_index=int(row[5]),
            answer=row[6],
            aliases=_tuple(row[7]),
            evidence_sentence_ids=_tuple(row[8]),
            evidence_figure_ids=_tuple(row[9]),
            editor=row[10],
            note=row[11],
            content_sha256=row[12],
            created_at=row[13],
        )

    def row(self) -> dict[str, Any]:
        """The ``item_versions`` row (lists become JSON text)."""
        return {
            "item_id": self.item_id,
            "version": self.version,
            "based_on": self.based_on,
            "question": self.question,
            "options": json.dumps(list(self.options), ensure_ascii=False),
            "answer_index": self.answer_index,
            "answer": self.answer,
            "aliases": json.dumps(list(self.aliases), ensure_ascii=False),
            "evidence_sentence_ids": json.dumps(list(self.evidence_sentence_ids)),
            "evidence_figure_ids": json.dumps(list(self.evidence_figure_ids)),
            "editor": self.editor,
            "note": self.note,
            "content_sha256": self.content_sha256,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Review:
    """One annotator's independent verdict on one item."""

    item_id: str
    annotator: str
    verdict: str
    item_version: int
    result_version: int | None
    reject_reason: str | None
    comment: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Review:
        return cls(row[0], row[1], row[2], int(row[3]), row[4], row[5], row[6], row[7])

    def row(self) -> dict[str, Any]:
        return {
            "item_id": self.item_id,
            "annotator": self.annotator,
            "verdict": self.verdict,
            "item_version": self.item_version,
            "result_version": self.result_version,
            "reject_reason": self.reject_reason,
            "comment": self.comment,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Adjudication:
    """An adjudicator's decision on an item (the latest one per item decides)."""

    adjudication_id: str
    item_id: str
    adjudicator: str
    decision: str
    item_version: int | None
    reject_reason: str | None
    note: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Adjudication:
        return cls(*row)

    def row(self) -> dict[str, Any]:
        return {
            "adjudication_id": self.adjudication_id,
            "item_id": self.item_id,
            "adjudicator": self.adjudicator,
            "decision": self.decision,
            "item_version": self.item_version,
            "reject_reason": self.reject_reason,
            "note": self.note,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Reopening:
    """An adjudicator reopening a decided item, with why; the item is open until decided again."""

    reopening_id: str
    item_id: str
    adjudicator: str
    reason: str
    outcome_before: str  # accepted | rejected
    version_before: int | None  # the accepted version it reopened
    decided_by_before: str  # reviews | adjudication
    created_at: datetime

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Reopening:
        return cls(*row)

    def row(self) -> dict[str, Any]:
        return {
            "reopening_id": self.reopening_id,
            "item_id": self.item_id,
            "adjudicator": self.adjudicator,
            "reason": self.reason,
            "outcome_before": self.outcome_before,
            "version_before": self.version_before,
            "decided_by_before": self.decided_by_before,
            "created_at": self.created_at,
        }


@dataclass(frozen=True, slots=True)
class Outcome:
    """An item's row of the ``review_outcomes`` view."""

    item_id: str
    track: str
    required_reviews: int
    n_reviews: int
    outcome: str
    final_version: int | None
    decided_by: str | None
    decided_at: datetime | None
    reopened_at: datetime | None = None  # set while a reopening holds the item open (011)

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Outcome:
        """From a row in ``OUTCOME_COLUMNS`` order (:mod:`mmrare.warehouse.queries.review`)."""
        return cls(row[0], row[1], int(row[2]), int(row[3]), row[4], row[5], row[6], row[7], row[8])

    @property
    def decided(self) -> bool:
        return self.outcome in DECIDED


@dataclass(frozen=True, slots=True)
class AdjudicationRow:
    """One line of the adjudication list: the outcome, the draft question and every verdict."""

    outcome: Outcome
    question: str
    verdicts: tuple[tuple[str, str, str | None], ...]  # (annotator, verdict, reject reason)
    reopen_reason: str | None  # why the item was reopened, while a reopening holds it open

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> AdjudicationRow:
        """From :func:`mmrare.warehouse.queries.review.adjudication_rows`."""
        verdicts = tuple((str(v[0]), str(v[1]), v[2]) for v in (row[10] or []))
        return cls(Outcome.from_row(row[:9]), row[9], verdicts, row[11])
