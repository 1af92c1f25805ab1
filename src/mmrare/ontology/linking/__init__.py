"""Text -> ORPHA concept linking: ORDO names matched with spaCy, abbreviations, assertion context,
and the choice of a case's rare-disease diagnosis.

    linker = Linker.build(load_ordo(path, cache), cache_dir=workspace / "cache" / "linking")
    mentions = link_document(linker, [(sentence_id, section_role, text), ...], title)
    diagnosis = diagnose_case(linker.index, mentions, sections_present={...})

Module map: ``normalise`` (tokenizer and norms), ``terms`` (what is matched, what is skipped),
``matcher`` + ``cache`` (the :class:`Linker`, cached per ORDO sha256 and linker version),
``abbreviations`` (Schwartz–Hearst), ``context`` (negated, differential, family, historical,
hypothetical, diagnosis cues), ``hits`` (where a document names a concept), ``phrases`` (unmatched
phrases for the embedding fallback), ``document`` (linking a document), ``mentions`` (the records),
``generic`` (classes that are never answers), ``diagnosis`` (the case's concept).

The linker never imports another stage: sentences come in as plain ``(id, role, text)`` tuples, and
the embedding fallback is any callable ``list[str] -> list[(code, score) | None]``.
"""

from mmrare.ontology.linking.diagnosis import CaseDiagnosis, diagnose_case
from mmrare.ontology.linking.document import Fallback, link_document, link_text, unmatched_phrases
from mmrare.ontology.linking.freetext import TextDiagnosis, map_text, text_sentences
from mmrare.ontology.linking.generic import Answerability, answerability, is_generic
from mmrare.ontology.linking.matcher import LINKER_VERSION, Linker
from mmrare.ontology.linking.mentions import CandidatePhrase, MatchKind, Mention

__all__ = [
    "LINKER_VERSION",
    "Answerability",
    "CandidatePhrase",
    "CaseDiagnosis",
    "Fallback",
    "Linker",
    "MatchKind",
    "Mention",
    "TextDiagnosis",
    "answerability",
    "diagnose_case",
    "is_generic",
    "link_document",
    "link_text",
    "map_text",
    "text_sentences",
    "unmatched_phrases",
]
