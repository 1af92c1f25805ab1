"""The sentence encoder in its own process, for builds that run Python work beside it.

Inside one process the encoder and the build's Python share the GIL: between torch ops the encoder
thread waits for a Python thread to give the GIL back, and the encoder's own Python (module calls,
tokenizer glue) takes GIL time from curation, drafting and leakage. Measured on 1,200 of a build's
sentences on 2 cores, one torch thread beside a busy Python thread ran at 137 texts/s in-process and
at 154/s in a child process (161-168/s alone). The child also imports torch and sentence-transformers
and loads the model on the other core while the build's process imports Prefect and parses ORDO, so
the first texts can be embedded seconds earlier.

:class:`EncoderProcess` is a :class:`~mmrare.embedding.model.TextEncoder`: ``encode`` returns what
the in-process :class:`~mmrare.embedding.model.Encoder` returns for the same texts (the child runs that
very encoder, with the same digest check and length batching), so a vector never depends on where it
was computed. The build's :func:`~mmrare.embedding.cpushare.python_work` marks reach the child through
a one-byte shared file, so it still leaves a core to Python work while that runs.

:func:`prestart` starts the child before the caller's own heavy imports (``mmrare build`` does this
first); :func:`start_encoder_process` hands that child out, or starts one.
"""

from __future__ import annotations

import mmap
import socket
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import IO, Any

import numpy as np

from mmrare.embedding.cpushare import mirror_to, stop_mirroring
from mmrare.embedding.model import PINNED_MODEL_SHA256, ThreadUse, as_text_list, available_cpus
from mmrare.errors import FatalError

_CLOSE_TIMEOUT_S = 10.0


class EncoderProcess:
    """A child process running the pinned :class:`~mmrare.embedding.model.Encoder`; one request at a time.

    The constructor returns at once; the identity properties and ``encode`` wait until the child has
    loaded the model (:meth:`wait_ready`) and raise :class:`~mmrare.errors.FatalError` with the child's
    one-line reason if it could not. The child exits when :meth:`close` is called, when this object is
    collected, or when this process exits (it sees the end of its socket).
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        expected_sha256: str | None = PINNED_MODEL_SHA256,
        *,
        threads: int | None = None,
    ) -> None:
        n_threads = threads if threads is not None else available_cpus()
        if n_threads < 1:
            raise ValueError(f"threads must be >= 1, got {n_threads}")
        # lives as long as this object (closed by _shut_down), so no context manager
        self._flag_file: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self._flag_file.write(b"\0")
        self._flag_file.flush()
        self._flag = mmap.mmap(self._flag_file.fileno(), 1)
        ours, theirs = socket.socketpair()
        cmd = [
            sys.executable, "-m", "mmrare.embedding.worker",
            "--fd", str(theirs.fileno()), "--flag-fd", str(self._flag_file.fileno()),
            "--threads", str(n_threads), "--model-dir", str(model_dir) if model_dir else "",
            "--sha256", expected_sha256 or "",
        ]
        try:
            self._proc = subprocess.Popen(
                cmd, pass_fds=(theirs.fileno(), self._flag_file.fileno()),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            )
        except OSError as exc:
            ours.close()
            self._flag.close()
            self._flag_file.close()
            raise FatalError(f"cannot start the encoder process: {exc}") from exc
        finally:
            theirs.close()
        self._conn = Connection(ours.detach())
        mirror_to(self._flag)
        self._lock = threading.Lock()
        self._info: dict[str, Any] | None = None
        self._finalizer = weakref.finalize(
            self, _shut_down, self._proc, self._conn, self._flag, self._flag_file
        )

    @property
    def pid(self) -> int:
        return self._proc.pid

    def wait_ready(self) -> dict[str, Any]:
        """The child's identity once its model is loaded (blocks until then)."""
        with self._lock:
            return self._ready()

    def _ready(self) -> dict[str, Any]:
        if self._info is None:
            status, payload = self._receive("loading the model")
            if status != "ready":
                self.close()
                raise FatalError(f"encoder process pid {self.pid}: {payload}")
            self._info = payload
        return self._info

    def _receive(self, doing: str) -> tuple[str, Any]:
        if not self._finalizer.alive:
            raise FatalError(f"encoder process pid {self.pid} was closed")
        try:
            reply: tuple[str, Any] = self._conn.recv()
        except (EOFError, OSError) as exc:
            code = self._proc.poll()
            raise FatalError(
                f"encoder process pid {self.pid} went away while {doing} (exit status {code}): {exc!r}"
            ) from exc
        return reply

    @property
    def model_id(self) -> str:
        return str(self.wait_ready()["model_id"])

    @property
    def model_sha256(self) -> str:
        return str(self.wait_ready()["model_sha256"])

    @property
    def dim(self) -> int:
        return int(self.wait_ready()["dim"])

    @property
    def threads(self) -> int:
        return int(self.wait_ready()["threads"])

    @property
    def max_seq_length(self) -> int:
        return int(self.wait_ready()["max_seq_length"])

    @property
    def model_dir(self) -> Path:
        return Path(self.wait_ready()["model_dir"])

    def encode(self, texts: Sequence[str], batch_size: int = 64, show_progress: bool = False) -> np.ndarray:
        """Same contract as :meth:`Encoder.encode` (``show_progress`` is ignored: the child draws no bar)."""
        batch = as_text_list(texts)
        with self._lock:
            if not self._finalizer.alive:
                raise FatalError(f"encoder process pid {self.pid} was closed")
            info = self._ready()
            if not batch:
                return np.empty((0, int(info["dim"])), dtype=np.float32)
            return self._ask(("encode", batch, max(1, batch_size)), f"encoding {len(batch)} texts")

    def thread_use(self) -> ThreadUse:
        """The child's ``Encoder.thread_use`` (empty once it is closed; waits for an encode in flight)."""
        with self._lock:
            if not self._finalizer.alive:
                return {}
            self._ready()
            return self._ask(("thread_use",), "reporting its thread use")  # type: ignore[no-any-return]

    def _ask(self, request: tuple[Any, ...], doing: str) -> Any:
        """Send one request to the loaded child and return its reply's payload (lock held)."""
        try:
            self._conn.send(request)
        except OSError as exc:
            status = self._proc.poll()
            raise FatalError(f"encoder process pid {self.pid} went away (exit status {status})") from exc
        status, payload = self._receive(doing)
        if status != "ok":
            raise FatalError(f"encoder process pid {self.pid}: {payload}")
        return payload

    def close(self) -> None:
        """Stop the child (idempotent)."""
        self._finalizer()

    def __repr__(self) -> str:
        state = "running" if self._finalizer.alive else "closed"
        return f"EncoderProcess(pid={self.pid}, {state})"


