"""Examination and treatment distractors that fit the case's clinical picture (issue 25).

The real neck paraganglioma sample (PMC7500000) with the sample pool, where the gut case's
anti-goblet-cell antibodies used to be offered as the next test, plus a case diagnosed with an ORDO
sibling and one with a disease the differential names.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from mmrare.annotations.drafting import draft_case
from mmrare.annotations.drafting.text import normalise
from mmrare.items import CaseInput, ClinicalPicture, DistractorPool, PoolEntry, QAItem, RelatedCase

from ..conftest import PGL

SIBLING_CASE = "PMC9000001"
DIFFERENTIAL_CASE = "PMC9000002"
SIBLING = RelatedCase(
    SIBLING_CASE, "ordo_sibling", "ORPHA:276621", "Sporadic pheochromocytoma/secreting paraganglioma"
)
DIFFERENTIAL = RelatedCase(DIFFERENTIAL_CASE, "differential", "ORPHA:1332", "Medullary thyroid carcinoma")
ANTI_GOBLET = "Anti-enterocyte and anti-goblet cell antibodies"  # the gut case's answer
COELIAC = "Coeliac serology (anti-tTG antibodies)"
DONE = {"CT of the head and neck", "Histopathological examination", "Immunohistochemistry", "Ultrasound"}


@pytest.fixture
def pool(sample_pool: DistractorPool) -> DistractorPool:
    """The sample pool plus the examinations and treatments of the two related cases."""
    return DistractorPool(
        (
            *sample_pool.entries,
            PoolEntry("examination", "MIBG scintigraphy", "imaging", SIBLING_CASE),
            PoolEntry("examination", "Plasma or urinary metanephrines", "lab", SIBLING_CASE),
            PoolEntry("examination", "CT of the head and neck", "imaging", SIBLING_CASE),  # done here
            PoolEntry("examination", "Histopathological examination", "pathology", SIBLING_CASE),  # done
            PoolEntry("examination", COELIAC, "lab", SIBLING_CASE),  # fits nothing in a neck tumour
            PoolEntry("examination", "Serum tumour markers", "lab", DIFFERENTIAL_CASE),
            PoolEntry("treatment", "Preoperative embolization", "embolization", SIBLING_CASE),
            PoolEntry("treatment", "Surgical resection", "surgery", SIBLING_CASE),  # the answer
            PoolEntry("treatment", "Resection of the tumour", "other", SIBLING_CASE),  # the answer, reworded
            PoolEntry("treatment", "Thyroidectomy", "surgery", DIFFERENTIAL_CASE),  # the answer's category
        )
    )


def _picture(case: CaseInput, similarity: dict[str, float]) -> ClinicalPicture:
    """Vectors giving each text this cosine to any context of the case (all its sentences point one way)."""
    rows = {normalise(text): i for i, text in enumerate(similarity)}
    vectors = np.array([[c, math.sqrt(1 - c * c)] for c in similarity.values()], dtype=np.float32)
    sentences = {s.sentence_id: np.array([1.0, 0.0], dtype=np.float32) for s in case.sentences}
    return ClinicalPicture((), rows, vectors, sentences)


def _items(case: CaseInput, pool: DistractorPool, picture: ClinicalPicture) -> dict[str, QAItem]:
    result = draft_case(
        dataclasses.replace(case, picture=picture), tracks=["examination", "treatment"], pool=pool
    )
    return {item.answer: item for item in result.items}


def _never_offered(item: QAItem, texts: set[str]) -> None:
    offered = {normalise(o) for o in item.options if o != item.answer}
    assert not offered & {normalise(t) for t in texts}, item.options


def test_related_diseases_workup_comes_first_with_its_reason(
    samples: dict[str, CaseInput], pool: DistractorPool
) -> None:
    items = _items(samples[PGL], pool, ClinicalPicture((DIFFERENTIAL, SIBLING)))
    wes = items["Whole-exome sequencing"]
    notes = wes.distractor_notes
    assert notes[0].text == "Serum tumour markers"  # the differential's workup before the sibling's
    differential_reason = "differential: Medullary thyroid carcinoma"
    assert (notes[0].reason, notes[0].source) == (differential_reason, DIFFERENTIAL_CASE)
    sibling_reason = "ordo_sibling: Sporadic pheochromocytoma/secreting paraganglioma"
    assert {(n.text, n.reason, n.source) for n in notes[1:3]} == {
        ("MIBG scintigraphy", sibling_reason, SIBLING_CASE),
        ("Plasma or urinary metanephrines", sibling_reason, SIBLING_CASE),
    }
    assert ANTI_GOBLET not in wes.options  # the gut case's answer no longer takes a pool slot
    related = {n.text for item in items.values() for n in item.distractor_notes if ": " in n.reason}
    assert COELIAC not in related  # a related case's test that fits neither systems nor text: not preferred
    for item in items.values():
        _never_offered(item, DONE)
    resection = items["Surgical resection"]
    first = resection.distractor_notes[0]
    assert (first.text, first.reason) == ("Preoperative embolization", sibling_reason)
    assert first.source == SIBLING_CASE
    _never_offered(resection, {"Resection of the tumour", "Thyroidectomy"})


def test_options_as_close_to_the_case_as_the_answer_come_next_and_say_how_close(
    samples: dict[str, CaseInput], pool: DistractorPool
) -> None:
    """Nearest the answer's own similarity (Whole-exome sequencing: 0.55) on either side first, so the
    answer is neither the option most nor least like the context; without the answer's similarity
    (Surgical resection), the most similar first."""
    similarity = {
        text: score
        for text, score in [
            ("Whole-exome sequencing", 0.55),
            ("Plasma or urinary metanephrines", 0.62),
            ("MIBG scintigraphy", 0.5),
            ("Somatostatin receptor imaging (68Ga-DOTATATE PET)", 0.41),
            ("Serum tumour markers", 0.3),
            ("CT of the head and neck", 0.9),  # done in this case
            ("Histopathological examination", 0.9),
            ("Resection of the tumour", 0.9),  # the answer under another name
            ("Preoperative embolization", 0.35),
            (ANTI_GOBLET, 0.05),
        ]
    }
    items = _items(samples[PGL], pool, _picture(samples[PGL], similarity))
    wes = items["Whole-exome sequencing"]
    # the nearest above (0.62) and below (0.50, 0.41) the answer; how many above, the item's seed says
    assert {(n.text, n.reason) for n in wes.distractor_notes[:3]} == {
        ("Plasma or urinary metanephrines", "similar: 0.62"),
        ("MIBG scintigraphy", "similar: 0.50"),
        ("Somatostatin receptor imaging (68Ga-DOTATATE PET)", "similar: 0.41"),
    }
    assert ANTI_GOBLET not in wes.options
    for item in items.values():
        _never_offered(item, DONE)
    resection = items["Surgical resection"]
    assert (resection.distractor_notes[0].text, resection.distractor_notes[0].reason) == (
        "Preoperative embolization",
        "similar: 0.35",
    )
    _never_offered(resection, {"Resection of the tumour"})


def test_without_a_picture_the_options_are_as_before(
    samples: dict[str, CaseInput], pool: DistractorPool
) -> None:
    """No related case and no similarity (a case drafted outside a build): body-system fit alone."""
    items = _items(samples[PGL], pool, ClinicalPicture())
    reasons = {n.reason for item in items.values() for n in item.distractor_notes}
    assert reasons <= {"other_case_answer", "vocabulary_fit"}


def test_the_answers_place_among_the_options_by_similarity_varies_with_the_item(
    samples: dict[str, CaseInput],
) -> None:
    """Options as close to the context as the answer, on both sides in seeded proportion: neither
    "most like the context" nor "least like it" picks the answer more often than the others."""
    import itertools
    import random

    from mmrare.annotations.drafting.distractors import Distractors
    from mmrare.annotations.drafting.vocab import examinations

    case = samples[PGL]
    rng = random.Random(5)
    vocab = examinations()
    similarity = {e.name: rng.uniform(-0.1, 0.6) for e in vocab.entries}
    similarity["Whole-exome sequencing"] = 0.25
    picture = _picture(case, similarity)
    offered = Distractors(vocab, lambda t: False, DistractorPool(), "examination", case.pmcid, picture)
    context = [s for s in case.sentences if s.section_id.endswith("sec1")] or list(case.sentences[:10])
    places = []
    for i in range(60):
        ranked = offered.rank(
            answer_category="genetic", exclude_ids=set(), context=[s.text for s in context], n=5,
            key=f"item{i}", answer="Whole-exome sequencing", context_ids=[s.sentence_id for s in context],
        )  # fmt: skip
        chosen = [note.text for note in itertools.islice(ranked, 4)]
        places.append(sum(similarity[t] > 0.25 for t in chosen))
    assert set(places) == {0, 1, 2, 3, 4}  # the answer is first, last and in between by similarity
    assert max(places.count(k) for k in range(5)) < 60 * 0.4
