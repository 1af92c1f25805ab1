"""Free-text mapping (``ontology map``): section roles from headings, keywords, and the evidence kinds
real case reports carry, on the linking slice and short sentences written for the tests."""

from __future__ import annotations

import pytest

from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import Linker, diagnose_case, link_document, map_text, text_sentences
from mmrare.ontology.linking.diagnosis import MIN_CONFIDENCE
from mmrare.ontology.linking.freetext import heading_role
from mmrare.ontology.linking.normalise import normalise_phrase, normalise_word
from mmrare.ontology.linking.terms import Term, acronym_terms, unqualified_terms

from .linking_slice import BASD1, EDS, HEDS, MARFAN, MPS, SIME, WILSON


def test_heading_lines_set_the_role_of_what_follows(linker: Linker) -> None:
    text = (
        "Abstract\nBackground: Wilson disease is a disorder of copper. It is rare.\n"
        "Case presentation\nA 12-year-old girl had tremor.\n"
        "Keywords: Wilson disease, copper\n"
        "1. Introduction\nCopper accumulates in the liver.\nDiscussion:\nThe ring was seen."
    )
    rows = text_sentences(linker, text)
    assert [(role, body) for _sid, role, body in rows] == [
        ("background", "Wilson disease is a disorder of copper."),
        ("background", "It is rare."),
        ("case_presentation", "A 12-year-old girl had tremor."),
        ("keywords", "Wilson disease, copper"),
        ("background", "Copper accumulates in the liver."),
        ("discussion", "The ring was seen."),
    ]
    assert [sid for sid, _role, _body in rows] == [f"s{i}" for i in range(6)]


def test_heading_role_ignores_numbering_colons_and_case() -> None:
    assert heading_role("2. Case Report:") == "case_presentation"
    assert heading_role("CONCLUSIONS") == "conclusion"
    assert heading_role("The patient was well") is None


def test_a_text_without_case_sections_ties_its_disease_to_the_patient(linker: Linker) -> None:
    abstract = "Abstract\nCopper deposits of Wilson disease in a girl's cornea and liver were marked."
    assert map_text(linker, abstract).diagnosis.code == WILSON
    with_case = abstract + "\nCase presentation\nA girl had tremor."
    assert map_text(linker, with_case).diagnosis.reason == "no_patient_evidence"


def test_background_naming_is_not_the_patient_when_a_case_section_exists(linker: Linker) -> None:
    text = "Introduction\nMarfan syndrome is common in tall people.\nCase presentation\nA boy had a cough."
    found = map_text(linker, text)
    assert found.diagnosis.code is None
    assert found.diagnosis.reason == "no_patient_evidence"


def test_keywords_are_evidence(linker: Linker) -> None:
    found = map_text(linker, "Case report\nA 9-year-old boy was tall.", keywords=["Marfan syndrome", "aorta"])
    assert found.diagnosis.code is None  # keywords weigh, but alone they do not tie it to the patient
    assert found.diagnosis.alternatives[0][0] == MARFAN
    assert any(role == "keywords" for _sid, role, _text in found.sentences)


def test_british_spellings_meet_american_names() -> None:
    assert normalise_phrase("haemorrhagic anaemia") == normalise_phrase("hemorrhagic anemia")
    assert normalise_word("tumours") == normalise_word("tumor")
    assert normalise_word("oedema") == normalise_word("edema")
    assert normalise_word("coeliac") == normalise_word("celiac")
    assert normalise_word("four") == "four"  # short words keep their spelling


def test_type_first_word_order_matches(link) -> None:  # type: ignore[no-untyped-def]
    mentions = link("She was diagnosed with type 1 mucopolysaccharidosis.")
    assert [m.code for m in mentions] == [MPS]


def test_names_without_a_usual_form_qualifier() -> None:
    classic = Term("ORPHA:2584", "Classic mycosis fungoides", "label",
                   normalise_phrase("Classic mycosis fungoides"), None, False)
    variant = Term("ORPHA:9", "Mycosis fungoides variant", "label",
                   normalise_phrase("Mycosis fungoides variant"), None, False)
    autosomal = Term("ORPHA:1", "Autosomal thing disease", "label",
                     normalise_phrase("Autosomal thing disease"), None, False)
    also = Term("ORPHA:2", "Classic thing disease", "label",
                normalise_phrase("Classic thing disease"), None, False)
    derived = unqualified_terms([classic, variant, autosomal, also])
    assert [(t.code, t.norms, t.kind) for t in derived] == [
        ("ORPHA:2584", normalise_phrase("mycosis fungoides"), "unqualified")
    ]  # "thing disease" would be two concepts: ambiguous, left out


