"""Choosing a case's diagnosis: weights, most-specific choice, exclusions, reasons, the fallback hook."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import (
    CandidatePhrase,
    Linker,
    Mention,
    diagnose_case,
    link_document,
    unmatched_phrases,
)
from mmrare.ontology.linking.diagnosis import decayed_sum, default_child, mention_weight, name_norms
from mmrare.ontology.linking.normalise import normalise_phrase

from .linking_slice import (
    CELIAC,
    EDS,
    HEDS,
    HEREDITARY_PPGL,
    IPEX,
    LEMIERRE,
    MARFAN,
    NF_PGL,
    OBSOLETE_AIE2,
    PPGL,
    PRIMARY_AIE,
    RARE_GENETIC,
    SIME,
    SYNDROMIC_AIE,
    WILSON,
)

Link = Callable[..., list[Mention]]


def mention(code: str, role: str = "case_presentation", **fields: object) -> Mention:
    base = Mention(
        sentence_id=f"{role}-1",
        start=0,
        end=1,
        text="x",
        code=code,
        label=code,
        match_kind="label",
        section_role=role,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


# -- weights --------------------------------------------------------------------------------------


def test_weights() -> None:
    assert mention_weight(mention(MARFAN, "title")) == 3.0
    assert mention_weight(mention(MARFAN, "discussion")) == 0.5
    assert mention_weight(mention(MARFAN, "case_presentation", diagnostic_cue=True)) == 4.0
    assert (
        mention_weight(mention(MARFAN, "discussion", diagnostic_cue=True)) == 1.0
    )  # literature, not patient
    assert mention_weight(mention(MARFAN, "discussion", diagnostic_cue=True, patient=True)) == 3.5
    assert mention_weight(mention(MARFAN, "title", score=0.5)) == 1.5
    assert decayed_sum([1.0, 1.0, 1.0]) == pytest.approx(1 + 0.7 + 0.49)
    ten_passing = decayed_sum([0.5] * 10)
    assert ten_passing < mention_weight(mention(MARFAN, "case_presentation", diagnostic_cue=True))


# -- decisions ------------------------------------------------------------------------------------


def test_the_patients_disease_wins(link_index: OrdoIndex) -> None:
    result = diagnose_case(
        link_index,
        [
            mention(MARFAN, "title"),
            mention(MARFAN, "case_presentation", diagnostic_cue=True, sentence_id="c1"),
            mention(WILSON, "discussion"),
        ],
    )
    assert result.code == MARFAN and result.label == "Marfan syndrome" and result.reason == "supported"
    assert result.evidence_sentence_ids == ("c1", "title-1")
    assert 0.0 < result.confidence <= 1.0
    assert [a[0] for a in result.alternatives] == [WILSON]


def test_most_specific_concept_carries_its_ancestors_evidence(link_index: OrdoIndex) -> None:
    group = [mention(EDS, "title"), mention(EDS, "abstract")]
    result = diagnose_case(link_index, [*group, mention(HEDS, "case_presentation")])
    assert result.code == HEDS
    assert set(result.evidence_sentence_ids) == {"title-1", "abstract-1", "case_presentation-1"}
    # a passing mention of the subtype in the discussion does not make the answer more specific
    assert diagnose_case(link_index, [*group, mention(HEDS, "discussion")]).code == EDS


class _IteratedAs(frozenset):
    """A set that iterates in a given order, as a set of strings may in another process."""

    order: list[str]

    def __new__(cls, items: frozenset[str], order: list[str]) -> _IteratedAs:
        made = super().__new__(cls, items)
        made.order = order
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self.order)


class _AncestorsIterated:
    """The index, with each ancestor set iterated in sorted or reverse-sorted order."""

    def __init__(self, index: OrdoIndex, reverse: bool) -> None:
        self._index, self._reverse = index, reverse

    def __getattr__(self, name: str) -> object:
        return getattr(self._index, name)

    def __getitem__(self, code: str) -> object:
        return self._index[code]

    def ancestors(self, code: str) -> frozenset[str]:
        found = self._index.ancestors(code)
        return _IteratedAs(found, sorted(found, reverse=self._reverse))


def test_evidence_order_does_not_follow_the_order_ancestor_sets_iterate_in(link_index: OrdoIndex) -> None:
    # equal weights from several carried ancestors: their order must not depend on string hashing
    ancestors = sorted(link_index.ancestors(HEREDITARY_PPGL))
    mentions = [
        mention(HEREDITARY_PPGL, "title"),
        mention(HEREDITARY_PPGL, sentence_id="c1"),
        *(mention(code, "abstract", sentence_id=f"a-{code}") for code in ancestors),
    ]
    forward, backward = (
        diagnose_case(_AncestorsIterated(link_index, reverse), mentions)  # type: ignore[arg-type]
        for reverse in (False, True)
    )
    assert forward.code == backward.code == HEREDITARY_PPGL
    assert forward.evidence_sentence_ids == backward.evidence_sentence_ids
    assert forward.evidence_sentence_ids == ("title-1", *(f"a-{code}" for code in ancestors), "c1")


def test_non_rare_concepts_are_never_answers(link_index: OrdoIndex) -> None:
    only_non_rare = diagnose_case(link_index, [mention(CELIAC, "title", non_rare=True)])
    assert (only_non_rare.code, only_non_rare.reason) == (None, "only_non_rare")
    mixed = diagnose_case(
        link_index, [mention(CELIAC, "title", non_rare=True), mention(MARFAN, "case_presentation")]
    )
    assert mixed.code == MARFAN


def test_generic_classes_are_never_answers(link_index: OrdoIndex) -> None:
    result = diagnose_case(
        link_index, [mention(RARE_GENETIC, "title"), mention(RARE_GENETIC, "case_presentation")]
    )
    assert (result.code, result.reason) == (None, "only_generic_mentions")


def test_a_generic_class_named_plainly_resolves_to_its_default_child(link_index: OrdoIndex) -> None:
    names = {normalise_phrase("Autoimmune enteropathy")}
    assert default_child(link_index, SIME, names) == PRIMARY_AIE
    assert default_child(link_index, SIME, {normalise_phrase("Severe immune-mediated enteropathy")}) is None
    result = diagnose_case(
        link_index,
        [
            mention(SIME, "title", match_kind="synonym", term="Autoimmune enteropathy"),
            mention(SIME, "case_presentation", match_kind="abbreviation", term="autoimmune enteropathy"),
        ],
    )
    assert (result.code, result.reason) == (PRIMARY_AIE, "supported_default_child")
    assert result.evidence_sentence_ids == ("title-1", "case_presentation-1")


def test_remembered_name_norms_are_the_phrase_norms(full_index: OrdoIndex) -> None:
    """On every name of the full ORDO, asked twice (the second answer comes from the memo)."""
    names = [name for c in full_index.concepts() for name in (c.label, *c.synonyms)]
    assert len(names) > 30_000
    for _round in range(2):
        assert all(name_norms(name) == normalise_phrase(name) for name in names)


def test_a_specific_mention_beats_the_default_child(link_index: OrdoIndex) -> None:
    evidence = [
        mention(SIME, "title", match_kind="synonym", term="Autoimmune enteropathy"),
        mention(IPEX, "case_presentation", diagnostic_cue=True),
    ]
    assert diagnose_case(link_index, evidence).code == IPEX
    # but IPEX named only in the discussion does not take the category's evidence
    evidence[1] = mention(IPEX, "discussion")
    assert diagnose_case(link_index, evidence).code == PRIMARY_AIE


@pytest.mark.parametrize("flag", ["negated", "differential", "family_history", "historical", "hypothetical"])
def test_only_unaffirmed_mentions(link_index: OrdoIndex, flag: str) -> None:
    result = diagnose_case(link_index, [mention(MARFAN, "title", **{flag: True})])
    assert (result.code, result.reason) == (None, "only_negated_mentions")


def test_no_patient_evidence(link_index: OrdoIndex) -> None:
    background = [
        mention(LEMIERRE, "abstract"),
        mention(LEMIERRE, "background"),
        mention(LEMIERRE, "discussion"),
    ]
    result = diagnose_case(link_index, background)
    assert (result.code, result.reason) == (None, "no_patient_evidence")
    assert result.alternatives and result.alternatives[0][0] == LEMIERRE
    # an article without any case section: the abstract speaks for the patient
    assert diagnose_case(link_index, background, sections_present={"abstract", "discussion"}).code == LEMIERRE


def test_no_mentions(link_index: OrdoIndex) -> None:
    result = diagnose_case(link_index, [])
    assert (result.code, result.reason, result.confidence) == (None, "no_rare_disease_mention", 0.0)


def test_head_noun_mentions_anchor_only_from_title_or_cue(link_index: OrdoIndex) -> None:
    case_only = [mention(PPGL, "case_presentation", match_kind="head_noun", score=0.6)]
    assert diagnose_case(link_index, case_only).reason == "no_patient_evidence"
    titled = [*case_only, mention(PPGL, "title", match_kind="head_noun", score=0.6)]
    assert diagnose_case(link_index, titled).code == PPGL


def test_obsolete_codes_are_resolved(link_index: OrdoIndex) -> None:
    result = diagnose_case(link_index, [mention(OBSOLETE_AIE2, "title", match_kind="embedding")])
    assert result.code == SYNDROMIC_AIE


def test_confidence_reflects_an_unrelated_rival(link_index: OrdoIndex) -> None:
    alone = diagnose_case(link_index, [mention(MARFAN, "title")])
    rivalled = diagnose_case(link_index, [mention(MARFAN, "title"), mention(WILSON, "case_presentation")])
    assert rivalled.code == MARFAN and rivalled.confidence < alone.confidence
    related = diagnose_case(link_index, [mention(EDS, "title"), mention(HEDS, "case_presentation")])
    assert related.code == HEDS and related.alternatives == ()


# -- end to end on the slice ----------------------------------------------------------------------


def test_link_then_diagnose(link: Link, link_index: OrdoIndex) -> None:
    mentions = link(
        ("abstract", "Paragangliomas are rare neuroendocrine tumours."),
        "A 50-year-old woman was diagnosed with multiple paragangliomas.",
        ("discussion", "Hereditary pheochromocytoma-paraganglioma was not found in her family."),
        title="Multiple paragangliomas: a case report",
    )
    result = diagnose_case(link_index, mentions)
    assert result.code == PPGL
    assert HEREDITARY_PPGL not in {a[0] for a in result.alternatives}  # negated


# -- the fallback hook ----------------------------------------------------------------------------


def test_unmatched_phrases_after_cues(linker: Linker) -> None:
    sentences = [
        ("s0", "background", "Prolonged neonatal hyperinsulinism (PNH) is rare."),
        ("s1", "case_presentation", "The patient was diagnosed with bile cast nephropathy and PNH."),
        ("s2", "case_presentation", "Histology confirmed Marfan syndrome."),  # matched: not a candidate
        ("s3", "case_presentation", "The findings were consistent with these findings."),
    ]
    phrases = unmatched_phrases(linker, sentences)
    assert phrases == [
        CandidatePhrase("s1", 31, 52, "bile cast nephropathy", "bile cast nephropathy"),
        CandidatePhrase("s1", 57, 60, "PNH", "Prolonged neonatal hyperinsulinism"),
    ]


def test_fallback_results_become_embedding_mentions(linker: Linker, link_index: OrdoIndex) -> None:
    sentences = [
        ("s0", "case_presentation", "The patient was diagnosed with carotid body paraganglioma tumour.")
    ]
    asked: list[list[str]] = []

    def fallback(queries: list[str]) -> list[tuple[str, float] | None]:
        asked.append(queries)
        return [(NF_PGL, 0.81)]

    mentions = link_document(linker, sentences, fallback=fallback, fallback_threshold=0.8)
    assert asked == [["carotid body paraganglioma tumour"]]
    embedded = [m for m in mentions if m.match_kind == "embedding"]
    assert [(m.code, m.score, m.text, m.diagnostic_cue, m.patient) for m in embedded] == [
        (NF_PGL, 0.81, "carotid body paraganglioma tumour", True, True)
    ]
    assert diagnose_case(link_index, mentions).code == NF_PGL
    below = link_document(linker, sentences, fallback=fallback, fallback_threshold=0.9)
    assert all(m.match_kind != "embedding" for m in below)
    none = link_document(linker, sentences, fallback=lambda q: [None] * len(q))
    assert all(m.match_kind != "embedding" for m in none)


def test_fallback_must_answer_every_phrase(linker: Linker) -> None:
    sentences = [("s0", "case_presentation", "She was diagnosed with bile cast nephropathy.")]
    with pytest.raises(ValueError, match="1 phrases"):
        link_document(linker, sentences, fallback=lambda q: [])
