"""Semantic leakage detector: how close each context sentence comes to the answer's descriptors.

Every sentence of every item gets a score — the maximum cosine between its embedding and the
embeddings of the answer's label, synonyms and definition (captions of the answer figure for
cross-image items) — found with a faiss inner-product index over unit vectors. All scores are kept,
so a threshold change is decided from stored numbers.

Embeddings come from an :class:`Embedder` (normally the shared :class:`~mmrare.embedding.EmbeddingCache`,
keyed by sha256(model + text)); all texts of one run go through a single ``embed`` call, so the encoder
sees one large batch and a re-run encodes only text it has never seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from mmrare.embedding import VectorIndex
from mmrare.leakage.scores import SEMANTIC, LeakageScore
from mmrare.leakage.segments import ContextSentence


@runtime_checkable
class Embedder(Protocol):
    """What leakage needs from the embedding layer: unit vectors for texts, and the model's identity.

    :class:`~mmrare.embedding.EmbeddingCache` is one; wrap a bare encoder with :class:`EncoderEmbedder`.
    """

    @property
    def model_id(self) -> str: ...

    @property
    def model_sha256(self) -> str: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class _Encoding(Protocol):
    @property
    def model_id(self) -> str: ...

    @property
    def model_sha256(self) -> str: ...

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray: ...


class EncoderEmbedder:
    """An uncached :class:`Embedder` over a bare encoder (benchmarks, one-off free-text checks)."""

    def __init__(self, encoder: _Encoding, *, batch_size: int = 64) -> None:
        self._encoder = encoder
        self._batch_size = batch_size

    @property
    def model_id(self) -> str:
        return self._encoder.model_id

    @property
    def model_sha256(self) -> str:
        return self._encoder.model_sha256

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._encoder.encode(list(texts), batch_size=self._batch_size)


def as_embedder(obj: Embedder | _Encoding) -> Embedder:
    """``obj`` if it can ``embed``; an :class:`EncoderEmbedder` around it if it can only ``encode``."""
    if hasattr(obj, "embed"):
        return obj  # type: ignore[return-value]
    if hasattr(obj, "encode"):
        return EncoderEmbedder(obj)
    raise TypeError(f"{type(obj).__name__} has neither embed() nor encode()")


class TextBatch:
    """Collects texts from many items, embeds them in one call, hands rows back by ticket."""

    def __init__(self) -> None:
        self._texts: list[str] = []
        self._index: dict[str, int] = {}
        self._vectors: np.ndarray | None = None

    def add(self, texts: Sequence[str]) -> list[int]:
        """Tickets (row numbers) for ``texts``; a text seen before gets its earlier ticket."""
        tickets = []
        for text in texts:
            ticket = self._index.get(text)
            if ticket is None:
                ticket = self._index[text] = len(self._texts)
                self._texts.append(text)
            tickets.append(ticket)
        return tickets

    def __len__(self) -> int:
        return len(self._texts)

    def embed(self, embedder: Embedder) -> None:
        self._vectors = np.asarray(embedder.embed(self._texts), dtype=np.float32) if self._texts else None

    def rows(self, tickets: Sequence[int]) -> np.ndarray:
        if self._vectors is None:
            raise RuntimeError("TextBatch.embed() has not run")
        return self._vectors[list(tickets)]


def semantic_scores(
    item_id: str,
    track: str,
    sentences: Sequence[ContextSentence],
    sentence_vectors: np.ndarray,
    descriptors: Sequence[tuple[str, str]],
    descriptor_vectors: np.ndarray,
    *,
    model_sha256: str,
    basis: str = "",
) -> list[LeakageScore]:
    """One score per sentence: max cosine to any descriptor, naming the closest descriptor in ``detail``."""
    if not sentences:
        return []
    closest: list[tuple[int, float] | None] = [None] * len(sentences)  # (descriptor, cosine) per sentence
    if descriptors:
        index = VectorIndex([str(n) for n in range(len(descriptors))], descriptor_vectors, threads=1)
        # faiss's arrays as they are: a Hit per sentence, keyed by the descriptor's number as text, cost
        # more than the search itself
        scores, positions = index.search_arrays(sentence_vectors, k=1)
        for n, (found, score) in enumerate(zip(positions[:, 0].tolist(), scores[:, 0].tolist(), strict=True)):
            if found >= 0:
                closest[n] = (found, score)
    out = []
    for sentence, best in zip(sentences, closest, strict=True):
        if best is not None:
            kind, text = descriptors[best[0]]
            score = best[1]
            detail = {"descriptor": kind, "descriptor_text": text[:200], "model_sha256": model_sha256}
        else:
            score, detail = 0.0, {"descriptor": None, "descriptor_text": "", "model_sha256": model_sha256}
        out.append(
            LeakageScore(
                item_id=item_id,
                detector=SEMANTIC,
                sentence_id=sentence.sentence_id,
                start=sentence.start,
                end=sentence.end,
                matched_text=sentence.text,
                score=round(score, 6),
                detail=detail,
                track=track,
                basis=basis,
            )
        )
    return out