def test_acronym_before_syndrome_becomes_an_acronym_synonym() -> None:
    capos = Term("ORPHA:1171", "CAPOS syndrome", "label", normalise_phrase("CAPOS syndrome"), None, False)
    marfan = Term(MARFAN, "Marfan syndrome", "label", normalise_phrase("Marfan syndrome"), None, False)
    sds = Term("ORPHA:3", "SDS syndrome", "label", normalise_phrase("SDS syndrome"), None, False)
    derived = acronym_terms([capos, marfan, sds], {})
    assert [(t.code, t.text, t.surface) for t in derived] == [("ORPHA:1171", "CAPOS", ("CAPOS",))]


def test_an_undefined_acronym_counts_when_a_relative_is_named(link) -> None:  # type: ignore[no-untyped-def]
    alone = link("EDS was noted.")
    assert alone == []  # "EDS" alone may be anything
    with_child = link("EDS was noted.", "She has hypermobile Ehlers-Danlos syndrome.")
    assert {m.code for m in with_child} == {EDS, HEDS}


def test_misleading_prior_diagnoses_are_not_evidence(link) -> None:  # type: ignore[no-untyped-def]
    (labelled,) = link("She was previously labelled Marfan syndrome.")
    assert labelled.historical and not labelled.affirmed
    (carried,) = link("She carried the diagnosis of Wilson disease for years.")
    assert carried.historical
    mentions = link("Distinguishing Marfan syndrome from Wilson disease is hard.")
    assert all(m.differential for m in mentions) and len(mentions) == 2


def test_a_qualified_long_form_gets_no_default_child(link_index: OrdoIndex, linker: Linker) -> None:
    stated = "She was diagnosed with autoimmune enteropathy."
    plain = link_document(linker, [("s0", "case_presentation", stated)])
    assert diagnose_case(link_index, plain).reason == "supported_default_child"
    qualified = link_document(
        linker,
        [("s0", "case_presentation",
          "She was diagnosed with refractory autoimmune enteropathy (RAE). RAE was severe.")],
    )
    assert {m.code for m in qualified} == {SIME}
    assert diagnose_case(link_index, qualified).code is None


def test_low_confidence_abstains_and_keeps_its_evidence(linker: Linker) -> None:
    found = map_text(
        linker, "Case report\nA boy had fever.\nDiscussion\nMarfan syndrome and Wilson disease differ."
    )
    assert found.diagnosis.code is None
    mentions = link_document(
        linker, [("s0", "other", "Marfan syndrome and Wilson disease differ."), ("s1", "other", "A boy.")]
    )
    diag = diagnose_case(linker.index, mentions, sections_present={"other"})
    assert diag.reason == "low_confidence" and diag.confidence < MIN_CONFIDENCE
    assert diag.evidence_sentence_ids == ("s0",)
    assert {a[0] for a in diag.alternatives} == {MARFAN, WILSON}


@pytest.mark.slow
def test_full_ordo_free_text_cases(full_linker: Linker) -> None:
    cmt = map_text(
        full_linker,
        "Charcot-Marie-Tooth disease type 1 is inherited.\n"
        "This case report describes a presentation of CMT1A in a 17-year-old woman.",
        "Unusual presentation of CMT1A in a woman",
    )
    assert cmt.diagnosis.code == "ORPHA:101081"  # the undefined acronym of a subtype of a named class
    fungoides = map_text(full_linker, "A man, 70. His skin biopsy was diagnostic for mycosis fungoides.")
    assert fungoides.diagnosis.code == "ORPHA:2584"  # "Classic mycosis fungoides"
    jmml = map_text(full_linker, "A boy was diagnosed with juvenile myelomonocytic leukaemia.")
    assert jmml.diagnosis.code == "ORPHA:86834"


def test_a_variant_of_a_one_disorder_gene_supports_that_disorder(link_index: OrdoIndex, link) -> None:  # type: ignore[no-untyped-def]
    (variant,) = link("Sequencing found a novel HSD3B7 mutation in the girl.")
    found = (variant.code, variant.match_kind, variant.text, variant.score)
    assert found == (BASD1, "gene_variant", "HSD3B7", 0.5)
    assert diagnose_case(link_index, [variant]).reason == "no_patient_evidence"  # support, not a name
    titled = link(title="A novel HSD3B7 variant in a girl with cholestasis")
    assert diagnose_case(link_index, titled).code == BASD1
    assert link("HSD3B7 is expressed in the liver.") == []  # the gene alone is no evidence
