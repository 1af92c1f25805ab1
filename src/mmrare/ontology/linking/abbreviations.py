"""Abbreviations a document defines for itself, found with the Schwartz–Hearst algorithm.

Schwartz & Hearst (2003), "A simple algorithm for identifying abbreviation definitions in
biomedical text": a short form (SF) is a parenthesised token of 2-10 characters, at most two words,
starting with a letter or digit and containing a letter; its long form (LF) is searched in the at
most ``min(|SF| + 5, 2 * |SF|)`` words before the parenthesis by matching the SF's characters right
to left, the first one at the start of a word. So "adults, autoimmune enteropathy (AIE)" gives
"autoimmune enteropathy", and intervening words are skipped where the characters say so ("Prolonged
neonatal hyperinsulinism (PNH)"). When the parenthesis holds the long form ("AIE (autoimmune
enteropathy)"), the single word before it is the SF candidate.

Case reports abbreviate the very disease they are about, and their abbreviations are local: "AIE" is
autoimmune encephalitis in ORDO but autoimmune enteropathy in PMC6358579. So a definition found here
overrides ORDO's acronyms for the whole document, and the SF links to the LF's concept only *after*
the definition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_SF_CHARS = 10
MIN_SF_CHARS = 2
_PARENS = re.compile(r"\(([^()]{1,120})\)")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True, slots=True)
class Definition:
    """One SF/LF pair; offsets are into the text the definition was found in."""

    short: str
    long: str
    short_start: int
    short_end: int
    long_start: int
    long_end: int


def find_definitions(text: str) -> list[Definition]:
    """Every SF/LF definition in ``text`` (one sentence), left to right."""
    if "(" not in text:
        return []
    found: list[Definition] = []
    for match in _PARENS.finditer(text):
        inner_start = match.start(1)
        inner = match.group(1)
        cut = re.search(r"[;,]", inner)
        if cut:
            inner = inner[: cut.start()]
        stripped = inner.strip()
        sf_start = inner_start + (len(inner) - len(inner.lstrip()))
        definition = _sf_in_parens(text, stripped, sf_start, match.start())
        if definition is None:
            definition = _lf_in_parens(text, stripped, sf_start, match.start())
        if definition is not None:
            found.append(definition)
    return found


def is_short_form(candidate: str) -> bool:
    """The SF shape of the algorithm: 2-10 characters, at most two words, a letter, alphanumeric start."""
    if not MIN_SF_CHARS <= len(candidate) <= MAX_SF_CHARS or len(candidate.split()) > 2:
        return False
    return candidate[0].isalnum() and any(ch.isalpha() for ch in candidate)


def _sf_in_parens(text: str, short: str, sf_start: int, paren_start: int) -> Definition | None:
    """The usual "long form (SF)" case."""
    if not is_short_form(short):
        return None
    window_words = min(len(short) + 5, 2 * len(short))
    words = list(_WORD.finditer(text, 0, paren_start))[-window_words:]
    if not words:
        return None
    window_start = words[0].start()
    window = text[window_start:paren_start].rstrip()
    long_form = best_long_form(short, window)
    if long_form is None:
        return None
    long_start = window_start + len(window) - len(long_form)
    return Definition(
        short, long_form, sf_start, sf_start + len(short), long_start, long_start + len(long_form)
    )


def _lf_in_parens(text: str, inner: str, inner_start: int, paren_start: int) -> Definition | None:
    """The reversed "SF (long form)" case: the word before the parenthesis is the SF."""
    if len(inner.split()) < 2:
        return None
    before = list(_WORD.finditer(text, 0, paren_start))
    if not before:
        return None
    word = before[-1]
    short = word.group().strip(".,;:")
    if not is_short_form(short) or len(short.split()) != 1:
        return None
    long_form = best_long_form(short, inner)
    if long_form is None or long_form != inner:
        return None
    return Definition(
        short, inner, word.start(), word.start() + len(short), inner_start, inner_start + len(inner)
    )


def best_long_form(short: str, window: str) -> str | None:
    """Schwartz–Hearst ``findBestLongForm``: the shortest tail of ``window`` whose words contain the
    SF's characters in order, the SF's first character starting a word; None if there is none."""
    s_index = len(short) - 1
    l_index = len(window) - 1
    while s_index >= 0:
        char = short[s_index].lower()
        if not char.isalnum():
            s_index -= 1
            continue
        while l_index >= 0 and (
            window[l_index].lower() != char
            or (s_index == 0 and l_index > 0 and window[l_index - 1].isalnum())
        ):
            l_index -= 1
        if l_index < 0:
            return None
        l_index -= 1
        s_index -= 1
    start = max(window.rfind(" ", 0, l_index + 1) + 1, 0)
    long_form = window[start:].strip()
    if len(long_form) <= len(short) or short.lower() in long_form.lower().split():
        return None
    return long_form


def short_form_pattern(short: str) -> re.Pattern[str]:
    """Case-sensitive occurrences of an SF as a whole word, with or without a plural "s"
    ("CPGL" / "CPGLs"), as the SF is written in the definition."""
    base = short[:-1] if short.endswith("s") and len(short) > 2 and short[-2].isupper() else short
    return re.compile(rf"(?<![^\W_]){re.escape(base)}s?(?![^\W_])")
