"""The :class:`Linker`: spaCy phrase matchers over the normalised ORDO term table, built once per ORDO
release and linker version and cached on disk.

Only ``nlp.make_doc`` (tokenizer + lexeme norms) runs per document: no pipeline component touches
every token, which is what keeps lexical linking far above 100k words/s on one core
(``bench/linking.py``). The sentencizer is used only to split free text (``link_text``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import numpy as np
from spacy.matcher import PhraseMatcher

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import cache, generic, normalise, terms
from mmrare.ontology.linking.context import RULES, Rule
from mmrare.ontology.linking.normalise import make_nlp, normalise_phrase, normalise_word
from mmrare.ontology.linking.terms import Term, TermTable, build_term_table

log = logging.getLogger(__name__)

# Bump whenever the term table, the normalisation or the matching rules change: the version keys the
# on-disk cache and is stored with every linking result.
# 2: mention ids include the case (title mentions of two cases could share an id, and the second was
# never stored); evidence sentences come out in one order in every process.
# 3: British spellings, "type N X" word order, names without a "classic"/"autosomal" qualifier,
# "<ACRONYM> syndrome" acronyms, acronyms supported by a named relative, prior-diagnosis and
# "distinguishing X from Y" triggers, keywords as a section, gene-variant mentions, abstention below
# MIN_CONFIDENCE.
LINKER_VERSION = "ordo-linker/3"

# The modules whose code decides what the cached term table holds.
_TABLE_MODULES = (normalise, terms, generic)

# Words that make a sentence about the patient ("the patient", "she", "a 46-year-old woman").
# Singular forms only: "patients" is usually the literature, "patient" this case.
PATIENT_WORDS = frozenset({
    "patient", "patient's", "patient’s", "she", "he", "her", "his", "herself", "himself", "proband",
    "woman", "man", "boy", "girl", "infant", "neonate", "newborn", "child", "toddler", "female", "male",
    "gentleman", "lady",
})


class Linker:
    """Everything needed to link text to ORDO concepts for one ORDO release.

    Build it with :meth:`build` (cached); link with :func:`~mmrare.ontology.linking.link_document`
    or :func:`~mmrare.ontology.linking.link_text`.
    """

    version: ClassVar[str] = LINKER_VERSION

    def __init__(self, index: OrdoIndex, table: TermTable) -> None:
        self.index = index
        self.table = table
        self.nlp = make_nlp()
        vocab = self.nlp.vocab
        self.terms: dict[tuple[str, ...], tuple[Term, ...]] = _group_terms(table.terms)
        # The same groups keyed by the NORM hashes a match covers, so a hit finds its terms from the
        # Doc's NORM array without making a Token per word (``term_hashes``, ``rule_hashes``).
        self.term_hashes: dict[tuple[int, ...], tuple[Term, ...]] = {
            self._pattern_hashes(norms): group for norms, group in self.terms.items()
        }
        self.term_matcher = PhraseMatcher(vocab, attr="NORM")
        self.term_matcher.add("TERM", [list(hashes) for hashes in self.term_hashes])  # type: ignore[arg-type]
        self.rules: dict[tuple[str, ...], Rule] = {}
        for rule in RULES:
            self.rules.setdefault(normalise_phrase(rule.phrase), rule)
        self.rule_hashes: dict[tuple[int, ...], Rule] = {
            self._pattern_hashes(norms): rule for norms, rule in self.rules.items()
        }
        self.trigger_matcher = PhraseMatcher(vocab, attr="NORM")
        self.trigger_matcher.add("TRIGGER", [list(hashes) for hashes in self.rule_hashes])  # type: ignore[arg-type]
        strings = vocab.strings
        self.head_hashes: dict[int, str] = {strings.add(head): code for head, code in table.heads.items()}
        self.head_array = np.array(sorted(self.head_hashes), dtype=np.uint64)
        self.gene_hashes: dict[int, str] = {strings.add(symbol): code for symbol, code in table.genes.items()}
        self.gene_array = np.array(sorted(self.gene_hashes), dtype=np.uint64)
        self.patient_hashes = frozenset(strings.add(word) for word in PATIENT_WORDS)
        self.patient_array = np.array(sorted(self.patient_hashes), dtype=np.uint64)
        self.deficiency_hash = strings.add(normalise_word("deficiency"))
        self.variant_hashes = frozenset(
            strings.add(normalise_word(w)) for w in ("mutation", "variant", "mutated", "alteration")
        )
        self.of_hash = strings.add("of")

    @classmethod
    def build(cls, index: OrdoIndex, cache_dir: Path | None = None) -> Linker:
        """The linker for ``index``; with ``cache_dir`` the term table is read from / written to
        ``cache_dir/<ORDO sha256>/`` so only the first build per release pays for extracting it."""
        started = time.perf_counter()
        sha256 = index.release.sha256
        fingerprint = table_fingerprint()
        table = None
        if cache_dir is not None:
            table = cache.read_table(cache_dir, sha256, LINKER_VERSION, fingerprint)
        cached = table is not None
        if table is None:
            table = build_term_table(index)
            if cache_dir is not None:
                cache.write_table(cache_dir, sha256, LINKER_VERSION, table, fingerprint)
        linker = cls(index, table)
        log.info(
            "linker %s for ORDO %s: %d terms (%s) in %.2f s",
            LINKER_VERSION,
            index.release.version,
            len(table.terms),
            "cached" if cached else "built",
            time.perf_counter() - started,
        )
        return linker

    def _pattern_hashes(self, norms: Iterable[str]) -> tuple[int, ...]:
        """A pattern as the array of NORM hashes that :class:`PhraseMatcher` reduces a pattern Doc to.

        ``PhraseMatcher.add`` takes such attribute arrays as well as Docs; a Doc whose tokens carry
        these norms was built per term before, which was most of building the linker from its cached
        table, paid by every build that links anything.
        """
        strings = self.nlp.vocab.strings
        return tuple(strings.add(norm) for norm in norms)

    def label(self, code: str) -> str:
        """The ORDO label of a code (the code itself when the release does not have it)."""
        concept = self.index.get(code)
        return concept.label if concept is not None else code

    def __repr__(self) -> str:
        release = self.index.release
        return f"Linker({LINKER_VERSION}, ORDO {release.version}, {len(self.table.terms)} terms)"


@functools.cache
def table_fingerprint() -> str:
    """sha256 (first 16 hex digits) of the source of the modules that build the term table."""
    digest = hashlib.sha256()
    for module in _TABLE_MODULES:
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def _group_terms(terms: Iterable[Term]) -> dict[tuple[str, ...], tuple[Term, ...]]:
    """Terms by the norms they match on. A name with commas ("Charcot-Marie-Tooth disease, type 1A")
    also matches without them, as authors write it in running text; a name ending in "type <n>"
    ("Mucopolysaccharidosis type 1") also matches with the type first ("type 1 mucopolysaccharidosis")."""
    grouped: dict[tuple[str, ...], list[Term]] = defaultdict(list)
    for term in terms:
        spellings = [term.norms]
        if "," in term.norms:
            bare = tuple(n for n in term.norms if n != ",")
            if bare:
                spellings.append(bare)
        for norms in list(spellings):
            if len(norms) >= 3 and norms[-2] == "type" and norms[-1][:1].isdigit() and norms[-3] != "-":
                spellings.append(("type", norms[-1], *norms[:-2]))
        for norms in dict.fromkeys(spellings):
            grouped[norms].append(term)
    return {norms: tuple(group) for norms, group in grouped.items()}
