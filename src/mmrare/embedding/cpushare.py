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

What sharing costs is measured on both sides, so a benchmark can say where the build's time above
the encoder alone went: :func:`python_work_totals` (how long this process marked work, and the CPU
it used meanwhile) and ``Encoder.thread_use`` (the encoder's seconds, texts and word pieces per
torch thread count).

When the encoder runs in its own process (:mod:`mmrare.embedding.remote`), the mark crosses the
process boundary through a one-byte shared buffer: the build's process mirrors its state into it
(:func:`mirror_to`) and the encoder's process follows it (:func:`follow`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator, MutableSequence
from contextlib import contextmanager

SWITCH_INTERVAL_S = 0.0002

_lock = threading.Lock()
_busy = 0
_mirrors: list[MutableSequence[int]] = []  # buffers another process reads (this one marks work)
_followed: list[MutableSequence[int]] = []  # buffers another process writes (it marks work)
_marked_totals = [0.0, 0.0]  # wall s with work marked, this process's CPU s meanwhile (ended stretches)
_marked_since = (0.0, 0.0)  # perf_counter, process_time when the current stretch began


@contextmanager
def python_work() -> Iterator[None]:
    """Mark a stretch of CPU-bound Python (nesting and several threads at once are fine)."""
    global _busy
    with _lock:
        _busy += 1
        if _busy == 1:
            _write_mirrors(1)
            _begin_stretch()
    try:
        yield
    finally:
        with _lock:
            _busy -= 1
            if _busy == 0:
                _write_mirrors(0)
                _end_stretch()


def python_work_totals() -> tuple[float, float]:
    """Wall seconds during which some thread of this process marked Python work, and the process's
    CPU seconds (all its threads) during them, since it started (a stretch still open counts so far).

    The encoder leaves a core to exactly these stretches, so their CPU over their wall says how well
    the core was used; the difference of two readings covers one build."""
    with _lock:
        wall, cpu = _marked_totals
        if _busy:
            began_wall, began_cpu = _marked_since
            wall, cpu = wall + time.perf_counter() - began_wall, cpu + time.process_time() - began_cpu
        return wall, cpu


def python_work_since(before: tuple[float, float]) -> dict[str, float]:
    """:func:`python_work_totals` since the reading ``before``, as ``{"wall_s", "cpu_s"}``."""
    wall, cpu = python_work_totals()
    return {"wall_s": round(wall - before[0], 3), "cpu_s": round(cpu - before[1], 3)}


def _begin_stretch() -> None:
    global _marked_since
    _marked_since = (time.perf_counter(), time.process_time())


def _end_stretch() -> None:
    began_wall, began_cpu = _marked_since
    _marked_totals[0] += time.perf_counter() - began_wall
    _marked_totals[1] += time.process_time() - began_cpu


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
