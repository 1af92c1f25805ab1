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
    that thread: loading the encoder must not hold up drafting); ``close()`` waits for it."""

    def __init__(self, get_cache: Callable[[], EmbeddingCache]) -> None:
        self._get_cache = get_cache
        self._queue: queue.Queue[list[str] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="mmrare-prefetch", daemon=True)
        self._seen: set[str] = set()
        self._closed = False
        self._close_lock = threading.Lock()
        self._thread.start()

    def add(self, texts: Iterable[str]) -> None:
        fresh = [t for t in dict.fromkeys(texts) if t not in self._seen]
        self._seen.update(fresh)
        if fresh:
            self._queue.put(fresh)

    def close(self) -> None:
        """Embed what is queued and stop the thread; later calls just wait for that."""
        with self._close_lock:
            if not self._closed:
                self._closed = True
                self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: list[str] = []
        while True:
            texts = self._queue.get()
            if texts is not None:
                pending += texts
            if pending and (texts is None or len(pending) >= _BATCH or self._queue.empty()):
                self._embed(pending)
                pending = []
            if texts is None:
                return

    def _embed(self, texts: Sequence[str]) -> None:
        try:
            self._get_cache().embed(texts)
        except Exception:  # leakage embeds (and reports) whatever this could not
            return


class AfterPrefetch:
    """An embedding cache whose :meth:`embed` first waits for a prefetch to drain.

    Leakage control gets this while the draft stage's prefetch may still be embedding its texts:
    everything before the first embed call (Python) runs beside the prefetch, and that call then
    finds the prefetched texts cached instead of encoding them a second time.
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
