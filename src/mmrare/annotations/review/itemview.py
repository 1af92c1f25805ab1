"""Everything the item page shows, gathered in one read: what the model will see (masked context,
images by position, captions kept aside), what the reviewer checks against (evidence, original text,
leakage decisions and flags) and the version under review.

Reviewers always review version 0, the draft: showing a colleague's edit would reveal their verdict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from mmrare.annotations.review.drafts import load_item
from mmrare.annotations.review.flagview import FlagGroup, group_flags
from mmrare.annotations.review.highlight import Segment, segments
from mmrare.annotations.review.records import ItemVersion
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.versions import get_version
from mmrare.items import QAItem
from mmrare.warehouse.queries import review as queries
from mmrare.warehouse.queries.review import Cursor

REVIEW_VERSION = 0


@dataclass(frozen=True, slots=True)
class ImageView:
    position: int
    marker: str
    figure_id: str
    graphic_id: str
    label: str
    caption: str
    available: bool  # a decoded file is registered for this graphic
    is_evidence: bool


@dataclass(frozen=True, slots=True)
class LeakageRow:
    action: str
    detector: str
    reason: str
    matched_text: str
    score: float
    threshold: float | None
    sentence_id: str | None


@dataclass(frozen=True, slots=True)
class ContextSentence:
    sentence_id: str
    text: str
    is_evidence: bool


@dataclass(slots=True)
class ItemPage:
    item: QAItem  # the draft; the content under review is ``version``
    version: ItemVersion
    context: str  # masked when leakage control ran, else the drafted context
    masked: bool
    leakage_status: str | None
    leakage_reason: str
    leakage_flags: list[str]
    segments: list[Segment]
    evidence: list[ContextSentence]  # evidence sentences with their original text
    evidence_missing: list[str]  # evidence ids not found in the (masked) context
    context_sentences: list[ContextSentence]  # for the edit form's evidence checkboxes
    images: list[ImageView]
    decisions: list[LeakageRow]
    dataset_flags: list[FlagGroup] = field(default_factory=list)


def _images(cur: Cursor, item: QAItem, evidence: tuple[str, ...]) -> list[ImageView]:
    out = []
    for slot in item.images:
        fig = queries.figure_caption(cur, slot.figure_id)
        ok = queries.decoded_graphic(cur, slot.graphic_id)
        out.append(
            ImageView(
                position=slot.position,
                marker=slot.marker,
                figure_id=slot.figure_id,
                graphic_id=slot.graphic_id,
                label=fig[0] if fig else "",
                caption=fig[1] if fig else "",
                available=ok is not None,
                is_evidence=slot.figure_id in evidence,
            )
        )
    return out


def load_item_page(store: ReviewStore, item_id: str, version: int = REVIEW_VERSION) -> ItemPage:
    """The item page's data for ``version`` of ``item_id`` (:class:`NotFound` when missing)."""
    with store.read() as cur:
        item = load_item(cur, item_id)
        shown = get_version(cur, item_id, version)
        lc = queries.latest_leakage_context(cur, item_id)
        decisions: list[LeakageRow] = []
        if lc is not None:
            decisions = [LeakageRow(*r) for r in queries.leakage_decisions(cur, item_id, lc[4])]
        ids = list(dict.fromkeys([*shown.evidence_sentence_ids, *item.context_sentence_ids]))
        texts = queries.sentence_texts(cur, ids)
        images = _images(cur, item, shown.evidence_figure_ids)
        flags = group_flags(
            queries.dataset_flags(cur, item_id),
            {i.graphic_id: i.marker for i in images},
            lambda graphic: queries.decoded_graphic(cur, graphic) is not None,
        )
    context = lc[0] if lc is not None else item.context
    evidence = [ContextSentence(s, texts.get(s, ""), True) for s in shown.evidence_sentence_ids]
    segs, missing = segments(context, [(e.sentence_id, e.text) for e in evidence])
    wanted = set(shown.evidence_sentence_ids)
    return ItemPage(
        item=item,
        version=shown,
        context=context,
        masked=lc is not None,
        leakage_status=lc[1] if lc is not None else None,
        leakage_reason=lc[2] if lc is not None else "",
        leakage_flags=list(json.loads(lc[3])) if lc is not None and lc[3] else [],
        segments=segs,
        evidence=evidence,
        evidence_missing=missing,
        context_sentences=[
            ContextSentence(s, texts.get(s, ""), s in wanted)
            for s in dict.fromkeys([*item.context_sentence_ids, *shown.evidence_sentence_ids])
        ],
        images=images,
        decisions=decisions,
        dataset_flags=flags,
    )


def image_file(store: ReviewStore, graphic_id: str) -> tuple[str, str | None] | None:
    """(path, format) of a graphic registered as decoded in the warehouse, else None.

    The image route serves only these paths, so no request can name an arbitrary file.
    """
    with store.read() as cur:
        row = queries.decoded_graphic(cur, graphic_id)
    return (row[0], row[1]) if row else None
