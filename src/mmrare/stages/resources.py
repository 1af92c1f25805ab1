"""The heavy objects several stages share, each loaded at most once and only when a stage needs it.

ORDO, the linker, the sentence encoder and the embedding cache are used by more than one stage, and
stages never import each other, so the build owns these objects and hands them to every stage.

On a Dask cluster, task arguments are pickled to worker processes. :class:`BuildResources` pickles
as its config alone and unpickles to one instance per process and config
(:func:`shared_resources`), so each worker loads ORDO, the linker and the encoder once, from the same
content-keyed cache directory.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mmrare.config import Config
from mmrare.errors import FatalError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np

    from mmrare.embedding import EmbeddingCache, TextEncoder, VectorIndex
    from mmrare.ontology.index import OrdoIndex
    from mmrare.ontology.linking import Linker
    from mmrare.ontology.linking.fallback import LabelFallback

_PER_PROCESS: dict[str, BuildResources] = {}
_PER_PROCESS_LOCK = threading.Lock()


def shared_resources(cfg: Config) -> BuildResources:
    """This process's resources for ``cfg``: made once, then reused (the unpickling hook)."""
    key = cfg.model_dump_json() + str(cfg.base_dir)
    with _PER_PROCESS_LOCK:
        found = _PER_PROCESS.get(key)
        if found is None:
            found = _PER_PROCESS[key] = BuildResources(cfg)
        return found


class BuildResources:
    """Lazily loaded, thread-safe accessors for the resources of one build."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}  # one per resource: ORDO need not wait for torch
        self._loaded: dict[str, Any] = {}
        self._label_index: Future[VectorIndex] | None = None

    def __reduce__(self) -> tuple[Any, tuple[Config]]:
        return shared_resources, (self.cfg,)

    @property
    def cache_dir(self) -> Path:
        """Content-keyed caches (ORDO, linker, embeddings, vector indexes): safe to share."""
        return self.cfg.cache_path

    def _get(self, name: str, load: Any) -> Any:
        with self._lock:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._loaded:
                self._loaded[name] = load()
            return self._loaded[name]

    @property
    def ordo(self) -> OrdoIndex:
        """The configured ORDO file, from the cache when its sha256 was seen before."""
        from mmrare.ontology.store import load_ordo

        path = self.cfg.resolve(self.cfg.ontology.ordo_path)
        return self._get("ordo", lambda: load_ordo(path, self.cache_dir / "ordo"))  # type: ignore[no-any-return]

    @property
    def linker(self) -> Linker:
        """The spaCy ORDO linker (its term table cached by ORDO sha256)."""
        from mmrare.ontology.linking import Linker

        return self._get("linker", lambda: Linker.build(self.ordo, self.cache_dir / "linker"))  # type: ignore[no-any-return]

    @property
    def encoder(self) -> TextEncoder:
        """The pinned encoder: in a process of its own (``[embedding] process``, the default), so its
        Python never competes with the build's for the GIL, or in this one."""
        def load() -> TextEncoder:
            if not self.cfg.embedding.process:
                from mmrare.embedding import load_encoder

                return load_encoder()
            from mmrare.embedding.process import EncoderProcess

            return EncoderProcess()

        return self._get("encoder", load)  # type: ignore[no-any-return]

    @property
    def embeddings(self) -> EmbeddingCache:
        """Vectors keyed by sha256(model + text); the model loads only when a text is not cached,
        so a build that only re-decides from stored scores never starts it."""
        from mmrare.embedding import EmbeddingCache

        return self._get(  # type: ignore[no-any-return]
            "embeddings", lambda: EmbeddingCache(self.cache_dir / "embeddings", _PinnedEncoder(self))
        )

    @property
    def fallback(self) -> LabelFallback:
        """The linker's embedding fallback over ORDO labels (off unless configured)."""
        from mmrare.embedding import MODEL_ID, PINNED_MODEL_SHA256
        from mmrare.ontology.linking.fallback import build_label_fallback

        return self._get(  # type: ignore[no-any-return]
            "fallback",
            lambda: build_label_fallback(
                self.ordo,
                lambda texts: self.embeddings.embed(texts),
                self.cache_dir / "indexes",
                model_id=MODEL_ID,
                model_sha256=PINNED_MODEL_SHA256,
            ),
        )

    def start_label_index(self) -> None:
        """Build (or read) the label index on a background thread. The encoder then embeds ORDO's
        labels while curation and linking run, instead of the draft stage waiting for it."""
        with self._lock:
            if self._label_index is None:
                pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mmrare-label-index")
                self._label_index = pool.submit(self._build_label_index)
                pool.shutdown(wait=False)

    def _build_label_index(self) -> VectorIndex:
        from mmrare.ontology.linking.fallback import answerable_label_index

        return answerable_label_index(
            self.ordo,
            self.embeddings.embed,
            self.cache_dir / "indexes",
            model_sha256=self.embeddings.model_sha256,
        )

    @property
    def label_index(self) -> VectorIndex:
        """Embedding index over the answerable concepts' preferred labels (distractor search)."""
        self.start_label_index()
        assert self._label_index is not None
        return self._label_index.result()

    def neighbours(self, label: str, k: int) -> list[str]:
        """ORDO codes whose labels lie nearest to ``label``, nearest first."""
        hits = self.label_index.search(self.embeddings.embed([label]), k=k)[0]
        return list(dict.fromkeys(hit.key for hit in hits))

    def close(self) -> None:
        """Wait for the label index and stop an encoder process (a build leaves nothing running)."""
        with self._lock:
            future, encoder = self._label_index, self._loaded.get("encoder")
        if future is not None:
            future.exception()  # waits; an error was (or will be) raised where the index was needed
        close = getattr(encoder, "close", None)
        if close is not None:
            close()


class _PinnedEncoder:
    """The pinned model's identity without loading it; ``encode`` loads the build's encoder."""

    def __init__(self, resources: BuildResources) -> None:
        from mmrare.embedding import MODEL_ID, PINNED_MODEL_SHA256
        from mmrare.embedding.model import PINNED_MODEL_DIM

        self.model_id, self.model_sha256, self.dim = MODEL_ID, PINNED_MODEL_SHA256, PINNED_MODEL_DIM
        self._resources = resources

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        encoder = self._resources.encoder
        if encoder.model_sha256 != self.model_sha256:  # load_encoder verified it; say so if not
            raise FatalError(f"encoder {encoder.model_sha256} is not the pinned model {self.model_sha256}")
        return encoder.encode(texts, batch_size=batch_size, show_progress=show_progress)
