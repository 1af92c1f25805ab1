"""Chunk memos: memoised like ``lru_cache``, emptied together when a chunk ends."""

from __future__ import annotations

from mmrare.memo import chunk_memo, clear_chunk_memos

calls: list[str] = []


@chunk_memo(maxsize=2)
def shout(text: str) -> str:
    calls.append(text)
    return text.upper()


def test_a_chunk_memo_computes_once_until_the_chunk_ends() -> None:
    clear_chunk_memos()
    calls.clear()
    assert [shout("a"), shout("a"), shout("b")] == ["A", "A", "B"]
    assert calls == ["a", "b"]
    assert clear_chunk_memos() >= 2  # this memo's two entries, and any other memo's
    assert shout.cache_info().currsize == 0
    assert shout("a") == "A"
    assert calls == ["a", "b", "a"]


def test_maxsize_caps_one_chunk() -> None:
    clear_chunk_memos()
    for text in "abcde":
        shout(text)
    assert shout.cache_info().currsize == 2
