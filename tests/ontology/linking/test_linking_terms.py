"""The term table: what is matched, what is skipped and why, and the two derived indexes."""

from __future__ import annotations

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.normalise import normalise_phrase
from mmrare.ontology.linking.terms import (
    CLINICAL_ABBREVIATIONS,
    COMMON_WORDS,
    build_term_table,
    head_of,
    is_acronym,
    lowest_common_ancestor,
    skip_reason,
)
from mmrare.ontology.model import Level

from .linking_slice import (
    ALPHA_THAL,
    BASD1,
    CELIAC,
    DISEASE_CLASS,
    FBN1_GENE,
    HEREDITARY_PPGL,
    MARFAN,
    NF_PGL,
    OBSOLETE_AIE2,
    PPGL,
    SIME,
    WAS,
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("HI", "too_short"),  # 1-2 character synonyms
        ("r(Y)", "too_short"),
        ("All", "stopword"),  # a one-word term that is a stop word
        ("Plan", "common_word"),
        ("ALL", "common_word"),  # an acronym spelling an everyday word
        ("CCA", "clinical_abbreviation"),  # the common carotid artery, in a case report
        ("SDS", "clinical_abbreviation"),  # the detergent
        ("Marfan syndrome", None),
        ("IPEX", None),
        ("Cholera", None),
    ],
)
def test_skip_rules(text: str, reason: str | None) -> None:
    assert skip_reason(text) == reason


def test_an_acronym_of_two_concepts_is_ambiguous() -> None:
    assert skip_reason("FHI", {"FHI": {"ORPHA:1", "ORPHA:2"}}) == "ambiguous_acronym"
    assert skip_reason("FHI", {"FHI": {"ORPHA:1"}}) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("IPEX", True),
        ("GSDIa", True),
        ("aHUS", True),
        ("CMT/HMSN", True),
        ("RASopathy", False),
        ("Marfan", False),
        ("CHARGE syndrome", False),
    ],
)
def test_is_acronym(text: str, expected: bool) -> None:
    assert is_acronym(text) is expected


def test_terms_are_active_clinical_entities_only(link_index: OrdoIndex) -> None:
    table = build_term_table(link_index)
    codes = {t.code for t in table.terms}
    assert MARFAN in codes and SIME in codes
    assert FBN1_GENE not in codes  # genes are not disease names
    assert OBSOLETE_AIE2 not in codes  # out of the nomenclature (still resolvable through the index)
    assert DISEASE_CLASS not in codes  # upper-level classes
    assert CELIAC in codes  # non-rare concepts are matched, flagged
    assert all(t.non_rare for t in table.terms if t.code == CELIAC)
    assert link_index.resolve_obsolete(OBSOLETE_AIE2) is not None


def test_acronyms_keep_their_written_form(link_index: OrdoIndex) -> None:
    table = build_term_table(link_index)
    by_text = {t.text: t for t in table.terms}
    assert by_text["IPEX"].surface == ("IPEX",)
    assert by_text["Alpha-thalassemia"].surface is None
    assert by_text["Alpha-thalassemia"].code == ALPHA_THAL
    assert any(s.code == WAS and s.text == "WAS" and s.reason == "common_word" for s in table.skipped)


def test_head_noun_points_to_the_common_group(link_index: OrdoIndex) -> None:
    table = build_term_table(link_index)
    assert table.heads == {"paraganglioma": PPGL}
    assert lowest_common_ancestor(link_index, [NF_PGL, HEREDITARY_PPGL]) == PPGL
    assert lowest_common_ancestor(link_index, [NF_PGL, MARFAN]) is None


@pytest.mark.parametrize(
    ("name", "head"),
    [
        ("Non-functioning paraganglioma", "paraganglioma"),
        ("Pheochromocytoma-paraganglioma", "paraganglioma"),
        ("Multiple paragangliomas associated with polycythemia", "paraganglioma"),
        ("Paraganglioma and gastric stromal sarcoma", None),  # a coordination is not a kind of its first noun
        ("Congenital bile acid synthesis defect type 1", "defect"),
    ],
)
def test_head_of(name: str, head: str | None) -> None:
    assert head_of(normalise_phrase(name)) == head


def test_gene_deficiency_targets_need_one_disorder(link_index: OrdoIndex) -> None:
    table = build_term_table(link_index)
    assert table.genes == {"HSD3B7": BASD1, "FBN1": MARFAN}  # SDHD causes two disorders: no target


@pytest.mark.slow
def test_full_ordo_term_table(full_index: OrdoIndex) -> None:
    table = build_term_table(full_index)
    clinical = {c.code for c in full_index.concepts(levels=(Level.GROUP, Level.DISORDER, Level.SUBTYPE))}
    assert {t.code for t in table.terms} <= clinical
    assert len(table.terms) > 20_000
    # every curated word list entry is a real collision in ORDO 4.2, not a guess
    names = {n.lower() for c in full_index.concepts() if c.is_clinical_entity for n in (c.label, *c.synonyms)}
    assert {w for w in COMMON_WORDS if w not in names} == set()
    assert {a for a in CLINICAL_ABBREVIATIONS if a.lower() not in names} <= {
        "ICA",
        "IBD",
        "CKD",
        "AKI",
        "CRP",
        "LDH",
        "MRI",
        "PET",
        "ENT",
        "PCR",
        "ECG",
        "EEG",
        "EMG",
        "MCA",
        "CIS",
        "NS",
        "OR",
        "ER",
        "ED",
        "PDA",
        "PSA",
        "HE",
    }
    # the derived indexes stay small and point at answerable groups / disorders
    assert table.heads["paraganglioma"] == "ORPHA:573163"
    assert all(full_index[c].level is Level.GROUP for c in table.heads.values())
    assert table.genes["HSD3B7"] == "ORPHA:79301"
    assert "SDHD" not in table.genes
