"""Where each context sentence lies in an item's rendered context.

A drafted context is not the sentences joined verbatim: the drafter removes bracketed citations,
rewrites figure references as image markers and tidies spaces. Dropping a sentence or masking a span
needs offsets into the *rendered* text, tied to the sentence ids; so the raw sentences are aligned
to the context word by word (difflib's matching blocks over lower-cased words, which survive those
rewrites) and each sentence owns the text from its first aligned word up to the next sentence's first
aligned word.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from difflib import Match
from itertools import accumulate
from operator import eq

# split() with the group keeps the words at the odd places and what lies between them at the even ones
_WORDS = re.compile(r"(\w+)")
# A sentence ends at . ! ? followed by space and an upper-case letter, digit or bracket; a blank line
# (paragraph break in a rendered context) always ends one.
_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\[\"“])|\n\s*\n")


@dataclass(frozen=True, slots=True)
class ContextSentence:
    """One sentence of a context: ``context[start:end] == text``."""

    sentence_id: str
    start: int
    end: int
    text: str


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of ``text``, trimmed, by punctuation; for free text."""
    spans = []
    pos = 0
    for match in _SPLIT.finditer(text):
        spans.append((pos, match.start()))
        pos = match.end()
    spans.append((pos, len(text)))
    out = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out


def segment_context(
    context: str,
    sentence_ids: Sequence[str],
    sentence_texts: Mapping[str, str] | None = None,
    *,
    fallback_prefix: str = "s",
) -> tuple[ContextSentence, ...]:
    """The sentences of ``context`` with their ids, in order; sentences absent from the text are left out.

    With ``sentence_texts`` (raw text of each id) the words are aligned; without them, or when no word
    aligns, the context is split by punctuation and the pieces take ``sentence_ids`` in order if the
    counts agree, else ids ``<fallback_prefix><n>`` (the caller learns the alignment failed because
    the ids are not the item's).
    """
    if sentence_texts and all(sid in sentence_texts for sid in sentence_ids):
        in_order = tuple(sentence_ids)
        aligned = _align(context, in_order, tuple(sentence_texts[sid] for sid in in_order))
        if aligned:
            return aligned
    spans = split_sentences(context)
    ids = (
        list(sentence_ids)
        if len(spans) == len(sentence_ids)
        else [f"{fallback_prefix}{n}" for n in range(len(spans))]
    )
    return tuple(ContextSentence(sid, s, e, context[s:e]) for sid, (s, e) in zip(ids, spans, strict=True))


def _align(
    context: str, sentence_ids: tuple[str, ...], sentence_texts: tuple[str, ...]
) -> tuple[ContextSentence, ...]:
    pieces = _WORDS.split(context)
    ctx_words = list(map(str.lower, pieces[1::2]))
    src_words: list[str] = []
    first_src: list[int] = []  # sentence index -> its first word in src_words
    for text in sentence_texts:
        first_src.append(len(src_words))
        src_words += map(str.lower, _WORDS.split(text)[1::2])
    end_src = [*first_src[1:], len(src_words)]
    first_word: dict[int, int] = {}  # sentence index -> first aligned context word
    for a, b, size in matching_blocks(src_words, ctx_words):
        # the sentences with words in this block, each from its first word in it (blocks come in order)
        n = bisect.bisect_right(first_src, a) - 1
        while n < len(first_src) and first_src[n] < a + size:
            first = max(a, first_src[n])
            if first < end_src[n]:
                first_word.setdefault(n, b + first - a)
            n += 1
    present = sorted(first_word, key=first_word.__getitem__)
    if not present:
        return ()
    offsets = list(accumulate(map(len, pieces)))  # offsets[2 * w]: where context word w starts
    starts = [offsets[2 * first_word[n]] for n in present]
    starts[0] = 0  # anything before the first aligned word (an image marker) belongs to the first sentence
    out = []
    for k, n in enumerate(present):
        start = starts[k]
        end = starts[k + 1] if k + 1 < len(present) else len(context)
        while start < end and context[start].isspace():
            start += 1
        while end > start and context[end - 1].isspace():
            end -= 1
        if end > start:
            out.append(ContextSentence(sentence_ids[n], start, end, context[start:end]))
    return tuple(out)


