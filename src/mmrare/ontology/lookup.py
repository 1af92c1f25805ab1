"""Find ORDO concepts by code, cross-reference, name, or approximate name.

:func:`lookup` tries, in order: an ORPHA code ("ORPHA:558", "Orphanet_558", the IRI), a
cross-reference ("OMIM:154700", "ICD-10:Q87.4", "MeSH:D008382", "UMLS:C0024796"), an exact
normalised label, synonym or gene symbol, and fills the remaining places with fuzzy suggestions
ranked by character-trigram overlap and :class:`difflib.SequenceMatcher` similarity.

This is lookup for people and tools that already hold a name or a code; it does not find concepts
in running text (that is the linking stage's job, built on this module and :class:`OrdoIndex`).
"""

from __future__ import annotations

import heapq
import re
import unicodedata
import weakref
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass
from difflib import SequenceMatcher
from enum import StrEnum
from itertools import chain

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.model import Concept, Level, Status, parse_code, split_xref


class MatchKind(StrEnum):
    CODE = "code"
    XREF = "xref"
    LABEL = "label"
    SYNONYM = "synonym"
    SYMBOL = "symbol"  # a gene's ORDO:symbol
    FUZZY = "fuzzy"


@dataclass(frozen=True, slots=True)
class LookupHit:
    code: str
    label: str
    matched: str  # the text that matched: the code, the xref, or the label / synonym / symbol
    kind: MatchKind
    score: float  # 1.0 for exact kinds; fuzzy in (0, 1)


_KIND_RANK = {MatchKind.LABEL: 0, MatchKind.SYNONYM: 1, MatchKind.SYMBOL: 2}
_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalise(text: str) -> str:
    """Case-, accent- and punctuation-insensitive form: "Sjögren's  Syndrome" -> "sjogren s syndrome"."""
    if not text.isascii():
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_NON_WORD.sub(" ", text.casefold()).split())


def _trigrams(norm: str) -> set[str]:
    padded = f" {norm} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


# Bump when the names indexed or their normalisation change (the name keys the on-disk cache).
LOOKUP_INDEX_VERSION = "lookup-index-1"


class LookupIndex:
    """Normalised names (labels, synonyms, gene symbols) of one :class:`OrdoIndex`, with an exact
    name map and a character-trigram inverted index. Upper-level ontology classes are left out.

    Holds plain data only (built by :meth:`build`), so it can be cached next to the ORDO model.
    """

    def __init__(
        self,
        names: list[tuple[str, str, str, str]],
        exact: dict[str, list[int]],
        sizes: array,
        postings: dict[str, array],
    ) -> None:
        self._names = names  # (normalised, code, text, kind)
        self._exact = exact
        self._sizes = sizes
        self._postings = postings

    @classmethod
    def build(cls, index: OrdoIndex) -> LookupIndex:
        names: list[tuple[str, str, str, str]] = []
        for concept in index.concepts():
            if concept.level is Level.ONTOLOGY:
                continue
            names.append((normalise(concept.label), concept.code, concept.label, MatchKind.LABEL.value))
            names.extend((normalise(s), concept.code, s, MatchKind.SYNONYM.value) for s in concept.synonyms)
            if concept.symbol:
                names.append(
                    (normalise(concept.symbol), concept.code, concept.symbol, MatchKind.SYMBOL.value)
                )
        names = [n for n in names if n[0]]
        exact: dict[str, list[int]] = defaultdict(list)
        postings: dict[str, list[int]] = defaultdict(list)
        sizes = array("i")
        for i, (norm, _code, _text, _kind) in enumerate(names):
            exact[norm].append(i)
            grams = _trigrams(norm)
            sizes.append(len(grams))
            for gram in grams:
                postings[gram].append(i)
        return cls(names, dict(exact), sizes, {g: array("i", ids) for g, ids in postings.items()})

    def exact(self, norm: str) -> list[tuple[str, str, MatchKind]]:
        """(code, matched text, kind) of every name equal to ``norm``."""
        out = []
        for i in self._exact.get(norm, ()):
            _norm, code, text, kind = self._names[i]
            out.append((code, text, MatchKind(kind)))
        return out

    def fuzzy(
        self, norm: str, min_score: float, shortlist: int = 60
    ) -> list[tuple[float, str, str, MatchKind]]:
        """(score, code, matched text, kind) of the best approximate names, best first, one per code.

        Shortlist by trigram Dice overlap, then score ``(dice + SequenceMatcher ratio) / 2``.
        """
        grams = _trigrams(norm)
        counts = Counter(chain.from_iterable(self._postings.get(g, ()) for g in grams))
        n_query = len(grams)
        sizes = self._sizes
        ranked = heapq.nlargest(
            shortlist, ((2.0 * shared / (n_query + sizes[i]), i) for i, shared in counts.items())
        )
        best: dict[str, tuple[float, str, str, MatchKind]] = {}
        matcher = SequenceMatcher(autojunk=False)
        matcher.set_seq2(norm)
        for dice, i in ranked:
            name, code, text, kind = self._names[i]
            matcher.set_seq1(name)
            score = round(0.5 * dice + 0.5 * matcher.ratio(), 4)
            if score >= min_score and (code not in best or score > best[code][0]):
                best[code] = (score, code, text, MatchKind(kind))
        return sorted(best.values(), key=lambda s: -s[0])


