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
