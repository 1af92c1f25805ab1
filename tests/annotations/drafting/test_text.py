"""Shortcuts in the text helpers give exactly what the plain regexes give.

``tidy`` finds spaces before punctuation with a literal space once whitespace is single spaces, and
``replace_figure_refs`` looks for a dangling "in"/"see" only where a reference was removed; both are
compared with the regexes they stand for, on the sample cases and on texts built to trip them.
"""

from __future__ import annotations

import re

import pytest

from mmrare.annotations.drafting import text as text_module
from mmrare.annotations.drafting.text import (
    FIG_REF,
    containment,
    figure_numbers,
    replace_figure_refs,
    stems,
    tidy,
)
from mmrare.items import CaseInput

_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:)\]])")
_DANGLING = re.compile(r"(?:\s*\b(?:in|see))?\s*\x00", re.IGNORECASE)

TRICKY = [
    "Nodules ( ; ) were seen in Fig. 3 , and (see Fig. 4) ; [ ] later .",
    "A mass\u00a0, a cyst\u2003; a node\u2028) and\u0085. end\u3000]",
    "Shown in Figures 1–3 and 5 .",
    "A stray \x00 in the text, see Fig. 9 .",
    "\t leading and trailing \n",
    "",
]


def _plain_tidy(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = text_module._EMPTY_PARENS.sub("", text)
    return _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split())).strip()


def _plain_replace(text: str, markers: dict[int, list[str]]) -> str:
    def sub(match: re.Match[str]) -> str:
        numbers = figure_numbers(match.group("nums"))
        names = list(dict.fromkeys(m for n in numbers for m in markers.get(n, [])))
        if not names:
            return "\x00"
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]

    return _plain_tidy(_DANGLING.sub("", FIG_REF.sub(sub, text)))


def _texts(samples: dict[str, CaseInput]) -> list[str]:
    found = [s.text for case in samples.values() for s in case.sentences]
    figures = [f for case in samples.values() for f in case.figures]
    found += [t for f in figures for t in (f.caption_title, f.caption_text) if t]
    return found + TRICKY


def test_tidy_equals_the_plain_regexes(samples: dict[str, CaseInput]) -> None:
    for text in _texts(samples):
        assert tidy(text) == _plain_tidy(text)


@pytest.mark.parametrize("markers", [{}, {1: ["Image 1"], 3: ["Image 2", "Image 3"]}])
def test_replace_figure_refs_equals_the_plain_regexes(
    samples: dict[str, CaseInput], markers: dict[int, list[str]]
) -> None:
    for text in _texts(samples):
        assert replace_figure_refs(text, markers) == _plain_replace(text, markers)


def test_containment_of_frozensets_equals_that_of_plain_iterables() -> None:
    part = stems("villous blunting of the duodenal mucosa")
    whole = stems("duodenal biopsy, villous atrophy")
    for a, b in [(part, whole), (whole, part), (frozenset(), whole), (part, frozenset())]:
        expected = len(set(a) & set(b)) / len(a) if a else 0.0
        assert containment(a, b) == containment(list(a), iter(sorted(b))) == expected
