"""Leakage texts embedded in the background while drafting, then handed over to leakage control."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmrare.embedding import EmbeddingCache
from mmrare.flows.prefetch import AfterPrefetch, EmbeddingPrefetch


class SlowEncoder:
    """Deterministic unit vectors, slowly, with a log of every text encoded."""

    model_id = "test/slow"
    model_sha256 = "e" * 64
    dim = 8

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.encoded: list[str] = []
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        time.sleep(self.delay_s)
        with self._lock:
            self.encoded += list(texts)
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest(), dtype=np.uint8)[: self.dim] for t in texts]
        vectors = np.asarray(rows, dtype=np.float32) + 1.0
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_leakage_waits_for_the_backlog_and_encodes_no_text_twice(tmp_path: Path) -> None:
    encoder = SlowEncoder()
    cache = EmbeddingCache(tmp_path, encoder)
    prefetch = EmbeddingPrefetch(lambda: cache)
    drafted = [f"context sentence {i}" for i in range(50)]
    for start in range(0, 50, 10):
        prefetch.add(drafted[start : start + 10])
    leakage = AfterPrefetch(cache, prefetch)
    assert (leakage.model_id, leakage.model_sha256) == (encoder.model_id, encoder.model_sha256)

    # leakage embeds the drafted texts and its own (descriptors) while the backlog may still run
    own = ["Von Hippel-Lindau disease", "a hereditary tumour syndrome"]
    vectors = leakage.embed(drafted + own)
    assert vectors.shape == (52, encoder.dim)
    assert sorted(encoder.encoded) == sorted(drafted + own)  # each text encoded exactly once
    assert leakage.encoded == 52
    np.testing.assert_allclose(vectors[:50], cache.embed(drafted))
    prefetch.close()  # again: no error, nothing more encoded
    assert len(encoder.encoded) == 52


def test_a_failing_prefetch_leaves_the_texts_to_leakage(tmp_path: Path) -> None:
    encoder = SlowEncoder(delay_s=0)

    def broken() -> EmbeddingCache:
        raise OSError("cache folder is read-only")

    prefetch = EmbeddingPrefetch(broken)
    prefetch.add(["renal cyst"])
    leakage = AfterPrefetch(EmbeddingCache(tmp_path, encoder), prefetch)
    assert leakage.embed(["renal cyst"]).shape == (1, encoder.dim)
    assert encoder.encoded == ["renal cyst"]


def test_texts_keep_their_place_and_a_reader_waits_only_for_its_own(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("mmrare.flows.prefetch._BATCH", 4)
    encoder = SlowEncoder(delay_s=0.02)
    calls: list[int] = []
    real_encode = encoder.encode

    def counting(texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        calls.append(len(texts))
        return real_encode(texts, batch_size, show_progress)

    encoder.encode = counting  # type: ignore[method-assign]
    cache = EmbeddingCache(tmp_path, encoder)
    prefetch = EmbeddingPrefetch(lambda: cache)
    first = [f"finding {i}" for i in range(6)]
    later = [f"treatment {i}" for i in range(30)]
    prefetch.add(first)
    prefetch.add(first[:2] + later)  # a text queued twice keeps its first place
    leakage = AfterPrefetch(cache, prefetch)
    assert leakage.positions([first[5], later[0], "never queued"]) == [5, 6, -1]

    leakage.wait_through(5)
    assert set(first) <= set(encoder.encoded)  # its texts are embedded ...
    vectors = leakage.embed_beside([*first, "a descriptor"])  # ... and read back beside the queue
    assert vectors.shape == (7, encoder.dim)
    assert encoder.encoded.count("a descriptor") == 1
    prefetch.close()
    assert max(calls) <= 4  # the queue is embedded in parts, each a place readers can wait for
    assert sorted(encoder.encoded) == sorted([*first, *later, "a descriptor"])  # nothing twice
    leakage.wait_through(10**9)  # a closed queue never blocks a reader


def test_a_reader_is_not_left_waiting_by_a_failing_prefetch(tmp_path: Path) -> None:
    def broken() -> EmbeddingCache:
        raise OSError("cache folder is read-only")

    prefetch = EmbeddingPrefetch(broken)
    prefetch.add(["renal cyst", "hemangioblastoma"])
    encoder = SlowEncoder(delay_s=0)
    leakage = AfterPrefetch(EmbeddingCache(tmp_path, encoder), prefetch)
    leakage.wait_through(1)  # returns: the prefetch gave those texts up
    assert leakage.embed_beside(["renal cyst"]).shape == (1, encoder.dim)
    assert encoder.encoded == ["renal cyst"]
    prefetch.close()
