"""Stage clock and task chunks: the build layer without a Prefect run."""

from __future__ import annotations

import pickle
from types import SimpleNamespace

from mmrare.flows.chunks import Sealed, chunk_label, chunked
from mmrare.flows.perf import StageClock


def test_nested_sections_are_exclusive_and_add_up(monkeypatch) -> None:
    import mmrare.flows.perf as perf

    now = [100.0]  # a clock the test moves by hand: no timed assertion
    monkeypatch.setattr(perf, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    clock = StageClock()
    with clock.stage("draft") as draft:
        now[0] += 5
        with clock.stage("load") as load:
            now[0] += 10
            load.items += 7
        draft.items = 3
    with clock.stage("load"):
        now[0] += 2
    report = clock.report()
    assert report["draft"]["wall_s"] == 5  # the nested load is not counted twice
    assert report["load"]["wall_s"] == 12 and report["load"]["items"] == 7
    assert report["draft"]["items"] == 3 and report["draft"]["items_per_s"] == 0.6
    assert report["total"]["wall_s"] == 17
    assert report["total"]["peak_rss_mb"] > 0 and report["draft"]["cpu_s"] >= 0


def test_chunks_keep_order_and_balance_small_runs() -> None:
    assert chunked([]) == []
    assert chunked(["a", "b", "c"]) == [["a"], ["b"], ["c"]]  # three sample cases: three tasks
    big = [str(i) for i in range(2000)]
    parts = chunked(big)
    assert [x for p in parts for x in p] == big and max(map(len, parts)) == 125 and len(parts) == 16
    assert len(chunked(big[:100])) == 8 and len(chunked(big[:200])) == 8  # 25 per task
    assert [len(p) for p in chunked(big[:300])] == [25] * 12  # between 8 and 16 tasks: 25 per task
    bounded = chunked(big * 5, max_size=500)  # 10,000 cases: more chunks, none past the bound
    assert len(bounded) == 20 and max(map(len, bounded)) == 500 and sum(map(len, bounded)) == 10_000
    assert chunked(big, max_size=500) == parts  # below the bound nothing changes
    assert chunk_label(["PMC1"]) == "PMC1" and chunk_label(["PMC1", "PMC2", "PMC3"]) == "PMC1+2"


def test_sealed_pickles_as_its_value() -> None:
    sealed = pickle.loads(pickle.dumps(Sealed({"pool": [1, 2]})))
    assert isinstance(sealed, Sealed) and sealed.value == {"pool": [1, 2]}
