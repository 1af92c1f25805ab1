"""The acceptance check of the linking issue: the 7 labelled case reports of ../shared/pmc, parsed by
the project's JATS parser and linked against the full ORDO 4.2.

The 3 rare cases must map to their reference code or to a concept at most two is_a/part_of steps
above or below it; the 4 others must get no rare-disease answer at all.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

import pytest

from mmrare.curation.jats import parse_jats
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import CaseDiagnosis, Linker, diagnose_case, link_document
from mmrare.records import ParsedArticle

pytestmark = pytest.mark.slow

PMC = Path(__file__).resolve().parents[4] / "shared" / "pmc"
MANIFEST = {
    row["pmcid"]: row for row in csv.DictReader((PMC / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
}
RARE = {"PMC6358579": "ORPHA:522037", "PMC6358580": "ORPHA:485631", "PMC7500000": "ORPHA:94080"}
NOT_RARE = ("PMC6358576", "PMC6358577", "PMC6358578", "PMC6358581")


@functools.cache
def parsed(pmcid: str) -> ParsedArticle:
    return parse_jats(PMC / MANIFEST[pmcid]["path"].removeprefix("pmc/"))


def diagnose(linker: Linker, index: OrdoIndex, pmcid: str) -> CaseDiagnosis:
    article = parsed(pmcid)
    roles = {s.section_id: s.role.value for s in article.sections}
    sentences = [(s.sentence_id, roles[s.section_id], s.text) for s in article.sentences]
    mentions = link_document(linker, sentences, article.article.title)
    return diagnose_case(index, mentions, sections_present=set(roles.values()))


def distance(index: OrdoIndex, code: str, other: str, limit: int = 2) -> int | None:
    """Steps between two concepts along is_a/part_of in one direction (up or down), or None."""
    for low, high in ((code, other), (other, code)):
        frontier, seen = {low}, {low}
        for step in range(limit + 1):
            if high in frontier:
                return step
            frontier = {p for c in frontier for p in index.parents(c)} - seen
            seen |= frontier
    return None


def test_manifest_matches_the_reference_table() -> None:
    assert {p: r["orpha_code"] for p, r in MANIFEST.items() if r["rare_disease"] == "yes"} == RARE
    assert sorted(p for p, r in MANIFEST.items() if r["rare_disease"] == "no") == sorted(NOT_RARE)


@pytest.mark.parametrize("pmcid", sorted(RARE))
def test_rare_cases_map_to_the_reference_or_a_close_relative(
    full_linker: Linker, full_index: OrdoIndex, pmcid: str
) -> None:
    result = diagnose(full_linker, full_index, pmcid)
    reference = RARE[pmcid]
    assert result.code is not None, result
    assert result.code == reference or (
        full_index.is_descendant(result.code, reference) or full_index.is_descendant(reference, result.code)
    ), result
    assert distance(full_index, result.code, reference) is not None, result
    assert 0.0 < result.confidence <= 1.0
    assert result.evidence_sentence_ids


@pytest.mark.parametrize("pmcid", NOT_RARE)
def test_other_cases_get_no_rare_disease(full_linker: Linker, full_index: OrdoIndex, pmcid: str) -> None:
    result = diagnose(full_linker, full_index, pmcid)
    assert result.code is None, result
    assert result.reason in {
        "no_rare_disease_mention",
        "only_non_rare",
        "only_negated_mentions",
        "only_generic_mentions",
        "no_patient_evidence",
    }


def test_expected_answers_and_reasons(full_linker: Linker, full_index: OrdoIndex) -> None:
    """What the linker answers today, so a change in behaviour shows up as a diff, not a mystery."""
    answers = {pmcid: diagnose(full_linker, full_index, pmcid) for pmcid in [*RARE, *NOT_RARE]}
    assert {p: (a.code, a.reason) for p, a in answers.items()} == {
        "PMC6358579": ("ORPHA:522037", "supported_default_child"),  # category "autoimmune enteropathy"
        "PMC6358580": ("ORPHA:79301", "supported"),  # HSD3B7 deficiency = BASD type 1, child of 485631
        "PMC7500000": ("ORPHA:573163", "supported"),  # "paragangliomas" -> the PPGL group, parent of 94080
        "PMC6358576": (None, "no_rare_disease_mention"),
        "PMC6358577": (None, "no_rare_disease_mention"),
        "PMC6358578": (None, "no_rare_disease_mention"),
        "PMC6358581": (None, "no_patient_evidence"),  # Lemierre's syndrome only in background/discussion
    }


def test_the_lemierre_like_case_sees_lemierre_but_does_not_answer_it(
    full_linker: Linker, full_index: OrdoIndex
) -> None:
    result = diagnose(full_linker, full_index, "PMC6358581")
    assert result.alternatives[0][0] == "ORPHA:137839"
