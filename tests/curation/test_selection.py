from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mmrare.config import SelectionConfig
from mmrare.curation.figures import decode_graphic
from mmrare.curation.jats import parse_jats
from mmrare.curation.selection import case_report_evidence, licence_verdict, select_case
from mmrare.records import ParsedArticle

SHARED = Path(__file__).resolve().parents[3] / "shared"
PACKAGES = SHARED / "pmc" / "packages"
ARTICLES = SHARED / "pmc" / "articles"


def _decoded(xml: Path) -> ParsedArticle:
    parsed = parse_jats(xml)
    return dataclasses.replace(parsed, graphics=tuple(decode_graphic(g) for g in parsed.graphics))


def test_case_report_with_figures_is_selected_and_nd_flagged() -> None:
    parsed = _decoded(PACKAGES / "PMC6358579" / "PMC6358579.xml")
    decision = select_case(parsed, SelectionConfig())
    assert decision.selected
    assert decision.case_evidence.startswith("article_type")
    assert decision.licence_flagged  # CC BY-NC-ND
    assert (decision.n_figures, decision.n_usable_images, decision.multi_image) == (4, 4, True)


def test_single_figure_case_is_not_multi_image() -> None:
    decision = select_case(_decoded(PACKAGES / "PMC6358580" / "PMC6358580.xml"), SelectionConfig())
    assert decision.selected and not decision.multi_image


def test_research_article_is_rejected_with_reason() -> None:
    decision = select_case(_decoded(ARTICLES / "tidypmc_PMC6358585.xml"), SelectionConfig())
    assert not decision.selected
    assert decision.reason == "not_case_report" and "research-article" in decision.detail


def test_case_report_without_usable_images_is_rejected() -> None:
    parsed = parse_jats(PACKAGES / "PMC6358579" / "PMC6358579.xml", package_dir=ARTICLES)  # no files there
    parsed = dataclasses.replace(parsed, graphics=tuple(decode_graphic(g) for g in parsed.graphics))
    decision = select_case(parsed, SelectionConfig())
    assert (decision.selected, decision.reason) == (False, "no_usable_images")


def test_retracted_is_rejected_first() -> None:
    parsed = _decoded(PACKAGES / "PMC7500000" / "PMC7500000.xml")
    assert select_case(parsed, SelectionConfig(), retracted=True).reason == "retracted"


@pytest.mark.parametrize(
    ("licence", "ok", "flagged"),
    [
        ("CC-BY-4.0", True, False),
        ("CC0-1.0", True, False),
        ("CC-BY-NC-4.0", True, False),
        ("CC-BY-NC-ND-4.0", True, True),
        ("CC-BY-NC-SA-4.0", False, False),
        ("PDM-1.0", False, False),
        ("unknown", False, False),
    ],
)
def test_licence_policy(licence: str, ok: bool, flagged: bool) -> None:
    verdict, is_flagged = licence_verdict(licence, SelectionConfig())
    assert verdict.ok is ok
    assert is_flagged is flagged


def test_policy_is_configurable() -> None:
    strict = SelectionConfig(licence_allow=["CC-BY-4.0", "CC0-1.0"])
    assert not licence_verdict("CC-BY-NC-4.0", strict)[0].ok


def test_title_cue_counts_when_article_type_is_missing() -> None:
    parsed = parse_jats(PACKAGES / "PMC7500000" / "PMC7500000.xml")
    art = dataclasses.replace(parsed.article, article_type=None, subjects=(), title="A case of paraganglioma")
    verdict = case_report_evidence(dataclasses.replace(parsed, article=art))
    assert verdict.ok and verdict.reason == "title"
