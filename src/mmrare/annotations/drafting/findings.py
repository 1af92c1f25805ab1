"""Image findings: what each figure shows, in words a question can use.

Findings come from captions and from sentences citing exactly one figure, taken from after a
reporting verb ("revealed villous blunting"), before a visibility phrase ("Zellballen ... can be
seen") or after "Note". Figure labels, "(Fig. 2)", panel letters, parentheticals and citations are
stripped; findings that only compare with another image ("similar to previous biopsies") are dropped.
A finding is *distinctive* for its figure when most of its content words do not occur in the text of
any other shown figure, so "Which image shows X?" has one right answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.text import BRACKET_CITATION, containment, stems, strip_figure_refs, tidy
from mmrare.memo import chunk_memo

MAX_FINDING_CHARS = 120
AMBIGUOUS = 0.5  # containment in another figure's text at which a finding no longer singles out its figure

_CUE_AFTER = re.compile(
    r"\b(?:reveal(?:s|ed|ing)?|show(?:s|ed|n|ing)?|demonstrat(?:es|ed|ing)|depict(?:s|ed|ing)|"
    r"display(?:s|ed|ing)?|illustrat(?:es|ed|ing)|confirm(?:s|ed|ing)?|indicat(?:es|ed|ing)|"
    r"exhibit(?:s|ed|ing)?|highlight(?:s|ed|ing)?|(?:was|were)\s+significant\s+for|notable\s+for|"
    r"with\s+evidence\s+of)\s+(?:that\s+)?",
    re.IGNORECASE,
)
_CUE_BEFORE = re.compile(
    r"^(?P<obj>.+?)\s+(?:(?:can|could|may)\s+be|is|are|was|were)\s+(?:also\s+|clearly\s+|still\s+)?"
    r"(?:seen|noted|observed|visible|evident|present|shown|identified|demonstrated)\b",
    re.IGNORECASE,
)
_NOTE = re.compile(r"^\s*note\s+(?P<obj>.+)$", re.IGNORECASE)
_PANEL = re.compile(r"\s*(?:[;,]\s*)?(?:\band\s+)?\(\s*(?:[A-Ha-h]|[ivx]{1,3})\s*\)\s*")
_LEADING_PANEL = re.compile(r"^\s*(?:\(?[A-H]\)|[A-H][.:]|Panel\s+[A-H][.:]?)\s+")
_PARENTHETICAL = re.compile(r"\s*\([^()]*\)")
_QUOTES = re.compile(r"[“”\"'‘’]")
_LEADING = re.compile(r"^(?:(?:the|a|an)\s+)?(?:presence|evidence|appearance)\s+of\s+|^(?:the|a|an)\s+", re.I)
_TRAILING_CLAUSE = re.compile(
    r",?\s+(?:which|suggesting|indicating|consistent\s+with|compatible\s+with|typical\s+(?:of|for))\b.*$",
    re.IGNORECASE,
)
_RELATIVE = re.compile(
    r"\b(?:similar\s+to|compared\s+(?:to|with)|than\s+(?:before|previous\w*|prior)|previous\w*|prior|"
    r"unchanged|again)\b",
    re.IGNORECASE,
)
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z(“\"])")


@dataclass(frozen=True, slots=True)
class Finding:
    """Something one figure shows."""

    figure_id: str
    text: str
    source: str  # "caption" | "sentence"
    sentence_id: str | None
    kind: str = "finding"  # "finding", or "view" (what the image is, when no finding is stated)


def clean_finding(text: str) -> str | None:
    """A finding phrase without labels, panels, brackets or quotes; None when unusable."""
    text = strip_figure_refs(BRACKET_CITATION.sub("", text))
    text = _LEADING_PANEL.sub("", text)
    text = _PARENTHETICAL.sub("", text)
    text = _QUOTES.sub("", text)
    text = _TRAILING_CLAUSE.sub("", text)
    text = tidy(text).strip(" ,;:.-")
    text = re.sub(r"\s*(?:,|;)?\s*\band$", "", text).strip(" ,;:.-")
    text = _LEADING.sub("", text).strip()
    if _RELATIVE.search(text):
        return None
    if len(text) > MAX_FINDING_CHARS:
        cut = text.rfind(", ", 0, MAX_FINDING_CHARS)
        if cut < 20:
            return None
        text = re.sub(r"\s*,?\s*\band$", "", text[:cut]).strip(" ,;")
    if len(text.split()) < 2 or not stems(text):
        return None
    return text


def findings_in(text: str) -> list[str]:
    """Findings stated in one caption sentence or citing sentence (one per panel)."""
    return list(_findings_in(text))


@chunk_memo(maxsize=1 << 14)
def _findings_in(text: str) -> tuple[str, ...]:
    """:func:`findings_in`, memoised: the pool and the cross-image track read the same captions."""
    for pattern in (_CUE_AFTER, _CUE_BEFORE, _NOTE):
        if pattern is _CUE_AFTER:
            match = pattern.search(text)
            obj = text[match.end() :] if match else ""
        else:
            match = pattern.search(text)
            obj = match.group("obj") if match else ""
        if not obj.strip():
            continue
        parts = [p for p in _PANEL.split(obj) if p and p.strip()]
        out = tuple(c for p in parts if (c := clean_finding(p)))
        if out:
            return out
    return ()


def _caption_sentences(caption: str) -> list[str]:
    return [s for s in _SENTENCE_SPLIT.split(" ".join(caption.split())) if s.strip()]


def figure_findings(view: CaseView, figure_id: str) -> list[Finding]:
    """All findings of one figure: caption first, then sentences citing only this figure."""
    figure = view.figure_by_id[figure_id]
    caption = " ".join(t for t in (figure.caption_title, figure.caption_text) if t)
    found: list[Finding] = []
    for sentence in _caption_sentences(caption):
        found += [Finding(figure_id, t, "caption", None) for t in findings_in(sentence)]
    for sid in view.citing.get(figure_id, []):
        if view.cited.get(sid) == [figure_id]:
            text = view.by_id[sid].text
            found += [Finding(figure_id, t, "sentence", sid) for t in findings_in(text)]
    if not found:
        first = _caption_sentences(caption)[:1]
        view_text = clean_finding(first[0]) if first else None
        if view_text:
            found.append(Finding(figure_id, view_text, "caption", None, kind="view"))
    unique: dict[str, Finding] = {}
    for f in found:
        unique.setdefault(f.text.casefold(), f)
    return list(unique.values())


def figure_stems(view: CaseView, figure_id: str) -> frozenset[str]:
    """Content words of everything said about a figure: caption and every sentence citing it."""
    figure = view.figure_by_id[figure_id]
    texts = [figure.caption_title, figure.caption_text]
    texts += [view.by_id[sid].text for sid in view.citing.get(figure_id, [])]
    return stems(strip_figure_refs(" ".join(texts)))


def is_distinctive(finding: Finding, others: dict[str, frozenset[str]]) -> bool:
    """The finding's words are not mostly found in what is said about any other figure."""
    words = stems(finding.text)
    return all(
        containment(words, other) < AMBIGUOUS for fid, other in others.items() if fid != finding.figure_id
    )
