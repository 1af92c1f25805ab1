"""Where each context sentence lies in an item's rendered context.

A drafted context is not the sentences joined verbatim: the drafter removes bracketed citations,
rewrites figure references as image markers and tidies spaces. Dropping a sentence or masking a span
needs offsets into the *rendered* text, tied to the sentence ids; so the raw sentences are aligned
to the context word by word (difflib over lower-cased words, which survives those rewrites) and each
sentence owns the text from its first aligned word up to the next sentence's first aligned word.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_WORD = re.compile(r"\w+")
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


# A build aligns each drafted item twice, on different threads of one process: when the draft
# stage queues the item's texts for embedding (flows.prefetch) and when leakage control lays out
# its context. difflib is most of the cost (7.6 s of GIL time at N = 2000), so the second call is
# served from here; the result depends only on the arguments (~2 KB an entry).
@functools.lru_cache(maxsize=32_768)
def _align(
    context: str, sentence_ids: tuple[str, ...], sentence_texts: tuple[str, ...]
) -> tuple[ContextSentence, ...]:
    ctx_words = [(m.start(), m.end(), m.group().lower()) for m in _WORD.finditer(context)]
    src_words: list[str] = []
    owner: list[int] = []
    for n, text in enumerate(sentence_texts):
        for m in _WORD.finditer(text):
            src_words.append(m.group().lower())
            owner.append(n)
    matcher = difflib.SequenceMatcher(None, src_words, [w for _, _, w in ctx_words], autojunk=False)
    first_word: dict[int, int] = {}  # sentence index -> first aligned context word
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            first_word.setdefault(owner[block.a + k], block.b + k)
    present = sorted(first_word, key=first_word.__getitem__)
    if not present:
        return ()
    starts = [ctx_words[first_word[n]][0] for n in present]
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
