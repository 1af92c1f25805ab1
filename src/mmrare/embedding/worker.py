"""The encoder's own process: ``python -m mmrare.embedding.worker`` (started by
:class:`~mmrare.embedding.remote.EncoderProcess`, never by hand).

It loads the pinned encoder with :func:`~mmrare.embedding.model.load_encoder` (same digest check, same
offline rules), says who it is, then answers ``("encode", texts, batch_size)`` and ``("thread_use",)``
requests until it is told to close or its parent goes away (end of file on the socket). Every
request gets exactly one reply: ``("ok", vectors or Encoder.thread_use())`` or ``("error", one
line)``; a failed request does not end the process.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.machinery
import mmap
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mmrare.embedding.cpushare import follow

# What sentence-transformers imports from scikit-learn when it is imported: one function, for sparse
# Manhattan similarity, which encoding never calls. Importing the real module pulls in scikit-learn,
# pandas and scipy.stats: ~0.7 CPU-s of the encoder's ~4.5 s start-up, on the build's critical path.
_SKLEARN_AT_IMPORT = {"sklearn.metrics": ("pairwise_distances",)}


def serve(conn: Connection, model_dir: Path | None, expected_sha256: str | None, threads: int) -> int:
    """Load, report ready (or why not), then serve requests; the exit status."""
    from mmrare.embedding.model import load_encoder

    try:
        with deferred_imports(_SKLEARN_AT_IMPORT):
            encoder = load_encoder(model_dir, expected_sha256, threads=threads)
    except Exception as exc:  # reported to the parent, which raises it where the encoder was wanted
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
        return 1
    conn.send(("ready", {
        "model_id": encoder.model_id, "model_sha256": encoder.model_sha256, "dim": encoder.dim,
        "threads": encoder.threads, "max_seq_length": encoder.max_seq_length,
        "model_dir": str(encoder.model_dir),
    }))
    while True:
        try:
            request: Any = conn.recv()
        except (EOFError, OSError):  # the parent closed its end or died
            return 0
        if request[0] == "close":
            return 0
        if request[0] == "thread_use":
            conn.send(("ok", encoder.thread_use()))
            continue
        try:
            _, texts, batch_size = request
            conn.send(("ok", encoder.encode(texts, batch_size=batch_size)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@contextmanager
def deferred_imports(names: dict[str, tuple[str, ...]]) -> Iterator[None]:
    """While inside, ``from MODULE import NAME`` for the given modules gets a function that imports
    the real module when it is *called*; on leaving, the stand-ins leave ``sys.modules``, so any
    later import is the real one. Modules already imported are left alone.

    For this process only, which imports on one thread: another thread importing the same package
    meanwhile would see the stand-in, which has nothing but the listed names.
    """
    added: list[str] = []
    for module_name, attributes in names.items():
        if module_name in sys.modules:
            continue
        parts = module_name.split(".")
        for depth in range(1, len(parts) + 1):
            name = ".".join(parts[:depth])
            if name in sys.modules:
                continue
            is_package = depth < len(parts)
            stand_in = types.ModuleType(name, "stand-in until first use (mmrare.embedding.worker)")
            stand_in.__spec__ = importlib.machinery.ModuleSpec(name, None, is_package=is_package)
            if is_package:
                stand_in.__path__ = []
            sys.modules[name] = stand_in
            added.append(name)
            if depth > 1:
                setattr(sys.modules[".".join(parts[: depth - 1])], parts[depth - 1], stand_in)
        for attribute in attributes:
            setattr(sys.modules[module_name], attribute, _forwarder(module_name, attribute))
    try:
        yield
    finally:
        for name in reversed(added):
            sys.modules.pop(name, None)


def _forwarder(module_name: str, attribute: str) -> Callable[..., Any]:
    def call_real(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module_name), attribute)(*args, **kwargs)

    call_real.__name__ = call_real.__qualname__ = attribute
    return call_real


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mmrare.embedding.worker")
    parser.add_argument("--fd", type=int, required=True, help="socket to the parent")
    parser.add_argument("--flag-fd", type=int, required=True, help="one-byte file: the parent's Python work")
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--model-dir", default="")
    parser.add_argument("--sha256", default="", help="expected model digest; empty: do not compare")
    args = parser.parse_args(argv)
    flag = mmap.mmap(args.flag_fd, 1)
    follow(flag)  # one torch thread while the parent marks Python work (see cpushare)
    conn = Connection(args.fd)
    try:
        model_dir = Path(args.model_dir) if args.model_dir else None
        return serve(conn, model_dir, args.sha256 or None, args.threads)
    finally:
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
