"""Every name that gives a diagnosis away, from ORDO: what diagnosis-track masking must look for
beyond the gold class's own label and synonyms.

A case text names its disease the way its authors do, not the way ORDO labels it:

- by a **relative in the hierarchy**: the group of a subtype ("Prader-Willi syndrome" for
  "Prader-Willi syndrome due to paternal 15q11q13 deletion") or a subtype of the gold class ("CMT1A"
  in a case labelled "Charcot-Marie-Tooth disease type 1"). Ancestors count only while
  they still name the answer: their name shares a distinctive word with the answer's names, and they
  are an answerable class or a heading over at most :data:`MAX_NARROWING_DISORDERS` disorders, never
  a broad heading ("Rare neurologic disease") or a classification's root;
- by a **former name**: a deprecated or obsolete class ORDO moved into the gold class ("Goldenhar
  syndrome" for "Oculo-auriculo-vertebral spectrum");
- by a relative's name **without its "usual form" qualifier** ("hyperoxaluria" for "Primary
  hyperoxaluria");
- by a **short name** that is matched case-sensitively: ORDO's acronym synonyms of the gold class and
  those relatives ("SCID", "HLH"), the initials of their names ("CJD" for "Creutzfeldt-Jakob
  disease", "TSC" for "Tuberous sclerosis complex"), the acronym of an "<ACRONYM> syndrome" name
  ("CAPOS"), and the bare eponym of an "<Eponym> disease|syndrome" name ("Castleman", "Gaucher").

The leakage stage never reads ORDO; the orchestrator puts these names into the answer descriptor
(``related_names`` and ``short_names``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.generic import RARE_HEADING, Answerability, answerability, disorder_count
from mmrare.ontology.linking.terms import CLINICAL_ABBREVIATIONS, COMMON_WORDS, is_acronym
from mmrare.ontology.model import Concept

_NAME_HEADS = frozenset({"disease", "syndrome", "disorder", "complex"})
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_NOT_INITIAL = frozenset({"of", "and", "or", "with", "due", "to", "the", "in", "a", "an", "by", "for"})
MIN_SHORT_CHARS = 2
MAX_RELATED = 200  # a large group's subtree; beyond it the names stop being about this case
MAX_NARROWING_DISORDERS = 30
_GENERIC_WORDS = frozenset({
    "syndrome", "disease", "disorder", "deficiency", "type", "form", "rare", "congenital", "primary",
    "hereditary", "familial", "acquired", "chronic", "acute", "isolated", "due", "associated", "related",
})
_QUALIFIERS = ("primary ", "classic ", "classical ", "typical ", "autosomal ", "isolated ")


@dataclass(frozen=True, slots=True)
class DiagnosisNames:
    """Names of a diagnosis beyond its own label and synonyms (see the module docstring)."""

    related: tuple[str, ...]  # names of narrowing ancestors and of descendants
    short: tuple[str, ...]  # case-sensitive short names: acronyms, initials, bare eponyms


def diagnosis_names(index: OrdoIndex, code: str) -> DiagnosisNames:
    """The related and short names of ``code`` (an unknown code has none)."""
    concept = index.get(code)
    if concept is None:
        return DiagnosisNames((), ())
    own = {concept.label.casefold(), *(s.casefold() for s in concept.synonyms)}
    words = _content_words(concept.label, *concept.synonyms)
    relatives = [c for c in sorted(index.ancestors(code)) if _narrows(index, c, words)]
    relatives += sorted(index.descendants(code))[:MAX_RELATED]
    related: dict[str, None] = {}
    for relative in relatives:
        other = index.get(relative)
        if other is None or other.obsolete or not other.is_clinical_entity:
            continue
        for name in (other.label, *other.synonyms):
            if name.casefold() not in own and not is_acronym(name):
                related.setdefault(name, None)
    for former in _moved_into(index).get(concept.code, ()):
        for name in (former.label.removeprefix("OBSOLETE: "), *former.synonyms):
            if name.casefold() not in own and not is_acronym(name):
                related.setdefault(name, None)
    for name in list(related):
        lowered = name.lower()
        for qualifier in _QUALIFIERS:
            bare = name[len(qualifier):]
            if lowered.startswith(qualifier) and len(bare.split()) >= 2 and bare.casefold() not in own:
                related.setdefault(bare, None)
    short: dict[str, None] = {}
    for name in (concept.label, *concept.synonyms, *related):
        for candidate in short_names(name):
            short.setdefault(candidate, None)
    return DiagnosisNames(tuple(related), tuple(short))


def _content_words(*names: str) -> set[str]:
    """Distinctive words of names: four letters or more, not a generic head ("syndrome", "type")."""
    return {
        w.lower() for name in names for w in _WORD.findall(name.replace("-", " "))
        if len(w) >= 4 and w.lower() not in _GENERIC_WORDS and w.lower() not in STOP_WORDS
    }


def _share_a_word(these: set[str], those: set[str]) -> bool:
    """A word in common, or one inside the other ("dystrophy" in "leukodystrophy")."""
    if these & those:
        return True
    return any(a in b or b in a for a in these for b in those if min(len(a), len(b)) >= 5)


def _narrows(index: OrdoIndex, code: str, words: set[str]) -> bool:
    """An ancestor still names this diagnosis when its name shares a distinctive word (or a word
    inside one) with the diagnosis's names, so that a classification axis ("Congenital
    hypogonadotropic hypogonadism" above a syndrome) does not count, and it is an answerable class
    or a heading over few disorders that is neither a classification's root nor a "rare ...
    disease" heading."""
    concept = index.get(code)
    if concept is None or not _share_a_word(_content_words(concept.label, *concept.synonyms), words):
        return False
    status = answerability(index, code)
    if status is Answerability.ANSWERABLE:
        return True
    if status is not Answerability.GENERIC or RARE_HEADING.match(concept.label):
        return False
    if not any(index.get(p) is not None and index[p].is_clinical_entity for p in concept.parents()):
        return False
    return disorder_count(index, code) <= MAX_NARROWING_DISORDERS


