"""The encoder gives a core back to Python work beside it, and its vectors do not change."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from mmrare.embedding.cpushare import (
    encoder_threads,
    python_busy,
    python_work,
    python_work_since,
    python_work_totals,
    short_switch_interval,
)
from mmrare.embedding.model import Encoder, thread_use_since


@contextmanager
def marked_by_another_thread() -> Iterator[None]:
    """Another thread holds a :func:`python_work` mark (idle) until the block ends."""
    inside, leave = threading.Event(), threading.Event()

    def worker() -> None:
        with python_work():
            inside.set()
            leave.wait(10)

    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(10)
    try:
        yield
    finally:
        leave.set()
        thread.join()


def test_threads_follow_python_work_across_threads() -> None:
    assert not python_busy() and encoder_threads(2) == 2
    with marked_by_another_thread():
        with python_work():  # nested with another thread's mark
            assert encoder_threads(2) == 1 and encoder_threads(1) == 1
        assert python_busy()
    assert not python_busy() and encoder_threads(2) == 2


def test_marked_stretches_are_timed_once_however_many_threads_mark_them() -> None:
    before = python_work_totals()
    with marked_by_another_thread():
        with python_work():
            busy_until = time.perf_counter() + 0.3
            while time.perf_counter() < busy_until:  # CPU-bound, as marked work is
                pass
        assert python_work_since(before)["wall_s"] >= 0.3  # a stretch still open counts so far
        time.sleep(0.1)  # the other thread's mark alone, idle: wall time, hardly any CPU
    time.sleep(0.5)  # nothing marked: not counted
    since = python_work_since(before)
    assert 0.4 <= since["wall_s"] < 0.65  # counting the main thread's 0.3 s twice would pass 0.7
    assert 0.2 <= since["cpu_s"] <= since["wall_s"]


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
    before = encoder.thread_use()
    with python_work():  # one torch thread for some slices
        sliced = encoder.encode(texts, batch_size=64)
    use = thread_use_since(encoder.thread_use(), before)
    assert list(use) == [str(max(1, encoder.threads - 1))]  # every batch beside the marked work
    assert next(iter(use.values()))["texts"] == n
    assert next(iter(use.values()))["word_pieces"] == sum(encoder._token_lengths(texts))
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
