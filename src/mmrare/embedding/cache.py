"""An on-disk embedding cache keyed on content: sha256(model digest + NUL + text).

Embedding is the slowest step the pipeline repeats, and the same sentences come back on every
re-run, threshold change and new stage. The cache makes a text's vector a pure function of (model,
text): keys never involve run numbers or positions, so a re-run embeds nothing and a different model
can never serve a stale vector.

Layout under ``root/<model_sha256>/``::

    meta.json                       format, model id + digest, dimension (checked on open)
    shards/<time_ns>-<uuid>/        one folder per flush, published by a single rename
        keys.npy                    (n,) S32 raw sha256 digests
        vectors.npy                 (n, dim) float32, memory-mapped on read
    shards/.tmp-*/                  a flush in progress (ignored by readers)

Shards are append-only and immutable, so any number of threads and processes can read while others
write; each :meth:`EmbeddingCache.embed` call that encodes something writes exactly one shard. The
in-memory key index is a handful of sorted digest arrays (merged Bentley–Saxe style as shards are
added), so a lookup is a few vectorised binary searches, never a Python loop over the keys.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from mmrare.embedding.model import TextEncoder, as_text_list, checked_vectors
from mmrare.errors import FatalError

CACHE_FORMAT = "mmrare-embedding-cache/1"
KEY_DTYPE = np.dtype("S32")  # raw digests; every key is exactly 32 bytes, so numpy's NUL padding is harmless
_TMP_PREFIX = ".tmp-"


def key_digest(model_sha256: str, text: str) -> bytes:
    """The raw cache key of ``text`` under a model: sha256(model digest + "\\0" + text) over UTF-8.

    ``surrogatepass`` keeps a key defined for text carrying lone surrogates from damaged XML.
    """
    data = f"{model_sha256}\0{text}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).digest()


def cache_key(model_sha256: str, text: str) -> str:
    """Hex form of :func:`key_digest`, for provenance columns and logs."""
    return key_digest(model_sha256, text).hex()


@dataclass(frozen=True)
class CacheStats:
    """Counters since the cache object was created.

    ``hits`` + ``misses`` is the number of input rows; ``encoded`` counts distinct texts actually sent
    to the encoder (a text repeated in one call is one miss per row but is encoded once).
    """

    hits: int
    misses: int
    encoded: int
    entries: int
    shards: int


class _Run(NamedTuple):
    """A sorted run of keys with where each key's vector lives."""

    keys: np.ndarray  # (n,) KEY_DTYPE, sorted
    shard: np.ndarray  # (n,) int32 shard number
    row: np.ndarray  # (n,) int64 row within that shard


