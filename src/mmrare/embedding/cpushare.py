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
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

SWITCH_INTERVAL_S = 0.0002

_lock = threading.Lock()
_busy = 0


@contextmanager
def python_work() -> Iterator[None]:
    """Mark a stretch of CPU-bound Python (nesting and several threads at once are fine)."""
    global _busy
    with _lock:
        _busy += 1
    try:
        yield
    finally:
        with _lock:
            _busy -= 1


def python_busy() -> bool:
    """Whether some thread of this process is inside :func:`python_work` now."""
    return _busy > 0


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
