"""The ORDO linker on generated cases: the case's diagnosis is the gold ORPHA code.

This is what the corpus is for at scale (mapping quality over thousands of cases); here a handful of
cases checks the contract end to end: generated JATS -> parser -> linker -> diagnosis.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mmrare.curation.jats import parse_jats
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import Linker, diagnose_case, link_document

from .synth_support import Corpus

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def linker(synth_ordo: OrdoIndex, tmp_path_factory: pytest.TempPathFactory) -> Linker:
    return Linker.build(synth_ordo, tmp_path_factory.mktemp("synth-linker-cache"))


def test_linker_maps_generated_cases_to_their_gold_code(
    corpus: Corpus, linker: Linker, synth_ordo: OrdoIndex
) -> None:
    outcomes = []
    for folder, truth in list(corpus.cases())[:8]:
        article = parse_jats(Path(folder) / f"{folder.name}.xml")
        roles = {s.section_id: s.role.value for s in article.sections}
        sentences = [(s.sentence_id, roles[s.section_id], s.text) for s in article.sentences]
        mentions = link_document(linker, sentences, article.article.title)
        result = diagnose_case(synth_ordo, mentions, sections_present=set(roles.values()))
        outcomes.append((truth["diagnosis"]["orpha_code"], result.code, truth["diagnosis"]["surface"]))
        if result.code == truth["diagnosis"]["orpha_code"]:
            assert truth["diagnosis"]["sentence_id"] in result.evidence_sentence_ids
    hits = sum(gold == found for gold, found, _ in outcomes)
    assert hits >= len(outcomes) - 1, outcomes
