"""Exact nearest-neighbour search over unit vectors, persisted so a corpus is embedded once.

:class:`VectorIndex` wraps a faiss ``IndexFlatIP``: on L2-normalised vectors the inner product *is*
the cosine, and a flat index is exact, so a score stored by a stage is the same number a later audit
recomputes with numpy. ORDO's labels fit in memory and an exact search over them is quick, so an
approximate index would only add recall questions.

:func:`cached_index` keys the saved index on sha256(model digest, corpus id, keys + texts), so the ORDO
label index is built on the first run and reloaded (checksums verified) on every later one; a new
ORDO release, label set or model gets a new folder and never a stale index.

Folder layout (published by renaming a finished temporary folder; ``_DONE`` is written last)::

    keys.json  vectors.npy  meta.json  _DONE
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from mmrare.embedding.model import as_text_list, available_cpus, file_sha256, row_norms
from mmrare.errors import FatalError

if TYPE_CHECKING:
    import faiss

INDEX_FORMAT = "mmrare-vector-index/1"
DONE_MARKER = "_DONE"
_NORM_TOLERANCE = 1e-3

EmbedFn = Callable[[Sequence[str]], np.ndarray]


class Hit(NamedTuple):
    """One search result: the key of a stored vector and its cosine similarity to the query."""

    key: str
    score: float


class VectorIndex:
    """Keys and unit vectors in a faiss ``IndexFlatIP``; :meth:`search` returns ``(key, cosine)`` hits.

    Keys need not be unique (several synonyms may share one concept code); each stored vector is
    returned on its own. ``threads`` caps faiss's OpenMP threads for searches made by this object
    (default: the CPUs this process may use); pass 1 when several Python threads search at once.
    """

    def __init__(
        self,
        keys: Sequence[str],
        vectors: np.ndarray,
        *,
        threads: int | None = None,
        provenance: Mapping[str, str] | None = None,
    ) -> None:
        import faiss

        keys = as_text_list(keys)
        array = _unit_rows(vectors, "index vectors")
        if len(keys) != array.shape[0]:
            raise ValueError(f"{len(keys)} keys for {array.shape[0]} vectors")
        self._keys: tuple[str, ...] = tuple(keys)
        self._threads = threads if threads is not None else available_cpus()
        self._provenance = dict(provenance or {})
        self._faiss: faiss.IndexFlatIP = faiss.IndexFlatIP(array.shape[1])
        self._faiss.add(array)

    @classmethod
    def build(
        cls,
        keys: Sequence[str],
        vectors: np.ndarray,
        *,
        threads: int | None = None,
        provenance: Mapping[str, str] | None = None,
    ) -> VectorIndex:
        """An index over ``vectors`` (``(n, dim)``, unit rows), row ``i`` answering as ``keys[i]``."""
        return cls(keys, vectors, threads=threads, provenance=provenance)

    @property
    def dim(self) -> int:
        return int(self._faiss.d)

    @property
    def keys(self) -> tuple[str, ...]:
        return self._keys

    @property
    def provenance(self) -> dict[str, str]:
        """Free-form facts saved with the index (model digest, corpus id, ...), for manifests."""
        return dict(self._provenance)

    def __len__(self) -> int:
        return int(self._faiss.ntotal)

    def vectors(self) -> np.ndarray:
        """A copy of the stored vectors, in key order."""
        if len(self) == 0:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._faiss.reconstruct_n(0, len(self))

    def search(self, vectors: np.ndarray, k: int) -> list[list[Hit]]:
        """The ``k`` most similar stored vectors for each query row, best first.

        Fewer than ``k`` hits come back when the index holds fewer vectors. Queries must be unit rows
        of the index's dimension, as produced by the encoder.
        """
        return self.hits(*self.search_arrays(vectors, k))

    def hits(self, scores: np.ndarray, positions: np.ndarray) -> list[list[Hit]]:
        """Rows of :meth:`search_arrays` (all, or a selection of them) as :class:`Hit` lists."""
        return [
            [Hit(self._keys[i], float(s)) for i, s in zip(row_ids, row_scores, strict=True) if i >= 0]
            for row_ids, row_scores in zip(positions, scores, strict=True)
        ]

    def search_arrays(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` as faiss gives it: ``(scores, positions)``, each ``(n, min(k, len))``, best
        first, position -1 for no hit; ``keys[position]`` names a hit. For callers that look at a few
        rows of a large search and should not pay for a :class:`Hit` per row and neighbour."""
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        queries = _unit_rows(vectors, "query vectors")
        if queries.shape[0] and queries.shape[1] != self.dim:
            raise ValueError(f"query vectors have {queries.shape[1]} dims, the index {self.dim}")
        width = min(k, len(self))
        if width == 0 or queries.shape[0] == 0:
            return np.zeros((queries.shape[0], width), np.float32), np.full((queries.shape[0], width), -1)
        return self._search(queries, width)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """faiss search with this index's thread cap (OpenMP keeps it per calling thread, so set it here)."""
        import faiss

        faiss.omp_set_num_threads(self._threads)
        return self._faiss.search(queries, k)

    def save(self, directory: Path) -> Path:
        """Write the index to ``directory`` (replacing an earlier save), atomically; returns it."""
        directory = Path(directory)
        with _staged_dir(directory) as tmp:
            self._write(tmp)
            if directory.exists():
                _replace_dir(tmp, directory)
            else:
                os.rename(tmp, directory)
        return directory

    def _write(self, folder: Path) -> None:
        """keys, vectors, meta with checksums (all fsynced), then the done-marker last."""
        vectors_path = folder / "vectors.npy"
        with vectors_path.open("wb") as handle:
            np.save(handle, self.vectors(), allow_pickle=False)
            handle.flush()
            os.fsync(handle.fileno())
        keys_bytes = json.dumps(list(self._keys), ensure_ascii=False).encode("utf-8")
        _write_synced(folder / "keys.json", keys_bytes)
        meta = {
            "format": INDEX_FORMAT,
            "count": len(self),
            "dim": self.dim,
            "keys_sha256": hashlib.sha256(keys_bytes).hexdigest(),
            "vectors_sha256": file_sha256(vectors_path),
            "provenance": self._provenance,
        }
        _write_synced(
            folder / "meta.json", (json.dumps(meta, indent=2, sort_keys=True) + "\n").encode("utf-8")
        )
        _write_synced(folder / DONE_MARKER, b"")

    @classmethod
    def load(cls, directory: Path, *, threads: int | None = None) -> VectorIndex:
        """Read an index written by :meth:`save`, checking the done-marker, format and checksums."""
        directory = Path(directory)
        if not (directory / DONE_MARKER).is_file():
            raise FatalError(f"no complete vector index at {directory} (no {DONE_MARKER} marker); rebuild it")
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            keys_bytes = (directory / "keys.json").read_bytes()
            vectors_sha256 = file_sha256(directory / "vectors.npy")
            vectors = np.load(directory / "vectors.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise FatalError(
                f"vector index at {directory} is unreadable ({exc}); delete it and rebuild"
            ) from exc
        _check_meta(directory, meta, keys_bytes, vectors_sha256)
        keys = json.loads(keys_bytes)
        return cls(keys, vectors, threads=threads, provenance=meta.get("provenance") or {})


