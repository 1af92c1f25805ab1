"""Section role rules: titles, sec-types and inheritance."""

from __future__ import annotations

import pytest

from mmrare.curation.section_roles import classify_section, normalise_title
from mmrare.records import SectionRole as R


@pytest.mark.parametrize(
    ("title", "sec_type", "parent", "expected"),
    [
        # case presentation
        ("Case Report", None, None, R.CASE_PRESENTATION),
        ("Case presentation", None, None, R.CASE_PRESENTATION),
        ("Case description", None, None, R.CASE_PRESENTATION),
        ("Case 1", None, R.CASE_PRESENTATION, R.CASE_PRESENTATION),
        ("Case II", None, None, R.CASE_PRESENTATION),
        ("Clinical history", None, None, R.CASE_PRESENTATION),
        ("Patient information", None, None, R.CASE_PRESENTATION),
        ("", "cases", None, R.CASE_PRESENTATION),
        # investigations, treatment, outcome (CARE and BMJ Case Reports headings)
        ("Investigations", None, None, R.INVESTIGATIONS),
        ("Diagnostic assessment", None, None, R.INVESTIGATIONS),
        ("2.1. Laboratory findings", None, R.CASE_PRESENTATION, R.INVESTIGATIONS),
        ("Imaging", None, R.CASE_PRESENTATION, R.INVESTIGATIONS),
        ("Histopathology findings", None, None, R.INVESTIGATIONS),
        ("Pathology findings", None, R.CASE_PRESENTATION, R.INVESTIGATIONS),
        ("Treatment", None, None, R.TREATMENT),
        ("Management", None, R.CASE_PRESENTATION, R.TREATMENT),
        ("Therapeutic intervention", None, None, R.TREATMENT),
        ("Treatment and outcome", None, None, R.TREATMENT),
        ("Outcome and follow-up", None, None, R.OUTCOME),
        ("Follow-up", None, R.TREATMENT, R.OUTCOME),
        # article-level sections
        ("Introduction", None, None, R.BACKGROUND),
        ("1. Background", None, None, R.BACKGROUND),
        ("", "intro", None, R.BACKGROUND),
        ("Discussion", None, None, R.DISCUSSION),
        ("IV. DISCUSSION", None, None, R.DISCUSSION),
        ("Discussion", "conclusions", None, R.DISCUSSION),  # the title beats the sec-type
        ("Case discussion", None, None, R.DISCUSSION),
        ("Results and discussion", "results", None, R.DISCUSSION),
        ("Conclusion", None, None, R.CONCLUSION),
        ("Conclusions:", None, None, R.CONCLUSION),
        ("Learning points", None, None, R.CONCLUSION),
        # administrative and research sections
        ("Acknowledgements", None, None, R.OTHER),
        ("Disclosures", None, None, R.OTHER),
        ("Funding", None, R.CASE_PRESENTATION, R.OTHER),
        ("Conflict of interest", None, None, R.OTHER),
        ("Materials and methods", "materials|methods", None, R.OTHER),
        ("Results", None, None, R.OTHER),
        ("", "supplementary-material", None, R.OTHER),
        ("Some unrecognised heading", None, None, R.OTHER),
        # inheritance
        ("Unrecognised subsection", None, R.CASE_PRESENTATION, R.CASE_PRESENTATION),
        ("Limitations", None, R.DISCUSSION, R.DISCUSSION),
        ("", None, R.TREATMENT, R.TREATMENT),
        ("Statistical analysis", None, R.OTHER, R.OTHER),
        # steps of the clinical course only count inside the case (or at the top level)
        ("Treatment options", None, R.DISCUSSION, R.DISCUSSION),
        ("Imaging protocol", None, R.OTHER, R.OTHER),
        # everything under the abstract is the abstract
        ("Case presentation", None, R.ABSTRACT, R.ABSTRACT),
        ("Abstract", None, None, R.ABSTRACT),
    ],
)
def test_classify_section(title: str, sec_type: str | None, parent: R | None, expected: R) -> None:
    assert classify_section(title, sec_type, parent) is expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("2.1. Laboratory  findings:", "laboratory findings"),
        ("IV. Discussion", "discussion"),
        ("A) Imaging", "imaging"),
        ("A case of Fabry disease", "a case of fabry disease"),
        ("3 Results", "results"),
        ("Outcome \u2013 follow-up", "outcome - follow-up"),
    ],
)
def test_normalise_title(title: str, expected: str) -> None:
    assert normalise_title(title) == expected
