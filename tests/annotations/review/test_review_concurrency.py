"""Simultaneous reviewers against the running server (uvicorn in a thread, real HTTP, real threads).

Each submission is released by a barrier so both reviewers hit the same item at the same moment;
afterwards every submission must be in the warehouse, and an item never takes more reviews than
it requires.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from mmrare.annotations.review.annotators import add_annotator
from mmrare.annotations.review.queue import candidates
from mmrare.annotations.review.store import ReviewStore

pytestmark = pytest.mark.slow


def _run_together(jobs: list[Any]) -> list[Any]:
    """Run the callables in threads started together; return their results (or exceptions)."""
    results: list[Any] = [None] * len(jobs)
    barrier = threading.Barrier(len(jobs))

    def run(k: int) -> None:
        barrier.wait()
        try:
            results[k] = jobs[k]()
        except Exception as exc:  # surfaced by the assertions below
            results[k] = exc

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_two_reviewers_submitting_at_once_lose_nothing(
    live_server: Any, tokens: dict[str, str], web: SimpleNamespace
) -> None:
    store: ReviewStore = live_server.store
    items = [item for item, _, _ in candidates(store, "alice")]
    assert len(items) >= 10
    with httpx.Client(base_url=live_server.url) as alice, httpx.Client(base_url=live_server.url) as bob:
        csrf = {"alice": web.login(alice, tokens["alice"]), "bob": web.login(bob, tokens["bob"])}
        verdicts = {"alice": "accept", "bob": "reject"}
        for item in items:

            def submit(client: httpx.Client, who: str, item: str = item) -> int:
                data = {"csrf": csrf[who], "verdict": verdicts[who], "shown_version": "0"}
                if verdicts[who] == "reject":
                    data |= {"reject_reason": "ambiguous", "comment": f"{who} on {item}"}
                return client.post(f"/items/{item}/review", data=data).status_code

            codes = _run_together([lambda: submit(alice, "alice"), lambda: submit(bob, "bob")])
            assert codes == [303, 303], (item, codes)
    with store.read() as cur:
        rows = cur.execute(
            "SELECT annotator, count(*), count(DISTINCT item_id) FROM reviews GROUP BY 1 ORDER BY 1"
        )
        assert rows.fetchall() == [("alice", len(items), len(items)), ("bob", len(items), len(items))]
        outcomes = cur.execute(
            "SELECT outcome, count(*) FROM review_outcomes WHERE list_contains(?, item_id) GROUP BY 1",
            [items],
        ).fetchall()
    assert outcomes == [("needs_adjudication", len(items))]


def test_three_reviewers_racing_for_two_slots(live_server: Any, tokens: dict[str, str], web) -> None:
    """Exactly two of three simultaneous reviews of a two-review item land; the third gets a 409."""
    store: ReviewStore = live_server.store
    tokens = {**tokens, "dave": add_annotator(store, "dave")}
    item = candidates(store, "alice")[0][0]
    names = ("alice", "bob", "dave")
    clients = {n: httpx.Client(base_url=live_server.url) for n in names}
    try:
        csrf = {n: web.login(clients[n], tokens[n]) for n in names}

        def job(name: str) -> Any:
            data = {"csrf": csrf[name], "verdict": "accept", "shown_version": "0"}
            return lambda: clients[name].post(f"/items/{item}/review", data=data).status_code

        codes = _run_together([job(n) for n in names])
    finally:
        for c in clients.values():
            c.close()
    assert sorted(codes) == [303, 303, 409]
    with store.read() as cur:
        row = cur.execute("SELECT count(*) FROM reviews WHERE item_id = ?", [item]).fetchone()
        outcome = cur.execute("SELECT outcome, final_version FROM review_outcomes WHERE item_id = ?", [item])
        assert row == (2,) and outcome.fetchone() == ("accepted", 0)
