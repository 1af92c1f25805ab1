"""Plain functions that turn stored drafts into leakage-control input (no Prefect here).

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

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from mmrare.annotations.drafting.vocab import Vocabulary, examinations, treatments
from mmrare.embedding.cache import KEY_DTYPE, VectorStore, key_digest
from mmrare.embedding.model import PINNED_MODEL_DIM
from mmrare.items import QAItem
from mmrare.leakage import AnswerDescriptor, FigureText, LeakageInput
from mmrare.leakage.dataset import CONTEXT_VECTOR_VERSION, CheckedItem, DatasetItem, graphic_ids
from mmrare.ontology.index import OrdoIndex

# Rows come back from DuckDB in no fixed order without ORDER BY (two builds of the same corpus return
# them differently): every read of scores uses the order the build decides in.
SCORE_ORDER = " ORDER BY item_id, coalesce(start, -1), detector, score_id"
CONTEXT_VECTORS_FORMAT = "mmrare-context-vectors/2"  # /2: the embedding cache's shard store


def load_items(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> list[QAItem]:
    """Stored drafts as :class:`QAItem`, in the order of ``item_ids``."""
    wanted = list(item_ids)
    if not wanted:
        return []
    cur = con.execute("SELECT * FROM qa_items WHERE list_contains(?, item_id)", [wanted])
    names = [d[0] for d in cur.description]
    rows = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    evidence: dict[str, list[dict[str, Any]]] = {i: [] for i in wanted}
    for item_id, kind, ref_id, ordinal in con.execute(
        "SELECT item_id, kind, ref_id, ordinal FROM qa_evidence WHERE list_contains(?, item_id)", [wanted]
    ).fetchall():
        evidence[item_id].append({"kind": kind, "ref_id": ref_id, "ordinal": ordinal})
    return [QAItem.from_row(rows[i], evidence[i]) for i in wanted if i in rows]


def dataset_items(con: duckdb.DuckDBPyConnection, item_ids: Sequence[str]) -> list[DatasetItem]:
    """Stored drafts as the :class:`DatasetItem` records the dataset checks compare new items with,
    in the order of ``item_ids``: one query, no evidence rows and no draft validation, which made
    loading every earlier item as a :class:`QAItem` a second of each top-up."""
    wanted = list(item_ids)
    if not wanted:
        return []
    rows = con.execute(
        "SELECT item_id, track, question_type, pmcid, context,"
        " CAST(json_extract_string(images, '$[*].graphic_id') AS VARCHAR[]) FROM qa_items"
        " WHERE item_id IN (SELECT unnest(?))",
        [wanted],
    ).fetchall()
    found = {r[0]: DatasetItem(r[0], r[1], r[2], r[3], r[4], tuple(r[5] or ())) for r in rows}
    return [found[i] for i in wanted if i in found]


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


def case_sentences(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> dict[str, dict[str, str]]:
    """pmcid -> {sentence_id: text} in reading order."""
    out: dict[str, dict[str, str]] = {p: {} for p in pmcids}
    for pmcid, sid, text in con.execute(
        "SELECT pmcid, sentence_id, text FROM sentences"
        " WHERE list_contains(?, pmcid) ORDER BY pmcid, ordinal",
        [list(pmcids)],
    ).fetchall():
        out[pmcid][sid] = text
    return out


def defined_abbreviations(con: duckdb.DuckDBPyConnection, pmcid: str, codes: set[str]) -> tuple[str, ...]:
    rows = con.execute(
        "SELECT DISTINCT text FROM disease_mentions"
        " WHERE pmcid = ? AND match_kind = 'abbreviation' AND list_contains(?, code) ORDER BY text",
        [pmcid, sorted(codes)],
    ).fetchall()
    return tuple(r[0] for r in rows)


def case_abbreviations(
    con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """pmcid -> [(code, short form)] of every abbreviation mention, in one query for all cases."""
    out: dict[str, list[tuple[str, str]]] = {p: [] for p in pmcids}
    for pmcid, code, text in con.execute(
        "SELECT DISTINCT pmcid, code, text FROM disease_mentions"
        " WHERE match_kind = 'abbreviation' AND pmcid IN (SELECT unnest(?)) ORDER BY pmcid, text",
        [list(pmcids)],
    ).fetchall():
        out[pmcid].append((code, text))
    return out


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


def vocabulary_phrases(vocab: Vocabulary, answer: str, texts: Sequence[str]) -> tuple[str, ...]:
    """Surface phrases in ``texts`` that ``vocab`` resolves to the entry named ``answer``."""
    return phrases_for(all_vocabulary_phrases(vocab, texts), answer)


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
    con: duckdb.DuckDBPyConnection | None,
    sentences: dict[str, str],
    figures: dict[str, tuple[str, str]],
    facts: CaseFacts | None = None,
) -> AnswerDescriptor:
    """Everything that names ``item``'s answer (see the module docstring).

    ``facts`` (the case's abbreviations and vocabulary phrases, shared by its items) saves a query
    and a vocabulary pass per item; without it they are read from ``con``."""
    if facts is None:
        if con is None:
            raise ValueError("descriptor_for needs the case facts or a warehouse connection")
        facts = CaseFacts(sentences, case_abbreviations(con, [item.pmcid])[item.pmcid])
    if item.track == "diagnosis" and item.orpha_code and item.orpha_code in index:
        concept = index[item.orpha_code]
        family = {item.orpha_code} | index.ancestors(item.orpha_code) | index.descendants(item.orpha_code)
        text = " ".join(sentences.values())
        symbols, gene_names = named_genes(index, item.orpha_code, text)
        return AnswerDescriptor(
            label=concept.label,
            synonyms=tuple(dict.fromkeys((*concept.synonyms, *item.aliases))),
            definition=concept.definition,
            abbreviations=abbreviations_for(facts.abbreviations, family),
            gene_symbols=symbols,
            gene_names=gene_names,
            code=item.orpha_code,
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


def figure_texts(con: duckdb.DuckDBPyConnection, pmcids: Sequence[str]) -> dict[str, tuple[str, str]]:
    """figure_id -> (label, caption title + text)."""
    rows = con.execute(
        "SELECT figure_id, label, caption_title, caption_text FROM figures WHERE list_contains(?, pmcid)",
        [list(pmcids)],
    ).fetchall()
    return {fid: (label, " ".join(p for p in (title, text) if p).strip()) for fid, label, title, text in rows}


def leakage_inputs(
    con: duckdb.DuckDBPyConnection, index: OrdoIndex, items: Sequence[QAItem]
) -> list[LeakageInput]:
    """One :class:`LeakageInput` per item, with the raw texts of its context sentences."""
    pmcids = sorted({i.pmcid for i in items})
    sentences = case_sentences(con, pmcids)
    figures = figure_texts(con, pmcids)
    abbreviations = case_abbreviations(con, pmcids)
    facts = {p: CaseFacts(sentences.get(p, {}), abbreviations.get(p, [])) for p in pmcids}
    out = []
    for item in items:
        texts = sentences.get(item.pmcid, {})
        descriptor = descriptor_for(item, index, con, texts, figures, facts[item.pmcid])
        context_texts = {sid: texts[sid] for sid in item.context_sentence_ids if sid in texts}
        out.append(LeakageInput(item=item, descriptor=descriptor, sentence_texts=context_texts))
    return out


def image_phashes(con: duckdb.DuckDBPyConnection, items: Sequence[CheckedItem]) -> dict[str, str | None]:
    """graphic_id -> perceptual hash, for the duplicate-image check."""
    ids = sorted({g for item in items for g in graphic_ids(item)})
    if not ids:
        return {}
    rows = con.execute("SELECT graphic_id, phash FROM graphics WHERE list_contains(?, graphic_id)", [ids])
    return dict(rows.fetchall())


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