def _moved_into(index: OrdoIndex) -> dict[str, list[Concept]]:
    """Deprecated and obsolete classes by the code that replaced them (once per release)."""
    memo = index.derived("answer_names.moved_into")
    if not memo:
        for concept in index.concepts():
            if concept.obsolete and concept.replaced_by:
                memo.setdefault(concept.replaced_by, []).append(concept)
        memo.setdefault("", [])
    return memo


def short_names(name: str) -> list[str]:
    """Case-sensitive short names of one ORDO name: the name itself when it is an acronym, its
    initials, the acronym or eponym before a "syndrome" / "disease" head."""
    out: list[str] = []
    if is_acronym(name):
        out.append(name)
    words = _WORD.findall(name.replace("-", " "))
    initials = "".join(w[0].upper() for w in words if w.lower() not in _NOT_INITIAL and w[0].isalpha())
    counted = [w for w in words if w.lower() not in _NOT_INITIAL]
    # never a clinical abbreviation: "CAD" is coronary artery disease in any case
    usable = initials not in CLINICAL_ABBREVIATIONS
    if len(words) >= 2 and len(initials) >= MIN_SHORT_CHARS and len(initials) == len(counted) and usable:
        out.append(initials)
    spaced = name.split()
    if len(spaced) == 2 and spaced[1].lower() in _NAME_HEADS:
        first = spaced[0].rstrip("'’s") if spaced[0].endswith(("'s", "’s")) else spaced[0]
        if is_acronym(first) or _is_eponym(first):
            out.append(first)
    return [s for s in dict.fromkeys(out) if len(s) >= MIN_SHORT_CHARS]


def _is_eponym(word: str) -> bool:
    """A capitalised proper name ("Castleman", "Gaucher", "Krabbe"), not an everyday word."""
    parts = word.split("-")
    return all(p[:1].isupper() and p[1:].islower() and len(p) >= 3 for p in parts) and not any(
        p.lower() in STOP_WORDS or p.lower() in COMMON_WORDS for p in parts
    )
