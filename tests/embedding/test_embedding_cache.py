"""EmbeddingCache: embeds each (model, text) once, persists across instances, threads and compaction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mmrare.embedding import EmbeddingCache, Encoder, cache_key
from mmrare.embedding.cache import KEY_DTYPE, KeyIndex
from mmrare.errors import FatalError

TEXTS = [
    "Marfan syndrome",
    "The proband had ectopia lentis and aortic root dilatation.",
    "Echocardiography showed mitral valve prolapse.",
]


def _shard_dirs(cache: EmbeddingCache) -> list[Path]:
    return sorted(p for p in (cache.directory / "shards").iterdir())


def test_second_call_encodes_nothing_and_returns_identical_rows(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    first = cache.embed(TEXTS)
    assert (cache.hits, cache.misses, cache.encoded) == (0, 3, 3)
    second = cache.embed(TEXTS)
    assert (cache.hits, cache.misses, cache.encoded) == (3, 3, 3)
    np.testing.assert_array_equal(first, second)
    assert first.dtype == np.float32 and first.shape == (3, 384)
    assert fake_encoder.texts_encoded == 3


def test_only_new_texts_are_encoded_and_rows_keep_input_order(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    cache.embed(TEXTS[:2])
    mixed = [TEXTS[2], TEXTS[0], "Ghost cells in the lens.", TEXTS[2], TEXTS[1]]
    rows = cache.embed(mixed)
    assert fake_encoder.calls[-1] == [TEXTS[2], "Ghost cells in the lens."]
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.encoded) == (2, 2 + 3, 2 + 2)
    np.testing.assert_array_equal(rows, fake_encoder.encode(mixed))


def test_a_new_instance_reuses_the_directory(tmp_path: Path, make_fake_encoder: Callable[..., Any]) -> None:
    first_encoder = make_fake_encoder()
    expected = EmbeddingCache(tmp_path, first_encoder).embed(TEXTS)
    again_encoder = make_fake_encoder()
    again = EmbeddingCache(tmp_path, again_encoder)
    np.testing.assert_array_equal(again.embed(TEXTS), expected)
    assert again_encoder.calls == [] and again.encoded == 0 and again.hits == 3


def test_another_instance_sees_new_shards_on_a_miss(tmp_path: Path, fake_encoder: Any) -> None:
    reader = EmbeddingCache(tmp_path, fake_encoder)
    writer = EmbeddingCache(tmp_path, fake_encoder)
    writer.embed(TEXTS)
    reader.embed(TEXTS)
    assert reader.encoded == 0 and reader.hits == 3


def test_keys_depend_on_the_model(tmp_path: Path, make_fake_encoder: Callable[..., Any]) -> None:
    assert cache_key("a" * 64, "x") != cache_key("b" * 64, "x")
    EmbeddingCache(tmp_path, make_fake_encoder(model_sha256="a" * 64)).embed(TEXTS)
    other = EmbeddingCache(tmp_path, make_fake_encoder(model_sha256="b" * 64))
    other.embed(TEXTS)
    assert other.encoded == 3


def test_shards_are_published_whole(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    cache.embed(TEXTS[:1])
    cache.embed(TEXTS)
    cache.embed(TEXTS)  # nothing new: no shard
    shards = _shard_dirs(cache)
    assert len(shards) == 2
    assert all(sorted(p.name for p in s.iterdir()) == ["keys.npy", "vectors.npy"] for s in shards)
    assert not any(s.name.startswith(".") for s in shards)
    stored = np.load(shards[0] / "keys.npy")
    assert [k.hex() for k in stored] == [cache_key(fake_encoder.model_sha256, TEXTS[0])]


def test_key_index_matches_a_dict_through_many_merges() -> None:
    rng = np.random.default_rng(7)
    index, reference = KeyIndex(), {}
    for shard in range(40):
        n = int(rng.integers(1, 60))
        raw = rng.bytes(32 * n)
        if shard == 3:  # digests that differ only in a trailing NUL byte must stay distinct
            raw = b"x" * 31 + b"\0" + b"x" * 31 + b"\1" + raw[64:]
        keys = np.frombuffer(raw, dtype=KEY_DTYPE)
        index.add(keys, np.full(n, shard, dtype=np.int32), np.arange(n))
        for row in range(n):
            reference.setdefault(raw[32 * row : 32 * row + 32], (shard, row))
    assert index.n_runs <= 8  # logarithmic in the number of keys
    queries = [*list(reference)[::3], b"\0" * 32, b"x" * 31 + b"\2"]
    shard, row = index.find(np.frombuffer(b"".join(queries), dtype=KEY_DTYPE))
    expected = [reference.get(q, (-1, 0)) for q in queries]
    assert list(zip(shard.tolist(), row.tolist(), strict=True)) == expected


def test_failed_encode_leaves_nothing_behind(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)

    def broken(texts: list[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        return np.zeros((len(texts), 384), dtype=np.float32)

    fake_encoder.encode = broken
    with pytest.raises(FatalError, match="unit length"):
        cache.embed(TEXTS)
    assert _shard_dirs(cache) == [] and len(cache) == 0


def test_threads_share_one_cache(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    batches = [[f"sentence {(i * 7 + j) % 40}" for j in range(15)] for i in range(8)]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = cache.embed(batches[i])

    workers = [threading.Thread(target=work, args=(i,)) for i in range(len(batches))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    for i, batch in enumerate(batches):
        np.testing.assert_array_equal(results[i], fake_encoder.encode(batch))
    distinct = {text for batch in batches for text in batch}
    assert cache.hits + cache.misses == sum(len(b) for b in batches)
    assert len(distinct) <= cache.encoded  # racing threads may both encode a new text, never skip one
    reopened = EmbeddingCache(tmp_path, fake_encoder)
    reopened.embed(sorted(distinct))
    assert reopened.encoded == 0


def test_compact_merges_shards_and_keeps_every_vector(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    texts = [f"finding {i}" for i in range(50)]
    for start in range(0, 50, 10):
        cache.embed(texts[start : start + 10])
    cache.embed([*texts[:5], "late arrival"])
    assert len(_shard_dirs(cache)) == 6
    assert cache.compact() == 6
    assert len(_shard_dirs(cache)) == 1
    np.testing.assert_array_equal(cache.embed(texts), fake_encoder.encode(texts))
    reopened = EmbeddingCache(tmp_path, fake_encoder)
    assert len(reopened) == 51
    reopened.embed([*texts, "late arrival"])
    assert reopened.encoded == 0


def test_a_cache_for_another_dimension_is_refused(
    tmp_path: Path, make_fake_encoder: Callable[..., Any]
) -> None:
    EmbeddingCache(tmp_path, make_fake_encoder(dim=384)).embed(TEXTS)
    with pytest.raises(FatalError, match="dim"):
        EmbeddingCache(tmp_path, make_fake_encoder(dim=128))


def test_a_damaged_shard_is_fatal_and_named(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    cache.embed(TEXTS)
    (shard,) = _shard_dirs(cache)
    (shard / "vectors.npy").write_bytes(b"not an array")
    with pytest.raises(FatalError, match=shard.name):
        EmbeddingCache(tmp_path, fake_encoder)


def test_empty_input_and_bare_string(tmp_path: Path, fake_encoder: Any) -> None:
    cache = EmbeddingCache(tmp_path, fake_encoder)
    assert cache.embed([]).shape == (0, 384)
    with pytest.raises(TypeError):
        cache.embed("Marfan syndrome")


def test_100k_texts_written_in_shards_all_come_from_the_cache(tmp_path: Path, fake_encoder: Any) -> None:
    """Correctness at scale; the speed of cached lookups is measured by bench/encoder.py."""
    texts = [f"The patient, case {i}, presented with progressive muscle weakness." for i in range(100_000)]
    writer = EmbeddingCache(tmp_path, fake_encoder)
    for start in range(0, len(texts), 25_000):
        writer.embed(texts[start : start + 25_000])
    cache = EmbeddingCache(tmp_path, fake_encoder)
    rows = cache.embed(texts)
    assert cache.encoded == 0 and rows.shape == (100_000, 384)
    assert np.array_equal(rows[12_345], writer.embed([texts[12_345]])[0])


def test_real_encoder_through_the_cache(tmp_path: Path, encoder: Encoder) -> None:
    cache = EmbeddingCache(tmp_path, encoder)
    direct = encoder.encode(TEXTS)
    np.testing.assert_allclose(cache.embed(TEXTS), direct, atol=1e-5)
    np.testing.assert_allclose(EmbeddingCache(tmp_path, encoder).embed(TEXTS), direct, atol=1e-5)
    assert (cache.directory / "meta.json").is_file() and cache.directory.name == encoder.model_sha256

