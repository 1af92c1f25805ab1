"""Sentence spans for medical prose: spaCy's rule-based sentencizer plus repairs for its known misses.

Sentences are the unit that figure mentions and drafting contexts are cut on, so a split inside
"Fig. 2" or "Smith et al. (2010)" would attach a figure to the wrong sentence, and a missed split
after "120 U/L." would glue two findings together. The blank English pipeline is fast and
deterministic (no model download, no version drift in a statistical parser). Its tokenizer is tuned
to cut after a period that follows letters ("mg/dL.", "IgG."), and the rules below then merge the
pieces cut after abbreviations, initials and inside numbers, and split after flattened superscript
citations ("nutrition.1 Because ...")."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

Span = tuple[int, int]

_MAX_LENGTH = 10_000_000  # a blank tokenizer needs little memory per character

# A piece ending in one of these was cut after an abbreviation, not at a sentence end.
_ABBREVIATION_END = re.compile(
    r"(?:^|[\s(\[.-])(?:"
    r"[Ff]igs?|FIGS?|[Ee]qs?|[Rr]efs?|[Tt]abs?|[Ss]uppl|[Vv]ol|pp|Nos?|e\.g|i\.e|vs|[Cc]f|ca|[Aa]pprox"
    r"|[Rr]esp|Drs?|Prof|Mrs?|St|Jr|[Ii]ncl|[Vv]iz|[A-Z]"
    r")\.$"
)
# "...parenteral nutrition.1 Because only..." - a superscript citation flattened after the period (or
# "shown.[4] Next"); the tokenizer sees "nutrition.1" as one token, so spaCy never ends the sentence there.
_CITATION_AFTER_PERIOD = re.compile(
    r"(?<=[A-Za-z)\]])\.(?:\d{1,3}(?:[,\u2013-]\d{1,3})*|\[\d{1,3}(?:[,\u2013-]\s?\d{1,3})*\])(?=\s+[A-Z(\[])"
)
_INITIAL = re.compile(r"[A-Z]\.")
_ET_AL_END = re.compile(r"\bet\s+al\.$")
# A period followed by a comma or semicolon never ends a sentence ("Smith et al., 2019", "etc.;").
_PERIOD_THEN_CLAUSE = re.compile(r"\.\)?[,;:]$")
# Before a lower-case word: "etc.", taxonomy ("sp.", "var."), genus abbreviations ("E. coli", "Lm. reuteri")
# and dotted abbreviations ("i.v.", "95% C.L.)").
_ABBREVIATION_BEFORE_LOWER = re.compile(
    r"(?:^|[\s(\[])(?:etc|sp|spp|subsp|var|cv|al|[A-Z][a-z]?|(?:[A-Za-z]\.)+[A-Za-z])\.\)?$"
)
# A piece that is only a citation ("[28].", "(12, 13)") belongs to the sentence before it.
_ONLY_CITATION = re.compile(r"^[\[(]\d{1,3}(?:\s?[,\u2013-]\s?\d{1,3})*[\])]\.?$")
_OPENERS_AT_END = re.compile(r"\s+[(\[{\"“‘]+$")


@functools.lru_cache(maxsize=1)
def _nlp() -> Language:
    """The sentence pipeline, built once on first use (not at import), computing only ``is_punct``.

    Each word the vocabulary has not seen yet becomes a lexeme, and by default ~20 attribute
    functions run on it (shape, like_url, like_num, stop word, ...): a third of the cost of splitting
    new text. The tokenizer reads none of them and the sentencizer only ``is_punct``.
    """
    from spacy.attrs import IS_PUNCT

    nlp = _sentence_pipeline()
    nlp.vocab.lex_attr_getters = {IS_PUNCT: nlp.vocab.lex_attr_getters[IS_PUNCT]}
    return nlp


def _sentence_pipeline() -> Language:
    """The blank English pipeline with our tokenizer rules and a sentencizer."""
    import spacy

    nlp = spacy.blank("en")
    # Also cut a final period after letters in mixed case ("mg/dL.", "IgG.", "U/L.", "Figure 2A."):
    # the default suffix rules keep it attached, so no sentence would end there.
    suffixes = [*nlp.Defaults.suffixes, r"(?<=[A-Za-z])\."]
    nlp.tokenizer.suffix_search = spacy.util.compile_suffix_regex(suffixes).search
    # "A." .. "Z." are special cases, so "10^9/L. CRP was 45" never split; initials are re-joined by
    # the merge rules instead, which know that a unit after "/" is not an initial.
    nlp.tokenizer.rules = {k: v for k, v in nlp.tokenizer.rules.items() if not _INITIAL.fullmatch(k)}
    nlp.add_pipe("sentencizer")
    nlp.max_length = _MAX_LENGTH
    return nlp


def split_sentences(text: str) -> list[Span]:
    """Character spans ``(start, end)`` of the sentences of ``text``.

    Each span is trimmed of surrounding whitespace, so ``text[start:end]`` is the sentence exactly;
    spans are in order, do not overlap and never cover only whitespace.
    """
    if not text.strip():
        return []
    spans = _trimmed(text, [(s.start_char, s.end_char) for s in _nlp()(text).sents])
    spans = _merge_wrong_splits(text, _move_openers(text, spans))
    return [piece for span in spans for piece in _split_after_citations(text, span)]


def _trimmed(text: str, spans: list[Span]) -> list[Span]:
    """Drop whitespace-only spans and strip whitespace from the ends of the others."""
    out: list[Span] = []
    for start, end in spans:
        piece = text[start:end]
        stripped = piece.strip()
        if not stripped:
            continue
        lead = len(piece) - len(piece.lstrip())
        out.append((start + lead, start + lead + len(stripped)))
    return out


def _move_openers(text: str, spans: list[Span]) -> list[Span]:
    """"was large. (A) shows" is cut as "was large. (" + "A) shows": hand the "(" to the next one."""
    out = list(spans)
    for i in range(len(out) - 1):
        start, end = out[i]
        match = _OPENERS_AT_END.search(text, start, end)
        if match and match.start() > start:
            out[i] = (start, match.start())
            out[i + 1] = (match.end() - len(match.group().lstrip()), out[i + 1][1])
    return out


def _should_merge(previous: str, gap: str, following: str) -> bool:
    """Whether the cut between two pieces is a tokenizer artefact rather than a sentence end."""
    if not gap:
        return True  # "3.5", "e.g.the", "(p<0.05).The": no space, no sentence boundary
    if _ABBREVIATION_END.search(previous) or _PERIOD_THEN_CLAUSE.search(previous):
        return True
    if _ONLY_CITATION.match(following):
        return True
    if following[:1].islower() and _ABBREVIATION_BEFORE_LOWER.search(previous):
        return True
    if _ET_AL_END.search(previous):
        # "Smith et al. (2010) showed" continues; "... by Smith et al. The patient" is a real end.
        return not following[:1].isupper()
    return False


def _split_after_citations(text: str, span: Span) -> list[Span]:
    """Cut after "word.12 " when the next word is capitalised, unless "word." is an abbreviation."""
    start, end = span
    pieces: list[Span] = []
    for match in _CITATION_AFTER_PERIOD.finditer(text, start, end):
        word_end = match.start() + 1
        if _ABBREVIATION_END.search(text, start, word_end) or _ET_AL_END.search(text, start, word_end):
            continue
        pieces.append((start, match.end()))
        start = match.end()
        while start < end and text[start].isspace():
            start += 1
    pieces.append((start, end))
    return pieces


def _merge_wrong_splits(text: str, spans: list[Span]) -> list[Span]:
    out: list[Span] = []
    for start, end in spans:
        if out:
            prev_start, prev_end = out[-1]
            if _should_merge(text[prev_start:prev_end], text[prev_end:start], text[start:end]):
                out[-1] = (prev_start, end)
                continue
        out.append((start, end))
    return out
