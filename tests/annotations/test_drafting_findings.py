"""Finding extraction from captions and citing sentences: no figure labels, panels or brackets."""

from __future__ import annotations

import re

import pytest

from mmrare.annotations.drafting.cuts import CaseView
from mmrare.annotations.drafting.findings import clean_finding, figure_findings, findings_in
from mmrare.items import CaseInput

LABELS = re.compile(r"\b(?:fig|figs|figure|figures|panel)\b|\([A-Za-z]\)|\[\d|\(|\)|[“”\"]", re.IGNORECASE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The patient’s 2015 biopsy revealed (A) villous blunting and absence of goblet cells; and (B) "
            "increased lamina propria infiltrate in the colon.",
            [
                "villous blunting and absence of goblet cells",
                "increased lamina propria infiltrate in the colon",
            ],
        ),
        (
            "Contrast CT (Fig. 2A) shows a hypervascular mass [3] at the carotid bifurcation (arrow).",
            ["hypervascular mass at the carotid bifurcation"],
        ),
        (
            "Specific “Zellballen” growth pattern of paragangliomas (small nests of chief cells) can be seen",
            ["Specific Zellballen growth pattern of paragangliomas"],
        ),
        (
            "Note the more intact villous architecture of the duodenum.",
            ["more intact villous architecture of the duodenum"],
        ),
        ("Increased crypt epithelial apoptoses are still present.", ["Increased crypt epithelial apoptoses"]),
        (
            "The CT study also revealed the presence of masses at both carotid bifurcations (Fig. 1).",
            ["masses at both carotid bifurcations"],
        ),
        ("Recent biopsy of the duodenum showing findings similar to those of previous biopsies.", []),
        ("Computed tomography of the head and neck before surgery.", []),
        (
            "Histology showed a well-defined mass, which was consistent with a schwannoma.",
            ["well-defined mass"],
        ),
    ],
)
def test_findings_in(text: str, expected: list[str]) -> None:
    assert findings_in(text) == expected


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Panel B: dilated bile ducts (Figure 4B)", "dilated bile ducts"),
        ("(C) a cystic lesion with septations (asterisk) [12]", "cystic lesion with septations"),
        ("the presence of multiple calcified nodules in Figs. 3 and 4", "multiple calcified nodules"),
        ("arrow", None),
    ],
)
def test_clean_finding(raw: str, clean: str | None) -> None:
    assert clean_finding(raw) == clean


def test_long_findings_are_cut_at_a_list_boundary() -> None:
    text = ", ".join(["marked villous blunting", "crypt hyperplasia", "intraepithelial lymphocytosis"] * 3)
    cleaned = clean_finding(text)
    assert cleaned is not None and len(cleaned) <= 120 and not cleaned.endswith(",")


def test_sample_findings_carry_no_labels(samples: dict[str, CaseInput]) -> None:
    total = 0
    for case in samples.values():
        view = CaseView(case)
        for figure in case.figures:
            for finding in figure_findings(view, figure.figure_id):
                total += 1
                assert not LABELS.search(finding.text), finding
                assert not re.match(r"^[A-Ha-h][\s.:)]", finding.text), finding
    assert total >= 8


def test_findings_from_sentences_citing_two_figures_are_not_used(samples: dict[str, CaseInput]) -> None:
    view = CaseView(samples["PMC6358579"])
    shared = "PMC6358579:sec2:p1:s7"  # cites Figure 3 and Figure 4
    for fid in ("PMC6358579:F3", "PMC6358579:F4"):
        assert all(f.sentence_id != shared for f in figure_findings(view, fid))
