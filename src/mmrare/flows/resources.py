"""Heavy shared resources of one build, each loaded at most once and only when a stage needs it.

ORDO (a few seconds from the sha256-keyed cache), the sentence encoder (torch; verified by sha256)
and the embedding cache are used by several stages (link, draft, leakage). Stages never import each
other, so the flow owns these objects and hands them to the stage functions.

On a Dask cluster, task arguments are pickled to worker processes. A :class:`BuildResources` pickles
as its config only and unpickles to *one* instance per process and config (:func:`shared_resources`),
so a worker loads ORDO, the linker and the encoder once for all the tasks it runs, from the same
content-keyed cache directory, never a copy of the client's loaded objects.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrare.config import Config
from mmrare.errors import FatalError

if TYPE_CHECKING:
    from mmrare.embedding import EmbeddingCache, TextEncoder, VectorIndex
    from mmrare.embedding.model import Encoder, ThreadUse
    from mmrare.embedding.remote import EncoderProcess
    from mmrare.flows.prefetch import AfterPrefetch, EmbeddingPrefetch
    from mmrare.ontology.index import OrdoIndex
    from mmrare.ontology.linking import Linker
    from mmrare.ontology.linking.fallback import LabelFallback

_RESOURCES = ("ordo", "encoder", "embeddings", "fallback", "labels", "linker")
_PROCESS_RESOURCES: dict[str, BuildResources] = {}
_PROCESS_LOCK = threading.Lock()
_WARM: WarmResources | None = None
_PRESTARTED: BuildResources | None = None


def shared_resources(cfg: Config) -> BuildResources:
    """This process's resources for ``cfg`` (same settings, workspace and cache): made once, then reused.

    The unpickling hook of :class:`BuildResources`, so every task a Dask worker runs shares one ORDO
    index, linker and encoder.
    """
    key = _config_key(cfg)
    with _PROCESS_LOCK:
        found = _PROCESS_RESOURCES.get(key)
        if found is None:
            found = _PROCESS_RESOURCES[key] = BuildResources(cfg)
        return found


def build_resources(cfg: Config) -> BuildResources:
    """The resources of a build: fresh ones, the ones :func:`prestart_build_resources` started for
    this config, or in a build service (:func:`keep_resources_warm`) the loaded ORDO, linker,
    encoder and caches of the previous build, bound to ``cfg``."""
    global _PRESTARTED
    warm = _WARM
    if warm is not None:
        return warm.bind(cfg)
    with _PROCESS_LOCK:
        prestarted, _PRESTARTED = _PRESTARTED, None
    if prestarted is not None and _config_key(prestarted.cfg) == _config_key(cfg):
        return prestarted
    return BuildResources(cfg)


def prestart_build_resources(cfg: Config) -> bool:
    """Start the label index of the build about to run with ``cfg`` now, before Prefect imports and
    discovery, when that costs this process no seconds of Python (encoder in its own process, ORDO
    from a cache or its helper): the encoder's first texts are then ready when its model is, instead
    of after discovery (which hashes every package: ~1.3 s of idle encoder at N = 2000, per-thread
    timeline in bench/RESULTS.md, session 11). :func:`build_resources` hands
    these resources to the build. Started before discovery knows whether anything is to be built:
    with nothing to do, the index is made (or read from the cache) for the next build. Returns
    whether it started."""
    global _PRESTARTED
    resources = BuildResources(cfg)
    if resources.label_prefetch_holds_the_gil():
        return False  # the flow decides after discovery, and waits for it before curation
    resources.prefetch_label_index()
    with _PROCESS_LOCK:
        _PRESTARTED = resources
    return True


def _config_key(cfg: Config) -> str:
    """What makes two configs the same build's: every setting and where relative paths resolve."""
    return cfg.model_dump_json() + str(cfg.base_dir)


def keep_resources_warm() -> WarmResources:
    """Make every later build in this process reuse the heavy objects of the one before (``mmrare
    build-service``: a top-up then costs its new cases, not torch's import and ORDO's load)."""
    global _WARM
    with _PROCESS_LOCK:
        if _WARM is None:
            _WARM = WarmResources()
        return _WARM


def release_warm_resources() -> None:
    """Back to fresh resources per build (the service stopped); the loaded objects can be freed."""
    global _WARM
    with _PROCESS_LOCK:
        _WARM = None


