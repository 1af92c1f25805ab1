"""Each generated package read by the project's own parser: front matter, sections, sentence ids,
figure citations and figure files exactly as the ground truth says."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmrare.curation.figures import decode_graphic
from mmrare.curation.jats import parse_jats
from mmrare.records import ParsedArticle, SectionRole

from .synth_support import Corpus


def parsed_case(folder: Path) -> ParsedArticle:
    parsed = parse_jats(folder / f"{folder.name}.xml")
    return dataclasses.replace(parsed, graphics=tuple(decode_graphic(g) for g in parsed.graphics))


@pytest.fixture(scope="module")
def parsed(corpus: Corpus) -> list[tuple[ParsedArticle, dict]]:
    return [(parsed_case(folder), truth) for folder, truth in corpus.cases()]


def test_front_matter(parsed: list[tuple[ParsedArticle, dict]]) -> None:
    for article, truth in parsed:
        art = article.article
        assert (art.pmcid, art.version) == (truth["pmcid"], 1)
        assert art.article_type == "case-report" and "Case Report" in art.subjects
        assert (
            art.licence == "CC-BY-4.0" and art.licence_url == "https://creativecommons.org/licenses/by/4.0/"
        )
        assert art.title == truth["title"] and art.year is not None


def test_sections_have_the_roles_of_a_case_report(parsed: list[tuple[ParsedArticle, dict]]) -> None:
    for article, _ in parsed:
        roles = [s.role for s in article.sections]
        assert roles[0] is SectionRole.ABSTRACT
        for role in (
            SectionRole.BACKGROUND,
            SectionRole.CASE_PRESENTATION,
            SectionRole.INVESTIGATIONS,
            SectionRole.TREATMENT,
            SectionRole.DISCUSSION,
            SectionRole.CONCLUSION,
        ):
            assert role in roles, (article.article.pmcid, role)
        assert roles.index(SectionRole.CASE_PRESENTATION) < roles.index(SectionRole.INVESTIGATIONS)
        assert roles.index(SectionRole.INVESTIGATIONS) < roles.index(SectionRole.TREATMENT)


def test_ground_truth_sentence_ids_are_the_parsers(parsed: list[tuple[ParsedArticle, dict]]) -> None:
    for article, truth in parsed:
        text = {s.sentence_id: s.text for s in article.sentences}
        tracked = [(truth["diagnosis"]["sentence_id"], truth["diagnosis"]["text"])]
        tracked += [(i["sentence_id"], i["text"]) for i in truth["investigations"]]
        tracked += (
            [(truth["treatment"]["sentence_id"], truth["treatment"]["text"])] if truth["treatment"] else []
        )
        for sentence_id, expected in tracked:
            assert text.get(sentence_id) == expected, sentence_id
        for sentence_id in truth["diagnosis"]["mention_sentence_ids"]:
            assert sentence_id in text


def test_figures_are_cited_captioned_and_decode(parsed: list[tuple[ParsedArticle, dict]]) -> None:
    for article, truth in parsed:
        figures = {f.figure_id: f for f in article.figures}
        graphics = {g.figure_id: g for g in article.graphics}
        mentions = {(m.sentence_id, m.figure_id) for m in article.mentions}
        assert set(figures) == {f["figure_id"] for f in truth["figures"]}
        for fig in truth["figures"]:
            parsed_fig, graphic = figures[fig["figure_id"]], graphics[fig["figure_id"]]
            assert parsed_fig.label == fig["label"]
            assert f"{parsed_fig.caption_title}. {parsed_fig.caption_text}" == fig["caption"]
            assert fig["cited_in"] and all((sid, fig["figure_id"]) in mentions for sid in fig["cited_in"])
            assert graphic.status == "ok", graphic
            assert Path(graphic.path or "").name == fig["file"]
            assert (graphic.format, graphic.width, graphic.height) == (
                fig["format"],
                fig["width"],
                fig["height"],
            )


def test_figure_images_differ(parsed: list[tuple[ParsedArticle, dict]]) -> None:
    hashes = [g.phash for article, _ in parsed for g in article.graphics]
    assert len(set(hashes)) == len(hashes)
    formats = {g.format for article, _ in parsed for g in article.graphics}
    assert formats == {"JPEG", "PNG"}
    panels = [len(f["panels"]) for _, truth in parsed for f in truth["figures"]]
    assert {0, 2} <= set(panels)
