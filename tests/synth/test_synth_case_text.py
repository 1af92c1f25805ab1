"""What the case text promises the tracks: the diagnosis is stated after every investigation and
before the treatment, never named earlier in the case sections, and investigations and treatments
are the ones the drafter's vocabularies recognise."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.annotations.drafting.vocab import examinations, treatments
from mmrare.curation.jats import parse_jats
from mmrare.records import ParsedArticle, SectionRole
from mmrare.synth.plan import word_string
from mmrare.synth.vocab import vocabulary

from .synth_support import Corpus

CASE_ROLES = {
    SectionRole.CASE_PRESENTATION,
    SectionRole.INVESTIGATIONS,
    SectionRole.TREATMENT,
    SectionRole.OUTCOME,
}


@pytest.fixture(scope="module")
def cases(corpus: Corpus) -> list[tuple[ParsedArticle, dict]]:
    return [
        (parse_jats(folder / f"{folder.name}.xml", package_dir=Path(folder)), t)
        for folder, t in corpus.cases()
    ]


def test_diagnosis_sentence_follows_investigations_and_precedes_treatment(
    cases: list[tuple[ParsedArticle, dict]],
) -> None:
    for article, truth in cases:
        by_id = {s.sentence_id: s for s in article.sentences}
        roles = {s.section_id: s.role for s in article.sections}
        diagnosis = by_id[truth["diagnosis"]["sentence_id"]]
        assert roles[diagnosis.section_id] is SectionRole.INVESTIGATIONS
        assert all(by_id[i["sentence_id"]].ordinal < diagnosis.ordinal for i in truth["investigations"])
        assert by_id[truth["treatment"]["sentence_id"]].ordinal > diagnosis.ordinal
        assert truth["diagnosis"]["surface"] in diagnosis.text


def test_no_case_sentence_names_the_disease_before_the_diagnosis(
    cases: list[tuple[ParsedArticle, dict]],
) -> None:
    for article, truth in cases:
        dx = truth["diagnosis"]
        names = [
            word_string(n) for n in (dx["label"], dx["surface"], *dx["synonyms"]) if word_string(n).strip()
        ]
        roles = {s.section_id: s.role for s in article.sections}
        cut = next(s.ordinal for s in article.sentences if s.sentence_id == dx["sentence_id"])
        for sentence in article.sentences:
            if roles[sentence.section_id] in CASE_ROLES and sentence.ordinal < cut:
                words = word_string(sentence.text)
                assert not any(name in words for name in names), (sentence.sentence_id, sentence.text)


def test_investigations_and_treatments_are_what_the_drafter_reads(
    cases: list[tuple[ParsedArticle, dict]],
) -> None:
    exams, drugs = examinations(), treatments()
    for _, truth in cases:
        for investigation in truth["investigations"]:
            found = exams.find(investigation["text"])
            assert found and found[0].entry.id == investigation["vocab_id"], investigation["text"]
        found = drugs.find(truth["treatment"]["text"])
        assert found and found[0].entry.id == truth["treatment"]["vocab_id"], truth["treatment"]["text"]


@pytest.mark.parametrize("name", ["examinations", "treatments"])
def test_usable_terms_resolve_to_themselves_under_the_drafters_rules(name: str) -> None:
    drafter = {"examinations": examinations, "treatments": treatments}[name]()
    mine = vocabulary(name)
    assert mine.version == drafter.version
    assert len(mine.terms) >= len(drafter.entries) - 3  # a few names read as another entry
    for term in mine.terms:
        sentence = f"The {term.phrase} was recorded."
        assert mine.first_match(sentence) == term.id
        assert drafter.find(sentence)[0].entry.id == term.id


def test_phenotypes_come_from_hpo(corpus: Corpus) -> None:
    assert corpus.summary.phenotype_source == "hpo" and corpus.summary.hpo_version
    for _, truth in corpus.cases():
        assert truth["phenotypes"] and all(p["hpo_id"].startswith("HP:") for p in truth["phenotypes"])
