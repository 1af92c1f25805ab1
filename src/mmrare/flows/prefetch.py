"""Embed the texts leakage control will need while the draft stage is still drafting.

Leakage detection is encoder-bound and used to start only after the last case was drafted; drafting
is Python that mostly holds the GIL, the encoder is torch that releases it. So when tasks run on
threads of this process, each drafted chunk's leakage texts (its items' context sentences, aligned
exactly as detection aligns them, the contexts as the dataset checks split them, and the options)
go to one background thread that embeds them through the shared embedding cache. Leakage then finds
them cached; no text is embedded that leakage would not embed, and a failure here only means
leakage embeds the text itself.

The backlog usually outlives drafting (at N = 2000 the encoder is the bottleneck of the stage), so
the build does not wait for it at the end of drafting: leakage control starts its Python work
(descriptors, lexical matchers) beside it, and its first embed call waits for the prefetch to
drain (:class:`AfterPrefetch`), so no text is encoded twice.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mmrare.embedding import EmbeddingCache
from mmrare.leakage.segments import segment_context, split_sentences

_BATCH = 1024  # texts per embed call: one cache shard each, large enough for the encoder's batching


def item_texts(row: Mapping[str, Any], sentence_texts: Mapping[str, str]) -> list[str]:
    """What leakage embeds for one drafted item (``qa_items`` row): detection's context sentences,
    the dataset checks' context pieces and the options (descriptor texts are left to leakage)."""
    context = row["context"]
    ids = json.loads(row["context_sentence_ids"])
    own = {sid: sentence_texts[sid] for sid in ids if sid in sentence_texts}
    texts = [s.text for s in segment_context(context, ids, own, fallback_prefix=f"{row['item_id']}:s")]
    texts += [context[s:e] for s, e in split_sentences(context)] or [context or " "]
    texts += json.loads(row["options"])
    return texts


class EmbeddingPrefetch:
    """One background thread embedding queued texts through the cache ``get_cache`` returns (called on
    that thread: loading the encoder must not hold up drafting); ``close()`` waits for it.

    Texts are embedded in queue order, at most :data:`_BATCH` per call, and each text keeps its
    place in the queue (:meth:`position`), so a reader can wait for just the texts it needs
    (:meth:`wait_through`) instead of for the whole queue.
    """

    def __init__(self, get_cache: Callable[[], EmbeddingCache]) -> None:
        self._get_cache = get_cache
        self._queue: queue.Queue[list[str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mmrare-prefetch", daemon=True)
        self._places: dict[str, int] = {}
        self._add_lock = threading.Lock()  # places are handed out in the order texts enter the queue
        self._progress = threading.Condition()
        self._through = -1  # every queued text at a place <= this one has been embedded (or given up)
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread.start()

    def add(self, texts: Iterable[str]) -> None:
        with self._add_lock:
            fresh = [t for t in dict.fromkeys(texts) if t not in self._places]
            start = len(self._places)
            self._places.update((t, start + n) for n, t in enumerate(fresh))
            if fresh:
                self._queue.put(fresh)

    def position(self, text: str) -> int:
        """The text's place in the queue, -1 when it was never queued."""
        return self._places.get(text, -1)

    def wait_through(self, position: int) -> None:
        """Block until the texts up to ``position`` are embedded (or the thread stopped)."""
        with self._progress:
            self._progress.wait_for(lambda: self._through >= position or not self._thread.is_alive())

    def close(self) -> None:
        """Embed what is queued and stop the thread; later calls just wait for that."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: list[str] = []
        done = 0
        try:
            while True:
                texts = self._queue.get()
                if texts is not None:
                    pending += texts
                while pending and (texts is None or len(pending) >= _BATCH or self._queue.empty()):
                    part, pending = pending[:_BATCH], pending[_BATCH:]
                    self._embed(part)
                    done += len(part)
                    self._advance(done - 1)
                if texts is None:
                    return
        finally:
            self._advance(1 << 62)  # nothing more will come: no reader may wait for it

    def _advance(self, through: int) -> None:
        with self._progress:
            self._through = through
            self._progress.notify_all()

    def _embed(self, texts: Sequence[str]) -> None:
        try:
            self._get_cache().embed(texts)
        except Exception:  # leakage embeds (and reports) whatever this could not
            return


class AfterPrefetch:
    """An embedding cache whose :meth:`embed` first waits for a prefetch to drain.

    Leakage control gets this while the draft stage's prefetch may still be embedding its texts:
    everything before the first embed call (Python) runs beside the prefetch, and that call then
    finds the prefetched texts cached instead of encoding them a second time. It is also a
    :class:`~mmrare.leakage.semantic.QueuedEmbedder`: detection embeds what was never queued beside
    the prefetch, and reads each wave of items' queued texts as soon as the prefetch has embedded them.
    """

    def __init__(self, cache: EmbeddingCache, prefetch: EmbeddingPrefetch) -> None:
        self._cache = cache
        self._prefetch = prefetch

    @property
    def model_id(self) -> str:
        return self._cache.model_id

    @property
    def model_sha256(self) -> str:
        return self._cache.model_sha256

    @property
    def dim(self) -> int:
        return self._cache.dim

    @property
    def encoded(self) -> int:
        return self._cache.encoded

    def embed(self, texts: Sequence[str]) -> Any:
        self._prefetch.close()
        return self._cache.embed(texts)

    def positions(self, texts: Sequence[str]) -> list[int]:
        return [self._prefetch.position(t) for t in texts]

    def wait_through(self, position: int) -> None:
        self._prefetch.wait_through(position)

    def embed_beside(self, texts: Sequence[str]) -> Any:
        return self._cache.embed(texts)
