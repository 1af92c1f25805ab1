"""The embedding fallback over ORDO labels: real encoder, the hand-built slice, cached index."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from mmrare.embedding import load_encoder
from mmrare.ontology.index import OrdoIndex
from mmrare.ontology.linking import Linker, link_document
from mmrare.ontology.linking.fallback import build_label_fallback, fallback_corpus

from .linking_slice import CELIAC, FBN1_GENE, MARFAN, OBSOLETE_AIE2, POMPE, RARE_GENETIC, WILSON


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


class CountingEmbed:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.texts = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.encoder.encode(list(texts))


def test_corpus_holds_only_answerable_concepts(link_index: OrdoIndex) -> None:
    keys, texts = fallback_corpus(link_index)
    assert MARFAN in keys and WILSON in keys
    for code in (CELIAC, FBN1_GENE, OBSOLETE_AIE2, RARE_GENETIC):
        assert code not in keys
    assert len(keys) == len(texts)
    pompe_texts = [t for k, t in zip(keys, texts, strict=True) if k == POMPE]
    assert len(pompe_texts) >= 2  # label and synonyms


def test_fallback_finds_reworded_names_and_caches_the_index(
    link_index: OrdoIndex, encoder, tmp_path: Path
) -> None:
    embed = CountingEmbed(encoder)
    fallback = build_label_fallback(
        link_index, embed, tmp_path, model_id=encoder.model_id, model_sha256=encoder.model_sha256
    )
    assert embed.texts == 0  # nothing is embedded before the first phrase needs it
    _ = fallback.vectors
    corpus_size = embed.texts
    assert corpus_size == len(fallback_corpus(link_index)[0])
    results = fallback(["hepatolenticular degeneration of Wilson", "acid maltase deficiency glycogenosis"])
    assert [r[0] for r in results if r] == [WILSON, POMPE]
    assert all(0.5 < r[1] <= 1.0 for r in results if r)

    again = CountingEmbed(encoder)
    build_label_fallback(
        link_index, again, tmp_path, model_id=encoder.model_id, model_sha256=encoder.model_sha256
    )
    assert again.texts == 0  # the vector index came from the cache
    assert fallback.provenance.startswith("ordo-fallback/1+")


def test_link_document_uses_the_fallback_above_its_threshold(
    linker: Linker, link_index: OrdoIndex, encoder, tmp_path: Path
) -> None:
    fallback = build_label_fallback(
        link_index, encoder.encode, tmp_path, model_id=encoder.model_id, model_sha256=encoder.model_sha256
    )
    sentences = [("s0", "case_presentation", "She was diagnosed with acid maltase deficiency glycogenosis.")]
    kept = link_document(linker, sentences, None, fallback=fallback, fallback_threshold=0.5)
    assert any(m.code == POMPE and str(m.match_kind) == "embedding" for m in kept)
    none = link_document(linker, sentences, None, fallback=fallback, fallback_threshold=0.999)
    assert not any(str(m.match_kind) == "embedding" for m in none)