class KeyIndex:
    """Digest -> (shard, row) lookup over sorted numpy runs (~44 bytes per key, no Python objects).

    Adding a run merges it with its predecessors while they are at most twice its size, which keeps
    O(log n) runs and O(n log n) total merge work however small the flushes are.
    """

    def __init__(self) -> None:
        self._runs: list[_Run] = []

    def __len__(self) -> int:
        return sum(len(run.keys) for run in self._runs)

    @property
    def n_runs(self) -> int:
        """Sorted runs searched per lookup (O(log n))."""
        return len(self._runs)

    def add(self, keys: np.ndarray, shard: np.ndarray, row: np.ndarray) -> None:
        """Index ``keys`` (any order; duplicates allowed, any of them may answer)."""
        if len(keys) == 0:
            return
        self._runs.append(_sorted_run(keys, shard, row))
        while len(self._runs) > 1 and len(self._runs[-2].keys) <= 2 * len(self._runs[-1].keys):
            newer = self._runs.pop()
            older = self._runs.pop()
            self._runs.append(
                _sorted_run(
                    np.concatenate([older.keys, newer.keys]),
                    np.concatenate([older.shard, newer.shard]),
                    np.concatenate([older.row, newer.row]),
                )
            )

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(shard, row)`` for each key in ``keys``; shard is -1 where the key is unknown."""
        shard = np.full(len(keys), -1, dtype=np.int32)
        row = np.zeros(len(keys), dtype=np.int64)
        if len(keys) == 0 or not self._runs:
            return shard, row
        order = np.argsort(keys)  # sorted queries make the binary searches cache-friendly
        queries = keys[order]
        found_shard = np.full(len(keys), -1, dtype=np.int32)
        found_row = np.zeros(len(keys), dtype=np.int64)
        for run in self._runs:
            todo = np.flatnonzero(found_shard < 0)
            if todo.size == 0:
                break
            pos = np.minimum(np.searchsorted(run.keys, queries[todo]), len(run.keys) - 1)
            hit = run.keys[pos] == queries[todo]
            found_shard[todo[hit]] = run.shard[pos[hit]]
            found_row[todo[hit]] = run.row[pos[hit]]
        shard[order] = found_shard
        row[order] = found_row
        return shard, row


def _sorted_run(keys: np.ndarray, shard: np.ndarray, row: np.ndarray) -> _Run:
    order = np.argsort(keys, kind="stable")
    return _Run(keys[order], shard[order].astype(np.int32), row[order].astype(np.int64))


class VectorStore:
    """Float32 rows under 32-byte content keys, in append-only shards on disk.

    The layout and guarantees of the module docstring, for any key scheme: the embedding cache keeps
    text vectors in one (key = sha256(model + text)), the leakage dataset checks keep their derived
    context vectors in another. ``meta`` (with ``format``) is written to ``meta.json`` on creation and
    checked on every open, so a store is never read with another format or width. Threads may share
    an instance and processes a directory; a reader sees other writers' shards after :meth:`refresh`.
    """

    def __init__(self, directory: Path, dim: int, meta: Mapping[str, object], *, what: str) -> None:
        self._dir = Path(directory)
        self._shards_dir = self._dir / "shards"
        self._dim = int(dim)
        self._what = what
        _prepare_dir(self._dir, self._shards_dir, {**meta, "dim": self._dim}, what)
        self._lock = threading.RLock()
        self._index = KeyIndex()
        self._vectors: list[np.ndarray] = []  # memory-mapped, by shard number
        self._shard_names: dict[str, int] = {}
        self.refresh()

    @property
    def directory(self) -> Path:
        return self._dir

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def n_shards(self) -> int:
        with self._lock:
            return len(self._vectors)

    def __len__(self) -> int:
        """Stored rows known to this instance (a key stored twice by racing writers counts twice)."""
        with self._lock:
            return len(self._index)

    def fill(self, keys: np.ndarray, out: np.ndarray, which: np.ndarray) -> np.ndarray:
        """Copy the stored rows of ``keys[which]`` into ``out`` at the same positions; the positions
        (of ``which``) still missing."""
        with self._lock:
            shard, row = self._index.find(keys[which])
            hit = shard >= 0
            _gather(self._vectors, shard[hit], row[hit], out, which[hit])
        return which[~hit]

    def get(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, found)``: the stored row of each key (zeros where ``found`` is False)."""
        rows = np.zeros((len(keys), self._dim), dtype=np.float32)
        missing = self.fill(keys, rows, np.arange(len(keys)))
        found = np.ones(len(keys), dtype=bool)
        found[missing] = False
        return rows, found

    def put(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Publish ``vectors`` under ``keys`` as one shard (written outside the lock: its name is
        unique), then index it."""
        if len(keys) == 0:
            return
        try:
            name = _write_shard(self._shards_dir, keys, vectors)
        except OSError as exc:
            raise FatalError(f"cannot write to the {self._what} at {self._dir}: {exc}") from exc
        with self._lock:
            self._adopt([name])

    def refresh(self) -> int:
        """Adopt shards written by other instances or processes since the last look; how many were new."""
        with self._lock:
            names = [name for name in _list_shards(self._shards_dir) if name not in self._shard_names]
            return self._adopt(names)

    def compact(self) -> int:
        """Rewrite all shards as one (first copy of each key wins); how many shard folders were removed.

        Worth running after many small writes: fewer files to open and map. Readers elsewhere keep
        working (their maps outlive the deleted files on POSIX systems) and pick up the merged shard
        on their next refresh. Run it while no other process is writing this store.
        """
        with self._lock:
            self.refresh()
            old = sorted(self._shard_names, key=self._shard_names.__getitem__)
            if len(old) <= 1:
                return 0
            keys, shard, row = self._unique_entries()
            name = _write_shard_streamed(self._shards_dir, keys, self._vectors, shard, row, self._dim)
            for stale in old:
                shutil.rmtree(self._shards_dir / stale, ignore_errors=True)
            self._index = KeyIndex()
            self._vectors = []
            self._shard_names = {}
            self._adopt([name])
            return len(old)

    def _adopt(self, names: Sequence[str]) -> int:
        """Map the named shards and index their keys; shards removed meanwhile by a compaction are skipped."""
        all_keys, all_shards, all_rows = [], [], []
        for name in names:
            if name in self._shard_names:
                continue
            loaded = _read_shard(self._shards_dir / name, self._dim, self._what)
            if loaded is None:
                continue
            keys, vectors = loaded
            number = len(self._vectors)
            self._vectors.append(vectors)
            self._shard_names[name] = number
            all_keys.append(keys)
            all_shards.append(np.full(len(keys), number, dtype=np.int32))
            all_rows.append(np.arange(len(keys), dtype=np.int64))
        if all_keys:
            self._index.add(np.concatenate(all_keys), np.concatenate(all_shards), np.concatenate(all_rows))
        return len(all_keys)

    def _unique_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every distinct key with the location of its first copy, in shard then row order."""
        keys = [np.load(self._shards_dir / name / "keys.npy") for name in self._shard_names]
        numbers = [
            np.full(len(k), n, dtype=np.int32) for k, n in zip(keys, self._shard_names.values(), strict=True)
        ]
        rows = [np.arange(len(k), dtype=np.int64) for k in keys]
        all_keys = np.concatenate(keys)
        _, first = np.unique(all_keys, return_index=True)
        first.sort()
        return all_keys[first], np.concatenate(numbers)[first], np.concatenate(rows)[first]


class EmbeddingCache:
    """Embed texts through ``encoder``, computing each (model, text) vector once per cache directory.

    Safe for several threads sharing one instance and for several processes sharing one directory
    (they see each other's shards on their next miss). ``embed`` is the whole API; counters say how
    much work was really done. The rows live in a :class:`VectorStore` under ``root/<model_sha256>``.
    """

    def __init__(self, root: Path, encoder: TextEncoder, *, batch_size: int = 64) -> None:
        self._encoder = encoder
        self._batch_size = batch_size
        meta = {"format": CACHE_FORMAT, "model_id": encoder.model_id, "model_sha256": encoder.model_sha256}
        directory = Path(root) / encoder.model_sha256
        self._store = VectorStore(directory, int(encoder.dim), meta, what="embedding cache")
        self._lock = threading.Lock()  # the counters
        self._hits = self._misses = self._encoded = 0

    @property
    def directory(self) -> Path:
        """Where this model's shards live (``root/<model_sha256>``)."""
        return self._store.directory

    @property
    def model_id(self) -> str:
        return self._encoder.model_id

    @property
    def model_sha256(self) -> str:
        return self._encoder.model_sha256

    @property
    def dim(self) -> int:
        return self._store.dim

    @property
    def hits(self) -> int:
        return self.stats().hits

    @property
    def misses(self) -> int:
        return self.stats().misses

    @property
    def encoded(self) -> int:
        return self.stats().encoded

    def stats(self) -> CacheStats:
        """A snapshot of the counters and the cache size."""
        with self._lock:
            hits, misses, encoded = self._hits, self._misses, self._encoded
        return CacheStats(hits, misses, encoded, len(self._store), self._store.n_shards)

    def __len__(self) -> int:
        """Cached vectors known to this instance (a text stored twice by racing writers counts twice)."""
        return len(self._store)

    def embed(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Vectors of ``texts`` as ``(len(texts), dim)`` float32 rows in input order.

        Only texts not cached yet are encoded, each once even if repeated in the call; their vectors
        are stored in one new shard before this returns, so a crash loses at most this call's work.
        """
        items = as_text_list(texts)
        keys, inverse, unique_texts = _dedupe(self.model_sha256, items)
        vectors = np.empty((len(keys), self.dim), dtype=np.float32)
        missing = self._store.fill(keys, vectors, np.arange(len(keys)))
        if missing.size and self._store.refresh():
            missing = self._store.fill(keys, vectors, missing)
        if missing.size:
            fresh = self._encoder.encode(
                [unique_texts[i] for i in missing], batch_size=self._batch_size, show_progress=show_progress
            )
            fresh = checked_vectors(fresh, missing.size, self.dim, source=f"encoder {self.model_id}")
            vectors[missing] = fresh
            self._store.put(keys[missing], fresh)
        self._count(inverse, missing, len(keys))
        if len(keys) == len(items):  # no repeats: rows are already in input order
            return vectors
        return vectors[inverse]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        """Same as :meth:`embed`, so the cache can be passed wherever an ``embed_fn`` is expected."""
        return self.embed(texts)

    def refresh(self) -> int:
        """Adopt shards written by other instances or processes since the last look; how many were new."""
        return self._store.refresh()

    def compact(self) -> int:
        """Merge all shards into one (see :meth:`VectorStore.compact`); how many folders were removed."""
        return self._store.compact()

    def _count(self, inverse: np.ndarray, missing: np.ndarray, n_unique: int) -> None:
        """Update the counters: rows served from the cache, rows that missed, distinct texts encoded."""
        was_missing = np.zeros(n_unique, dtype=bool)
        was_missing[missing] = True
        missed_rows = int(was_missing[inverse].sum())
        with self._lock:
            self._hits += int(inverse.size) - missed_rows
            self._misses += missed_rows
            self._encoded += int(missing.size)


def _dedupe(model_sha256: str, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Distinct keys (first-seen order), each input row's position among them, and the distinct texts.

    Vectorised after hashing: ``np.unique`` on the raw digests, then re-ranked by first appearance so
    the encoder sees new texts in input order.
    """
    if not texts:
        return np.empty(0, dtype=KEY_DTYPE), np.empty(0, dtype=np.int64), []
    prefix = hashlib.sha256(f"{model_sha256}\0".encode())
    digests = []
    for text in texts:
        hasher = prefix.copy()
        hasher.update(text.encode("utf-8", "surrogatepass"))
        digests.append(hasher.digest())
    all_keys = np.frombuffer(b"".join(digests), dtype=KEY_DTYPE)
    _, first, inverse = np.unique(all_keys, return_index=True, return_inverse=True)
    by_appearance = np.argsort(first, kind="stable")
    rank = np.empty_like(by_appearance)
    rank[by_appearance] = np.arange(len(by_appearance))
    first = first[by_appearance]
    return all_keys[first], rank[inverse.reshape(-1)], [texts[i] for i in first]


def _gather(
    shards: Sequence[np.ndarray], shard: np.ndarray, row: np.ndarray, out: np.ndarray, dest: np.ndarray
) -> None:
    """``out[dest[i]] = shards[shard[i]][row[i]]``, one sorted fancy-index read per shard."""
    if shard.size == 0:
        return
    order = np.lexsort((row, shard))
    shard, row, dest = shard[order], row[order], dest[order]
    bounds = np.flatnonzero(np.diff(shard)) + 1
    for s, r, d in zip(np.split(shard, bounds), np.split(row, bounds), np.split(dest, bounds), strict=True):
        out[d] = shards[int(s[0])][r]


def _prepare_dir(directory: Path, shards_dir: Path, meta: Mapping[str, object], what: str) -> None:
    """Create the store's folders and ``meta.json``, or check that an existing store has this
    ``meta``'s format and width."""
    try:
        shards_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FatalError(f"cannot create the {what} at {directory}: {exc}") from exc
    meta_path = directory / "meta.json"
    if meta_path.exists():
        try:
            found = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise FatalError(
                f"{meta_path} is unreadable ({exc}); delete {directory} to rebuild the {what}"
            ) from exc
        if found.get("format") != meta["format"] or found.get("dim") != meta["dim"]:
            raise FatalError(
                f"{what} {directory} has format {found.get('format')!r} / dim {found.get('dim')!r}, this"
                f" code writes {meta['format']!r} / dim {meta['dim']}; use another cache root or delete it"
            )
        return
    tmp = directory / f"{_TMP_PREFIX}meta-{uuid.uuid4().hex}.json"
    tmp.write_text(json.dumps(dict(meta), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, meta_path)


def _list_shards(shards_dir: Path) -> list[str]:
    """Published shard folders in write order (names start with a nanosecond timestamp)."""
    with os.scandir(shards_dir) as entries:
        return sorted(e.name for e in entries if e.is_dir() and not e.name.startswith("."))


def _read_shard(path: Path, dim: int, what: str) -> tuple[np.ndarray, np.ndarray] | None:
    """Keys (in memory) and vectors (memory-mapped) of one shard; ``None`` if it was removed meanwhile."""
    try:
        keys = np.load(path / "keys.npy")
        vectors = np.load(path / "vectors.npy", mmap_mode="r")
    except FileNotFoundError:
        if path.exists():
            raise FatalError(
                f"{what} shard {path} is incomplete; delete that folder and re-run"
            ) from None
        return None
    except (OSError, ValueError) as exc:
        raise FatalError(
            f"{what} shard {path} is unreadable ({exc}); delete that folder and re-run"
        ) from exc
    if keys.dtype != KEY_DTYPE or vectors.dtype != np.float32 or vectors.shape != (len(keys), dim):
        raise FatalError(
            f"{what} shard {path} holds keys {keys.dtype}{keys.shape} and vectors"
            f" {vectors.dtype}{vectors.shape}, expected S32 keys and float32 rows of {dim};"
            " delete it and re-run"
        )
    return keys, vectors


@contextlib.contextmanager
def _staged_shard(shards_dir: Path) -> Iterator[tuple[str, Path]]:
    """A temporary shard folder that is renamed into place if the block succeeds and removed if not."""
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"
    tmp = shards_dir / f"{_TMP_PREFIX}{name}"
    tmp.mkdir()
    try:
        yield name, tmp
        os.rename(tmp, shards_dir / name)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_shard(shards_dir: Path, keys: np.ndarray, vectors: np.ndarray) -> str:
    """Write keys + vectors into a temporary folder, fsync them, then rename it into place."""
    with _staged_shard(shards_dir) as (name, tmp):
        _save_synced(tmp / "keys.npy", np.ascontiguousarray(keys, dtype=KEY_DTYPE))
        _save_synced(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
    return name


def _write_shard_streamed(
    shards_dir: Path,
    keys: np.ndarray,
    sources: Sequence[np.ndarray],
    shard: np.ndarray,
    row: np.ndarray,
    dim: int,
) -> str:
    """Like :func:`_write_shard`, copying vectors shard by shard so a large cache never sits in memory."""
    with _staged_shard(shards_dir) as (name, tmp):
        _save_synced(tmp / "keys.npy", keys)
        out = np.lib.format.open_memmap(
            tmp / "vectors.npy", mode="w+", dtype=np.float32, shape=(len(keys), dim)
        )
        _gather(sources, shard, row, out, np.arange(len(keys)))
        out.flush()
        del out
        _fsync(tmp / "vectors.npy")
    return name


def _save_synced(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as handle:
        np.save(handle, array, allow_pickle=False)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
