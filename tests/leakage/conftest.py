"""Leakage test fixtures: the real encoder (loaded once), caches, and the hand-built items.

The hub is switched off before anything can import huggingface_hub, so a test can never download.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mmrare.embedding import EmbeddingCache, Encoder, load_encoder
from mmrare.leakage import Detection, LeakageInput, detect

from .leakage_cases import (
    SpyEmbedder,
    all_inputs,
    build_aie_input,
    build_cross_input,
    build_exam_input,
    build_pgl_input,
    build_treatment_input,
)

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The real packaged model (digest-checked), loaded once for all leakage tests."""
    return load_encoder(threads=2)


@pytest.fixture
def cache(tmp_path: Path, encoder: Encoder) -> EmbeddingCache:
    return EmbeddingCache(tmp_path / "embeddings", encoder)


@pytest.fixture
def spy(cache: EmbeddingCache) -> SpyEmbedder:
    return SpyEmbedder(cache)


@pytest.fixture
def aie_input() -> LeakageInput:
    return build_aie_input()


@pytest.fixture
def pgl_input() -> LeakageInput:
    return build_pgl_input()


@pytest.fixture
def exam_input() -> LeakageInput:
    return build_exam_input()


@pytest.fixture
def cross_input() -> LeakageInput:
    return build_cross_input()


@pytest.fixture
def treatment_input() -> LeakageInput:
    return build_treatment_input()


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder) -> EmbeddingCache:
    return EmbeddingCache(tmp_path_factory.mktemp("leakage-cache"), encoder)


@pytest.fixture(scope="session")
def detected(session_cache: EmbeddingCache) -> tuple[list[LeakageInput], Detection]:
    """All five hand-built items detected once per session (real encoder, shared cache)."""
    inputs = all_inputs()
    return inputs, detect(inputs, session_cache)
