"""Lookup by code, cross-reference, exact name and fuzzy name, on the tiny ORDO slice."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.lookup import LOOKUP_INDEX_VERSION, LookupHit, MatchKind, lookup, lookup_index, normalise
from mmrare.ontology.store import load_ordo

from .ordo_slice import FBN1_GENE, MARFAN, NEONATAL_MARFAN, NON_RARE, OBSOLETE, XXYY


def _codes(hits: list[LookupHit]) -> list[str]:
    return [h.code for h in hits]


@pytest.mark.parametrize("query", ["ORPHA:558", "Orphanet_558", "orpha 558", "ORPHA:0558"])
def test_code_queries(slice_index: OrdoIndex, query: str) -> None:
    assert lookup(slice_index, query) == [LookupHit(MARFAN, "Marfan syndrome", MARFAN, MatchKind.CODE, 1.0)]


def test_unknown_code_or_xref_gives_nothing(slice_index: OrdoIndex) -> None:
    assert lookup(slice_index, "ORPHA:999999") == []
    assert lookup(slice_index, "OMIM:999999") == []


@pytest.mark.parametrize(
    ("query", "matched"),
    [
        ("OMIM:154700", "OMIM:154700"),
        ("ICD-10:Q87.4", "ICD-10:Q87.4"),
        ("icd10 q87.4", "ICD-10:Q87.4"),
        ("MeSH:D008382", "MeSH:D008382"),
        ("UMLS:C0024796", "UMLS:C0024796"),
    ],
)
def test_xref_queries(slice_index: OrdoIndex, query: str, matched: str) -> None:
    (hit,) = lookup(slice_index, query)
    assert (hit.code, hit.kind, hit.matched, hit.score) == (MARFAN, MatchKind.XREF, matched, 1.0)


def test_exact_label_ranks_before_a_genes_synonym(slice_index: OrdoIndex) -> None:
    hits = lookup(slice_index, "  marfan SYNDROME ", fuzzy=False)
    assert [(h.code, h.kind) for h in hits] == [(MARFAN, MatchKind.LABEL), (FBN1_GENE, MatchKind.SYNONYM)]
    assert hits[0].matched == "Marfan syndrome" and hits[0].label == "Marfan syndrome"


def test_synonym_symbol_and_stripped_non_rare_label(slice_index: OrdoIndex) -> None:
    (mfs,) = lookup(slice_index, "MFS", fuzzy=False)
    assert (mfs.code, mfs.kind, mfs.matched) == (MARFAN, MatchKind.SYNONYM, "MFS")
    (gene,) = lookup(slice_index, "fbn1", fuzzy=False)
    assert (gene.code, gene.kind, gene.label) == (FBN1_GENE, MatchKind.SYMBOL, "fibrillin 1")
    (pfo,) = lookup(slice_index, "Patent foramen ovale", fuzzy=False)
    assert (pfo.code, pfo.kind) == (NON_RARE, MatchKind.LABEL)


def test_fuzzy_suggestions_follow_exact_hits(slice_index: OrdoIndex) -> None:
    hits = lookup(slice_index, "Marfan syndrome")
    assert _codes(hits)[:2] == [MARFAN, FBN1_GENE]
    fuzzy = [h for h in hits if h.kind is MatchKind.FUZZY]
    assert NEONATAL_MARFAN in _codes(fuzzy)
    assert all(0 < h.score < 1 for h in fuzzy)
    assert [h.score for h in fuzzy] == sorted((h.score for h in fuzzy), reverse=True)


def test_typos_and_word_order(slice_index: OrdoIndex) -> None:
    assert lookup(slice_index, "marfan syndrom")[0].code == MARFAN
    assert lookup(slice_index, "syndrome marfan")[0].code == MARFAN
    assert lookup(slice_index, "48 XXYY syndrom")[0].code == XXYY
    assert lookup(slice_index, "Neonatal Marfan")[0].code == NEONATAL_MARFAN


def test_inactive_concepts_can_be_left_out(slice_index: OrdoIndex) -> None:
    assert OBSOLETE in _codes(lookup(slice_index, "Marfanoid habitus, obsolete"))
    assert OBSOLETE not in _codes(lookup(slice_index, "Marfanoid habitus, obsolete", include_inactive=False))
    assert lookup(slice_index, "ORPHA:100040", include_inactive=False) == []


def test_limits_and_empty_queries(slice_index: OrdoIndex) -> None:
    assert len(lookup(slice_index, "Marfan syndrome", limit=1)) == 1
    assert lookup(slice_index, "Marfan", limit=0) == []
    assert lookup(slice_index, "   ") == []
    assert lookup(slice_index, "?!") == []
    assert lookup(slice_index, "qqqqqqqq zzzzzz") == []


def test_entity_type_classes_are_not_looked_up(slice_index: OrdoIndex) -> None:
    assert lookup(slice_index, "disorder", fuzzy=False) == []


def test_normalise() -> None:
    assert normalise("Sjögren's  Syndrome") == "sjogren s syndrome"
    assert normalise("48,XXYY syndrome") == "48 xxyy syndrome"
    assert normalise("Ehlers–Danlos") == "ehlers danlos"


def test_lookup_index_is_cached_beside_the_model(slice_path: Path, tmp_path: Path) -> None:
    index = load_ordo(slice_path, tmp_path / "cache")
    table = lookup_index(index)
    assert lookup_index(index) is table  # once per index in memory
    assert index.cache_entry is not None
    assert (index.cache_entry / f"{LOOKUP_INDEX_VERSION}.pickle").is_file()
    again = load_ordo(slice_path, tmp_path / "cache")  # a new index reads the cached table
    assert lookup(again, "marfan syndrom")[0].code == MARFAN
