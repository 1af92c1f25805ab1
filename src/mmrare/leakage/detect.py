"""Run every detector over a batch of items: lexical, semantic and option shortcuts, scores only.

The batch matters for speed: all context sentences and descriptor texts of the run are embedded in
one call (one large encoder batch, grouped by length), and text already in the embedding cache is not
encoded again. The lexical and option detectors run on this thread while that call runs on another:
the encoder spends its time in torch (or in its own process), so the two overlap instead of taking
turns. The scores do not depend on that overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmrare.leakage.descriptors import AnswerDescriptor, LeakageInput
from mmrare.leakage.lexical import MatcherKey, TrackMatchers, build_matchers, lexical_scores, matcher_key
from mmrare.leakage.scores import LeakageScore
from mmrare.leakage.segments import ContextSentence, segment_context
from mmrare.leakage.semantic import Embedder, TextBatch, as_embedder, semantic_scores
from mmrare.leakage.shortcuts import STOP_WORDS, option_scores
from mmrare.leakage.textnorm import nlp

if TYPE_CHECKING:
    from spacy.tokens import Doc


@dataclass(frozen=True)
class Detection:
    """The scores of each item (``by_item[k]`` belong to ``inputs[k]``), the sentence layout of each
    context, how much text was embedded, and the matchers compiled on the way."""

    by_item: tuple[list[LeakageScore], ...]
    layouts: dict[str, tuple[ContextSentence, ...]] = field(default_factory=dict)
    texts_embedded: int = 0
    model_id: str = ""
    model_sha256: str = ""
    matchers: dict[MatcherKey, TrackMatchers] = field(default_factory=dict, repr=False)

    @property
    def scores(self) -> list[LeakageScore]:
        """Every score, item by item in input order."""
        return [score for scores in self.by_item for score in scores]

    @property
    def sentences(self) -> int:
        return sum(len(layout) for layout in self.layouts.values())


class MatcherCache:
    """Compiled matchers per :func:`~mmrare.leakage.lexical.matcher_key`: items of one case share
    them. ``by_key`` is the same mapping that :func:`~mmrare.leakage.masking.decide` takes, so the
    post-condition check reuses what detection compiled (and the hits it found)."""

    def __init__(self) -> None:
        self.by_key: dict[MatcherKey, TrackMatchers] = {}

    def get(self, descriptor: AnswerDescriptor, track: str) -> TrackMatchers:
        key = matcher_key(descriptor, track)
        found = self.by_key.get(key)
        if found is None:
            found = self.by_key[key] = build_matchers(descriptor, track)
        return found


def content_norms(doc: Doc) -> set[str]:
    """``{t.norm_ for t in doc if t.is_alpha and len(t.norm_) >= 3 and t.norm_ not in STOP_WORDS}``,
    read from the doc's arrays: iterating a doc makes a Python ``Token`` per word, which costs far
    more than the matching itself. Whether a norm is a content word is kept per norm hash
    (:data:`_CONTENT_NORMS`), so each distinct word is looked up and tested once."""
    from spacy.attrs import IS_ALPHA, NORM

    if not len(doc):
        return set()
    table = doc.to_array([IS_ALPHA, NORM])
    strings = doc.vocab.strings
    out = set()
    for norm in set(table[table[:, 0] == 1, 1].tolist()):
        word = _CONTENT_NORMS.get(norm, "")
        if word == "":  # not seen yet ("" is never a norm)
            if len(_CONTENT_NORMS) >= CONTENT_NORMS_KEPT:
                _CONTENT_NORMS.clear()
            text = strings[norm]
            word = _CONTENT_NORMS[norm] = text if len(text) >= 3 and text not in STOP_WORDS else None
        if word is not None:
            out.add(word)
    return out


# norm hash -> the norm if it is a content word, else None. Hashes are a function of the text alone
# (spaCy's string hashes), so one table serves every doc and vocabulary. It is emptied when it reaches
# CONTENT_NORMS_KEPT words, so a long-lived process does not keep every word it ever saw.
CONTENT_NORMS_KEPT = 1 << 18
_CONTENT_NORMS: dict[int, str | None] = {}


def layout_of(entry: LeakageInput) -> tuple[ContextSentence, ...]:
    """The sentences of the item's context, aligned to its sentence ids."""
    item = entry.item
    return segment_context(
        item.context, item.context_sentence_ids, entry.sentence_texts, fallback_prefix=f"{item.item_id}:s"
    )


def detect(inputs: Sequence[LeakageInput], embedder: Embedder) -> Detection:
    """Score every item of ``inputs``: lexical, semantic and option scores, per item in input order.

    The only model work is one ``embedder.embed`` call for every distinct context sentence and
    descriptor text of the batch (through the cache, only texts it has not seen are encoded).
    """
    embedder = as_embedder(embedder)
    matchers = MatcherCache()
    layouts: dict[str, tuple[ContextSentence, ...]] = {}
    batch = TextBatch()
    planned = []
    for entry in inputs:
        layout = layouts[entry.item.item_id] = layout_of(entry)
        descriptors = entry.descriptor.semantic_texts(entry.item.track)
        sentence_tickets = batch.add([s.text for s in layout])
        descriptor_tickets = batch.add([text for _, text in descriptors])
        planned.append((entry, layout, descriptors, sentence_tickets, descriptor_tickets))
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmrare-detect-embed") as pool:
        embedding = pool.submit(batch.embed, embedder)
        docs = nlp().tokenizer.pipe(entry.item.context for entry in inputs)
        other_scores = []
        for (entry, layout, *_), doc in zip(planned, docs, strict=True):
            item, basis = entry.item, entry.basis
            track_matchers = matchers.get(entry.descriptor, item.track)
            lexical = lexical_scores(
                item.item_id, item.track, item.context, layout, track_matchers, doc=doc, basis=basis
            )
            options = option_scores(item, basis=basis, context_words=content_norms(doc))
            other_scores.append((lexical, options))
        embedding.result()
    by_item = []
    for (entry, layout, descriptors, s_tickets, d_tickets), (lexical, options) in zip(
        planned, other_scores, strict=True
    ):
        semantic = semantic_scores(
            entry.item.item_id,
            entry.item.track,
            layout,
            batch.rows(s_tickets),
            descriptors,
            batch.rows(d_tickets),
            model_sha256=embedder.model_sha256,
            basis=entry.basis,
        )
        by_item.append(lexical + semantic + options)
    return Detection(
        by_item=tuple(by_item),
        layouts=layouts,
        texts_embedded=len(batch),
        model_id=embedder.model_id,
        model_sha256=embedder.model_sha256,
        matchers=matchers.by_key,
    )
