"""VectorIndex and cached_index: exact cosine search, atomic save/load, build-once caching."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pytest

from mmrare.embedding import EmbeddingCache, Encoder, Hit, VectorIndex, cached_index
from mmrare.embedding.index import DONE_MARKER
from mmrare.errors import FatalError

KEYS = [f"ORPHA:{n}" for n in (558, 324, 166, 2322, 79445, 90045)]
LABELS = [
    "Marfan syndrome",
    "Fabry disease",
    "Ehlers-Danlos syndrome",
    "Homocystinuria",
    "Loeys-Dietz syndrome",
    "Shprintzen-Goldberg syndrome",
]
MODEL = "e" * 64


class CountingEmbed:
    """An embed_fn that remembers how often it was called."""

    def __init__(self, vectors_of: Callable[[Sequence[str]], np.ndarray]) -> None:
        self.vectors_of = vectors_of
        self.calls = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        return self.vectors_of(texts)


@pytest.fixture
def vectors(unit_vectors: Callable[..., np.ndarray]) -> np.ndarray:
    return unit_vectors(LABELS)


def test_top_hit_of_a_stored_vector_is_itself(vectors: np.ndarray) -> None:
    index = VectorIndex.build(KEYS, vectors)
    results = index.search(vectors, k=1)
    assert [hits[0].key for hits in results] == KEYS
    np.testing.assert_allclose([hits[0].score for hits in results], 1.0, atol=1e-5)


def test_scores_are_cosines_best_first(vectors: np.ndarray) -> None:
    index = VectorIndex.build(KEYS, vectors)
    (hits,) = index.search(vectors[:1], k=len(KEYS))
    cosines = vectors @ vectors[0]
    assert [h.key for h in hits] == [KEYS[i] for i in np.argsort(-cosines, kind="stable")]
    np.testing.assert_allclose([h.score for h in hits], np.sort(cosines)[::-1], atol=1e-5)
    assert isinstance(hits[0], Hit) and hits[0] == (hits[0].key, hits[0].score)


def test_k_beyond_the_index_and_duplicate_keys(vectors: np.ndarray) -> None:
    index = VectorIndex.build(["ORPHA:558", "ORPHA:558", "ORPHA:324"], vectors[:3])
    (hits,) = index.search(vectors[:1], k=10)
    assert len(hits) == 3 and [h.key for h in hits].count("ORPHA:558") == 2
    assert VectorIndex.build([], np.empty((0, 384), np.float32)).search(vectors[:2], k=3) == [[], []]


def test_array_search_is_the_same_search(vectors: np.ndarray) -> None:
    index = VectorIndex.build(KEYS, vectors)
    scores, positions = index.search_arrays(vectors[:3], k=len(KEYS) + 5)
    assert scores.shape == positions.shape == (3, len(KEYS))
    for row, hits in enumerate(index.search(vectors[:3], k=len(KEYS) + 5)):
        assert [index.keys[i] for i in positions[row]] == [h.key for h in hits]
        np.testing.assert_array_equal(scores[row], np.array([h.score for h in hits], dtype=np.float32))
    empty = VectorIndex.build([], np.empty((0, 384), np.float32)).search_arrays(vectors[:2], k=3)
    assert empty[0].shape == empty[1].shape == (2, 0)
    with pytest.raises(ValueError, match="L2-normalised"):
        index.search_arrays(vectors[:2] * 2, k=1)


def test_bad_input_is_refused(vectors: np.ndarray) -> None:
    with pytest.raises(ValueError, match="keys"):
        VectorIndex.build(KEYS[:2], vectors)
    with pytest.raises(ValueError, match="L2-normalised"):
        VectorIndex.build(KEYS, vectors * 2)
    index = VectorIndex.build(KEYS, vectors)
    with pytest.raises(ValueError, match="k must be"):
        index.search(vectors, k=0)
    with pytest.raises(ValueError, match="2-D"):
        index.search(vectors[0], k=1)
    with pytest.raises(ValueError, match="dims"):
        index.search(np.eye(1, 8, dtype=np.float32), k=1)


def test_save_load_round_trip(tmp_path: Path, vectors: np.ndarray) -> None:
    index = VectorIndex.build(KEYS, vectors, provenance={"corpus_id": "ordo-4.2"})
    folder = index.save(tmp_path / "labels")
    assert (folder / DONE_MARKER).is_file()
    loaded = VectorIndex.load(folder)
    assert loaded.keys == index.keys and loaded.provenance == {"corpus_id": "ordo-4.2"}
    np.testing.assert_array_equal(loaded.vectors(), vectors)
    assert loaded.search(vectors, k=3) == index.search(vectors, k=3)
    VectorIndex.build(KEYS[:2], vectors[:2]).save(folder)  # a second save replaces the first
    assert len(VectorIndex.load(folder)) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["labels"]  # no temporary folders left


def test_incomplete_or_damaged_index_is_fatal(tmp_path: Path, vectors: np.ndarray) -> None:
    folder = VectorIndex.build(KEYS, vectors).save(tmp_path / "labels")
    with (folder / "vectors.npy").open("r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x00\x80\x3f")
    with pytest.raises(FatalError, match="checksum"):
        VectorIndex.load(folder)
    (folder / DONE_MARKER).unlink()
    with pytest.raises(FatalError, match=DONE_MARKER):
        VectorIndex.load(folder)


def test_cached_index_builds_once(tmp_path: Path, unit_vectors: Callable[..., np.ndarray]) -> None:
    embed = CountingEmbed(unit_vectors)
    first = cached_index(tmp_path, "ordo-sha", KEYS, LABELS, embed, model_sha256=MODEL)
    second = cached_index(tmp_path, "ordo-sha", KEYS, LABELS, embed, model_sha256=MODEL)
    assert embed.calls == 1
    assert second.keys == first.keys
    assert second.provenance["corpus_id"] == "ordo-sha" and second.provenance["model_sha256"] == MODEL
    query = unit_vectors(["Marfan syndrome"])
    assert second.search(query, k=2) == first.search(query, k=2)


def test_cached_index_rebuilds_when_anything_changes(
    tmp_path: Path, unit_vectors: Callable[..., np.ndarray]
) -> None:
    embed = CountingEmbed(unit_vectors)
    cached_index(tmp_path, "ordo-sha", KEYS, LABELS, embed, model_sha256=MODEL)
    cached_index(tmp_path, "another-ordo", KEYS, LABELS, embed, model_sha256=MODEL)
    cached_index(tmp_path, "ordo-sha", KEYS, [*LABELS[:-1], "SGS"], embed, model_sha256=MODEL)
    cached_index(tmp_path, "ordo-sha", list(reversed(KEYS)), LABELS, embed, model_sha256=MODEL)
    cached_index(tmp_path, "ordo-sha", KEYS, LABELS, embed, model_sha256="d" * 64)
    assert embed.calls == 5
    assert len([p for p in tmp_path.iterdir() if (p / DONE_MARKER).is_file()]) == 5


def test_real_model_finds_the_concept(tmp_path: Path, encoder: Encoder) -> None:
    cache = EmbeddingCache(tmp_path / "embeddings", encoder)
    index = cached_index(
        tmp_path / "indexes", "test-labels", KEYS, LABELS, cache.embed, model_sha256=encoder.model_sha256
    )
    mentions = ["a patient with Marfan's syndrome and lens dislocation", "Anderson-Fabry disease"]
    top = [hits[0].key for hits in index.search(cache.embed(mentions), k=3)]
    assert top == ["ORPHA:558", "ORPHA:324"]
