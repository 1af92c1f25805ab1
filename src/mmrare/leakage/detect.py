"""Run every detector over a batch of items: lexical, semantic and option shortcuts, scores only.

The batch matters for speed: all context sentences and descriptor texts of the run are embedded in one
call (one large encoder batch, sorted by length inside sentence-transformers), and text already in
the embedding cache is not encoded again. In a build, most of those texts are already queued by the
draft stage's prefetch; :class:`DetectionWaves` then embeds only the rest and hands the items out in
waves as the queue reaches them, so deciding and storing them overlaps the encoder's last minutes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mmrare.embedding.cpushare import python_work
from mmrare.leakage.descriptors import AnswerDescriptor, LeakageInput
from mmrare.leakage.lexical import MatcherKey, TrackMatchers, build_matchers, lexical_scores, matcher_key
from mmrare.leakage.scores import LeakageScore
from mmrare.leakage.segments import ContextSentence, segment_context
from mmrare.leakage.semantic import Embedder, QueuedEmbedder, TextBatch, as_embedder, semantic_scores
from mmrare.leakage.shortcuts import STOP_WORDS, option_scores
from mmrare.leakage.textnorm import nlp

if TYPE_CHECKING:
    from spacy.tokens import Doc


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


def content_norms(doc: Doc) -> set[str]:
    """``{t.norm_ for t in doc if t.is_alpha and len(t.norm_) >= 3 and t.norm_ not in STOP_WORDS}``,
    read from the doc's arrays: iterating a doc makes a Python ``Token`` per word, 3-5 s of the
    GIL at N = 2000 while the encoder waits for the core. Whether a norm is a content word is kept
    per norm hash (:data:`_CONTENT_NORMS`), so each distinct word is looked up and tested once."""
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
# CONTENT_NORMS_KEPT words, so a long-lived build service does not keep every word it ever saw.
CONTENT_NORMS_KEPT = 1 << 18
_CONTENT_NORMS: dict[int, str | None] = {}


def layout_of(entry: LeakageInput) -> tuple[ContextSentence, ...]:
    """The sentences of the item's context, aligned to its sentence ids."""
    item = entry.item
    return segment_context(
        item.context, item.context_sentence_ids, entry.sentence_texts, fallback_prefix=f"{item.item_id}:s"
    )


WAVES = 16  # parts of a batch whose texts are queued elsewhere, scored as the queue reaches them


@dataclass(frozen=True)
class Wave:
    """Some items of a batch, fully scored: ``scores[k]`` belong to ``entries[k]``, which is
    ``inputs[positions[k]]`` of the batch."""

    positions: tuple[int, ...]
    entries: tuple[LeakageInput, ...]
    scores: tuple[list[LeakageScore], ...]


@dataclass(frozen=True)
class _Part:
    positions: list[int]  # into the inputs, ascending
    through: int  # the queue position after which all its queued texts are embedded (-1: none queued)
    tickets: list[int]  # queued texts first needed by this part


