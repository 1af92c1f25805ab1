"""The drafted item as stored in ``qa_items`` (read-only here: review never rewrites drafts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import duckdb

from mmrare.annotations.review.errors import NotFound
from mmrare.items import ImageRef


@dataclass(frozen=True, slots=True)
class DraftItem:
    """The parts of a ``qa_items`` row the review needs (content of version 0 lives in item versions)."""

    item_id: str
    track: str
    question_type: str
    pmcid: str
    context: str
    context_sentence_ids: tuple[str, ...]
    images: tuple[ImageRef, ...]
    orpha_code: str | None
    answer_category: str | None
    rationale: str
    drafter_version: str

    @property
    def figure_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(i.figure_id for i in self.images))


_COLUMNS = (
    "item_id, track, question_type, pmcid, context, context_sentence_ids, images, orpha_code,"
    " answer_category, rationale, drafter_version"
)


def _item(row: tuple[Any, ...]) -> DraftItem:
    images = json.loads(row[6]) if isinstance(row[6], str) else row[6]
    return DraftItem(
        item_id=row[0],
        track=row[1],
        question_type=row[2],
        pmcid=row[3],
        context=row[4],
        context_sentence_ids=tuple(json.loads(row[5]) if isinstance(row[5], str) else row[5]),
        images=tuple(
            ImageRef(int(i["position"]), str(i["marker"]), str(i["figure_id"]), str(i["graphic_id"]))
            for i in images
        ),
        orpha_code=row[7],
        answer_category=row[8],
        rationale=row[9],
        drafter_version=row[10],
    )


def load_item(cur: duckdb.DuckDBPyConnection, item_id: str) -> DraftItem:
    """The drafted item, or :class:`NotFound`."""
    row = cur.execute(f"SELECT {_COLUMNS} FROM qa_items WHERE item_id = ?", [item_id]).fetchone()
    if row is None:
        raise NotFound(f"no item {item_id!r} in the warehouse")
    return _item(row)
