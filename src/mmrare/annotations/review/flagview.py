"""Dataset flags as the item page shows them: grouped by kind, each naming what it points at.

A flag row alone says little ("duplicate_image 0.000"), and the same kind can come once per image
pair or per other item. The reviewer needs to know *which* of the item's images looks like *which*
image of which other case, or which other item shares the case, so every entry names its other end
(item, article, image) and each kind is shown once with a sentence saying what it means.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# What each kind means for the reviewer, in the order the page shows them.
FLAG_KINDS: dict[str, tuple[str, str]] = {
    "text_answerable": (
        "Answerable from the text alone",
        "A text-only solver (context against options, no images) picks the gold answer by a clear margin.",
    ),
    "duplicate_image": (
        "Image also in another case",
        "An image of this item is nearly identical (perceptual hash) to an image of another article.",
    ),
    "near_duplicate_context": (
        "Near-duplicate context",
        "The context is nearly identical to the context of an item from another article.",
    ),
    "same_case_track": (
        "Same case, same track",
        "Another item of this track was drafted from the same case; one may give the other away.",
    ),
}
LETTERS = "ABCDEFGHIJ"


@dataclass(frozen=True, slots=True)
class FlagEntry:
    """One flag: its score against the threshold and the other end it names."""

    score: float
    threshold: float | None
    other_item_id: str | None = None
    other_pmcid: str | None = None
    other_question: str | None = None
    image_marker: str | None = None  # duplicate_image: this item's image ("Image 2")
    graphic_id: str | None = None  # duplicate_image: this item's graphic
    other_graphic_id: str | None = None  # duplicate_image: the look-alike graphic
    other_pmcids: tuple[str, ...] = ()  # duplicate_image: articles showing the look-alike
    other_graphic_available: bool = False  # the look-alike has a decoded file the page can show
    predicted: str | None = None  # text_answerable: the letter the text-only solver picks


@dataclass(slots=True)
class FlagGroup:
    kind: str
    title: str
    meaning: str
    entries: list[FlagEntry] = field(default_factory=list)


def _detail(text: Any) -> dict[str, Any]:
    try:
        data = json.loads(text) if isinstance(text, str) else (text or {})
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _entry(
    flag: str, row: tuple[Any, ...], markers: Mapping[str, str], available: Callable[[str], bool]
) -> FlagEntry:
    _, other, other_pmcid, other_question, ref, score, threshold, detail_text = row
    detail = _detail(detail_text)
    base = FlagEntry(float(score), threshold, other, other_pmcid, other_question)
    if flag == "duplicate_image":
        graphic, _, other_graphic = (ref or "|").partition("|")
        graphic = str(detail.get("graphic", graphic))
        other_graphic = str(detail.get("other_graphic", other_graphic))
        named = detail.get("other_pmcids") or ([other_pmcid] if other_pmcid else [])
        pmcids = tuple(str(p) for p in named)
        return FlagEntry(
            float(score), threshold, other, other_pmcid, other_question,
            image_marker=markers.get(graphic), graphic_id=graphic or None,
            other_graphic_id=other_graphic or None, other_pmcids=pmcids,
            other_graphic_available=bool(other_graphic) and available(other_graphic),
        )  # fmt: skip
    if flag == "text_answerable":
        index = detail.get("predicted_index")
        letter = LETTERS[index] if isinstance(index, int) and 0 <= index < len(LETTERS) else None
        return FlagEntry(float(score), threshold, predicted=letter)
    return base


def group_flags(
    rows: Iterable[tuple[Any, ...]], markers: Mapping[str, str], available: Callable[[str], bool]
) -> list[FlagGroup]:
    """Rows of :func:`mmrare.warehouse.queries.review.dataset_flags` as one group per kind.

    ``markers`` maps this item's graphic ids to the markers the model sees ("Image 1"), so a
    duplicate-image flag names the image on the page it concerns; ``available`` says whether a
    graphic has a decoded file, so the page shows the look-alike only when it can.
    """
    groups: dict[str, FlagGroup] = {}
    for row in rows:
        flag = str(row[0])
        title, meaning = FLAG_KINDS.get(flag, (flag.replace("_", " "), ""))
        group = groups.setdefault(flag, FlagGroup(flag, title, meaning))
        group.entries.append(_entry(flag, row, markers, available))
    order = {kind: n for n, kind in enumerate(FLAG_KINDS)}
    return sorted(groups.values(), key=lambda g: (order.get(g.kind, len(order)), g.kind))
