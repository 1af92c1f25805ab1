"""How the sentence encoder shares a small machine with the Python work running beside it.

On 2 cores the build overlaps the encoder (torch, GIL released inside each op) with curation,
linking, drafting and leakage bookkeeping (Python, GIL held). Measured on this project's texts
(``bench/RESULTS.md``), two things waste most of both cores when they overlap naively:

- **GIL convoy.** Between torch ops the encoder thread must re-take the GIL; a busy Python thread
  keeps it for the whole switch interval (5 ms by default), so a forward pass of a few hundred ops
  stalls: the encoder fell from 183 to ~36 texts/s beside one busy Python thread. A 0.2 ms interval
  (:func:`short_switch_interval`) gives the encoder 80-97 texts/s there, with Python at full speed.
- **Oversubscription.** Two torch threads plus one Python thread on two cores make each op wait for
  the descheduled half. With one torch thread while Python works (97 texts/s, the other core left to
  Python) and two when it does not (183 texts/s), both cores do useful work all the time.

So code that runs CPU-bound Python beside the encoder marks it with :func:`python_work`, and the
encoder picks its torch threads per batch from :func:`encoder_threads`. Unmarked work is only a
missed optimisation, never an error; the vectors do not depend on the thread count.

When the encoder runs in its own process (:mod:`mmrare.embedding.remote`), the mark crosses the
process boundary through a one-byte shared buffer: the build's process mirrors its state into it
(:func:`mirror_to`) and the encoder's process follows it (:func:`follow`).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, MutableSequence
from contextlib import contextmanager

SWITCH_INTERVAL_S = 0.0002

_lock = threading.Lock()
_busy = 0
_mirrors: list[MutableSequence[int]] = []  # buffers another process reads (this one marks work)
_followed: list[MutableSequence[int]] = []  # buffers another process writes (it marks work)


@contextmanager
def python_work() -> Iterator[None]:
    """Mark a stretch of CPU-bound Python (nesting and several threads at once are fine)."""
    global _busy
    with _lock:
        _busy += 1
        if _busy == 1:
            _write_mirrors(1)
    try:
        yield
    finally:
        with _lock:
            _busy -= 1
            if _busy == 0:
                _write_mirrors(0)


def python_busy() -> bool:
    """Whether some thread of this process, or of a process this one follows, marks Python work now."""
    return _busy > 0 or any(buffer[0] for buffer in _followed)


def mirror_to(buffer: MutableSequence[int]) -> None:
    """Keep ``buffer[0]`` at 1 while this process marks Python work, else 0 (from now on)."""
    with _lock:
        _mirrors.append(buffer)
        buffer[0] = 1 if _busy else 0


def stop_mirroring(buffer: MutableSequence[int]) -> None:
    """Stop writing to ``buffer`` (it is about to be closed); unknown buffers are ignored."""
    with _lock:
        _mirrors[:] = [b for b in _mirrors if b is not buffer]


def follow(buffer: MutableSequence[int]) -> None:
    """Count ``buffer[0] != 0`` as Python work in :func:`python_busy` (the encoder's process)."""
    _followed.append(buffer)


def _write_mirrors(value: int) -> None:
    for buffer in _mirrors:
        buffer[0] = value


def encoder_threads(configured: int) -> int:
    """torch threads for the next batch: one core is left to Python while it works."""
    return max(1, configured - 1) if python_busy() else configured


@contextmanager
def short_switch_interval(seconds: float = SWITCH_INTERVAL_S) -> Iterator[None]:
    """Run with a short GIL switch interval (restored afterwards): see the module docstring."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, seconds))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
