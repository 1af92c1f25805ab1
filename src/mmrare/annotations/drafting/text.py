"""Small text helpers shared by the track drafters: normalising, term matching, figure references,
abbreviations and a crude token overlap used to keep questions unambiguous.

Everything here is pure and deterministic; no model, no network.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from mmrare.memo import chunk_memo

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


@chunk_memo(maxsize=1 << 16)
def normalise(text: str) -> str:
    """Lowercase, accents and punctuation removed, single spaces: for comparing labels and options.

    Memoised: the same vocabulary names and pool texts are compared for every case of a build. Whole
    articles are normalised too, so accents go by one ``translate`` of the few distinct combining
    marks rather than a Python test per character, and ASCII text (nothing to decompose) skips it."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        marks = [c for c in set(text) if unicodedata.combining(c)]
        if marks:
            text = text.translate(dict.fromkeys(map(ord, marks)))
    return " ".join(_NON_ALNUM.sub(" ", text.casefold()).split())


_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Term:
    """A normalised term found as whole words, plural allowed.

    Finds what ``re.compile(r"(?<![0-9a-z])" + re.escape(norm) + r"(?:s|es)?(?![0-9a-z])")`` finds,
    with ``str.find``: compiling that regex for every label and alias of every case's diagnosis cost
    more than all the searches made with it.
    """

    norm: str

    def search(self, text: str) -> bool:
        """Whether ``text`` contains the term (a bool where the regex gives a match or None)."""
        norm, size = self.norm, len(self.norm)
        at = text.find(norm)
        while at >= 0:
            if at == 0 or text[at - 1] not in _ALNUM:
                end = at + size
                for suffix in ("s", "es", ""):
                    after = end + len(suffix)
                    if text.startswith(suffix, end) and (after == len(text) or text[after] not in _ALNUM):
                        return True
            at = text.find(norm, at + 1)
        return False


def term_pattern(term: str) -> Term | None:
    """``term`` (normalised) as whole words in normalised text, plural allowed (None when empty)."""
    norm = normalise(term)
    return Term(norm) if norm else None


# Words that carry no finding-specific meaning when comparing two findings or options.
_STOP_WORDS = """
a an the of in on at to for with without and or but by from as is are was were be been this that
these those its their her his our there which who whom also both all any each other some such than
then into onto over under left right bilateral unilateral image images figure figures panel panels
patient patients case shows showing shown seen see arrow arrows arrowhead arrowheads note noted
view views no not
"""
_STOP = frozenset(_STOP_WORDS.split())
_WORD = re.compile(r"[0-9a-z]+")


@chunk_memo(maxsize=1 << 16)
def stems(text: str) -> frozenset[str]:
    """Content words cut to six characters: a crude stem so "apoptosis"/"apoptoses" compare equal.

    Memoised like :func:`normalise` (pool findings are compared with every case's own findings)."""
    return frozenset(w[:6] for w in _WORD.findall(normalise(text)) if len(w) >= 3 and w not in _STOP)


def containment(part: Iterable[str], whole: Iterable[str]) -> float:
    """Share of ``part``'s stems found in ``whole`` (0 when ``part`` is empty).

    ``frozenset`` of a frozenset is that frozenset: the stems of :func:`stems` are compared without
    copying (a figure's stems are compared with every finding of the case's other figures)."""
    part_set, whole_set = frozenset(part), frozenset(whole)
    return len(part_set & whole_set) / len(part_set) if part_set else 0.0


# ----------------------------------------------------------------------------- figure references

# "Fig. 1", "Figure 2A", "Figs. 3 and 4", "Figure 3, Figure 4", "Fig. 2a,b", "Figures 1–3".
_FIG_WORD = r"(?:Supplementary\s+)?Fig(?:ure)?s?\.?"
_FIG_NUM = r"\d+(?:[A-Za-z](?:\s*[,–-]\s*[A-Za-z](?![A-Za-z]))*(?![A-Za-z]))?"
FIG_REF = re.compile(
    rf"\b{_FIG_WORD}\s*(?P<nums>{_FIG_NUM}(?:\s*(?:,|and|&|–|-|to)\s*(?:{_FIG_WORD}\s*)?{_FIG_NUM})*)",
    re.IGNORECASE,
)
_RANGE = re.compile(r"(\d+)[A-Za-z]?\s*(?:–|-|to)\s*(?:Fig(?:ure)?s?\.?\s*)?(\d+)", re.IGNORECASE)
_EMPTY_PARENS = re.compile(r"\(\s*(?:[,;]\s*)*\)|\[\s*(?:[,;]\s*)*\]")
# Read in text whose whitespace is already single spaces (``\s`` and ``str.split`` agree on what
# whitespace is), where a literal space lets the regex engine skip to candidates quickly.
_SPACE_BEFORE_PUNCT = re.compile(r" ([,.;:)\]])")
# What a removed reference leaves behind: "is shown in ." / "(see )" / "nodules in ,".
_DANGLING = re.compile(r"(?:\s*\b(?:in|see))?\s*\x00", re.IGNORECASE)
BRACKET_CITATION = re.compile(r"\s*\[\d+(?:\s*[,–-]\s*\d+)*\]")