class WarmResources:
    """The last build's :class:`BuildResources`, handed on to the next build when it may be.

    Stages read their settings from ``resources.cfg``, so every build gets a new object bound to its
    own config; only the loaded objects move over, and only when what they were loaded from is the
    same: the cache directory, and the ORDO file by path, size, inode and modification time (ORDO
    re-loads itself, and with it the linker and label index, when the file was replaced).
    """

    def __init__(self) -> None:
        self._last: BuildResources | None = None
        self._lock = threading.Lock()

    def bind(self, cfg: Config) -> BuildResources:
        """Resources for a build with ``cfg``, warm from the previous build where they still apply."""
        fresh = BuildResources(cfg)
        with self._lock:
            last, self._last = self._last, fresh
        if last is not None:
            fresh.adopt(last)
        return fresh


def ordo_signature(path: Path) -> tuple[int, int, int] | None:
    """(size, inode, mtime ns) of the ORDO file, or None when it cannot be read (load reports it)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_ino, st.st_mtime_ns


@dataclass
class BuildResources:
    """Lazily loaded, thread-safe accessors for the resources of one build."""

    cfg: Config
    # one lock per resource: building the label index (minutes on a cold cache) must not block the
    # link stage's access to ORDO or the linker
    _locks: dict[str, threading.RLock] = field(
        default_factory=lambda: {name: threading.RLock() for name in _RESOURCES}
    )
    _ordo: OrdoIndex | None = None
    _encoder: Encoder | EncoderProcess | None = None
    _cache: EmbeddingCache | None = None
    _fallback: LabelFallback | None = None
    _labels: VectorIndex | None = None
    _linker: Linker | None = None
    _label_prefetch: threading.Thread | None = None
    _label_ready: threading.Event | None = None
    _label_holds_gil: bool | None = None  # label_prefetch_holds_the_gil() when the prefetch started
    _ordo_signature: tuple[int, int, int] | None = None
    _leakage_prefetch: EmbeddingPrefetch | None = None
    _made_at: float = field(default_factory=time.monotonic)
    _encoded_at_start: int = 0  # the adopted embedding cache's count (build service)
    _thread_use_at_start: ThreadUse = field(default_factory=dict)  # adopted encoder's

    def __reduce__(self) -> tuple[Any, tuple[Config]]:
        """Pickle the config only (no locks, no loaded models); see :func:`shared_resources`."""
        return shared_resources, (self.cfg,)

    @property
    def cache_dir(self) -> Path:
        """Content-keyed caches (ORDO, linker, embeddings, vector indexes): safe to share."""
        return self.cfg.cache_path

    @property
    def ordo(self) -> OrdoIndex:
        """The configured ORDO file, from the workspace cache when its sha256 was seen before."""
        from mmrare.ontology.store import load_ordo

        with self._locks["ordo"]:
            if self._ordo is None:
                path = self.cfg.resolve(self.cfg.ontology.ordo_path)
                signature = ordo_signature(path)
                self._ordo = load_ordo(path, self.cache_dir / "ordo")
                self._ordo_signature = signature
            return self._ordo

    def adopt(self, previous: BuildResources) -> None:
        """Take over what ``previous`` loaded, where it is valid for this config (see WarmResources).

        The encoder depends on nothing in the config; the embedding cache on the cache directory
        (on a miss it re-reads its folder, so shards other processes wrote meanwhile are found);
        ORDO, the linker and the label indexes on the cache directory and the ORDO file.
        """
        previous.await_label_index()
        with previous._locks["encoder"]:
            self._encoder = previous._encoder
        self._thread_use_at_start = self.encoder_thread_use()
        if previous.cache_dir != self.cache_dir:
            return
        with previous._locks["embeddings"]:
            self._cache = previous._cache
        self._encoded_at_start = self.texts_encoded()  # the earlier builds' count is not this one's
        path = self.cfg.resolve(self.cfg.ontology.ordo_path)
        same_ordo = (
            previous._ordo is not None
            and previous.cfg.resolve(previous.cfg.ontology.ordo_path) == path
            and previous._ordo_signature is not None
            and previous._ordo_signature == ordo_signature(path)
        )
        if same_ordo:
            self._ordo, self._ordo_signature = previous._ordo, previous._ordo_signature
            self._linker, self._fallback = previous._linker, previous._fallback
            self._labels = previous._labels

    def texts_encoded(self) -> int:
        """Texts this process's encoder has encoded through the embedding cache (0 if never loaded)."""
        with self._locks["embeddings"]:
            return self._cache.encoded if self._cache is not None else 0

    def texts_encoded_for_this_build(self) -> int:
        """:meth:`texts_encoded` since these resources were made: a prestarted label index counts, a
        build service's earlier builds (whose embedding cache this one adopted) do not."""
        return self.texts_encoded() - self._encoded_at_start

    def encode_spans(self) -> list[tuple[float, float]]:
        """When this process's encoder worked through the embedding cache since these resources were
        made (``time.monotonic()`` pairs; see :meth:`EmbeddingCache.encode_spans`), the prestarted
        label index included."""
        with self._locks["embeddings"]:
            return self._cache.encode_spans(self._made_at) if self._cache is not None else []

    def encoder_thread_use(self) -> ThreadUse:
        """The loaded encoder's ``thread_use`` (seconds, texts, word pieces per torch thread count);
        empty while no encoder is loaded, or one is loading (this never waits for a model), and when
        its process has gone: a figure for the run record must not fail a build whose work is stored."""
        lock = self._locks["encoder"]
        if not lock.acquire(blocking=False):
            return {}
        try:
            encoder = self._encoder
        finally:
            lock.release()
        try:
            return encoder.thread_use() if encoder is not None else {}
        except FatalError:
            return {}

    def encoder_thread_use_for_this_build(self) -> ThreadUse:
        """:meth:`encoder_thread_use` since these resources were made (a build service's earlier
        builds, whose encoder this one adopted, do not count)."""
        from mmrare.embedding.model import thread_use_since

        return thread_use_since(self.encoder_thread_use(), self._thread_use_at_start)

    @property
    def linker(self) -> Linker:
        """The spaCy ORDO linker (its term table cached under ``cache/linker`` by ORDO sha256)."""
        from mmrare.ontology.linking import Linker

        with self._locks["linker"]:
            if self._linker is None:
                self._linker = Linker.build(self.ordo, self.cache_dir / "linker")
            return self._linker

    @property
    def encoder(self) -> TextEncoder:
        """The pinned encoder, loaded: in its own process (``[embedding] process``, the default; the
        one ``mmrare build`` prestarted if there is one) or in this one."""
        from mmrare.embedding import load_encoder
        from mmrare.embedding.remote import start_encoder_process

        with self._locks["encoder"]:
            if self._encoder is None:
                if self.cfg.embedding.process:
                    encoder = start_encoder_process()
                    encoder.wait_ready()
                    self._encoder = encoder
                else:
                    self._encoder = load_encoder()
            return self._encoder

    @property
    def embeddings(self) -> EmbeddingCache:
        """Vectors keyed by sha256(model + text) under ``cache/embeddings``. The model itself loads
        only when a text is not in the cache (:class:`~mmrare.embedding.model.DeferredEncoder`)."""
        from mmrare.embedding import EmbeddingCache
        from mmrare.embedding.model import DeferredEncoder

        with self._locks["embeddings"]:
            if self._cache is None:
                self._cache = EmbeddingCache(
                    self.cache_dir / "embeddings", DeferredEncoder(lambda: self.encoder)
                )
            return self._cache

    def start_leakage_prefetch(self) -> EmbeddingPrefetch:
        """A background embedder for the drafted items' leakage texts (:mod:`mmrare.flows.prefetch`);
        :meth:`leakage_embeddings` waits for it before leakage control embeds anything itself."""
        from mmrare.flows.prefetch import EmbeddingPrefetch

        self._leakage_prefetch = EmbeddingPrefetch(lambda: self.embeddings)
        return self._leakage_prefetch

    @property
    def leakage_prefetch(self) -> EmbeddingPrefetch | None:
        """This process's prefetch of leakage texts, when the build started one (threads, not Dask)."""
        return self._leakage_prefetch

    def leakage_embeddings(self) -> EmbeddingCache | AfterPrefetch:
        """The embedding cache for leakage control: behind the prefetch when one was started."""
        from mmrare.flows.prefetch import AfterPrefetch

        cache = self.embeddings
        prefetch = self._leakage_prefetch
        return cache if prefetch is None else AfterPrefetch(cache, prefetch)

    @property
    def fallback(self) -> LabelFallback:
        """The ORDO label fallback for the linker. Neither the encoder nor the vector index is loaded
        until a phrase actually needs the fallback (the pinned digest is what ``load_encoder``
        verifies, so it can name the model before the model is loaded)."""
        from mmrare.embedding import MODEL_ID, PINNED_MODEL_SHA256
        from mmrare.ontology.linking.fallback import build_label_fallback

        with self._locks["fallback"]:
            if self._fallback is None:
                self._fallback = build_label_fallback(
                    self.ordo,
                    lambda texts: self.embeddings.embed(texts),
                    self.cache_dir / "indexes",
                    model_id=MODEL_ID,
                    model_sha256=PINNED_MODEL_SHA256,
                )
            return self._fallback

    @property
    def label_index(self) -> VectorIndex:
        """Embedding index over the answerable concepts' preferred labels (distractor search), built
        once per ORDO file and model under ``cache/indexes``."""
        from mmrare.ontology.linking.fallback import answerable_label_index

        with self._locks["labels"]:
            if self._labels is None:
                self._labels = answerable_label_index(
                    self.ordo, self.embeddings.embed, self.cache_dir / "indexes",
                    model_sha256=self.embeddings.model_sha256,
                )
            return self._labels

    def prefetch_label_index(self) -> threading.Event:
        """Load the encoder and build (or read) the label index on background threads; the event is
        set once the encoder has what it needs to start (or the index was cached, or loading failed).

        On a cold cache this embeds ~7.7k ORDO labels, which should overlap curation and linking.
        torch's import and ORDO's parse are Python-heavy: started beside the curation tasks they
        took 12 s instead of 3 (GIL contention), and the encoder sat idle through curation and
        linking. So the encoder loads beside ORDO, and the caller waits on the event before it
        starts the curation tasks when this process does that work
        (:meth:`label_prefetch_holds_the_gil`); with a cached index only ORDO is awaited (~0.2 s
        warm) and the encoder loads in the background. A failure here is not reported: the draft
        stage's own call raises it again where it belongs. Once started (:func:`prestart_build_resources`
        may have done it), a call returns the first call's event.
        """
        from mmrare.embedding import PINNED_MODEL_SHA256
        from mmrare.ontology.linking.fallback import answerable_label_index_ready

        if self._label_ready is not None:
            return self._label_ready
        self._label_holds_gil = self.label_prefetch_holds_the_gil()  # before it takes ORDO's helper
        ready = self._label_ready = threading.Event()

        def load_encoder() -> None:
            try:
                _ = self.encoder
            except Exception:  # re-raised by the draft stage's own call
                return

        def build() -> None:
            try:
                encoder = threading.Thread(target=load_encoder, name="mmrare-encoder-load", daemon=True)
                encoder.start()
                indexes = self.cache_dir / "indexes"
                if answerable_label_index_ready(self.ordo, indexes, model_sha256=PINNED_MODEL_SHA256):
                    ready.set()  # read from the cache, no model needed; the encoder loads meanwhile
                else:
                    encoder.join()
                    ready.set()
                _ = self.label_index
            except Exception:  # re-raised by the synchronous call in the draft stage
                return
            finally:
                ready.set()

        self._label_prefetch = threading.Thread(target=build, name="mmrare-label-index", daemon=True)
        self._label_prefetch.start()
        return ready

    def label_prefetch_holds_the_gil(self) -> bool:
        """Whether :meth:`prefetch_label_index` does seconds of Python in this process: torch's
        import and the model load when the encoder runs here, ORDO's parse when no cache or helper
        has it. Only then should curation wait for it; with the encoder in its own process and ORDO
        read from a cache, curation may start at once on the core the encoder's start-up leaves.
        Once the prefetch has started, the answer it started with: its ORDO load takes the helper,
        and asked again before ORDO is in, the question would read as a parse here."""
        from mmrare.ontology.store import loads_without_parsing

        if self._label_holds_gil is not None:
            return self._label_holds_gil
        if not self.cfg.embedding.process:
            return True
        if self._ordo is not None:
            return False
        path = self.cfg.resolve(self.cfg.ontology.ordo_path)
        return not loads_without_parsing(path, self.cache_dir / "ordo")

    def await_label_index(self) -> None:
        """Wait for a label-index prefetch, if one runs: before CPU-bound Python work that may need
        the index, so that work does not hold the encoder to one thread while it only waits."""
        thread = self._label_prefetch
        if thread is not None:
            thread.join()

    def neighbours(self, label: str, k: int) -> list[str]:
        """ORDO codes whose labels lie nearest to ``label`` (embedding search over the answerable
        concepts' labels), nearest first. The label index is built once per ORDO file and model."""
        hits = self.label_index.search(self.embeddings.embed([label]), k=k)[0]
        return list(dict.fromkeys(hit.key for hit in hits))
