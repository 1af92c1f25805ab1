"""Detection in waves beside a queue of texts (a build's prefetch): same scores as one embed call,
what is not queued embedded first, the items handed out in the order the queue reaches them."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pytest

from mmrare.embedding import EmbeddingCache
from mmrare.leakage import LeakageInput, detect
from mmrare.leakage.detect import DetectionWaves, layout_of
from mmrare.leakage.semantic import QueuedEmbedder

from .leakage_cases import all_inputs


class QueueOfTexts:
    """A :class:`QueuedEmbedder` over the real cache: ``queued`` texts in that order, "embedded by the
    queue" only when a reader waits for them; records what was read beside the queue and when."""

    def __init__(self, cache: EmbeddingCache, queued: Sequence[str]) -> None:
        self.cache = cache
        self.queued = list(dict.fromkeys(queued))
        self.places = {t: n for n, t in enumerate(self.queued)}
        self.through = -1
        self.waits: list[int] = []
        self.beside: list[list[str]] = []

    @property
    def model_id(self) -> str:
        return self.cache.model_id

    @property
    def model_sha256(self) -> str:
        return self.cache.model_sha256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        raise AssertionError("detection must not wait for the whole queue")

    def positions(self, texts: Sequence[str]) -> list[int]:
        return [self.places.get(t, -1) for t in texts]

    def wait_through(self, position: int) -> None:
        self.waits.append(position)
        if position > self.through:
            self.cache.embed(self.queued[self.through + 1 : position + 1])
            self.through = position

    def embed_beside(self, texts: Sequence[str]) -> np.ndarray:
        early = [t for t in texts if self.places.get(t, -1) > self.through]
        assert not early, f"read before the queue reached them: {early}"
        self.beside.append(list(texts))
        return self.cache.embed(texts)


def _context_texts(entries: Sequence[LeakageInput]) -> list[str]:
    return [s.text for entry in entries for s in layout_of(entry)]


def test_waves_follow_the_queue_and_score_exactly_like_one_embed_call(tmp_path, encoder) -> None:
    inputs = all_inputs()
    plain = detect(inputs, EmbeddingCache(tmp_path / "plain", encoder))
    queue = QueueOfTexts(EmbeddingCache(tmp_path / "queued", encoder), _context_texts(inputs[::-1]))
    assert isinstance(queue, QueuedEmbedder)

    run = DetectionWaves(inputs, queue, waves=3)
    waves = list(run)
    assert len(waves) == 3
    assert sorted(n for wave in waves for n in wave.positions) == list(range(len(inputs)))
    assert [n for wave in waves for n in wave.positions][:2] == [3, 4]  # queued last-first: they come first
    assert queue.waits == sorted(queue.waits)
    assert queue.waits[-1] == len(queue.queued) - 1
    not_queued = set(queue.beside[0])
    assert not_queued and not not_queued & set(queue.queued)  # the descriptors, embedded before any wave
    assert run.texts_embedded == plain.texts_embedded

    by_position = {n: scores for wave in waves for n, scores in zip(wave.positions, wave.scores, strict=True)}
    merged = [s for n in range(len(inputs)) for s in by_position[n]]
    assert [(s.score_id, s.score) for s in merged] == [(s.score_id, s.score) for s in plain.scores]
    again = detect(inputs, QueueOfTexts(EmbeddingCache(tmp_path / "again", encoder), _context_texts(inputs)))
    assert [(s.score_id, s.score) for s in again.scores] == [(s.score_id, s.score) for s in plain.scores]


def test_a_plain_embedder_gets_one_call_and_one_wave(spy) -> None:
    waves = list(DetectionWaves(all_inputs(), spy, waves=3))
    assert len(waves) == 1 and len(spy.calls) == 1
    assert waves[0].positions == tuple(range(len(all_inputs())))


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