def figure_numbers(nums: str) -> list[int]:
    """The figure numbers named in a reference's number list ("3 and 4" -> [3, 4], "1–3" -> [1, 2, 3])."""
    out: list[int] = []
    for match in _RANGE.finditer(nums):
        lo, hi = int(match.group(1)), int(match.group(2))
        if 0 < hi - lo < 50:
            out.extend(range(lo, hi + 1))
    out.extend(int(n) for n in re.findall(r"\d+", _RANGE.sub(" ", nums)))
    return sorted(set(out), key=out.index)


def replace_figure_refs(text: str, markers: dict[int, list[str]]) -> str:
    """Figure references rewritten as image markers; references to figures not shown are removed."""

    def sub(match: re.Match[str]) -> str:
        numbers = figure_numbers(match.group("nums"))
        names = list(dict.fromkeys(m for n in numbers for m in markers.get(n, [])))
        if not names:
            return "\x00"  # marks a removed reference, so a dangling "in"/"see" before it goes too
        if len(names) == 1:
            return names[0]
        return ", ".join(names[:-1]) + " and " + names[-1]

    replaced = FIG_REF.sub(sub, text)
    if "\x00" in replaced:  # only then can a dangling word be left; the search is slow where it cannot
        replaced = _DANGLING.sub("", replaced)
    return tidy(replaced)


def strip_figure_refs(text: str) -> str:
    """Figure references removed (for text that must not tie findings to images)."""
    return replace_figure_refs(text, {})


def tidy(text: str) -> str:
    """Empty brackets, doubled spaces and spaces before punctuation left by removals cleaned up."""
    previous = None
    while previous != text:
        previous = text
        text = _EMPTY_PARENS.sub("", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", " ".join(text.split()))
    return text.strip()


# ----------------------------------------------------------------------------- abbreviations

_PARENS = re.compile(r"\(([^()]{1,60})\)")
_SHORT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,9}$")


def _long_form(short: str, words: list[str]) -> str | None:
    """Schwartz & Hearst (2003): the shortest tail of ``words`` whose letters spell ``short``."""
    long = " ".join(words)
    s_idx, l_idx = len(short) - 1, len(long) - 1
    while s_idx >= 0:
        char = short[s_idx].lower()
        if not char.isalnum():
            s_idx -= 1
            continue
        while l_idx >= 0 and (
            long[l_idx].lower() != char or (s_idx == 0 and l_idx > 0 and long[l_idx - 1].isalnum())
        ):
            l_idx -= 1
        if l_idx < 0:
            return None
        l_idx -= 1
        s_idx -= 1
    start = long.rfind(" ", 0, l_idx + 1) + 1
    return long[start:]


def abbreviations(texts: Iterable[str]) -> dict[str, str]:
    """Abbreviations defined as "long form (SF)" or "long form (SF1 and SF2)" -> long form.

    Case reports define abbreviations early (abstract, background) and use them later; the
    diagnosis drafter needs them to recognise that "CPGLs" or "AIE" name the answer.
    """
    found: dict[str, str] = {}
    for text in texts:
        for match in _PARENS.finditer(text):
            words = text[: match.start()].split()
            for raw in re.split(r",\s*|\s+and\s+|;\s*", match.group(1).strip()):
                short = raw.strip()
                core = short[:-1] if short.endswith("s") and short[:-1].isupper() else short
                if not _SHORT.match(core) or not any(c.isupper() for c in core) or len(core) < 2:
                    continue
                if not core[0].isalpha():
                    continue
                window = words[-min(len(core) + 5, len(core) * 2) :]
                long = _long_form(core, window)
                if long and len(long) > len(core) and core not in found:
                    found[core] = long
    return found


def abbreviation_pattern(short: str) -> re.Pattern[str]:
    """Case-sensitive whole-word match of an abbreviation, plural "s" allowed."""
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(short) + r"s?(?![A-Za-z0-9])")
