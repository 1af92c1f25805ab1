"""The sentence encoder in a child process, so that torch and the caller's Python never share a GIL.

The child is the one worker of a "spawn" :class:`~concurrent.futures.ProcessPoolExecutor` (a fresh
interpreter, never a fork of the caller's threads and locks) and runs the very encoder
:func:`~mmrare.embedding.model.load_encoder` gives: same digest check, offline rules and length
batching, so a vector never depends on where it was computed. Like every spawned child it imports
the caller's ``__main__`` module first, so a script that starts one keeps its top level under
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from mmrare.embedding.model import PINNED_MODEL_SHA256, Encoder, as_text_list, load_encoder
from mmrare.errors import FatalError

# In the child only: its encoder, or the one-line reason it could not be loaded.
_loaded: Encoder | str = "the encoder was not loaded"


def _load(model_dir: Path | None, expected_sha256: str | None, threads: int | None) -> None:
    """The child's initializer. A failure is kept, not raised: an initializer that raises only
    breaks the pool, and its reason would be lost; the next request reports it instead."""
    global _loaded
    threading.Thread(target=_exit_with_parent, name="mmrare-parent-watch", daemon=True).start()
    # Idle OpenMP threads sleep instead of spinning: the build's own Python needs the cores the
    # encoder is not using, and spinning threads take them from it (and slow the encoder with it).
    # Set before torch loads its OpenMP runtime; the vectors do not change.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        _loaded = load_encoder(model_dir, expected_sha256, threads=threads)
    except Exception as exc:
        _loaded = " ".join(f"{type(exc).__name__}: {exc}".split())


def _exit_with_parent() -> None:
    """End the child when its parent dies without closing it (killed, ``os._exit``)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        parent.join()
        os._exit(1)


def _encoder() -> Encoder:
    if isinstance(_loaded, str):
        raise FatalError(_loaded)
    return _loaded


def _identity() -> tuple[str, str, int]:
    return _encoder().model_id, _encoder().model_sha256, _encoder().dim


def _encode(texts: list[str], batch_size: int) -> np.ndarray:
    return _encoder().encode(texts, batch_size=batch_size)


class EncoderProcess:
    """A :class:`~mmrare.embedding.model.TextEncoder` whose child loads the model at once (the identity
    properties wait for it) and runs requests one at a time, in order. Every failure is a one-line
    :class:`~mmrare.errors.FatalError`. :meth:`close`, a ``with`` block, collection or exit end the child.
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        expected_sha256: str | None = PINNED_MODEL_SHA256,
        *,
        threads: int | None = None,
    ) -> None:
        spawn, loading = multiprocessing.get_context("spawn"), (model_dir, expected_sha256, threads)
        self._pool = ProcessPoolExecutor(1, spawn, initializer=_load, initargs=loading)
        self._closer = weakref.finalize(self, self._pool.shutdown, wait=True, cancel_futures=True)
        self._identity: Future[tuple[str, str, int]] = self._submit(_identity)

    def _submit(self, fn: Callable[..., Any], *args: Any) -> Future[Any]:
        """``fn(*args)`` in the child; the future's failure is always a one-line FatalError."""
        out: Future[Any] = Future()
        try:
            done = self._pool.submit(fn, *args)
        except RuntimeError as exc:  # closed, or the child died earlier (BrokenProcessPool)
            out.set_exception(_fatal(exc))
            return out
        done.add_done_callback(lambda f: _settle(out, f))
        return out

    @property
    def model_id(self) -> str:
        return self._identity.result()[0]

    @property
    def model_sha256(self) -> str:
        return self._identity.result()[1]

    @property
    def dim(self) -> int:
        return self._identity.result()[2]

    def wait_ready(self) -> None:
        """Block until the child has loaded the model (a FatalError if it could not)."""
        self._identity.result()

    def encode_async(self, texts: Sequence[str], batch_size: int = 64) -> Future[np.ndarray]:
        """The vectors :meth:`encode` returns, as a future: the caller works on while the child encodes."""
        return self._submit(_encode, as_text_list(texts), max(1, batch_size))

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Same contract as :meth:`Encoder.encode` (``show_progress`` is ignored: the child draws no bar)."""
        return self.encode_async(texts, batch_size).result()

    def close(self) -> None:
        """End the child, waiting for a request in flight; later calls raise FatalError (idempotent)."""
        self._closer()

    def __enter__(self) -> EncoderProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EncoderProcess({'running' if self._closer.alive else 'closed'})"


def _settle(out: Future[Any], done: Future[Any]) -> None:
    """Copy ``done`` into ``out``, a failure of the child (or a closed process) as a one-line FatalError."""
    try:
        out.set_result(done.result())
    except (FatalError, BrokenProcessPool, CancelledError) as exc:
        out.set_exception(_fatal(exc))
    except Exception as exc:  # a bad request (a caller's bug): raised as it is
        out.set_exception(exc)


def _fatal(exc: BaseException) -> FatalError:
    if isinstance(exc, FatalError):
        return FatalError(f"encoder process: {exc}")
    if isinstance(exc, BrokenProcessPool):
        return FatalError(f"encoder process died: {' '.join(str(exc).split())}")
    return FatalError("encoder process was closed")
