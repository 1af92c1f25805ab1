"""The normalisation table: which spellings meet, which stay apart, and the tokenizer it relies on."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from mmrare.ontology.linking.normalise import (
    _TOKEN,
    make_nlp,
    normalise_phrase,
    normalise_word,
    roman_to_int,
    singular,
    tokenize,
)

EQUAL = [
    # case
    ("Wilson Disease", "wilson disease"),
    # hyphens and every kind of dash
    ("Ehlers-Danlos syndrome", "Ehlers Danlos syndrome"),
    ("Ehlers–Danlos syndrome", "Ehlers-Danlos syndrome"),
    ("Ehlers—Danlos syndrome", "Ehlers‐Danlos syndrome"),
    ("Ehlers−Danlos syndrome", "ehlers danlos syndrome"),
    # Greek letters and their names
    ("TNF-α", "TNF alpha"),
    ("TNF-α", "TNF-alpha"),
    ("α-thalassemia", "Alpha-thalassemia"),
    ("β2-microglobulin", "beta 2 microglobulin"),
    ("3β-hydroxy-δ5-C27-steroid", "3-beta-hydroxy-delta-5-C27-steroid"),
    ("Δ4-3-oxosteroid", "delta 4 3 oxosteroid"),
    # possessives
    ("Wilson's disease", "Wilson disease"),
    ("Wilson’s disease", "Wilson disease"),
    ("Wilsons disease", "Wilson disease"),
    ("patients' relatives", "patient relative"),
    # simple plurals
    ("paragangliomas", "paraganglioma"),
    ("congenital anomalies", "congenital anomaly"),
    ("abscesses", "abscess"),
    ("mucopolysaccharidoses", "mucopolysaccharidosis"),
    ("arthritides", "arthritis"),
    ("glycogen storage diseases", "glycogen storage disease"),
    # Roman numerals for types
    ("type II", "type 2"),
    ("Glycogen storage disease type IV", "glycogen storage disease type 4"),
    ("type XIV", "type 14"),
    ("factor VIII deficiency", "factor 8 deficiency"),
    ("glycogen storage disease type Ia", "glycogen storage disease type 1a"),
    ("GSD IIIb", "GSD 3b"),
    # punctuation that is part of a word, and accents
    ("Sjögren syndrome", "Sjogren syndrome"),
    ("Guillain-Barré syndrome", "Guillain Barre syndrome"),
]

DIFFERENT = [
    ("syndrome Ehlers-Danlos", "Ehlers-Danlos syndrome"),  # word order is not normalised
    ("defects of bile acid synthesis", "bile acid synthesis defect"),
    ("type II", "type 3"),
    ("alpha-thalassemia", "beta-thalassemia"),
    ("disease (X)", "disease X"),  # brackets stay tokens
    ("IgA nephropathy", "IgA, nephropathy"),  # so do commas
]


@pytest.mark.parametrize(("left", "right"), EQUAL)
def test_equal_spellings_share_norms(left: str, right: str) -> None:
    assert normalise_phrase(left) == normalise_phrase(right)


@pytest.mark.parametrize(("left", "right"), DIFFERENT)
def test_different_phrases_keep_different_norms(left: str, right: str) -> None:
    assert normalise_phrase(left) != normalise_phrase(right)


@pytest.mark.parametrize(
    "word", ["glass", "status", "nervous", "fibrosis", "glomus", "analysis", "gas", "his"]
)
def test_singular_keeps_words_that_only_look_plural(word: str) -> None:
    assert singular(word) == word


@pytest.mark.parametrize(
    ("plural", "singular_form"),
    [
        ("anomalies", "anomaly"),
        ("branches", "branch"),
        ("neuroses", "neurosis"),
        ("tumors", "tumor"),
        ("dysplasias", "dysplasia"),
    ],
)
def test_singular_rules(plural: str, singular_form: str) -> None:
    assert singular(plural) == singular_form


def test_roman_numerals() -> None:
    assert [roman_to_int(w) for w in ("i", "ii", "iv", "ix", "xiv", "xxxix")] == [1, 2, 4, 9, 14, 39]
    assert roman_to_int("") is None
    assert roman_to_int("is") is None
    assert roman_to_int("mix") is None  # only I, V and X numerals: "cd", "mm", "dl" are not numbers here


@pytest.mark.parametrize(
    "text",
    ["Ehlers-Danlos", "Wilson's", "TNF-α", "paragangliomas", "type II", "Sjögren", "β2", "(X)", "2.5", "x"],
)
def test_norms_are_idempotent(text: str) -> None:
    """Pattern docs are built from norms, so a norm must normalise to itself."""
    for norm in normalise_phrase(text):
        assert normalise_word(norm) == norm


@pytest.mark.parametrize(
    "text",
    [
        "Ehlers–Danlos syndrome (EDS) in Wilson's disease; TNF-α",
        "  leading and trailing  ",
        "a\nb\n\n c\t d",
        "3β-hydroxy-δ5-C27 patients' 2.5 mg/dL.",
        "",
        "—",
    ],
)
def test_tokenizer_reproduces_the_text(text: str) -> None:
    doc = make_nlp().make_doc(text)
    assert doc.text == text


def _tokenize_match_by_match(text: str) -> tuple[list[str], list[bool]]:
    """The tokenizer as first written: one regex match per word, each gap handled on its own."""
    words: list[str] = []
    spaces: list[bool] = []
    position = 0
    for match in _TOKEN.finditer(text):
        if match.start() > position:
            _gap(text[position : match.start()], words, spaces)
        words.append(match.group())
        spaces.append(False)
        position = match.end()
    if position < len(text):
        _gap(text[position:], words, spaces)
    return words, spaces


def _gap(gap: str, words: list[str], spaces: list[bool]) -> None:
    if words and gap[0] == " ":
        spaces[-1] = True
        gap = gap[1:]
    if gap:
        words.append(gap)
        spaces.append(False)


def test_tokenizer_equals_the_match_by_match_tokenizer_on_real_articles(shared_dir: Path) -> None:
    """Words and space flags as the first tokenizer gave them, on the text of real PMC articles
    (whitespace as the XML has it: runs, newlines, tabs) and on made-up edge cases."""
    texts = ["", " ", "  a  b\n\n c\t d ", "\u2003x\u00a0 y", "a' b- c'", "\t\ta", "x \n"]
    for path in sorted((shared_dir / "pmc" / "articles").glob("*.xml"))[:12]:
        texts.append("".join(ET.parse(path).getroot().itertext()))
    assert sum(len(t) for t in texts) > 100_000
    for text in texts:
        assert tokenize(text) == _tokenize_match_by_match(text)


def test_tokenizer_attaches_dashes_and_possessives_and_splits_greek() -> None:
    words, _spaces = tokenize("Ehlers-Danlos Wilson's TNF-α 3β (AIE)")
    assert words == ["Ehlers-", "Danlos", "Wilson's", "TNF-", "α", "3", "β", "(", "AIE", ")"]


def test_free_text_is_split_into_sentences() -> None:
    doc = make_nlp()("First sentence here. Second one follows! And a third?")
    assert [s.text for s in doc.sents] == ["First sentence here.", "Second one follows!", "And a third?"]