def matching_blocks(a: Sequence[str], b: Sequence[str]) -> list[Match]:
    """``difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks()``, found faster.

    The same recursion (the longest matching block, then the same on either side of it), with each
    longest block found by anchors instead of difflib's scan of every word of ``a`` against its
    every occurrence in ``b``: a longest block is at least as long (``floor``) as the longest run on
    the diagonals through the rectangle's corners, so it holds one of the words every ``floor``
    places; only they are looked up, and runs are extended from them. Drafted contexts are their
    sentences with a few words rewritten, so ``floor`` is long and there are few anchors. Ties are
    broken as difflib breaks them (earliest in ``a``, then in ``b``), so the blocks are difflib's.
    """
    if list(a) == list(b):
        return [Match(0, 0, len(a)), Match(len(a), len(b), 0)] if a else [Match(0, 0, 0)]
    positions = _Positions(b)
    found = []
    queue = [(0, len(a), 0, len(b))]
    while queue:
        alo, ahi, blo, bhi = queue.pop()
        i, j, k = _longest_match(a, b, positions, alo, ahi, blo, bhi)
        if k:
            found.append((i, j, k))
            if alo < i and blo < j:
                queue.append((alo, i, blo, j))
            if i + k < ahi and j + k < bhi:
                queue.append((i + k, ahi, j + k, bhi))
    found.sort()
    out = []
    i1 = j1 = k1 = 0
    for i2, j2, k2 in found:  # adjacent blocks collapse into one, as difflib's do
        if i1 + k1 == i2 and j1 + k1 == j2:
            k1 += k2
        else:
            if k1:
                out.append(Match(i1, j1, k1))
            i1, j1, k1 = i2, j2, k2
    if k1:
        out.append(Match(i1, j1, k1))
    out.append(Match(len(a), len(b), 0))
    return out


def _longest_match(
    a: Sequence[str], b: Sequence[str], positions: _Positions, alo: int, ahi: int, blo: int, bhi: int
) -> tuple[int, int, int]:
    """``SequenceMatcher.find_longest_match(alo, ahi, blo, bhi)`` without junk: (i, j, size)."""
    n = min(ahi - alo, bhi - blo)
    floor = _longest_run(a[alo : alo + n], b[blo : blo + n])
    if ahi - alo != bhi - blo:
        floor = max(floor, _longest_run(a[ahi - n : ahi], b[bhi - n : bhi]))
    step = max(floor, 1)
    besti, bestj, bestk = alo, blo, 0
    covered: dict[int, int] = {}  # diagonal (j - i) -> end of the run last extended on it
    for i in range(alo + step - 1, ahi, step):
        js = positions[a[i]]
        for j in js[bisect.bisect_left(js, blo) : bisect.bisect_left(js, bhi)]:
            d = j - i
            if covered.get(d, -1) > i:
                continue
            s, e = i, i + 1
            while s > alo and s + d > blo and a[s - 1] == b[s - 1 + d]:
                s -= 1
            while e < ahi and e + d < bhi and a[e] == b[e + d]:
                e += 1
            covered[d] = e
            if e - s > bestk or (e - s == bestk and (s < besti or (s == besti and s + d < bestj))):
                besti, bestj, bestk = s, s + d, e - s
    return besti, bestj, bestk


def _longest_run(a: Sequence[str], b: Sequence[str]) -> int:
    """The longest run of places where ``a`` and ``b`` (of one length) hold the same word."""
    return max(map(len, bytes(map(eq, a, b)).split(b"\0")))


class _Positions(dict[str, list[int]]):
    """word -> its places in ``b``, ascending, found when first asked for (few words are)."""

    def __init__(self, b: Sequence[str]) -> None:
        super().__init__()
        self._b = list(b)

    def __missing__(self, word: str) -> list[int]:
        found: list[int] = []
        try:
            j = -1
            while True:
                j = self._b.index(word, j + 1)
                found.append(j)
        except ValueError:
            pass
        self[word] = found
        return found
