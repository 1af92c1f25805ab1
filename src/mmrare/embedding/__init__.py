"""Shared, offline, cached text embeddings for the stages that compare meaning.

ORDO concept linking (nearest labels for mentions no rule matched) and leakage control (context
sentences against answer descriptors) must use the same model, the same vectors and the same cache,
yet stages never import each other; so this layer is its own top-level package.

- :mod:`~mmrare.embedding.model`: ``load_encoder()`` -> :class:`Encoder` — the packaged
  all-MiniLM-L6-v2, verified against :data:`PINNED_MODEL_SHA256`, loaded on the CPU with the hub off.
- :mod:`~mmrare.embedding.cache`: :class:`EmbeddingCache` — vectors keyed by sha256(model + text) in
  append-only shards, so a re-run embeds nothing it has embedded before; the shards are a
  :class:`VectorStore`, which also keeps vectors derived from embeddings (leakage's context vectors).
- :mod:`~mmrare.embedding.index`: :class:`VectorIndex` (exact cosine search with faiss) and
  ``cached_index()``, which builds an index over a corpus once and reloads it afterwards.
- :mod:`~mmrare.embedding.process`: :class:`EncoderProcess` — the same encoder in a child process,
  so its torch work never waits for the GIL of the caller's Python.

Typical use::

    encoder = load_encoder()
    cache = EmbeddingCache(workspace / "embeddings", encoder)
    labels = cached_index(workspace / "indexes", ordo_sha256, codes, names, cache.embed,
                          model_sha256=encoder.model_sha256)
    hits = labels.search(cache.embed(mentions), k=5)

Importing this package is cheap: torch, sentence-transformers and faiss load on first use.
"""

from mmrare.embedding.cache import CacheStats, EmbeddingCache, VectorStore, cache_key
from mmrare.embedding.index import Hit, VectorIndex, cached_index, corpus_digest
from mmrare.embedding.model import (
    MODEL_ID,
    PINNED_MODEL_SHA256,
    Encoder,
    TextEncoder,
    load_encoder,
    model_digest,
    packaged_model_dir,
)
from mmrare.embedding.process import EncoderProcess

__all__ = [
    "MODEL_ID",
    "PINNED_MODEL_SHA256",
    "CacheStats",
    "EmbeddingCache",
    "Encoder",
    "EncoderProcess",
    "Hit",
    "TextEncoder",
    "VectorIndex",
    "VectorStore",
    "cache_key",
    "cached_index",
    "corpus_digest",
    "load_encoder",
    "model_digest",
    "packaged_model_dir",
]