def lookup_index(index: OrdoIndex) -> LookupIndex:
    """The :class:`LookupIndex` of an :class:`OrdoIndex`: built once per release (kept in the ORDO
    cache folder when the index has one) and held in memory while the index lives."""
    found = _LOOKUP_INDEXES.get(index)
    if found is None:
        from mmrare.ontology.store import cached_artifact

        found = cached_artifact(index, LOOKUP_INDEX_VERSION, lambda: LookupIndex.build(index))
        if not isinstance(found, LookupIndex):  # a foreign file under our name: do not trust it
            found = LookupIndex.build(index)
        _LOOKUP_INDEXES[index] = found
    return found


_LOOKUP_INDEXES: weakref.WeakKeyDictionary[OrdoIndex, LookupIndex] = weakref.WeakKeyDictionary()


def lookup(
    index: OrdoIndex,
    query: str,
    limit: int = 10,
    *,
    include_inactive: bool = True,
    fuzzy: bool = True,
    min_score: float = 0.45,
) -> list[LookupHit]:
    """Best matches for ``query``: exact hits (code, xref, label, synonym, symbol) first, then fuzzy.

    Within exact hits active clinical entities rank before genes and before obsolete, deprecated or
    non rare entities; ``include_inactive=False`` drops the latter altogether.
    """
    query = query.strip()
    if not query or limit <= 0:
        return []
    hits: dict[str, LookupHit] = {}

    def keep(concept: Concept | None) -> bool:
        if concept is None or concept.code in hits:
            return False
        return include_inactive or concept.status is Status.ACTIVE

    code = parse_code(query)
    if code is not None:  # a code-shaped query is answered by the code alone
        concept = index.get(code)
        if keep(concept):
            assert concept is not None
            hits[concept.code] = LookupHit(concept.code, concept.label, concept.code, MatchKind.CODE, 1.0)
        return list(hits.values())[:limit]

    xref = split_xref(query)
    if xref is not None:  # likewise an xref-shaped one ("OMIM:154700"): exact mappings first
        curie = f"{xref[0]}:{xref[1]}"
        for concept in index.by_xref(curie):
            if keep(concept):
                hits[concept.code] = LookupHit(concept.code, concept.label, curie, MatchKind.XREF, 1.0)
        if hits:
            return list(hits.values())[:limit]
        fuzzy = False  # an unknown xref may still be a name ("MSH 2"), but never a fuzzy one

    table = lookup_index(index)
    norm = normalise(query)
    if not norm:
        return []
    exact = []
    for found_code, text, kind in table.exact(norm):
        concept = index.get(found_code)
        if keep(concept):
            assert concept is not None
            exact.append((_rank(concept, kind), LookupHit(concept.code, concept.label, text, kind, 1.0)))
    for _rank_key, hit in sorted(exact, key=lambda e: e[0]):
        hits.setdefault(hit.code, hit)

    if fuzzy and len(hits) < limit:
        suggestions = []
        for score, found_code, text, kind in table.fuzzy(norm, min_score=min_score):
            concept = index.get(found_code)
            if keep(concept):
                assert concept is not None
                score = min(score, 0.9999)  # below every exact hit
                hit = LookupHit(concept.code, concept.label, text, MatchKind.FUZZY, score)
                suggestions.append(((-score, *_rank(concept, kind)), hit))
        for _key, hit in sorted(suggestions, key=lambda e: e[0]):
            hits.setdefault(hit.code, hit)
    return list(hits.values())[:limit]


def _rank(concept: Concept, kind: MatchKind) -> tuple[bool, bool, int, int]:
    """Ties: active before inactive, clinical entities before genes, labels before synonyms."""
    local = concept.code.split(":", 1)[1]
    return (
        concept.status is not Status.ACTIVE,
        not concept.is_clinical_entity,
        _KIND_RANK.get(kind, 3),
        int(local) if local.isdigit() else 1 << 30,
    )
