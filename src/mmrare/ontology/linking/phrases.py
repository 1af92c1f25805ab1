"""Candidate disease phrases after diagnosis cues, for the embedding fallback.

After a forward cue ("diagnosed with", "diagnosis of", "consistent with", "confirmed") the phrase
is the run of words up to the first stop word or punctuation (running through "of" and articles:
"compression of the carotid arteries"), at most :data:`MAX_PHRASE_TOKENS` tokens, and up to
:data:`MAX_CONJUNCTS` conjuncts ("X and Y", "X, Y"); before a backward cue ("X was diagnosed") it
is the at most three words before it. A phrase must look like a disease: a defined short form or a
content word of four letters or more, no word naming the patient, not a lone generic noun
("findings"). It is *unmatched* when no ORDO name, defined abbreviation or gene deficiency
overlaps it (a head-noun hit does not count: it stands for a group, and an embedding may find the
disorder).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Token

from mmrare.ontology.linking.context import Category, Direction, Trigger
from mmrare.ontology.linking.hits import Hit, Sentence, sf_key
from mmrare.ontology.linking.matcher import Linker
from mmrare.ontology.linking.mentions import CandidatePhrase
from mmrare.ontology.linking.normalise import DASHES, strip_word

MAX_PHRASE_TOKENS = 8
MAX_CONJUNCTS = 3
MAX_BACKWARD_TOKENS = 3
_DETERMINERS = frozenset({"a", "an", "the", "her", "his", "their", "this", "its", "our", "that", "these"})
# Words a disease phrase runs through (everything else that is a stop word or punctuation ends it).
_INNER = frozenset({"of", "the", "a", "an", "-", "/", "'"})
_CONJUNCTIONS = frozenset({"and", "or", ","})
# One-word "phrases" after a cue that name no disease ("consistent with these findings").
_GENERIC_WORDS = frozenset({
    "finding", "disease", "diagnosis", "condition", "disorder", "syndrome", "case", "result", "symptom",
    "sign", "entity", "feature", "pattern", "picture", "presentation", "confirmed", "suspicion", "lesion",
})


@dataclass(frozen=True, slots=True)
class PhraseSpan:
    """A candidate phrase with where it sits in the document Doc."""

    sentence: int
    tok_start: int
    tok_end: int
    phrase: CandidatePhrase


def phrase_spans(
    linker: Linker,
    doc: Doc,
    sentences: Sequence[Sentence],
    triggers: dict[int, list[Trigger]],
    definitions: dict[str, str],
) -> list[tuple[int, int, int]]:
    """``(sentence, tok_start, tok_end)`` of every disease-like phrase governed by a diagnosis cue."""
    spans: list[tuple[int, int, int]] = []
    for number, found in triggers.items():
        sent = sentences[number]
        for index, trigger in enumerate(found):
            if trigger.rule.category is not Category.DIAGNOSIS:
                continue
            if trigger.rule.direction is Direction.FORWARD:
                limit = found[index + 1].start if index + 1 < len(found) else sent.tok_end
                pieces = _forward_phrases(doc, trigger.end, limit)
            else:
                floor = found[index - 1].end if index > 0 else sent.tok_start
                piece = _backward_phrase(doc, trigger.start, max(floor, sent.tok_start))
                pieces = [piece] if piece is not None else []
            spans.extend((number, s, e) for s, e in pieces if _disease_like(linker, doc, s, e, definitions))
    return spans


def unmatched(
    doc: Doc,
    sentences: Sequence[Sentence],
    spans: Sequence[tuple[int, int, int]],
    hits: Sequence[Hit],
    definitions: dict[str, str],
) -> list[PhraseSpan]:
    """The phrase spans no name, abbreviation or gene hit overlaps, once each."""
    lexical = [h for h in hits if h.kind not in ("head_noun", "embedding")]
    out: list[PhraseSpan] = []
    seen: set[tuple[int, int]] = set()
    for number, start, end in spans:
        if (start, end) in seen or any(h.tok_start < end and start < h.tok_end for h in lexical):
            continue
        seen.add((start, end))
        sent = sentences[number]
        span = doc[start:end]
        char_start = span.start_char - sent.offset
        text = sent.text[char_start : span.end_char - sent.offset].rstrip(DASHES)
        phrase = CandidatePhrase(
            sent.sentence_id, char_start, char_start + len(text), text, _query(span, definitions)
        )
        out.append(PhraseSpan(number, start, end, phrase))
    return out


def _disease_like(linker: Linker, doc: Doc, start: int, end: int, definitions: dict[str, str]) -> bool:
    tokens = doc[start:end]
    if any(strip_word(t.text) in definitions for t in tokens):
        return True
    if any(t.lower in linker.patient_hashes for t in tokens):
        return False
    words = [t for t in tokens if t.is_alpha and not t.is_stop]
    if not any(len(t.text) >= 4 for t in words):
        return False
    return not (len(words) == 1 and words[0].norm_ in _GENERIC_WORDS)


def _forward_phrases(doc: Doc, start: int, limit: int) -> list[tuple[int, int]]:
    phrases: list[tuple[int, int]] = []
    i = start
    while i < limit and len(phrases) < MAX_CONJUNCTS:
        while i < limit and (doc[i].lower_ in _DETERMINERS or doc[i].is_space):
            i += 1
        j = i
        while j < limit and j - i < MAX_PHRASE_TOKENS and _inside(doc[j]):
            j += 1
        while j > i and doc[j - 1].lower_ in _INNER:
            j -= 1
        if j > i:
            phrases.append((i, j))
        if j < limit and doc[j].lower_ in _CONJUNCTIONS:
            i = j + 1
            continue
        break
    return phrases


def _backward_phrase(doc: Doc, end: int, limit: int) -> tuple[int, int] | None:
    i = end
    while i > limit and end - i < MAX_BACKWARD_TOKENS:
        token = doc[i - 1]
        if not _inside(token) or token.lower_ in _INNER:
            break
        i -= 1
    return (i, end) if i < end else None


def _inside(token: Token) -> bool:
    lower = token.lower_
    if lower in _INNER:
        return True
    if token.is_space or token.is_punct or lower in _CONJUNCTIONS:
        return False
    return not token.is_stop


def _query(span: Doc, definitions: dict[str, str]) -> str:
    """The phrase as written, with the document's own short forms replaced by their long forms."""
    parts: list[str] = []
    for token in span:
        word = strip_word(token.text)
        long_form = definitions.get(word) or definitions.get(sf_key(word))
        parts.append((long_form + token.text[len(word) :] if long_form else token.text) + token.whitespace_)
    return "".join(parts).strip().rstrip(DASHES)
