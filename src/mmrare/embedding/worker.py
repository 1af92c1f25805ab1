"""The encoder's own process: ``python -m mmrare.embedding.worker`` (started by
:class:`~mmrare.embedding.remote.EncoderProcess`, never by hand).

It loads the pinned encoder with :func:`~mmrare.embedding.model.load_encoder` (same digest check, same
offline rules), says who it is, then answers ``("encode", texts, batch_size)`` requests until it is
told to close or its parent goes away (end of file on the socket). Every request gets exactly one
reply: ``("ok", vectors)`` or ``("error", one line)``; a failed request does not end the process.
"""

from __future__ import annotations

import argparse
import mmap
import sys
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mmrare.embedding.cpushare import follow


def serve(conn: Connection, model_dir: Path | None, expected_sha256: str | None, threads: int) -> int:
    """Load, report ready (or why not), then serve requests; the exit status."""
    from mmrare.embedding.model import load_encoder

    try:
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
        try:
            _, texts, batch_size = request
            conn.send(("ok", encoder.encode(texts, batch_size=batch_size)))
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


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
