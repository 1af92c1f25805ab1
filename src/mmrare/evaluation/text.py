"""Answer text normalisation, option-letter parsing and token F1.

Normalisation decides what counts as "the same answer", so it lives in one place with a version
(``NORMALISER_VERSION``) recorded in every result: changing it changes published scores.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

NORMALISER_VERSION = "normalise/1"

_ARTICLES = {"a", "an", "the"}
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7", "viii": "8", "ix": "9"}
_NUMBERED = {"type", "grade", "stage", "class", "group", "form"}
_LEAD_INS = re.compile(
    r"^\s*(?:final\s+)?(?:answer|diagnosis|most\s+likely\s+diagnosis|the\s+diagnosis\s+is|"
    r"the\s+answer\s+is|treatment|examination|next\s+step)\s*(?:is)?\s*[:\-–]?\s*",
    re.IGNORECASE,
)
_LETTER_PREFIX = re.compile(r"^\s*\(?[A-J]\)?\s*[.):\-–]\s+")


def normalise(text: str) -> str:
    """Lower case, accents and punctuation removed, possessive 's dropped, "type II" -> "type 2"."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    text = re.sub(r"['’]s\b", "", text)
    tokens = re.sub(r"[^0-9a-z]+", " ", text).split()
    out: list[str] = []
    for tok in tokens:
        if tok in _ROMAN and out and out[-1] in _NUMBERED:
            tok = _ROMAN[tok]
        out.append(tok)
    while out and out[0] in _ARTICLES:
        out.pop(0)
    return " ".join(out)


def tokens(text: str) -> list[str]:
    """Normalised tokens without articles (SQuAD-style), for token F1."""
    return [t for t in normalise(text).split() if t not in _ARTICLES]


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall (bag of tokens); 1.0 when both are empty."""
    pred, ref = tokens(prediction), tokens(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def answer_candidates(text: str) -> list[str]:
    """Spans of a free-text answer that may be the answer itself: whole text, first line, after a lead-in.

    Models wrap answers ("Answer: Fabry disease."); exact matching on these spans credits the wrapper
    without crediting a long answer that merely mentions the gold name among others.
    """
    out: list[str] = []

    def add(span: str) -> None:
        span = span.strip().strip("*").strip().rstrip(".").strip()
        if span and span not in out:
            out.append(span)

    add(text)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    for line in lines[:1] + [ln for ln in lines if _LEAD_INS.match(ln)]:
        add(line)
        stripped = _LEAD_INS.sub("", line, count=1)
        add(stripped)
        add(_LETTER_PREFIX.sub("", stripped, count=1))
    return out


_LETTER_PATTERNS = (
    re.compile(r"^\s*\**\(?([A-J])\)?\**\s*(?:[.):\-–]|$)"),
    re.compile(r"(?i:\b(?:final\s+)?answer)\s*(?:(?i:is)\s*)?[:\-–]?\s*(?:(?i:option)\s*)?\**\(?([A-J])\b"),
    re.compile(r"(?i:\boption)\s+\**\(?([A-J])\b"),
)


def parse_option_letter(text: str, n_options: int) -> str | None:
    """The option letter a reply chooses ("B", "(B) ...", "Answer: B", "option B"), if any."""
    valid = {chr(ord("A") + i) for i in range(n_options)}
    for pattern in _LETTER_PATTERNS:
        for line in text.splitlines() or [text]:
            match = pattern.search(line)
            if match and match.group(1) in valid:
                return match.group(1)
    return None
