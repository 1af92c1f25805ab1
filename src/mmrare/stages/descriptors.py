"""Stored drafts as leakage-control input, and the content-keyed store of their context vectors.

The leakage package never reads ORDO, the linker's output or the warehouse, so this orchestrator
resolves every name of each item's answer into an :class:`~mmrare.leakage.AnswerDescriptor`:

- diagnosis: ORDO label, synonyms and definition; the short forms the case itself defines for the
  gold concept or a relative it was resolved through (the linker's abbreviation mentions); causal
  genes from ORDO that the case names (symbol or gene name);
- examination / treatment: the answer and its aliases, plus every phrase in the case that the
  project vocabulary matches as this same answer ("EGD with biopsies" for "Upper endoscopy with
  duodenal biopsy") — the words a model would actually see;
- cross-image: label and caption of every figure shown, marking the answer's figures.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mmrare.annotations.drafting.vocab import Vocabulary, examinations, treatments
from mmrare.embedding.cache import KEY_DTYPE, VectorStore, key_digest
from mmrare.embedding.model import PINNED_MODEL_DIM
from mmrare.items import QAItem
from mmrare.leakage import AnswerDescriptor, FigureText, LeakageInput
from mmrare.leakage.dataset import CONTEXT_VECTOR_VERSION
from mmrare.ontology.answer_names import diagnosis_names
from mmrare.warehouse.queries import leakage as queries

if TYPE_CHECKING:
    import duckdb

    from mmrare.ontology.index import OrdoIndex

CONTEXT_VECTORS_FORMAT = "mmrare-context-vectors/2"  # /2: the embedding cache's shard store


class ContextVectors:
    """The dataset checks' context vectors, keyed by sha256(model digest, :data:`CONTEXT_VECTOR_VERSION`,
    context): a pure function of the context and the model, like the sentence vectors they are the
    mean of, so a top-up reads the earlier items' vectors instead of splitting and looking up ~100k
    sentences again. Stored as a :class:`~mmrare.embedding.cache.VectorStore` (the embedding cache's
    shard store) under ``root/<model sha256>``.
    """

    def __init__(self, root: Path, model_sha256: str, dim: int = PINNED_MODEL_DIM) -> None:
        meta = {"format": CONTEXT_VECTORS_FORMAT, "model_sha256": model_sha256, "key": CONTEXT_VECTOR_VERSION}
        self._store = VectorStore(Path(root) / model_sha256, dim, meta, what="context-vector store")
        self._model_sha256 = model_sha256

    @property
    def directory(self) -> Path:
        return self._store.directory

    def key(self, context: str) -> bytes:
        """The raw 32-byte key of ``context``: the embedding cache's key of the versioned context."""
        return key_digest(self._model_sha256, f"{CONTEXT_VECTOR_VERSION}\0{context}")

    def get(self, keys: Mapping[str, bytes]) -> dict[str, np.ndarray]:
        """Stored vectors for ``keys`` (id -> key), by id; ids without one are left out."""
        if not keys:
            return {}
        ids = list(keys)
        rows, found = self._store.get(np.array([keys[i] for i in ids], dtype=KEY_DTYPE))
        return {i: rows[n] for n, i in enumerate(ids) if found[n]}

    def put(self, keys: Mapping[str, bytes], vectors: Mapping[str, np.ndarray]) -> None:
        """Store ``vectors`` (by id) under their ids' keys as one shard, each distinct key once."""
        first: dict[bytes, str] = {}
        for item_id in vectors:
            if item_id in keys:
                first.setdefault(keys[item_id], item_id)
        if not first:
            return
        self._store.put(
            np.array(list(first), dtype=KEY_DTYPE),
            np.stack([vectors[i] for i in first.values()]).astype(np.float32),
        )


def abbreviations_for(found: Sequence[tuple[str, str]], codes: set[str]) -> tuple[str, ...]:
    """What :func:`defined_abbreviations` returns, from :func:`case_abbreviations`'s rows."""
    return tuple(sorted({text for code, text in found if code in codes}))


