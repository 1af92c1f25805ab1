"""The distractor pool: other cases' answers, first occurrence of each text, in pool order, lazily."""

from __future__ import annotations

import random

from mmrare.items import DistractorPool, PoolEntry


def _reference(pool: DistractorPool, kind: str, pmcid: str) -> list[PoolEntry]:
    """The definition, as a plain scan: per normalised text, the first entry not from ``pmcid``."""
    seen: set[str] = set()
    out = []
    for entry in pool.entries:
        key = " ".join(entry.text.casefold().split())
        if entry.kind != kind or entry.pmcid == pmcid or key in seen:
            continue
        seen.add(key)
        out.append(entry)
    return out


def test_iterated_candidates_equal_the_list_and_the_plain_scan() -> None:
    rng = random.Random(7)
    texts = [f"finding {i}" for i in range(12)]
    entries = tuple(
        PoolEntry(rng.choice(["finding", "treatment"]), rng.choice(texts), None, f"PMC{rng.randrange(6)}")
        for _ in range(300)
    )
    pool = DistractorPool(entries)
    for pmcid in [f"PMC{i}" for i in range(7)]:
        for kind in ("finding", "treatment"):
            listed = pool.candidates(kind, pmcid)
            assert list(pool.iter_candidates(kind, pmcid)) == listed == _reference(pool, kind, pmcid)
            assert all(e.pmcid != pmcid for e in listed)
            assert len({" ".join(e.text.casefold().split()) for e in listed}) == len(listed)


def test_iteration_is_lazy() -> None:
    pool = DistractorPool(tuple(PoolEntry("finding", f"f{i}", None, f"PMC{i}") for i in range(100_000)))
    first = next(pool.iter_candidates("finding", "PMC0"))
    assert first.text == "f1"


def test_threads_share_one_index_per_kind_and_the_pool_pickles() -> None:
    import pickle
    import threading
    import time

    from mmrare.items import DistractorPool, PoolEntry, _KindIndex

    entries = tuple(
        PoolEntry("treatment", f"Drug {i % 50}", None, f"PMC{i % 7}") for i in range(500)
    )
    pool = DistractorPool(entries)
    builds: list[int] = []
    original = _KindIndex.build

    def counting(items: list[tuple[int, PoolEntry]]) -> _KindIndex:
        builds.append(1)
        time.sleep(0.05)  # a slow build: without the lock, every waiting thread would build too
        return original(items)

    _KindIndex.build = staticmethod(counting)  # type: ignore[method-assign]
    try:
        start = threading.Barrier(4)
        results: list[list[PoolEntry]] = []

        def draw() -> None:
            start.wait()
            results.append(pool.candidates("treatment", "PMC1"))

        threads = [threading.Thread(target=draw) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        _KindIndex.build = original  # type: ignore[method-assign]
    assert builds == [1]
    assert all(r == results[0] for r in results) and len(results[0]) == 50
    copy = pickle.loads(pickle.dumps(pool))
    assert copy == pool and copy.candidates("treatment", "PMC1") == results[0]
