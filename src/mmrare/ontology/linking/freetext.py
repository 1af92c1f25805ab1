"""The case-level diagnosis of a free text (``mmrare ontology map --text-file F``): recover the
article's sections, link its sentences, choose the diagnosis.

A text handed to ``ontology map`` is often a copy of an article page or an abstract: a title, an
"Abstract" with "Background / Case presentation / Conclusions" parts, "Keywords: ...", an
"Introduction", perhaps cut before the discussion. Those headings say which sentences are about the
patient and which are background, which is what the diagnosis rules weigh
(:mod:`~mmrare.ontology.linking.diagnosis`), so they are recovered here instead of calling every
sentence ``other``:

- a line that is only a known heading ("Case presentation", "1. Introduction", "Conclusions:")
  sets the role of the lines after it (:data:`HEADINGS`);
- a line opening with a known heading and a colon ("Background: Wilson ...") sets the role and keeps
  its text;
- "Keywords: a, b, c" is a ``keywords`` sentence (the article's own index terms);
- lines before any heading are ``other``.

The roles present are passed on as ``sections_present``: a text with no case section at all (an
abstract without parts, a teaching case without headings) lets its ``other`` and abstract mentions
tie a disease to the patient (rule 4 of the diagnosis), a text with one does not.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mmrare.ontology.linking.diagnosis import CaseDiagnosis, diagnose_case
from mmrare.ontology.linking.document import link_document
from mmrare.ontology.linking.matcher import Linker
from mmrare.ontology.linking.mentions import Mention

# Heading (lower case, no numbering or colon) -> section role.
HEADINGS: dict[str, str] = {
    **dict.fromkeys(("abstract", "summary", "core tip"), "abstract"),
    **dict.fromkeys(
        ("introduction", "background", "introduction and purpose", "background and objectives", "purpose"),
        "background",
    ),
    **dict.fromkeys(
        (
            "case presentation", "case report", "case reports", "case description", "case", "the case",
            "case summary", "case history", "case study", "case details", "clinical case",
            "clinical presentation", "patient presentation", "presentation", "description",
            "presentation (case narrative)", "history", "history of present illness", "observations",
            "initial presentation", "initial presentations", "clinical synopsis", "case presentations",
            "diagnosis", "final diagnosis",
        ),
        "case_presentation",
    ),
    **dict.fromkeys(
        (
            "investigations", "physical examination", "examination", "laboratory findings", "diagnostics",
            "radiologic findings", "imaging", "findings", "results", "diagnostic workup", "work-up",
        ),
        "investigations",
    ),
    **dict.fromkeys(("treatment", "management", "therapy", "treatment and outcome"), "treatment"),
    **dict.fromkeys(("outcome", "follow-up", "outcome and follow-up"), "outcome"),
    **dict.fromkeys(
        (
            "discussion", "comment", "comments", "literature review", "review of the literature",
            "differential diagnosis", "differential diagnoses", "working diagnosis", "methods",
        ),
        "discussion",
    ),
    **dict.fromkeys(
        (
            "conclusion", "conclusions", "learning points", "key points", "teaching points",
            "results and conclusion",
        ),
        "conclusion",
    ),
    **dict.fromkeys(("keywords", "key words"), "keywords"),
}
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[IVX]+\.)\s+")
_INLINE = re.compile(r"^([A-Za-z][A-Za-z ()\-]{1,40}?)\s*:\s*(.*)$", re.S)


@dataclass(frozen=True, slots=True)
class TextDiagnosis:
    """What :func:`map_text` found: the sentences as linked, their mentions and the diagnosis."""

    sentences: tuple[tuple[str, str, str], ...]  # (sentence_id, role, text)
    mentions: tuple[Mention, ...]
    diagnosis: CaseDiagnosis


def heading_role(line: str) -> str | None:
    """The section role a heading line names, or None when the line is no known heading."""
    key = _NUMBERING.sub("", line.strip()).rstrip(":").strip().lower()
    return HEADINGS.get(" ".join(key.split()))


def text_sentences(linker: Linker, text: str) -> list[tuple[str, str, str]]:
    """``(sentence_id, role, text)`` of a free text, roles from its headings (module docstring);
    ids ``s0``, ``s1``, ... over the sentences (headings are not sentences)."""
    out: list[tuple[str, str, str]] = []
    role = before_keywords = "other"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        found = heading_role(stripped)
        inline = _INLINE.match(stripped) if found is None else None
        if inline is not None:
            found = heading_role(inline.group(1))
            stripped = inline.group(2).strip() if found is not None else stripped
        if found is not None:
            if role != "keywords":
                before_keywords = role
            role = found
            if inline is None or not stripped:
                continue
        if role == "keywords":  # one line of index terms; the section before goes on after it
            out.append((f"s{len(out)}", role, stripped))
            role = before_keywords
            continue
        for sent in linker.nlp(stripped).sents:
            part = sent.text.strip()
            if part:
                out.append((f"s{len(out)}", role, part))
    return out


def map_text(
    linker: Linker, text: str, title: str | None = None, keywords: Sequence[str] = ()
) -> TextDiagnosis:
    """The rare-disease diagnosis of ``text`` (with its ``title`` and index ``keywords``), and the
    evidence behind it."""
    sentences = text_sentences(linker, text)
    if keywords:
        sentences.append((f"s{len(sentences)}", "keywords", "; ".join(keywords)))
    mentions = link_document(linker, sentences, title)
    roles = {role for _sid, role, _text in sentences}
    diagnosis = diagnose_case(linker.index, mentions, sections_present=roles)
    if title:
        sentences = [("title", "title", title), *sentences]
    return TextDiagnosis(tuple(sentences), tuple(mentions), diagnosis)