def named_genes(index: OrdoIndex, code: str, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(symbols, names) of ORDO genes associated with ``code`` that ``text`` mentions."""
    symbols: list[str] = []
    names: list[str] = []
    low = text.casefold()
    for assoc in index.genes_for(code):
        gene = index.get(assoc.gene)
        if gene is None:
            continue
        if gene.symbol and re.search(rf"(?<![A-Za-z0-9]){re.escape(gene.symbol)}(?![A-Za-z0-9])", text):
            symbols.append(gene.symbol)
        if gene.label and gene.label.casefold() in low:
            names.append(gene.label)
    return tuple(dict.fromkeys(symbols)), tuple(dict.fromkeys(names))


def all_vocabulary_phrases(vocab: Vocabulary, texts: Sequence[str]) -> dict[str, dict[str, None]]:
    """entry name -> surface phrases in ``texts`` (first-seen order): one vocabulary pass per case,
    shared by all of the case's items of that track."""
    found: dict[str, dict[str, None]] = {}
    for text in texts:
        for match in vocab.find(text):
            found.setdefault(match.entry.name, {}).setdefault(text[match.start : match.end], None)
    return found


def phrases_for(found: dict[str, dict[str, None]], answer: str) -> tuple[str, ...]:
    return tuple(p for p in found.get(answer, {}) if p.strip() and p.casefold() != answer.casefold())


class CaseFacts:
    """What the descriptors of one case's items are made from, computed once per case."""

    def __init__(self, sentences: dict[str, str], abbreviations: Sequence[tuple[str, str]]) -> None:
        self.sentences = sentences
        self.abbreviations = abbreviations
        self._phrases: dict[str, dict[str, dict[str, None]]] = {}

    def phrases(self, track: str) -> dict[str, dict[str, None]]:
        if track not in self._phrases:
            vocab = examinations() if track == "examination" else treatments()
            self._phrases[track] = all_vocabulary_phrases(vocab, list(self.sentences.values()))
        return self._phrases[track]


def descriptor_for(
    item: QAItem,
    index: OrdoIndex,
    sentences: dict[str, str],
    figures: dict[str, tuple[str, str]],
    facts: CaseFacts,
) -> AnswerDescriptor:
    """Everything that names ``item``'s answer (see the module docstring); ``facts`` are the case's
    abbreviations and vocabulary phrases, shared by its items."""
    if item.track == "diagnosis" and item.orpha_code and item.orpha_code in index:
        concept = index[item.orpha_code]
        family = {item.orpha_code} | index.ancestors(item.orpha_code) | index.descendants(item.orpha_code)
        text = " ".join(sentences.values())
        symbols, gene_names = named_genes(index, item.orpha_code, text)
        names = diagnosis_names(index, item.orpha_code)
        return AnswerDescriptor(
            label=concept.label,
            synonyms=tuple(dict.fromkeys((*concept.synonyms, *item.aliases))),
            definition=concept.definition,
            abbreviations=abbreviations_for(facts.abbreviations, family),
            gene_symbols=symbols,
            gene_names=gene_names,
            code=item.orpha_code,
            related_names=names.related,
            short_names=names.short,
        )
    if item.track in ("examination", "treatment"):
        phrases = phrases_for(facts.phrases(item.track), item.answer)
        return AnswerDescriptor.for_item(
            item, synonyms=tuple(dict.fromkeys((*item.aliases, *phrases))), code=item.answer_category
        )
    if item.track == "cross_image":
        answer_figures = set(item.evidence_figure_ids)
        shown = [
            FigureText(
                figure_id=img.figure_id,
                label=figures.get(img.figure_id, ("", ""))[0],
                caption=figures.get(img.figure_id, ("", ""))[1],
                marker=img.marker,
                is_answer=img.figure_id in answer_figures,
            )
            for img in item.images
        ]
        return AnswerDescriptor.for_item(item, figures=tuple(dict.fromkeys(shown)))
    return AnswerDescriptor.for_item(item)


def leakage_inputs(
    con: duckdb.DuckDBPyConnection, index: OrdoIndex, items: Sequence[QAItem]
) -> list[LeakageInput]:
    """One :class:`LeakageInput` per item, with the raw texts of its context sentences."""
    pmcids = sorted({i.pmcid for i in items})
    sentences = queries.case_sentences(con, pmcids)
    figures = queries.figure_texts(con, pmcids)
    abbreviations = queries.case_abbreviations(con, pmcids)
    facts = {p: CaseFacts(sentences.get(p, {}), abbreviations.get(p, [])) for p in pmcids}
    out = []
    for item in items:
        texts = sentences.get(item.pmcid, {})
        descriptor = descriptor_for(item, index, texts, figures, facts[item.pmcid])
        context_texts = {sid: texts[sid] for sid in item.context_sentence_ids if sid in texts}
        out.append(LeakageInput(item=item, descriptor=descriptor, sentence_texts=context_texts))
    return out
