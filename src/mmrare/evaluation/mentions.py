"""Which of an item's names a free-text reply concludes with, when it has no "Answer:" line.

Open-mode replies often give the diagnosis in prose ("the angiokeratomas are most consistent with
Fabry disease"). Exact matching on answer spans misses these; crediting any mention of the gold
name would credit a reply that lists it among the differentials and concludes otherwise. So every
name the item knows (the gold name, its synonyms and code, its ORDO neighbours, the distractor
options) is looked for in the reply, and one mention stands for the answer:

1. a negated mention ("not Gaucher disease", "Gaucher disease was ruled out", "... is less likely")
   is dropped;
2. the last sentence with a conclusion cue ("most likely", "consistent with", "diagnosis is",
   "therefore") decides, by the first name after its first cue (or its first name when none follows);
3. otherwise the first name outside a differential list decides ("Differential: ..."), and a reply
   whose only names are in such a list takes its first one.

Only the names a release item carries are known, so a wrong disease outside them goes unseen.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mmrare.evaluation.text import normalise

MENTIONS_VERSION = "mentions/1"

_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_CUES = (
    ("most", "likely"), ("most", "consistent"), ("consistent", "with"), ("compatible", "with"),
    ("suggestive", "of"), ("indicative", "of"), ("diagnostic", "of"), ("characteristic", "of"),
    ("diagnosis", "is"), ("diagnosis", "of"), ("points", "to"), ("point", "to"), ("in", "conclusion"),
    ("therefore",), ("thus",), ("confirms",), ("confirm",), ("final", "diagnosis"), ("likely", "diagnosis"),
)  # fmt: skip
_DIFFERENTIAL = (("differential",), ("differentials",), ("alternatives",), ("other", "possibilities"))
_NEGATION_BEFORE = (
    ("not",), ("no",), ("without",), ("unlikely",), ("exclude",), ("excluded",), ("excluding",),
    ("rule", "out"), ("ruled", "out"), ("rather", "than"), ("instead", "of"), ("other", "than"),
)  # fmt: skip
_NEGATION_AFTER = (
    ("unlikely",), ("excluded",), ("ruled", "out"), ("less", "likely"), ("is", "not"), ("was", "not"),
)  # fmt: skip
_WINDOW = 4  # tokens around a mention searched for a negation


@dataclass(frozen=True)
class Mention:
    """One name found in a sentence of the reply: token span ``[start, end)``."""

    key: str
    sentence: int
    start: int
    end: int


def _find(tokens: Sequence[str], phrases: Iterable[tuple[str, ...]]) -> list[int]:
    """End positions (exclusive) of every occurrence of any phrase in ``tokens``."""
    ends = []
    for phrase in phrases:
        n = len(phrase)
        ends += [i + n for i in range(len(tokens) - n + 1) if tuple(tokens[i : i + n]) == phrase]
    return sorted(ends)


def _table(names: Sequence[tuple[str, Iterable[str]]]) -> dict[tuple[str, ...], str]:
    """Normalised name tokens -> key; an earlier key keeps a name two keys share (gold first)."""
    table: dict[tuple[str, ...], str] = {}
    for key, texts in names:
        for text in texts:
            tokens = tuple(normalise(text).split()) if text else ()
            if tokens:
                table.setdefault(tokens, key)
    return table


def mentions(text: str, names: Sequence[tuple[str, Iterable[str]]]) -> list[Mention]:
    """Non-overlapping mentions of ``names`` ((key, texts) in priority order), longest first."""
    table = _table(names)
    longest = max((len(t) for t in table), default=0)
    found: list[Mention] = []
    for s, sentence in enumerate(_SENTENCE_END.split(text)):
        tokens = normalise(sentence).split()
        i = 0
        while i < len(tokens):
            for n in range(min(longest, len(tokens) - i), 0, -1):
                key = table.get(tuple(tokens[i : i + n]))
                if key is not None:
                    found.append(Mention(key, s, i, i + n))
                    i += n
                    break
            else:
                i += 1
    return found


def _negated(m: Mention, tokens: Sequence[str], prev_end: int, next_start: int) -> bool:
    before = tokens[max(prev_end, m.start - _WINDOW) : m.start]
    after = tokens[m.end : min(next_start, m.end + _WINDOW)]
    return bool(_find(before, _NEGATION_BEFORE) or _find(after, _NEGATION_AFTER))


def concluded(text: str, names: Sequence[tuple[str, Iterable[str]]]) -> str | None:
    """The key of the name ``text`` concludes with (rules in the module docstring), or None."""
    sentences = [normalise(s).split() for s in _SENTENCE_END.split(text)]
    found = mentions(text, names)
    kept: list[Mention] = []
    for k, m in enumerate(found):
        prev_end = found[k - 1].end if k and found[k - 1].sentence == m.sentence else 0
        nxt = found[k + 1] if k + 1 < len(found) and found[k + 1].sentence == m.sentence else None
        if not _negated(m, sentences[m.sentence], prev_end, nxt.start if nxt else len(sentences[m.sentence])):
            kept.append(m)
    if not kept:
        return None
    listing = {s for s, tokens in enumerate(sentences) if _find(tokens, _DIFFERENTIAL)}
    concluding = sorted(
        {m.sentence for m in kept if m.sentence not in listing and _find(sentences[m.sentence], _CUES)}
    )
    if concluding:
        last = concluding[-1]
        in_last = [m for m in kept if m.sentence == last]
        cue_end = _find(sentences[last], _CUES)[0]
        after_cue = [m for m in in_last if m.start >= cue_end]
        return (after_cue or in_last)[0].key
    primary = [m for m in kept if m.sentence not in listing]
    return (primary or kept)[0].key
