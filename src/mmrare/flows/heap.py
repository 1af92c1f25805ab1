"""Python's cyclic garbage collector during a build: what the build keeps is frozen, not re-walked.

A build holds millions of long-lived objects (ORDO's index, the linker's tables, spaCy, torch's
modules, the distractor pool). CPython's cyclic collector walks every one of them on each full
collection: at N = 200 eleven full collections took 2.1 s of GIL time, time the encoder's thread
also waited for. So :func:`build_heap` raises the young-generation threshold
(the stages allocate row dicts by the hundred thousand, nearly all freed by reference counting) and
:func:`freeze_long_lived` moves what exists at a stage boundary (what the earlier stages loaded and
keep) out of the collector's sight (:func:`gc.freeze`). Reference counting still frees everything;
only cyclic garbage created before a freeze waits until the build ends, when the heap is unfrozen
so that a long-lived process (the build service) collects it as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000  # allocations between young collections (CPython's default: 700)


@contextmanager
def build_heap(young_threshold: int = YOUNG_THRESHOLD) -> Iterator[None]:
    """Collector settings for the duration of a build, restored (and the heap unfrozen) after it."""
    before = gc.get_threshold()
    gc.set_threshold(max(young_threshold, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


def freeze_long_lived() -> None:
    """Exclude everything alive now from later collections (call where what exists will be kept)."""
    gc.freeze()
