"""Sentence spans: exact offsets, and no splits after abbreviations common in case reports."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from spacy.attrs import IS_PUNCT

from mmrare.curation.jats import parse_jats
from mmrare.curation.sentences import _nlp, _sentence_pipeline, split_sentences


def sentences(text: str) -> list[str]:
    spans = split_sentences(text)
    for start, end in spans:
        assert text[start:end] == text[start:end].strip() != ""
    assert spans == sorted(spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    return [text[start:end] for start, end in spans]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_blank_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_spans_are_trimmed_offsets_into_the_text() -> None:
    text = "  A 45-year-old man presented.   He had no fever!  Was it sepsis?  "
    assert sentences(text) == ["A 45-year-old man presented.", "He had no fever!", "Was it sepsis?"]


@pytest.mark.parametrize(
    "text",
    [
        "The lesion (Fig. 1) was large.",
        "See Figs. 2 and 3 for the biopsy.",
        "As reported by Smith et al. (2010) the lesion was benign.",
        "As reported by Smith et al. [12] the lesion was benign.",
        "Prior reports (Jones et al., 2019) agree.",
        "Steroids, e.g. prednisone, were started.",
        "Steroids, i.e. prednisone, were started.",
        "Drug vs. placebo was compared.",
        "The patient was seen by Dr. Smith in clinic.",
        "The mass measured approx. 5 cm in diameter.",
        "See case No. 5 for details.",
        "The histology was reviewed by J. Tracht and D. Davis today.",
        "Hemoglobin was 9.8 g/dL and platelets 1.5 x 10^5.",
        "Culture grew E. coli and Lm. reuteri overnight.",
        "Results were significant (p < 0.05).The next words are glued.",
        "Vitamin D was low (cf. Table 1).",
    ],
)
def test_no_split_after_abbreviations_initials_or_inside_numbers(text: str) -> None:
    assert sentences(text) == [text]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ALT was 120 U/L. AST was normal.", ["ALT was 120 U/L.", "AST was normal."]),
        ("Serum IgG was 5 mg/dL. She improved.", ["Serum IgG was 5 mg/dL.", "She improved."]),
        ("WBC was 12.3 x 10^9/L. CRP was 45 mg/L.", ["WBC was 12.3 x 10^9/L.", "CRP was 45 mg/L."]),
        ("This was described by Smith et al. The patient improved.",
         ["This was described by Smith et al.", "The patient improved."]),
        ("It was large. (A) shows the lesion.", ["It was large.", "(A) shows the lesion."]),
        ("Patients need parenteral nutrition.1 Because only 37 cases exist, data are scarce.",
         ["Patients need parenteral nutrition.1", "Because only 37 cases exist, data are scarce."]),
        ("It was shown before.[4] Next we tested it.", ["It was shown before.[4]", "Next we tested it."]),
        ("It was shown before? [28]. Next we tested it.",
         ["It was shown before? [28].", "Next we tested it."]),
    ],
)
def test_real_sentence_ends_are_kept(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


def test_same_input_same_spans() -> None:
    text = "One sentence here. Another one (Fig. 2) there. A third."
    assert split_sentences(text) == split_sentences(text)
    assert len(split_sentences(text)) == 3


SHARED_PMC = Path(__file__).resolve().parents[3] / "shared" / "pmc"


def test_the_pipeline_computing_only_is_punct_splits_like_the_full_one() -> None:
    """``_nlp`` skips every lexeme attribute but ``is_punct``; on the prose of every shared article its
    sentences are exactly those of the same pipeline with all of spaCy's lexeme attributes."""
    lean, full = _nlp(), _sentence_pipeline()
    assert set(lean.vocab.lex_attr_getters) == {IS_PUNCT}
    xml_files = sorted(
        p for pattern in ("packages/*/*.xml", "packages/*/*.nxml", "articles/*.xml", "articles/*.nxml")
        for p in SHARED_PMC.glob(pattern)
    )
    paragraphs = [
        paragraph
        for path in xml_files
        for section in parse_jats(path).sections
        for paragraph in section.text.split("\n\n")
    ]
    assert len(paragraphs) > 500
    for text in paragraphs:
        assert [(s.start_char, s.end_char) for s in lean(text).sents] == [
            (s.start_char, s.end_char) for s in full(text).sents
        ]
