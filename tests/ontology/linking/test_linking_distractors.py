"""Diagnosis distractors from ORDO: siblings first, embedding neighbours only to fill up."""

from __future__ import annotations

from mmrare.ontology.distractors import _names, diagnosis_distractors, excluded_codes
from mmrare.ontology.index import OrdoIndex

from .linking_slice import (
    CELIAC,
    HEREDITARY_PPGL,
    IPEX,
    MARFAN,
    NF_PGL,
    POMPE,
    PPGL,
    PRIMARY_AIE,
    SIME,
    SYNDROMIC_AIE,
    WILSON,
)


def test_siblings_come_first_and_never_ancestors_or_descendants(link_index: OrdoIndex) -> None:
    got = diagnosis_distractors(link_index, NF_PGL, 5)
    codes = [c for c, _ in got]
    assert HEREDITARY_PPGL in codes  # sibling under Pheochromocytoma-paraganglioma
    assert PPGL not in codes and NF_PGL not in codes
    assert all(label == link_index[c].label for c, label in got)


def test_neighbours_fill_up_without_breaking_the_rules(link_index: OrdoIndex) -> None:
    asked: list[tuple[str, int]] = []

    def neighbours(label: str, k: int) -> list[str]:
        asked.append((label, k))
        return [SIME, SYNDROMIC_AIE, CELIAC, PRIMARY_AIE, WILSON, MARFAN, POMPE]

    siblings = [c for c, _ in diagnosis_distractors(link_index, IPEX, 50)]
    got = [c for c, _ in diagnosis_distractors(link_index, IPEX, len(siblings) + 3, neighbours=neighbours)]
    assert asked and asked[0][0] == link_index[IPEX].label
    # siblings first; of the neighbours only the one that is new and allowed is added
    assert got == [*siblings, PRIMARY_AIE]
    assert SYNDROMIC_AIE not in got and SIME not in got  # ancestors of IPEX
    assert CELIAC not in got  # non-rare: never an answer, so never an option
    assert set(excluded_codes(link_index, IPEX)) >= {IPEX, SYNDROMIC_AIE}


def test_neighbours_are_not_asked_when_siblings_suffice(link_index: OrdoIndex) -> None:
    def neighbours(label: str, k: int) -> list[str]:
        raise AssertionError("should not be called")

    assert len(diagnosis_distractors(link_index, NF_PGL, 1, neighbours=neighbours)) == 1


def test_remembered_names_are_the_folded_label_and_synonyms(full_index: OrdoIndex) -> None:
    """Asked twice for every code of the full ORDO (the second answer from the index's memo)."""
    for _round in range(2):
        for concept in full_index.concepts():
            folded = {" ".join(n.casefold().split()) for n in (concept.label, *concept.synonyms)}
            assert _names(full_index, concept.code) == folded
    assert _names(full_index, "ORPHA:999999999") == frozenset()
