"""Over-generic classes are never answers: the rule on the slice, then on the whole of ORDO 4.2."""

from __future__ import annotations

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import Answerability, answerability, generic
from mmrare.ontology.linking.generic import MAX_GROUP_DISORDERS, RARE_HEADING, disorder_count, is_generic
from mmrare.ontology.model import EntityType, Level

from .linking_slice import (
    ADRENAL_TUMOR,
    BASD,
    CELIAC,
    DISEASE_CLASS,
    EDS,
    FBN1_GENE,
    NF_PGL,
    OBSOLETE_AIE2,
    PPGL,
    PRIMARY_AIE,
    RARE_GASTRO,
    RARE_GENETIC,
    SIME,
    UNDIAGNOSED,
)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (DISEASE_CLASS, Answerability.NOT_CLINICAL),  # upper-level ontology class
        (FBN1_GENE, Answerability.NOT_CLINICAL),
        (RARE_GENETIC, Answerability.GENERIC),  # category, classification head
        (RARE_GASTRO, Answerability.GENERIC),
        (SIME, Answerability.GENERIC),  # a category, even far from the top
        (ADRENAL_TUMOR, Answerability.GENERIC),
        (UNDIAGNOSED, Answerability.GENERIC),  # "Rare disorder without a determined diagnosis ..."
        (CELIAC, Answerability.NON_RARE),
        (OBSOLETE_AIE2, Answerability.INACTIVE),
        (PPGL, Answerability.ANSWERABLE),  # clinical groups are diagnoses
        (EDS, Answerability.ANSWERABLE),
        (BASD, Answerability.ANSWERABLE),
        (NF_PGL, Answerability.ANSWERABLE),
        (PRIMARY_AIE, Answerability.ANSWERABLE),
        ("ORPHA:424242424", Answerability.NOT_CLINICAL),
    ],
)
def test_answerability_on_the_slice(link_index: OrdoIndex, code: str, expected: Answerability) -> None:
    assert answerability(link_index, code) is expected


@pytest.mark.parametrize(
    ("label", "generic"),
    [
        ("Rare disease", True),
        ("Rare genetic disease", True),
        ("Rare systemic or rheumatologic disease", True),
        ("Rare disorder without a determined diagnosis after full investigation", True),
        ("Non rare disease", True),
        ("Rare cutaneous lupus erythematosus", False),  # a real clinical group
        ("Rare adenocarcinoma of the breast", False),
        ("Marfan syndrome", False),
    ],
)
def test_rare_heading_pattern(label: str, generic: bool) -> None:
    assert bool(RARE_HEADING.match(label)) is generic


def test_a_clinical_group_without_a_clinical_parent_is_a_classification_head(link_index: OrdoIndex) -> None:
    from .linking_slice import concept

    orphan = concept("ORPHA:1", "Orphan group", entity_type=EntityType.CLINICAL_GROUP, level=Level.GROUP)
    assert is_generic(OrdoIndex(link_index.release, [orphan]), orphan)


@pytest.mark.slow
def test_generic_rule_on_the_full_ordo(full_index: OrdoIndex) -> None:
    clinical = [
        c for c in full_index.concepts(levels=(Level.GROUP, Level.DISORDER, Level.SUBTYPE)) if not c.obsolete
    ]
    status = {c.code: answerability(full_index, c.code) for c in clinical}
    # every category and every classification head is generic; so is every "Rare ... disease" heading
    for c in clinical:
        if c.entity_type is EntityType.CATEGORY or RARE_HEADING.match(c.label):
            assert status[c.code] in (Answerability.GENERIC, Answerability.NON_RARE), c
    heads = [
        c
        for c in clinical
        if c.level is Level.GROUP
        and not any(full_index.get(p) is not None and full_index[p].is_clinical_entity for p in c.parents())
    ]
    assert len(heads) == 30 and all(status[c.code] is Answerability.GENERIC for c in heads)
    assert {c.label for c in heads} >= {
        "Rare genetic disease",
        "Rare neurologic disease",
        "Rare hepatic disease",
    }
    # clinical groups are answers in 4.2: none is broad enough for the breadth guard
    groups = [c for c in clinical if c.entity_type is EntityType.CLINICAL_GROUP and not c.non_rare]
    assert max(disorder_count(full_index, c.code) for c in groups) < MAX_GROUP_DISORDERS
    assert sum(status[c.code] is Answerability.ANSWERABLE for c in groups) >= 400
    # upper-level classes ("disease", "clinical entity") are never answers
    assert answerability(full_index, "ORPHA:377788") is Answerability.NOT_CLINICAL
    assert answerability(full_index, "ORPHA:C001") is Answerability.NOT_CLINICAL
    # the reference answers of the sample cases and their acceptable neighbours are answerable
    for code in ("ORPHA:522037", "ORPHA:485631", "ORPHA:79301", "ORPHA:94080", "ORPHA:573163"):
        assert status[code] is Answerability.ANSWERABLE, code
    # ... while their category parents are not
    for code in ("ORPHA:94075", "ORPHA:100091", "ORPHA:163631"):
        assert status[code] is Answerability.GENERIC, code
    # most of ORDO stays answerable
    answerable = sum(s is Answerability.ANSWERABLE for s in status.values())
    assert answerable > 0.8 * len([c for c in clinical if c.entity_type is not EntityType.CATEGORY])


def test_remembered_answerability_is_computed_answerability(full_index: OrdoIndex) -> None:
    """Asked twice for every code of the full ORDO (the second answer from the index's memo), and
    once for a fresh index that never remembered anything."""
    codes = [c.code for c in full_index.concepts()] + ["ORPHA:999999999"]
    fresh = OrdoIndex(full_index.release, full_index.concepts(), full_index.gene_associations)
    first = [answerability(full_index, code) for code in codes]
    assert [answerability(full_index, code) for code in codes] == first
    assert [generic._answerability(fresh, code) for code in codes] == first
    assert full_index.derived("answerability") is full_index.derived("answerability")
    assert fresh.derived("answerability") == {}
