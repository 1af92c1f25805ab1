"""Memos that live for one chunk of work.

Text helpers are memoised because the same strings come back within a case and a chunk (the names
of one answer, a figure's caption n-grams, a sentence drafted for several tracks). Across chunks
they rarely do, yet a memo kept for the whole build fills with every case's strings and holds the
process's memory in proportion to the corpus. The build's runner calls :func:`clear_chunk_memos`
after each chunk, so what these memos hold follows the chunk size; ``maxsize`` only caps one chunk.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

_MEMOS: list[functools._lru_cache_wrapper[object]] = []


def chunk_memo(maxsize: int) -> Callable[[Callable[..., T]], functools._lru_cache_wrapper[T]]:
    """``functools.lru_cache(maxsize)`` for a pure function, emptied by :func:`clear_chunk_memos`."""

    def wrap(function: Callable[..., T]) -> functools._lru_cache_wrapper[T]:
        memo = functools.lru_cache(maxsize=maxsize)(function)
        _MEMOS.append(memo)  # type: ignore[arg-type]
        return memo

    return wrap


def clear_chunk_memos() -> int:
    """Empty every chunk memo of this process; returns how many entries were dropped."""
    dropped = 0
    for memo in _MEMOS:
        dropped += memo.cache_info().currsize
        memo.cache_clear()
    return dropped
