"""The encoder gives a core back to Python work beside it, and its vectors do not change."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from mmrare.embedding.cpushare import encoder_threads, python_busy, python_work, short_switch_interval
from mmrare.embedding.model import Encoder


def test_threads_follow_python_work_across_threads() -> None:
    assert not python_busy() and encoder_threads(2) == 2
    inside, leave = threading.Event(), threading.Event()

    def worker() -> None:
        with python_work():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(10)
    with python_work():  # nested with another thread's mark
        assert encoder_threads(2) == 1 and encoder_threads(1) == 1
    assert python_busy()
    leave.set()
    thread.join()
    assert not python_busy() and encoder_threads(2) == 2


def test_switch_interval_is_restored() -> None:
    before = sys.getswitchinterval()
    with short_switch_interval(0.0001):
        assert sys.getswitchinterval() == pytest.approx(0.0001)
    assert sys.getswitchinterval() == before


def test_batched_encoding_equals_one_call_in_input_order(encoder: Encoder) -> None:
    words = ["fever", "renal cyst", "a cerebellar hemangioblastoma on MRI", "VHL", "retinal angioma"]
    n = 64 + 37
    texts = [" ".join(words[(i * 7 + j) % 5] for j in range(1 + i % 9)) for i in range(n)]
    texts[50] = " ".join(words * 40)  # one text over the word-piece budget of a batch: goes alone
    with python_work():  # one torch thread for some slices
        sliced = encoder.encode(texts, batch_size=64)
    whole = encoder._model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
    assert sliced.shape == (len(texts), encoder.dim)
    np.testing.assert_allclose(sliced, whole, atol=1e-5)


def test_deferred_encoder_loads_the_model_only_for_unseen_texts(tmp_path, encoder: Encoder) -> None:
    from mmrare.embedding import EmbeddingCache
    from mmrare.embedding.model import DeferredEncoder

    loads: list[int] = []

    def load() -> Encoder:
        loads.append(1)
        return encoder

    EmbeddingCache(tmp_path, encoder).embed(["renal cyst", "retinal angioma"])  # stored before
    cache = EmbeddingCache(tmp_path, DeferredEncoder(load))
    hit = cache.embed(["retinal angioma"])
    assert loads == [] and hit.shape == (1, encoder.dim)
    cache.embed(["cerebellar hemangioblastoma"])
    assert loads == [1]
    np.testing.assert_allclose(hit, encoder.encode(["retinal angioma"]), atol=1e-5)


def test_deferred_encoder_refuses_another_model(make_fake_encoder) -> None:
    from mmrare.embedding.model import DeferredEncoder
    from mmrare.errors import FatalError

    deferred = DeferredEncoder(lambda: make_fake_encoder())
    with pytest.raises(FatalError, match="expected the pinned"):
        deferred.encode(["x"])


def test_marks_reach_another_process_through_a_mirrored_byte() -> None:
    from mmrare.embedding import cpushare

    ours, theirs = bytearray(1), bytearray(1)
    cpushare.mirror_to(ours)
    try:
        assert ours[0] == 0
        with python_work():
            assert ours[0] == 1
            with python_work():  # nested: still one while any mark is open
                pass
            assert ours[0] == 1
        assert ours[0] == 0
    finally:
        cpushare.stop_mirroring(ours)
    with python_work():
        assert ours[0] == 0  # no longer written
    cpushare.follow(theirs)
    try:
        assert not python_busy() and encoder_threads(2) == 2
        theirs[0] = 1  # the build's process marks Python work: the encoder's process yields a core
        assert python_busy() and encoder_threads(2) == 1
    finally:
        cpushare._followed.remove(theirs)
