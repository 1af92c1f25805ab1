"""Abbreviations the document defines (Schwartz–Hearst), and how they override ORDO's acronyms."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mmrare.ontology.linking import Mention
from mmrare.ontology.linking.abbreviations import best_long_form, find_definitions, short_form_pattern

from .linking_slice import AI_ENCEPHALITIS, IPEX, PPGL, SIME

Link = Callable[..., list[Mention]]


@pytest.mark.parametrize(
    ("sentence", "short", "long"),
    [
        (
            "Rarely seen in adults, autoimmune enteropathy (AIE) is a condition.",
            "AIE",
            "autoimmune enteropathy",
        ),
        # intervening words skipped by the character match
        ("Prolonged neonatal hyperinsulinism (PNH) is rare.", "PNH", "Prolonged neonatal hyperinsulinism"),
        ("Carotid paragangliomas (CPGLs) are most common.", "CPGLs", "Carotid paragangliomas"),
        ("It is known as tumor necrosis factor (TNF; also cachectin).", "TNF", "tumor necrosis factor"),
        # the reversed form: SF (long form)
        ("We saw AIE (autoimmune enteropathy) in adults.", "AIE", "autoimmune enteropathy"),
    ],
)
def test_schwartz_hearst_definitions(sentence: str, short: str, long: str) -> None:
    (definition,) = find_definitions(sentence)
    assert (definition.short, definition.long) == (short, long)
    assert sentence[definition.short_start : definition.short_end] == short
    assert sentence[definition.long_start : definition.long_end] == long


@pytest.mark.parametrize(
    "sentence",
    [
        "The colon was normal (Figure 1).",
        "Doses were reduced (p < 0.05).",
        "It was seen in 2018 (2019).",
        "A mass (x) was seen.",
        "No parentheses at all.",
    ],
)
def test_parentheses_that_define_nothing(sentence: str) -> None:
    assert find_definitions(sentence) == []


def test_best_long_form_needs_the_first_letter_at_a_word_start() -> None:
    assert best_long_form("AIE", "autoimmune enteropathy") == "autoimmune enteropathy"
    assert best_long_form("XYZ", "autoimmune enteropathy") is None


def test_short_form_pattern_allows_a_plural() -> None:
    pattern = short_form_pattern("CPGLs")
    assert [m.group() for m in pattern.finditer("CPGL, CPGLs, xCPGL, cpgl, CPGLa")] == ["CPGL", "CPGLs"]


def test_short_form_links_after_its_definition_only(link: Link) -> None:
    mentions = link(
        "AIE is mentioned before its definition.",
        "Rarely seen in adults, autoimmune enteropathy (AIE) is a condition.",
        "Therefore, our patient was diagnosed with AIE.",
        "aie in lower case is not the short form.",
    )
    assert [(m.sentence_id, m.text, m.code, m.match_kind) for m in mentions] == [
        ("s1", "autoimmune enteropathy", SIME, "synonym"),
        ("s2", "AIE", SIME, "abbreviation"),
    ]
    assert mentions[1].term == "autoimmune enteropathy"
    assert mentions[1].score == pytest.approx(0.95 * 0.9)


def test_a_definition_overrides_the_ordo_acronym_in_the_whole_document(link: Link) -> None:
    # ORDO: AIE = autoimmune encephalitis. Here the document says what it means by AIE.
    defined = link(
        "Autoimmune encephalitis was excluded.",
        "AIE was seen before the definition.",
        "Adults with autoimmune enteropathy (AIE) are rare.",
        "AIE again.",
    )
    assert [(m.sentence_id, m.code) for m in defined if m.text == "AIE"] == [("s3", SIME)]
    assert AI_ENCEPHALITIS not in {m.code for m in defined if m.text == "AIE"}
    # a definition whose long form is no ORDO concept still removes the ORDO reading
    unknown = link(
        "Autoimmune encephalitis was excluded.", "Acute inflammatory episodes (AIE) recurred.", "AIE again."
    )
    assert [m.code for m in unknown] == [AI_ENCEPHALITIS]
    # and without any definition the ORDO acronym stands (the concept is also named in full)
    plain = link("Autoimmune encephalitis was considered.", "AIE was later confirmed.")
    assert [(m.sentence_id, m.code, m.match_kind) for m in plain] == [
        ("s0", AI_ENCEPHALITIS, "label"),
        ("s1", AI_ENCEPHALITIS, "synonym"),
    ]


def test_an_undefined_acronym_alone_is_not_enough(link: Link) -> None:
    assert link("The IPEX score was 3.") == []
    assert [
        m.code
        for m in link(
            "IPEX syndrome, i.e. immune dysregulation-polyendocrinopathy-enteropathy-X-linked syndrome."
        )
    ] == [IPEX, IPEX]


def test_short_form_of_a_head_noun_long_form(link: Link) -> None:
    mentions = link("Carotid paragangliomas (CPGLs) are common.", "Both CPGLs were resected.")
    assert [(m.sentence_id, m.text, m.code, m.match_kind) for m in mentions] == [
        ("s0", "paragangliomas", PPGL, "head_noun"),
        ("s1", "CPGLs", PPGL, "abbreviation"),
    ]
