"""Run every detector over a batch of items: lexical, semantic and option shortcuts, scores only.

The batch matters for speed: all context sentences and descriptor texts of the run are embedded in one
call (one large encoder batch, sorted by length inside sentence-transformers), and text already in
the embedding cache is not encoded again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mmrare.embedding.cpushare import python_work
from mmrare.leakage.descriptors import AnswerDescriptor, LeakageInput
from mmrare.leakage.lexical import MatcherKey, TrackMatchers, build_matchers, lexical_scores, matcher_key
from mmrare.leakage.scores import LeakageScore
from mmrare.leakage.segments import ContextSentence, segment_context
from mmrare.leakage.semantic import Embedder, TextBatch, as_embedder, semantic_scores
from mmrare.leakage.shortcuts import STOP_WORDS, option_scores
from mmrare.leakage.textnorm import nlp


@dataclass(frozen=True)
class Detection:
    """All scores of a run, the sentence layout of each context, and how much text was embedded."""

    scores: list[LeakageScore]
    layouts: dict[str, tuple[ContextSentence, ...]] = field(default_factory=dict)
    texts_embedded: int = 0
    model_id: str = ""
    model_sha256: str = ""
    matchers: dict[MatcherKey, TrackMatchers] = field(default_factory=dict, repr=False)

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


def layout_of(entry: LeakageInput) -> tuple[ContextSentence, ...]:
    """The sentences of the item's context, aligned to its sentence ids."""
    item = entry.item
    return segment_context(
        item.context, item.context_sentence_ids, entry.sentence_texts, fallback_prefix=f"{item.item_id}:s"
    )


def detect(inputs: Sequence[LeakageInput], embedder: Embedder) -> Detection:
    """Score every item of ``inputs``; the only model call is one ``embedder.embed`` for the whole batch.

    The texts are collected first and embedded on a second thread while the lexical and option
    detectors run here: the encoder (torch) releases the GIL, the matchers are Python, so on a few
    cores the two overlap instead of taking turns. The embed call and its texts are the same either way.
    """
    embedder = as_embedder(embedder)
    pipeline = nlp()
    matchers = MatcherCache()
    batch = TextBatch()
    scores: list[LeakageScore] = []
    layouts: dict[str, tuple[ContextSentence, ...]] = {}
    planned = []
    pending = []
    # the encoder leaves this core to the Python here until the matchers are done: first to the
    # planning (drafted texts may still be embedding beside it, the build's prefetch), then to the
    # matchers beside this batch's own embedding
    with python_work():
        for entry in inputs:
            layout = layouts[entry.item.item_id] = layout_of(entry)
            descriptors = entry.descriptor.semantic_texts(entry.item.track)
            sentence_tickets = batch.add([s.text for s in layout])
            descriptor_tickets = batch.add([text for _, text in descriptors])
            planned.append((entry, layout, descriptors, sentence_tickets, descriptor_tickets))
        embedding = _Background(batch.embed, embedder)
        docs = pipeline.tokenizer.pipe(entry.item.context for entry in inputs)
        for (entry, layout, descriptors, s_tickets, d_tickets), doc in zip(planned, docs, strict=True):
            item, basis = entry.item, entry.basis
            lexical = lexical_scores(
                item.item_id,
                item.track,
                item.context,
                layout,
                matchers.get(entry.descriptor, item.track),
                doc=doc,
                basis=basis,
            )
            words = {t.norm_ for t in doc if t.is_alpha and len(t.norm_) >= 3 and t.norm_ not in STOP_WORDS}
            options = option_scores(item, basis=basis, context_words=words)
            pending.append((entry, layout, lexical, options, descriptors, s_tickets, d_tickets))
    embedding.wait()
    for entry, layout, lexical, options, descriptors, s_tickets, d_tickets in pending:
        item = entry.item
        semantic = semantic_scores(
            item.item_id,
            item.track,
            layout,
            batch.rows(s_tickets),
            descriptors,
            batch.rows(d_tickets),
            model_sha256=embedder.model_sha256,
            basis=entry.basis,
        )
        scores += lexical + semantic + options
    return Detection(
        scores=scores,
        layouts=layouts,
        texts_embedded=len(batch),
        model_id=embedder.model_id,
        model_sha256=embedder.model_sha256,
        matchers=matchers.by_key,
    )


class _Background:
    """Run ``fn(*args)`` on a thread; :meth:`wait` joins it and re-raises what it raised."""

    def __init__(self, fn: Callable[..., object], *args: object) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                fn(*args)
            except BaseException as exc:  # handed to the caller by wait()
                self._error = exc

        self._thread = threading.Thread(target=run, name="mmrare-detect-embed", daemon=True)
        self._thread.start()

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error