class DetectionWaves:
    """Detection of a batch, handed out in :class:`Wave` s so that what follows detection (semantic
    scores, decisions, rows) can run while the encoder still works.

    Iterating does the work. First the plan: layouts, and every context sentence and descriptor text
    collected (``texts_embedded`` distinct ones). Then the texts are embedded on a second thread while
    the lexical and option detectors run here: the encoder (torch) releases the GIL, the matchers
    are Python, so on a few cores the two overlap instead of taking turns. With a plain embedder that
    is one embed call, and one wave follows. With a :class:`QueuedEmbedder` (a build whose draft stage
    queued the contexts' texts), only what is not queued (the descriptors) is embedded now, beside
    the queue; the items are then handed out in :data:`WAVES` waves, in the order the queue reaches
    their texts, each as soon as it has. The vectors, and so the scores, are the same either way.
    """

    def __init__(self, inputs: Sequence[LeakageInput], embedder: Embedder, *, waves: int = WAVES) -> None:
        self._inputs = list(inputs)
        self._embedder = as_embedder(embedder)
        self._waves = max(1, waves)
        self.matchers = MatcherCache()
        self.layouts: dict[str, tuple[ContextSentence, ...]] = {}
        self.texts_embedded = 0

    @property
    def model_id(self) -> str:
        return self._embedder.model_id

    @property
    def model_sha256(self) -> str:
        return self._embedder.model_sha256

    def __iter__(self) -> Iterator[Wave]:
        embedder = self._embedder
        batch = TextBatch()
        planned = []
        pending = []
        # the encoder leaves this core to the Python here until the matchers are done: first to the
        # planning (drafted texts may still be embedding beside it, the build's prefetch), then to the
        # matchers beside this batch's own embedding
        with python_work():
            for entry in self._inputs:
                layout = self.layouts[entry.item.item_id] = layout_of(entry)
                descriptors = entry.descriptor.semantic_texts(entry.item.track)
                sentence_tickets = batch.add([s.text for s in layout])
                descriptor_tickets = batch.add([text for _, text in descriptors])
                planned.append((entry, layout, descriptors, sentence_tickets, descriptor_tickets))
            self.texts_embedded = len(batch)
            parts, embedding = self._start(batch, [p[3] + p[4] for p in planned])
            docs = nlp().tokenizer.pipe(entry.item.context for entry in self._inputs)
            for (entry, layout, *_), doc in zip(planned, docs, strict=True):
                item, basis = entry.item, entry.basis
                lexical = lexical_scores(
                    item.item_id,
                    item.track,
                    item.context,
                    layout,
                    self.matchers.get(entry.descriptor, item.track),
                    doc=doc,
                    basis=basis,
                )
                options = option_scores(item, basis=basis, context_words=content_norms(doc))
                pending.append((lexical, options))
        embedding.wait()
        for part in parts:
            if part.tickets:
                assert isinstance(embedder, QueuedEmbedder)
                embedder.wait_through(part.through)
                batch.fill(part.tickets, embedder.embed_beside(batch.texts_of(part.tickets)))
            with python_work():
                scores = []
                for n in part.positions:
                    entry, layout, descriptors, s_tickets, d_tickets = planned[n]
                    lexical, options = pending[n]
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
                    scores.append(lexical + semantic + options)
            yield Wave(
                positions=tuple(part.positions),
                entries=tuple(self._inputs[n] for n in part.positions),
                scores=tuple(scores),
            )

    def _start(self, batch: TextBatch, item_tickets: list[list[int]]) -> tuple[list[_Part], _Background]:
        """The waves to hand out, and the background embedding of what is needed before the first."""
        embedder = self._embedder
        everyone = list(range(len(item_tickets)))
        if not isinstance(embedder, QueuedEmbedder) or not len(batch):
            return [_Part(everyone, -1, [])], _Background(batch.embed, embedder)
        queue_at = embedder.positions(batch.texts_of(range(len(batch))))
        now = [t for t, at in enumerate(queue_at) if at < 0]
        ready_at = [max((queue_at[t] for t in tickets), default=-1) for tickets in item_tickets]
        by_readiness = sorted(everyone, key=ready_at.__getitem__)
        size = -(-len(by_readiness) // self._waves)
        parts = []
        filled = set(now)
        for start in range(0, len(by_readiness), size):
            members = by_readiness[start : start + size]
            tickets = []
            for n in members:
                for t in item_tickets[n]:
                    if t not in filled:
                        filled.add(t)
                        tickets.append(t)
            parts.append(_Part(sorted(members), max(ready_at[n] for n in members), tickets))

        def embed_now() -> None:
            if now:
                batch.fill(now, embedder.embed_beside(batch.texts_of(now)))

        return parts, _Background(embed_now)


def detect(inputs: Sequence[LeakageInput], embedder: Embedder) -> Detection:
    """Score every item of ``inputs`` (all the waves of :class:`DetectionWaves`, scores in input order).

    The only model work is the batch's embedding: one ``embedder.embed`` call for all the texts, or
    with a :class:`QueuedEmbedder` one call for what is not queued and cache reads for the rest.
    """
    run = DetectionWaves(inputs, embedder)
    by_position: dict[int, list[LeakageScore]] = {}
    for wave in run:
        by_position.update(zip(wave.positions, wave.scores, strict=True))
    return Detection(
        scores=[score for n in range(len(inputs)) for score in by_position.get(n, [])],
        layouts=run.layouts,
        texts_embedded=run.texts_embedded,
        model_id=run.model_id,
        model_sha256=run.model_sha256,
        matchers=run.matchers.by_key,
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
