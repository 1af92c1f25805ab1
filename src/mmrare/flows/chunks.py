"""Units of work for the per-record stages: a few records per Prefect task, not one, and never more
than the build's memory bound.

Every Prefect task run costs client work and API calls, so one task per case would spend a large
share of a build on bookkeeping. A stage cuts its records into at least ``MIN_CHUNKS`` chunks (every
worker busy; three sample cases still run as three tasks) of about ``TARGET_CHUNK`` records, and into
no more than ``MAX_CHUNKS`` while a chunk stays within ``max_size`` records (``[build] chunk_cases``):
past that, the corpus gets more chunks, not bigger ones, so what one chunk holds does not grow with
it. On threads the build asks for fewer (:func:`~mmrare.flows.runners.fewest_chunks`: one per
thread), since threads share one GIL. Chunks are cut in the input order, so a run's chunks are
deterministic; each chunk writes one shard, so it is loaded completely or not at all.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

TARGET_CHUNK = 25
MIN_CHUNKS = 8
MAX_CHUNKS = 16


def chunked(
    items: Sequence[T],
    target_size: int = TARGET_CHUNK,
    min_chunks: int = MIN_CHUNKS,
    max_chunks: int = MAX_CHUNKS,
    max_size: int | None = None,
) -> list[list[T]]:
    """``items`` cut into consecutive chunks of equal size (the last may be shorter), none longer
    than ``max_size``."""
    if not items:
        return []
    chunks = min(max_chunks, max(min_chunks, math.ceil(len(items) / target_size)))
    size = max(1, math.ceil(len(items) / chunks))
    if max_size is not None:
        size = min(size, max_size)
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def chunk_label(ids: Sequence[str]) -> str:
    """A readable task-run / shard name for a chunk: its first id and its size."""
    return ids[0] if len(ids) == 1 else f"{ids[0]}+{len(ids) - 1}"


class Sealed(Generic[T]):
    """A task argument that neither Prefect nor Dask walks into: ``Sealed(value)``, ``.value`` in the task.

    Prefect visits every list, dict and dataclass of a task's parameters looking for futures (once per
    task: with the whole distractor pool in every task, drafting became quadratic in N). Prefect's own
    ``quote`` is a tuple subclass, which Dask's argument unpacking rebuilds as a different tuple, so
    this plain object is what both pass through untouched (and pickle for a worker as its value).
    """

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __reduce__(self) -> tuple[type[Sealed[T]], tuple[T]]:
        return type(self), (self.value,)

    def __repr__(self) -> str:
        return f"Sealed({type(self.value).__name__})"
