"""The case-level diagnosis of a free text (``mmrare ontology map --text-file F``): split it into
sentences, link them, choose the diagnosis.

A text handed to ``ontology map`` has no parsed sections. It is split by the sentencizer, and each
sentence is given the role ``other``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mmrare.ontology.linking.diagnosis import CaseDiagnosis, diagnose_case
from mmrare.ontology.linking.document import link_document
from mmrare.ontology.linking.matcher import Linker
from mmrare.ontology.linking.mentions import Mention


@dataclass(frozen=True, slots=True)
class TextDiagnosis:
    """What :func:`map_text` found: the sentences as linked, their mentions and the diagnosis."""

    sentences: tuple[tuple[str, str, str], ...]  # (sentence_id, role, text)
    mentions: tuple[Mention, ...]
    diagnosis: CaseDiagnosis

    def sentence_text(self, sentence_id: str) -> str:
        for sid, _role, text in self.sentences:
            if sid == sentence_id:
                return text
        return ""


def text_sentences(linker: Linker, text: str) -> list[tuple[str, str, str]]:
    """``(sentence_id, role, text)`` of a free text: sentencizer sentences, ids ``s0``, ``s1``, ..."""
    parts = [s.text.strip() for s in linker.nlp(text).sents if s.text.strip()]
    return [(f"s{i}", "other", part) for i, part in enumerate(parts)]


def map_text(
    linker: Linker, text: str, title: str | None = None, keywords: Sequence[str] = ()
) -> TextDiagnosis:
    """The rare-disease diagnosis of ``text`` (with its ``title``), and the evidence behind it."""
    sentences = text_sentences(linker, text)
    mentions = link_document(linker, sentences, title)
    diagnosis = diagnose_case(linker.index, mentions)
    if title:
        sentences = [("title", "title", title), *sentences]
    return TextDiagnosis(tuple(sentences), tuple(mentions), diagnosis)
