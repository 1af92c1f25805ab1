"""Embedding fallback: the nearest ORDO label or synonym for a disease phrase no rule matched.

The lexical matcher only finds names ORDO spells out. Case reports also write "a mitochondrial
encephalomyopathy with lactic acidosis" or reorder words; for such phrases (after a diagnosis cue,
see :mod:`~mmrare.ontology.linking.phrases`) the linker asks this fallback. The corpus is the label
and every synonym of each *answerable* concept (no genes, categories, obsolete or non-rare classes),
so a fallback hit can never be an answer the lexical path would refuse. The vector index is cached
on disk keyed by the encoder's sha256 and the ORDO file's sha256 (``cached_index``), so it is built
once per ORDO release and model. The embedding function is passed in: this module never loads a
model itself, which keeps the ontology stage free of torch for callers that do not need it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mmrare.embedding.index import VectorIndex, cached_index
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking.generic import Answerability, answerability

EmbedFn = Callable[[Sequence[str]], np.ndarray]
FALLBACK_VERSION = "ordo-fallback/1"


def fallback_corpus(index: OrdoIndex, *, synonyms: bool = True) -> tuple[list[str], list[str]]:
    """(codes, texts): the label (and each synonym) of every answerable concept, in code order."""
    keys: list[str] = []
    texts: list[str] = []
    for concept in sorted(index.concepts(), key=lambda c: c.code):
        if answerability(index, concept.code) is not Answerability.ANSWERABLE:
            continue
        names = (concept.label, *concept.synonyms) if synonyms else (concept.label,)
        for name in dict.fromkeys(names):
            keys.append(concept.code)
            texts.append(name)
    return keys, texts


def answerable_label_index(
    index: OrdoIndex, embed: EmbedFn, cache_dir: Path, *, model_sha256: str
) -> VectorIndex:
    """Preferred labels of the answerable concepts only (~7.7k in ORDO 4.2, a third of the fallback
    corpus): what distractor search needs, since options show labels, never synonyms."""
    keys, texts = fallback_corpus(index, synonyms=False)
    corpus_id = f"ordo-labels-{index.release.sha256}"
    return cached_index(cache_dir, corpus_id, keys, texts, embed, model_sha256=model_sha256, threads=1)


@dataclass(slots=True)
class LabelFallback:
    """Callable fallback for ``link_document``: phrases -> nearest answerable concept and cosine.

    The vector index is made on the first call (``load``): most builds link every case lexically and
    never pay for embedding ~20k ORDO names. Safe to call from several link threads at once.
    """

    load: Callable[[], VectorIndex]
    embed: EmbedFn
    model_id: str
    model_sha256: str
    _vectors: VectorIndex | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def vectors(self) -> VectorIndex:
        with self._lock:
            if self._vectors is None:
                self._vectors = self.load()
            return self._vectors

    @property
    def provenance(self) -> str:
        """What produced a fallback score; stored with every diagnosis that could use it."""
        return f"{FALLBACK_VERSION}+{self.model_id}@{self.model_sha256[:12]}"

    def __call__(self, phrases: list[str]) -> list[tuple[str, float] | None]:
        if not phrases:
            return []
        hits = self.vectors.search(self.embed(phrases), k=1)
        return [(row[0].key, float(row[0].score)) if row else None for row in hits]


def build_label_fallback(
    index: OrdoIndex,
    embed: EmbedFn,
    cache_dir: Path,
    *,
    model_id: str,
    model_sha256: str,
    eager: bool = False,
) -> LabelFallback:
    """The fallback over ``index``; its vector index is read from ``cache_dir`` when built before,
    and made (or read) on first use unless ``eager``."""

    def load() -> VectorIndex:
        keys, texts = fallback_corpus(index)
        corpus_id = f"ordo-{index.release.sha256}"
        return cached_index(cache_dir, corpus_id, keys, texts, embed, model_sha256=model_sha256, threads=1)

    fallback = LabelFallback(load=load, embed=embed, model_id=model_id, model_sha256=model_sha256)
    if eager:
        _ = fallback.vectors
    return fallback
