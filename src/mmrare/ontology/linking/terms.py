"""The term table: which ORDO names the matcher looks for, and which it deliberately leaves out.

Terms are the ``rdfs:label`` and the synonyms of active clinical entities (groups, disorders,
subtypes). Genes are not disease names and obsolete/deprecated classes are out of the
nomenclature (a code of one is still resolved through :meth:`OrdoIndex.resolve_obsolete`). Concepts
"not rare in Europe" *are* matched: a text that says "celiac disease" must not have that phrase
mistaken for something else, and the diagnosis step knows never to answer with them.

A term is skipped (``skip_reason``) when matching it would mostly produce false hits:

- ``too_short``: fewer than 3 letters and digits in all ("HI", "FA", "MD");
- ``stopword``: a one-word term that is an English stop word;
- ``common_word``: a one-word term that is an everyday English word (:data:`COMMON_WORDS`);
- ``clinical_abbreviation``: an acronym synonym that case reports mostly use for something else
  (:data:`CLINICAL_ABBREVIATIONS`: "ALT" is the liver enzyme, "CCA" the common carotid artery);
- ``ambiguous_acronym``: an acronym that ORDO gives to two or more different concepts.

Acronym synonyms (one word, at least as many capitals as small letters: "IPEX", "GSDIa", "aHUS")
are matched case-sensitively: "AIP" the disease, never "aip" inside a word list. In a document, an
acronym it defines itself with another long form is overridden, and an acronym it never defines
counts only when the same concept is also named in full somewhere in it (see ``hits``).

Two derived indexes widen recall where ORDO's own names are rarely written out in full:

- **head nouns** (:func:`head_targets`): a bare disease noun such as "paraganglioma" that ends the
  names of several concepts ("Non-functioning paraganglioma", "Pheochromocytoma-paraganglioma", ...)
  but is no ORDO term on its own points to the lowest common ancestor of those concepts, when that
  ancestor is a single answerable *group*. Never to a single disorder: "chronic pancreatitis" must not
  become "Hereditary chronic pancreatitis" by a dropped qualifier.
- **gene deficiencies** (:func:`gene_targets`): "HSD3B7 deficiency" names the disorder caused by
  that gene when ORDO links the gene to exactly one active rare disorder as disease-causing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from spacy.lang.en.stop_words import STOP_WORDS

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.generic import Answerability, answerability
from mmrare.ontology.linking.normalise import iter_words, normalise_phrase, normalise_word, strip_word
from mmrare.ontology.model import Concept, Level

# First words of an ORDO name that only say "the usual form"; the name without them is matched too
# (see :func:`unqualified_terms`). Not "primary" or "idiopathic": "hyperoxaluria" or "pulmonary
# fibrosis" without them is as often secondary, and often common.
UNQUALIFIED = frozenset({"classic", "classical", "typical", "autosomal"})
# "autosomal recessive X" without "autosomal" is no name anyone writes
_INHERITANCE_WORDS = frozenset({"dominant", "recessive", "10"})  # "10": the norm of "X" in "X-linked"
_ACRONYM_HEADS = frozenset({"syndrome", "disease", "disorder"})
MIN_TERM_CHARS = 3
MIN_HEAD_CONCEPTS = 2
MAX_HEAD_CONCEPTS = 60
MIN_HEAD_LENGTH = 5

# Everyday English words that are also one-word ORDO terms or acronyms ("ALL", "WAS", "PLAN", the given
# name "Amelia"); the tests check that each one is an ORDO 4.2 term, so the list stays a list of real
# collisions.
COMMON_WORDS = frozenset({
    "all", "amelia", "bid", "caps", "fame", "get", "has", "hat", "ion", "mad", "mat", "pan", "perm",
    "pig", "plaid", "plan", "pot", "rich", "taps", "trap", "was",
})
# Acronym synonyms that papers mostly use for an anatomical structure, a lab test, a method or a
# common condition rather than for the rare disease ORDO gives them to ("ALT" the liver enzyme, "CCA"
# the common carotid artery, "SDS" the detergent, "FACS" cell sorting, "JPG" an image file).
CLINICAL_ABBREVIATIONS = frozenset({
    "ALT", "AFP", "ARM", "ASD", "CAD", "CAS", "CCA", "CDC", "HIT", "ICA", "ILD", "MAC", "PCA", "PCT",
    "PDA", "PSA", "ROP", "SCD", "SMA", "TGA", "VSD", "DCM", "HCC", "IBD", "PAH", "CKD", "AKI", "CRP",
    "LDH", "MRI", "PET", "ENT", "BMD", "PCR", "ECG", "EEG", "EMG", "MCA", "ACA", "IPS", "CSS", "CES",
    "FAS", "PCD", "MSA", "PED", "CIS", "TEN", "HE", "ACS", "AHA", "NS", "OR", "ER", "ED", "SDS", "FACS",
    "MTT", "IBM", "CDS", "PMA", "HCD", "JPG", "MSD",
})
# Qualifier words after which a noun is no longer the head of its name ("deficiency *of* X").
_HEAD_BREAKS = frozenset({
    "of", "with", "without", "due", "in", "and", "or", "associated", "type", "related", "linked",
    "caused", "secondary", "from", "to", "by", "on", "at", "for", ",", "(", ":", ";",
})
_COORDINATION = frozenset({"and", "or", ",", "/", "&"})
# Greco-Latin endings of names of disease entities (tumours, -oses, inflammations, -pathies), as
# opposed to signs and findings ("hemiplegia", "hypophosphatemia", "polyarthralgia").
_ENTITY_ENDINGS = ("oma", "omas", "osis", "itis", "pathy")
_DISEASE_CAUSING = "disease-causing"
_ACRONYM_CHARS = re.compile(r"[A-Za-z]")


@dataclass(frozen=True, slots=True)
class Term:
    """One ORDO name of one concept, as the matcher sees it."""

    code: str
    text: str  # as written in ORDO
    kind: str  # "label" | "synonym" | "unqualified" (a name without its "classic", ... qualifier)
    norms: tuple[str, ...]
    surface: tuple[str, ...] | None  # acronyms: the words to compare case-sensitively, else None
    non_rare: bool


@dataclass(frozen=True, slots=True)
class SkippedTerm:
    """A name that is not matched, and why (kept so the rule can be audited and tested)."""

    code: str
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class TermTable:
    """Everything the matcher is built from; plain data, so it pickles into the linker cache."""

    terms: tuple[Term, ...]
    skipped: tuple[SkippedTerm, ...]
    heads: dict[str, str]  # head noun norm -> group code
    genes: dict[str, str]  # gene symbol -> disorder code


def build_term_table(index: OrdoIndex) -> TermTable:
    """The terms, skipped names, head nouns and gene deficiencies of one ORDO release."""
    clinical = index.concepts(levels=(Level.GROUP, Level.DISORDER, Level.SUBTYPE))
    active = [c for c in clinical if not c.obsolete]
    acronym_owners = _acronym_owners(active)
    terms: list[Term] = []
    skipped: list[SkippedTerm] = []
    for concept in active:
        for kind, text in _names(concept):
            reason = skip_reason(text, acronym_owners)
            if reason is not None:
                skipped.append(SkippedTerm(concept.code, text, reason))
                continue
            terms.append(_term(concept, kind, text))
    terms.extend(unqualified_terms(terms))
    terms.extend(acronym_terms(terms, acronym_owners))
    single_words = {t.norms[0] for t in terms if len(t.norms) == 1}
    return TermTable(
        terms=tuple(terms),
        skipped=tuple(skipped),
        heads=head_targets(index, terms, single_words),
        genes=gene_targets(index),
    )


def unqualified_terms(terms: Iterable[Term]) -> list[Term]:
    """Names without a leading qualifier that only says "the usual form" (:data:`UNQUALIFIED`):
    "mycosis fungoides" for "Classic mycosis fungoides", "lattice corneal dystrophy" for "Classic
    lattice corneal dystrophy". Authors leave the qualifier out when they mean the
    usual form, and ORDO has no class named without it. Kept only when the bare name is no ORDO name
    already and exactly one concept gives it (two would make it ambiguous), and has two words or more.
    """
    terms = list(terms)
    existing = {t.norms for t in terms}
    found: dict[tuple[str, ...], list[Term]] = defaultdict(list)
    for term in terms:
        if term.surface is not None or len(term.norms) < 3 or term.norms[0] not in UNQUALIFIED:
            continue
        bare = term.norms[1:]
        if bare in existing or not bare[0].isalpha() or bare[0] in _INHERITANCE_WORDS:
            continue
        found[bare].append(term)
    out: list[Term] = []
    for bare, sources in found.items():
        if len({t.code for t in sources}) != 1:
            continue
        source = next((t for t in sources if t.kind == "label"), sources[0])
        out.append(Term(source.code, source.text, "unqualified", bare, None, source.non_rare))
    return out


def acronym_terms(terms: Iterable[Term], acronym_owners: dict[str, set[str]]) -> list[Term]:
    """The acronym of a name "<ACRONYM> syndrome|disease" as an acronym synonym: authors write
    "CAPOS" for "CAPOS syndrome". It is matched like ORDO's own acronyms (case-sensitive, counted only
    when the document also names the concept or a relative in full), and left out when it is no
    acronym, a clinical abbreviation, an everyday word or a name of another concept."""
    terms = list(terms)
    taken = {t.text for t in terms if t.surface is not None} | set(acronym_owners)
    found: dict[str, set[str]] = defaultdict(set)
    sources: dict[str, Term] = {}
    for term in terms:
        words = term.text.split()
        if len(words) != 2 or words[1].lower() not in _ACRONYM_HEADS or not is_acronym(words[0]):
            continue
        short = words[0]
        if short in taken or skip_reason(short) is not None:
            continue
        found[short].add(term.code)
        sources.setdefault(short, term)
    return [
        _term_from(sources[short], short) for short, codes in sorted(found.items()) if len(codes) == 1
    ]


def _term_from(source: Term, short: str) -> Term:
    surface = tuple(strip_word(w) for w in iter_words(short))
    return Term(source.code, short, "synonym", normalise_phrase(short), surface, source.non_rare)


def _names(concept: Concept) -> Iterable[tuple[str, str]]:
    yield "label", concept.label
    for synonym in concept.synonyms:
        if synonym != concept.label:
            yield "synonym", synonym


def _term(concept: Concept, kind: str, text: str) -> Term:
    surface = tuple(strip_word(w) for w in iter_words(text)) if is_acronym(text) else None
    return Term(concept.code, text, kind, normalise_phrase(text), surface, concept.non_rare)


def is_acronym(text: str) -> bool:
    """One word (no space) with at least two capitals and no more small letters than capitals."""
    if " " in text:
        return False
    upper = sum(1 for ch in text if ch.isupper())
    lower = sum(1 for ch in text if ch.islower())
    return upper >= 2 and lower <= upper


def skip_reason(text: str, acronym_owners: dict[str, set[str]] | None = None) -> str | None:
    """Why a name is not matched, or None when it is (rules in the module docstring)."""
    norms = normalise_phrase(text)
    if sum(ch.isalnum() for ch in text) < MIN_TERM_CHARS or not norms:
        return "too_short"
    if is_acronym(text):
        if text in CLINICAL_ABBREVIATIONS:
            return "clinical_abbreviation"
        if text.lower() in COMMON_WORDS or text.lower() in STOP_WORDS:
            return "common_word"
        if acronym_owners is not None and len(acronym_owners.get(text, ())) > 1:
            return "ambiguous_acronym"
        return None
    if len(norms) == 1:
        if norms[0] in STOP_WORDS or text.lower() in STOP_WORDS:
            return "stopword"
        if norms[0] in COMMON_WORDS:
            return "common_word"
    return None


def _acronym_owners(concepts: Iterable[Concept]) -> dict[str, set[str]]:
    owners: dict[str, set[str]] = defaultdict(set)
    for concept in concepts:
        for _kind, text in _names(concept):
            if is_acronym(text):
                owners[text].add(concept.code)
    return owners


# -- head nouns ---------------------------------------------------------------------------------


def head_of(norms: tuple[str, ...]) -> str | None:
    """The head noun of a name: the last word before the first qualifier ("of", "with", "type", ...);
    None for a coordination ("X and Y", "X, Y"), whose first noun is not what the name is a kind of."""
    head = None
    for norm in norms:
        if norm in _COORDINATION:
            return None
        if norm in _HEAD_BREAKS:
            break
        if norm.isalpha():
            head = norm
    return head


def head_targets(index: OrdoIndex, terms: Iterable[Term], single_words: set[str]) -> dict[str, str]:
    """Head noun -> the one answerable group that is the lowest common ancestor of every concept
    whose multi-word name ends in that noun (see the module docstring)."""
    concepts_by_head: dict[str, set[str]] = defaultdict(set)
    for term in terms:
        if term.surface is not None or len(term.norms) < 2:
            continue
        head = head_of(term.norms)
        if head is None or len(head) < MIN_HEAD_LENGTH or head in single_words:
            continue
        if not head.endswith(_ENTITY_ENDINGS):
            continue
        concepts_by_head[head].add(term.code)
    targets: dict[str, str] = {}
    for head, codes in concepts_by_head.items():
        if not MIN_HEAD_CONCEPTS <= len(codes) <= MAX_HEAD_CONCEPTS:
            continue
        target = lowest_common_ancestor(index, codes)
        if target is None:
            continue
        concept = index[target]
        if head not in normalise_phrase(concept.label):
            continue
        if concept.level is Level.GROUP and answerability(index, target) is Answerability.ANSWERABLE:
            targets[head] = target
    return targets


def lowest_common_ancestor(index: OrdoIndex, codes: Iterable[str]) -> str | None:
    """The single lowest concept that is (or is an ancestor of) every code; None if not unique."""
    common: set[str] | None = None
    for code in codes:
        lineage = set(index.ancestors(code)) | {code}
        common = lineage if common is None else common & lineage
        if not common:
            return None
    if not common:
        return None
    lowest = [c for c in common if not any(c in index.ancestors(other) for other in common if other != c)]
    return lowest[0] if len(lowest) == 1 else None


# -- gene deficiencies --------------------------------------------------------------------------


def gene_targets(index: OrdoIndex) -> dict[str, str]:
    """Gene symbol -> the single active, rare disorder ORDO says the gene causes."""
    disorders: dict[str, set[str]] = defaultdict(set)
    for link in index.gene_associations:
        if _DISEASE_CAUSING not in link.relation:
            continue
        if answerability(index, link.disorder) is not Answerability.ANSWERABLE:
            continue
        disorders[link.gene].add(link.disorder)
    targets: dict[str, str] = {}
    for gene_code, codes in disorders.items():
        gene = index.get(gene_code)
        if gene is None or not gene.symbol or len(codes) != 1:
            continue
        symbol = gene.symbol
        if len(symbol) < MIN_TERM_CHARS or symbol in CLINICAL_ABBREVIATIONS or symbol.lower() in COMMON_WORDS:
            continue
        if not _ACRONYM_CHARS.search(symbol) or normalise_word(symbol) in STOP_WORDS:
            continue
        targets[symbol] = next(iter(codes))
    return targets
