"""detect(): one embed call for the batch, every item's scores in input order, whatever the order."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest

from mmrare.leakage import LeakageScore, detect
from mmrare.leakage.scores import DETECTORS

from .leakage_cases import SpyEmbedder, all_inputs


def test_each_items_scores_come_back_in_input_order(spy: SpyEmbedder) -> None:
    inputs = all_inputs()
    detection = detect(inputs, spy)
    assert len(spy.calls) == 1  # contexts and descriptors of every item: one embed call
    assert len(detection.by_item) == len(inputs)
    for entry, scores in zip(inputs, detection.by_item, strict=True):
        assert scores and {s.item_id for s in scores} == {entry.item.item_id}
        assert {s.detector for s in scores} <= set(DETECTORS)
    assert detection.scores == [s for scores in detection.by_item for s in scores]


def test_an_items_scores_do_not_depend_on_its_batch(spy: SpyEmbedder) -> None:
    inputs = all_inputs()
    together = detect(inputs, spy)
    backwards = detect(inputs[::-1], spy)
    alone = [detect([entry], spy).by_item[0] for entry in inputs]

    def fields(by_item: Sequence[list[LeakageScore]]) -> list[list[tuple]]:
        return [[(s.score_id, s.score, s.detail) for s in scores] for scores in by_item]

    assert fields(backwards.by_item[::-1]) == fields(together.by_item)
    assert fields(alone) == fields(together.by_item)


def test_an_empty_batch_embeds_nothing(spy: SpyEmbedder) -> None:
    detection = detect([], spy)
    assert detection.by_item == () and detection.scores == [] and detection.texts_embedded == 0
    assert spy.calls == []


def test_content_norms_are_the_token_loop_s_words() -> None:
    from mmrare.leakage.detect import content_norms
    from mmrare.leakage.shortcuts import STOP_WORDS
    from mmrare.leakage.textnorm import nlp

    odd = "HbA1c 7.2% ... Cushing's (ACTH)-dependent; the MRI's T2"
    texts = [*(e.item.context for e in all_inputs()), "", odd]
    for doc in nlp().tokenizer.pipe(texts):
        loop = {t.norm_ for t in doc if t.is_alpha and len(t.norm_) >= 3 and t.norm_ not in STOP_WORDS}
        assert content_norms(doc) == loop
    assert len(content_norms(nlp().make_doc(texts[0]))) > 10


def test_the_content_word_table_is_bounded_and_answers_the_same_when_emptied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mmrare.leakage import detect as detect_function
    from mmrare.leakage.textnorm import nlp

    detect = sys.modules[detect_function.__module__]  # the module, not the function it exports

    doc = nlp().make_doc(all_inputs()[0].item.context)
    expected = detect.content_norms(doc)
    monkeypatch.setattr(detect, "CONTENT_NORMS_KEPT", 5)
    monkeypatch.setattr(detect, "_CONTENT_NORMS", {})
    assert detect.content_norms(doc) == expected
    assert len(detect._CONTENT_NORMS) <= 5