def _shut_down(
    proc: subprocess.Popen[bytes], conn: Connection, flag: mmap.mmap, flag_file: IO[bytes]
) -> None:
    """End the child and release the socket and the flag.

    The child keeps nothing worth saving, and one still importing torch would only read a polite
    "close" seconds later, so it is terminated outright (killed if that does not end it).
    """
    stop_mirroring(flag)
    conn.close()  # a child waiting for a request sees the end of its socket and returns
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=_CLOSE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    flag.close()
    flag_file.close()


_prestarted: EncoderProcess | None = None
_prestart_lock = threading.Lock()


def prestart() -> None:
    """Start the default encoder process now, so that it loads while the caller imports and parses."""
    global _prestarted
    with _prestart_lock:
        if _prestarted is None:
            _prestarted = EncoderProcess()


def import_spacy_without_torch() -> None:
    """Import spaCy so that its thinc backend does not import torch into this process.

    thinc (spaCy's ML library) imports torch at import time if it can, only to offer torch-backed
    layers; the project uses blank English pipelines and matchers, never those. When the encoder
    runs in its own process, the build's process needs no torch at all: keeping it out saves ~0.9 s
    of start-up CPU (while the encoder loads on the other core) and the memory torch takes. torch is
    blocked only while spaCy and thinc import; a later ``import torch`` here works as usual.
    """
    if "spacy" in sys.modules or "torch" in sys.modules:
        return
    sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` -> ImportError
    try:
        import spacy  # noqa: F401
        import thinc.compat  # noqa: F401
    finally:
        if sys.modules.get("torch", ...) is None:
            del sys.modules["torch"]


def start_encoder_process() -> EncoderProcess:
    """The prestarted default encoder process if there is one (handed out once), else a new one."""
    global _prestarted
    with _prestart_lock:
        taken, _prestarted = _prestarted, None
    return taken if taken is not None else EncoderProcess()
