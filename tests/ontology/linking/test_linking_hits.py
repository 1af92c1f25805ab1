"""Helpers of the hit finder, pinned against the numpy calls they replace."""

from __future__ import annotations

import numpy as np
from spacy.attrs import NORM, ORTH

from mmrare.ontology.linking import Linker
from mmrare.ontology.linking.hits import members


def test_members_equals_isin() -> None:
    rng = np.random.default_rng(0)
    keys = np.unique(rng.integers(0, 2**64 - 1, size=300, dtype=np.uint64))
    values = np.concatenate([rng.choice(keys, 500), rng.integers(0, 2**64 - 1, size=500, dtype=np.uint64)])
    values = np.concatenate([values, np.array([0, 2**64 - 1, keys[0], keys[-1]], dtype=np.uint64)])
    rng.shuffle(values)
    assert np.array_equal(members(values, keys), np.flatnonzero(np.isin(values, keys)))
    assert members(values, keys[:0]).size == 0
    assert members(values[:0], keys).size == 0


def test_members_finds_the_linkers_genes_and_heads(full_linker: Linker) -> None:
    """On the full ORDO linker's gene symbols and head nouns, over text naming some of them."""
    genes = list(full_linker.table.genes)[:40]
    heads = list(full_linker.table.heads)
    doc = full_linker.nlp.make_doc(" ".join(genes + heads + ["deficiency of", "the", "patient", "HSD3B7"]))
    orths, norms = doc.to_array(ORTH), doc.to_array(NORM)
    cases = ((orths, full_linker.gene_array, genes), (norms, full_linker.head_array, heads))
    for values, keys, named in cases:
        found = members(values, keys)
        assert np.array_equal(found, np.flatnonzero(np.isin(values, keys)))
        assert len(found) >= len(named)
