"""The linker: its on-disk cache, and lexical matching over normalised ORDO names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import LINKER_VERSION, Linker, Mention, link_text
from mmrare.ontology.linking import cache as linker_cache
from mmrare.ontology.linking.matcher import table_fingerprint

from .linking_slice import (
    ALPHA_THAL,
    BASD1,
    CELIAC,
    CHARGE,
    EDS,
    HEDS,
    IPEX,
    MARFAN,
    MPS,
    NF_PGL,
    POMPE,
    PPGL,
    RELEASE,
    SIME,
    TNF_TRAPS,
    WILSON,
)

Link = Callable[..., list[Mention]]


def codes(mentions: list[Mention]) -> list[str]:
    return [m.code for m in mentions]


# -- build and cache --------------------------------------------------------------------------------


def test_build_writes_then_reads_the_cache(link_index: OrdoIndex, tmp_path: Path) -> None:
    first = Linker.build(link_index, tmp_path)
    entry = tmp_path / RELEASE.sha256
    marker = json.loads((entry / f"_complete-{LINKER_VERSION.replace('/', '-')}.json").read_text())
    assert marker["linker"] == LINKER_VERSION and marker["terms"] == len(first.table.terms)
    assert Linker.version == LINKER_VERSION == first.version

    def no_rebuild(index: OrdoIndex) -> None:
        raise AssertionError("a warm build must not extract terms again")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("mmrare.ontology.linking.matcher.build_term_table", no_rebuild)
        second = Linker.build(link_index, tmp_path)
    assert second.table == first.table


def test_a_corrupt_or_foreign_cache_is_rebuilt(link_index: OrdoIndex, tmp_path: Path) -> None:
    Linker.build(link_index, tmp_path)
    pickle_path = next((tmp_path / RELEASE.sha256).glob("terms-*.pickle"))
    pickle_path.write_bytes(b"not a pickle")
    code = table_fingerprint()
    assert linker_cache.read_table(tmp_path, RELEASE.sha256, LINKER_VERSION, code) is None
    rebuilt = Linker.build(link_index, tmp_path)
    assert rebuilt.table.terms
    assert linker_cache.read_table(tmp_path, RELEASE.sha256, LINKER_VERSION, code) == rebuilt.table
    assert linker_cache.read_table(tmp_path, RELEASE.sha256, "ordo-linker/999", code) is None  # other version
    assert linker_cache.read_table(tmp_path, "f" * 64, LINKER_VERSION, code) is None  # other ORDO file
    # term rules edited without a version bump: the fingerprint of their code differs
    assert linker_cache.read_table(tmp_path, RELEASE.sha256, LINKER_VERSION, "0" * 16) is None


def test_linker_repr_and_label(linker: Linker) -> None:
    assert LINKER_VERSION in repr(linker)
    assert linker.label(MARFAN) == "Marfan syndrome"
    assert linker.label("ORPHA:999999999") == "ORPHA:999999999"


# -- matching ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "kind"),
    [
        ("She has Marfan syndrome.", MARFAN, "label"),
        ("Findings of Wilson's disease were present.", WILSON, "synonym_or_label"),
        ("Features of Ehlers–Danlos syndrome were noted.", EDS, "label"),
        ("She was treated for glycogen storage disease type 2.", POMPE, "synonym"),
        ("The boy had α-thalassemia.", ALPHA_THAL, "label"),
        ("TNF-α receptor associated periodic syndrome was suspected.", TNF_TRAPS, "synonym"),
        ("Two mucopolysaccharidoses type I were seen.", MPS, "label"),
        ("Non-secreting paragangliomas were resected.", NF_PGL, "synonym"),
        ("3β-hydroxy-Δ5-C27-steroid oxidoreductase deficiency was found.", BASD1, "synonym"),
    ],
)
def test_normalised_names_are_matched(link: Link, text: str, code: str, kind: str) -> None:
    mentions = link(text)
    assert codes(mentions) == [code]
    if kind != "synonym_or_label":
        assert mentions[0].match_kind == kind


def test_mention_offsets_point_into_the_sentence(link: Link) -> None:
    text = "We report Ehlers–Danlos syndrome in a girl."
    (mention,) = link(text)
    assert text[mention.start : mention.end] == mention.text == "Ehlers–Danlos syndrome"
    assert mention.sentence_id == "s0" and mention.section_role == "case_presentation"
    assert mention.label == "Ehlers-Danlos syndrome" and mention.term == "Ehlers-Danlos syndrome"


def test_longest_match_wins(link: Link) -> None:
    mentions = link("Ehlers-Danlos syndrome, hypermobility type was diagnosed.")
    assert codes(mentions) == [HEDS]


def test_names_with_commas_also_match_without_them(link: Link) -> None:
    assert codes(link("Ehlers-Danlos syndrome hypermobility type was diagnosed.")) == [HEDS]


def test_word_order_is_not_normalised(link: Link) -> None:
    assert link("A syndrome of Marfan.") == []


def test_acronyms_are_case_sensitive(link: Link) -> None:
    # undefined acronyms need the concept named in full too (see test_linking_abbreviations)
    text = "Immune dysregulation-polyendocrinopathy-enteropathy-X-linked syndrome; the IPEX phenotype."
    assert codes(link(text)) == [IPEX, IPEX]
    assert codes(link("Immune dysregulation-polyendocrinopathy-enteropathy-X-linked syndrome; ipex.")) == [
        IPEX
    ]
    charge = link("CHARGE syndrome, with CHARGE features; they charge the battery.")
    assert [(m.text, m.code) for m in charge] == [("CHARGE syndrome", CHARGE), ("CHARGE", CHARGE)]


def test_plural_acronym(link: Link) -> None:
    mentions = link("Immune dysregulation-polyendocrinopathy-enteropathy-X-linked syndrome (two IPEXs).")
    assert [m.text for m in mentions] == [
        "Immune dysregulation-polyendocrinopathy-enteropathy-X-linked syndrome",
        "IPEXs",
    ]


def test_non_rare_concepts_are_matched_and_flagged(link: Link) -> None:
    (mention,) = link("She had celiac disease.")
    assert mention.code == CELIAC and mention.non_rare


def test_genes_and_upper_level_classes_are_not_matched(link: Link) -> None:
    assert link("A disease of fibrillin 1.") == []


def test_category_synonyms_are_matched(link: Link) -> None:
    (mention,) = link("Autoimmune enteropathy was diagnosed.")
    assert mention.code == SIME and mention.match_kind == "synonym" and mention.score == 0.9


def test_head_noun_stands_for_the_group(link: Link) -> None:
    mentions = link("Multiple paragangliomas were resected.", "The paraganglioma cells stained.")
    assert [(m.sentence_id, m.code, m.match_kind, m.text) for m in mentions] == [
        ("s0", PPGL, "head_noun", "paragangliomas")  # "paraganglioma cells": a modifier, not a head
    ]


def test_gene_deficiency(link: Link) -> None:
    mentions = link(
        "HSD3B7 deficiency was treated.",
        "The profile was consistent with a deficiency of the 3β-hydroxy oxidoreductase (HSD3B7) enzyme.",
        "Variants in HSD3B7 were found.",  # a variant supports the disease but does not name it
        "hsd3b7 deficiency",  # symbols are case-sensitive
    )
    assert [(m.sentence_id, m.code, m.match_kind) for m in mentions] == [
        ("s0", BASD1, "gene_deficiency"),
        ("s1", BASD1, "gene_deficiency"),
        ("s2", BASD1, "gene_variant"),
    ]
    assert mentions[1].text == "deficiency of the 3β-hydroxy oxidoreductase (HSD3B7)"


def test_no_match_across_sentences(link: Link) -> None:
    assert link("It was Marfan.", "Syndrome was excluded.") == []


def test_title_is_a_sentence(link: Link) -> None:
    mentions = link("Nothing here.", title="Marfan syndrome in a child")
    assert [(m.sentence_id, m.section_role) for m in mentions] == [("title", "title")]


def test_link_text_splits_sentences(linker: Linker) -> None:
    mentions = link_text(linker, "No disease here. She has Marfan syndrome. Wilson disease too.")
    assert [(m.sentence_id, m.code) for m in mentions] == [("s1", MARFAN), ("s2", WILSON)]
    assert all(m.section_role == "other" for m in mentions)


def test_patterns_as_norm_hashes_match_what_pattern_docs_matched(linker: Linker) -> None:
    """The term matcher is built from NORM hash arrays; a matcher built from Docs whose tokens carry
    the same norms (the earlier way) finds exactly the same spans."""
    from spacy.matcher import PhraseMatcher
    from spacy.tokens import Doc

    def pattern_doc(norms: tuple[str, ...]) -> Doc:
        doc = Doc(linker.nlp.vocab, words=list(norms))
        for token, norm in zip(doc, norms, strict=True):
            token.norm_ = norm
        return doc

    from_docs = PhraseMatcher(linker.nlp.vocab, attr="NORM")
    from_docs.add("TERM", [pattern_doc(norms) for norms in linker.terms])
    text = " ".join(" ".join(term.text for term in group) for group in linker.terms.values())
    doc = linker.nlp.make_doc(text + " Charcot-Marie-Tooth disease type 1A and the Marfan syndrome.")
    found = linker.term_matcher(doc)
    assert found and found == from_docs(doc)


def test_hash_keyed_terms_and_rules_are_the_norm_keyed_ones(full_linker: Linker) -> None:
    """Hits look terms and trigger rules up by the NORM hashes of their tokens; every key stands
    for the same norms (no two norm sequences share a hash tuple) and holds the same group."""
    strings = full_linker.nlp.vocab.strings
    pairs = ((full_linker.term_hashes, full_linker.terms), (full_linker.rule_hashes, full_linker.rules))
    for by_hash, by_norms in pairs:
        assert len(by_hash) == len(by_norms)
        for hashes, value in by_hash.items():
            assert by_norms[tuple(strings[h] for h in hashes)] is value