def corpus_digest(keys: Sequence[str], texts: Sequence[str]) -> str:
    """sha256 over the (key, text) pairs in order, length-prefixed so that no two corpora collide."""
    keys, texts = as_text_list(keys), as_text_list(texts)
    if len(keys) != len(texts):
        raise ValueError(f"{len(keys)} keys for {len(texts)} texts")
    digest = hashlib.sha256()
    for key, text in zip(keys, texts, strict=True):
        for part in (key, text):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


def index_key(model_sha256: str, corpus_id: str, corpus_sha256: str) -> str:
    """Name of the cached index folder: sha256 of format, model digest, corpus id and corpus digest."""
    payload = json.dumps([INDEX_FORMAT, model_sha256, corpus_id, corpus_sha256], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def cached_index(
    cache_dir: Path,
    corpus_id: str,
    keys: Sequence[str],
    texts: Sequence[str],
    embed_fn: EmbedFn,
    *,
    model_sha256: str,
    threads: int | None = None,
) -> VectorIndex:
    """The index of ``texts`` (row ``i`` answering as ``keys[i]``), built with ``embed_fn`` only once.

    ``corpus_id`` names the source (e.g. the ORDO file's sha256) and ``model_sha256`` the encoder
    behind ``embed_fn`` (an :class:`~mmrare.embedding.cache.EmbeddingCache` or ``Encoder.encode``);
    both are part of the folder key, with a digest of the keys and texts themselves. Concurrent
    builders of the same index are harmless: the first rename wins and the others use their own copy.
    """
    corpus_sha256 = corpus_digest(keys, texts)
    folder = Path(cache_dir) / index_key(model_sha256, corpus_id, corpus_sha256)
    if (folder / DONE_MARKER).is_file():
        index = VectorIndex.load(folder, threads=threads)
        if list(index.keys) != list(keys):
            raise FatalError(f"cached vector index {folder} does not hold the expected keys; delete it")
        return index
    provenance = {"model_sha256": model_sha256, "corpus_id": corpus_id, "corpus_sha256": corpus_sha256}
    index = VectorIndex.build(keys, embed_fn(as_text_list(texts)), threads=threads, provenance=provenance)
    with _staged_dir(folder) as tmp:
        index._write(tmp)
        _publish_once(tmp, folder)
    return index


def _unit_rows(vectors: np.ndarray, what: str) -> np.ndarray:
    """``vectors`` as C-contiguous float32 ``(n, dim)``; a ValueError unless every row has unit length."""
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.ndim != 2:
        raise ValueError(f"{what} must be a 2-D (n, dim) array, got shape {array.shape}")
    if array.shape[0]:
        norms = row_norms(array)
        if not np.isfinite(norms).all() or np.abs(norms - 1.0).max() > _NORM_TOLERANCE:
            raise ValueError(
                f"{what} must be L2-normalised (cosine = inner product);"
                f" norms {norms.min():.4f}..{norms.max():.4f}"
            )
    return array


def _check_meta(directory: Path, meta: Mapping[str, object], keys_bytes: bytes, vectors_sha256: str) -> None:
    """A :class:`FatalError` unless the saved files are the ones ``meta.json`` describes."""
    problems = []
    if meta.get("format") != INDEX_FORMAT:
        problems.append(f"format {meta.get('format')!r} is not {INDEX_FORMAT!r}")
    if meta.get("keys_sha256") != hashlib.sha256(keys_bytes).hexdigest():
        problems.append("keys.json checksum differs")
    if meta.get("vectors_sha256") != vectors_sha256:
        problems.append("vectors.npy checksum differs")
    if problems:
        raise FatalError(
            f"vector index at {directory} is damaged ({'; '.join(problems)}); delete it and rebuild"
        )


@contextlib.contextmanager
def _staged_dir(final: Path) -> Iterator[Path]:
    """A temporary sibling of ``final`` to write into; removed if the block fails."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _publish_once(tmp: Path, final: Path) -> None:
    """Rename ``tmp`` to ``final``; if a concurrent builder got there first, keep theirs (same content)."""
    try:
        os.rename(tmp, final)
    except OSError as exc:
        if not (final / DONE_MARKER).is_file():
            raise FatalError(f"cannot publish the vector index at {final}: {exc}") from exc
        shutil.rmtree(tmp, ignore_errors=True)


def _replace_dir(new: Path, final: Path) -> None:
    """Swap ``new`` in for an existing ``final``; readers briefly see no folder, never a partial one."""
    old = final.parent / f".{final.name}.old-{uuid.uuid4().hex}"
    os.rename(final, old)
    try:
        os.rename(new, final)
    except OSError:
        os.rename(old, final)
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
