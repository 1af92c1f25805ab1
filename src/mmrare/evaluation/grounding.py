"""Evidence grounding: which images an answer cites, scored against the gold evidence positions.

Models see images with "Image n" markers and cite them in many ways ("Image 2", "Images 1 and 3",
"the second image", "left panel of Image 1", "images 2-4"); this parser turns those into positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

GROUNDING_PARSER_VERSION = "image-refs/1"

_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5,
    "sixth": 6, "seventh": 7, "eighth": 8, "ninth": 9, "tenth": 10,
}  # fmt: skip
_NUM = r"(?:\d+|" + "|".join(_WORDS) + r")"
_ORD = r"(?:\d+(?:st|nd|rd|th)|" + "|".join(_ORDINALS) + r"|last|final)"
_NOUN = r"(?:images?|imgs?|pictures?|photos?|photographs?|figures?|figs?\.?)"
_SEP = r"\s*(?:,\s*(?:and|or)\b|,|;|/|&|\band\b|\bor\b|\bto\b|-|–|\bthrough\b)\s*"
# "Image 2", "images 1, 2 and 4", "Image 1 and Image 3", "image #2", "images 2-4"
_CARDINAL = re.compile(rf"\b{_NOUN}\s*#?\s*({_NUM}(?:{_SEP}(?:{_NOUN}\s*)?#?\s*{_NUM}\b)*)", re.IGNORECASE)
# "the second image", "the first and third images", "2nd image", "the last image"
_ORDINAL = re.compile(rf"\b({_ORD}(?:{_SEP}(?:the\s+)?{_ORD})*)\s+{_NOUN}", re.IGNORECASE)
_RANGE = re.compile(rf"({_NUM})\s*(?:-|–|\bto\b|\bthrough\b)\s*(?:{_NOUN}\s*)?#?\s*({_NUM})", re.IGNORECASE)


def _number(token: str) -> int:
    token = token.lower()
    return _WORDS[token] if token in _WORDS else int(token)


def _ordinal(token: str, n_images: int | None) -> int | None:
    token = token.lower()
    if token in {"last", "final"}:
        return n_images
    if token in _ORDINALS:
        return _ORDINALS[token]
    return int(re.sub(r"\D", "", token))


def parse_image_refs(text: str, n_images: int | None = None) -> list[int]:
    """Positions (1-based, sorted, unique) of the images ``text`` refers to.

    Out-of-range positions are kept: citing an image that does not exist is a grounding error and
    counts against precision.
    """
    found: set[int] = set()
    for match in _CARDINAL.finditer(text):
        span = match.group(1)
        for rng in _RANGE.finditer(span):
            lo, hi = _number(rng.group(1)), _number(rng.group(2))
            if lo <= hi <= lo + 20:
                found.update(range(lo, hi + 1))
        found.update(_number(tok) for tok in re.findall(_NUM, span, re.IGNORECASE))
    for match in _ORDINAL.finditer(text):
        for tok in re.findall(_ORD, match.group(1), re.IGNORECASE):
            pos = _ordinal(tok, n_images)
            if pos is not None:
                found.add(pos)
    return sorted(p for p in found if p >= 1)


@dataclass(frozen=True)
class GroundingScore:
    """Set precision/recall/F1 of cited vs gold image positions (precision None: nothing cited)."""

    precision: float | None
    recall: float
    f1: float


def grounding_score(cited: Iterable[int], gold: Iterable[int]) -> GroundingScore | None:
    """None when there is no gold evidence. Citing nothing has no precision (None: not applicable,
    left out of means rather than counted as wrong) and scores 0 recall and 0 F1."""
    cited_set, gold_set = set(cited), set(gold)
    if not gold_set:
        return None
    hits = len(cited_set & gold_set)
    precision = hits / len(cited_set) if cited_set else None
    recall = hits / len(gold_set)
    f1 = 2 * precision * recall / (precision + recall) if hits and precision else 0.0
    return GroundingScore(precision, recall, f1)
