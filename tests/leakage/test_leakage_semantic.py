"""Semantic scores with the real encoder: every sentence scored, one embed call, cached re-runs."""

from __future__ import annotations

from mmrare.embedding import EmbeddingCache
from mmrare.leakage import Detection, LeakageInput, detect
from mmrare.leakage.detect import layout_of

from .leakage_cases import PGL, SpyEmbedder, all_inputs


def test_every_sentence_of_every_item_has_a_stored_semantic_score(
    detected: tuple[list[LeakageInput], Detection],
) -> None:
    inputs, detection = detected
    for entry in inputs:
        semantic = [
            s for s in detection.scores if s.item_id == entry.item.item_id and s.detector == "semantic"
        ]
        assert [s.sentence_id for s in semantic] == [s.sentence_id for s in layout_of(entry)]
        assert all(-1.0 <= s.score <= 1.0 for s in semantic)
        assert all(s.detail["model_sha256"] == detection.model_sha256 for s in semantic)
        assert all(entry.item.context[s.start : s.end] == s.matched_text for s in semantic)


def test_the_sentence_stating_the_diagnosis_scores_highest(
    detected: tuple[list[LeakageInput], Detection],
) -> None:
    _, detection = detected
    pgl = {s.sentence_id: s for s in detection.scores if s.item_id == "pgl-dx" and s.detector == "semantic"}
    best = max(pgl.values(), key=lambda s: s.score)
    assert best.sentence_id == f"{PGL}:sec3:p1:s4"  # "... confirmed carotid paraganglioma"
    assert best.score > 0.8 and best.detail["descriptor"] == "synonym"
    assert pgl[f"{PGL}:sec4:p0:s0"].score < 0.3  # SDH subunits: unrelated wording


def test_cross_image_sentences_are_compared_with_the_answer_caption(
    detected: tuple[list[LeakageInput], Detection],
) -> None:
    _, detection = detected
    cross = {
        s.sentence_id: s for s in detection.scores if s.item_id == "pgl-cross" and s.detector == "semantic"
    }
    he = cross[f"{PGL}:sec3:p1:s2"]  # "Hematoxylin-eosin (H&E) staining showed a Zellballen structure"
    assert he.detail["descriptor"] == f"caption:{PGL}:Fig2" and he.score >= 0.7


def test_one_embed_call_per_run_and_reruns_encode_nothing(spy: SpyEmbedder, cache: EmbeddingCache) -> None:
    inputs = all_inputs()
    first = detect(inputs, spy)
    assert len(spy.calls) == 1
    n_sentences = sum(len(layout_of(e)) for e in inputs)
    assert first.sentences == n_sentences and cache.encoded == first.texts_embedded
    encoded = cache.encoded
    again = detect(all_inputs(), spy)
    assert len(spy.calls) == 2 and cache.encoded == encoded  # second run: all cache hits
    assert [(s.score_id, s.score) for s in again.scores] == [(s.score_id, s.score) for s in first.scores]


def test_score_details_encode_as_json_sorted_did() -> None:
    from mmrare.leakage.scores import JSON_SORTED, detail_json

    details = [
        {"descriptor": "label", "descriptor_text": "Autoimmune enteropathy", "model_sha256": "ab"},
        {"model_sha256": "ab", "descriptor": None, "descriptor_text": ""},
        {"gold_length": 1, "distractor_mean": 1.0, "extreme": True},
        {"gold_length": True},
        {"shared": ["a", "b"], "gold_share": 0.5},
        {"term": "Ünïcode ’s"},
        {},
    ]
    for detail in details + details:  # the second time from the cache
        assert detail_json(detail) == JSON_SORTED.encode(dict(detail))
