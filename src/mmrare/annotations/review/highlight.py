"""Find evidence sentences inside an item's context, to highlight them for the reviewer.

The context is not the raw sentences joined: the drafter removes citations and rewrites figure
references ("Fig. 2" -> "Image 1"), and leakage control masks spans or drops sentences. So a sentence
is located by its words: the window of the context whose word sequence matches the sentence's best
(difflib ratio) wins, when it matches well enough. A sentence that was dropped is simply not found,
and the page lists it separately instead of highlighting something wrong.

Spans leakage control masked read ``[MASKED]`` (the leakage policy's mask token; this package may not
import the leakage stage, and a test holds the two equal). Each segment cuts them out as pieces, so
the page can mark them for the reviewer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher

_WORD = re.compile(r"\w+", re.UNICODE)
MIN_RATIO = 0.6
MASK_TOKEN = "[MASKED]"
_MASK = re.compile(re.escape(MASK_TOKEN))


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of context text; ``sentence_id`` is set when it is a highlighted evidence sentence."""

    text: str
    sentence_id: str | None = None

    @property
    def pieces(self) -> list[tuple[str, bool]]:
        """The text as (piece, is a masked span) runs, in order; empty pieces left out."""
        return mask_pieces(self.text)


def mask_pieces(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is a masked span) runs around every mask token."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for found in _MASK.finditer(text):
        if found.start() > pos:
            out.append((text[pos : found.start()], False))
        out.append((found.group(), True))
        pos = found.end()
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def locate(context: str, sentence: str, min_ratio: float = MIN_RATIO) -> tuple[int, int] | None:
    """Character span of ``sentence`` in ``context``, or None when no window matches well enough."""
    if not sentence.strip():
        return None
    exact = context.find(sentence)
    if exact >= 0:
        return exact, exact + len(sentence)
    ctx = [(m.group().casefold(), m.start(), m.end()) for m in _WORD.finditer(context)]
    want = [m.group().casefold() for m in _WORD.finditer(sentence)]
    if not ctx or not want:
        return None
    words = [w for w, _, _ in ctx]
    wanted = set(want)
    size = len(want)
    best: tuple[float, int, int] = (0.0, 0, 0)
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(want)
    for start in range(len(words)):
        if words[start] not in wanted:
            continue
        for length in {max(1, size - 2), size, size + 2}:
            window = words[start : start + length]
            matcher.set_seq1(window)
            if matcher.real_quick_ratio() <= best[0] or matcher.quick_ratio() <= best[0]:
                continue
            ratio = matcher.ratio()
            if ratio > best[0]:
                best = (ratio, start, min(start + length, len(words)) - 1)
    ratio, first, last = best
    if ratio < min_ratio:
        return None
    return ctx[first][1], ctx[last][2]


def segments(context: str, sentences: Sequence[tuple[str, str]]) -> tuple[list[Segment], list[str]]:
    """The context cut into plain and evidence segments, and the ids of evidence not found in it.

    ``sentences`` are (sentence_id, text) pairs; overlapping finds keep the first.
    """
    spans: list[tuple[int, int, str]] = []
    missing: list[str] = []
    for sentence_id, text in sentences:
        span = locate(context, text)
        if span is None or any(span[0] < e and s < span[1] for s, e, _ in spans):
            missing.append(sentence_id)
            continue
        spans.append((span[0], span[1], sentence_id))
    out: list[Segment] = []
    pos = 0
    for start, end, sentence_id in sorted(spans):
        if start > pos:
            out.append(Segment(context[pos:start]))
        out.append(Segment(context[start:end], sentence_id))
        pos = end
    if pos < len(context):
        out.append(Segment(context[pos:]))
    return out, missing
