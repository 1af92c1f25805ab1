"""Shared fixtures for the embedding tests: the real encoder (loaded once) and a cheap stand-in.

The hub is switched off before anything can import huggingface_hub, so a test can never download.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from mmrare.embedding import Encoder, load_encoder

# Before any test can import huggingface_hub (mmrare.embedding itself imports nothing from it).
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

FAKE_DIM = 384


class FakeEncoder:
    """Deterministic unit vectors from each text's sha512, with a log of every text it was asked for.

    Lets the cache and index tests count calls exactly and run 100k texts in milliseconds.
    """

    def __init__(self, model_sha256: str = "f" * 64, dim: int = FAKE_DIM) -> None:
        self.model_id = "test/fake"
        self.model_sha256 = model_sha256
        self.dim = dim
        self.calls: list[list[str]] = []
        self._lock = threading.Lock()

    @property
    def texts_encoded(self) -> int:
        return sum(len(call) for call in self.calls)

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        batch = list(texts)
        with self._lock:
            self.calls.append(batch)
        return fake_vectors(batch, self.dim)


def fake_vectors(texts: Sequence[str], dim: int = FAKE_DIM) -> np.ndarray:
    """Unit rows derived from sha512(text), repeated to ``dim`` signed bytes."""
    if not texts:
        return np.empty((0, dim), dtype=np.float32)
    reps = -(-dim // 64)
    raw = b"".join((hashlib.sha512(t.encode("utf-8")).digest() * reps)[:dim] for t in texts)
    vectors = np.frombuffer(raw, dtype=np.int8).reshape(len(texts), dim).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real packaged model, verified against the pinned digest; loaded once per test session."""
    return load_encoder(threads=2)


@pytest.fixture
def fake_encoder() -> FakeEncoder:
    return FakeEncoder()


@pytest.fixture
def make_fake_encoder() -> Callable[..., FakeEncoder]:
    """The FakeEncoder class, for tests that need another model digest or dimension."""
    return FakeEncoder


@pytest.fixture
def unit_vectors() -> Callable[..., np.ndarray]:
    """:func:`fake_vectors`, for tests that need vectors without an encoder."""
    return fake_vectors
