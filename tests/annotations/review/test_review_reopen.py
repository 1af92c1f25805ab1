"""Reopening decided items (011_review_reopen.sql): through the functions and over HTTP, for items
both reviewers agreed on, items they both rejected and items an adjudicator decided. Earlier
verdicts stay; a reopened item is out of ``accepted_items`` until it is decided again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from mmrare.annotations.review.adjudication import adjudicate, history, reopen
from mmrare.annotations.review.errors import Conflict, InvalidInput, NotAllowed
from mmrare.annotations.review.queue import candidates
from mmrare.annotations.review.settings import ReviewSettings
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.web.app import create_app

SECRET = b"reopen-tests-session-secret-0123456789abcdef"


def _state(store: ReviewStore, item_id: str) -> tuple:
    with store.read() as cur:
        row = cur.execute(
            "SELECT outcome, final_version, decided_by, reopened_at IS NOT NULL FROM review_outcomes"
            " WHERE item_id = ?",
            [item_id],
        ).fetchone()
        accepted = cur.execute("SELECT count(*) FROM accepted_items WHERE item_id = ?", [item_id]).fetchone()
    assert row is not None and accepted is not None
    return (*row, accepted[0] == 1)


def _both(store: ReviewStore, item_id: str, verdict: str) -> None:
    reason = "ambiguous" if verdict == "reject" else None
    for who in ("alice", "bob"):
        submit_review(store, item_id=item_id, annotator=who, verdict=verdict, reject_reason=reason)


@pytest.fixture
def items(store: ReviewStore, tokens: dict[str, str]) -> list[str]:
    return [item for item, _, _ in candidates(store, "alice")]


def test_an_item_both_reviewers_accepted_can_be_reopened_and_decided_again(
    store: ReviewStore, items: list[str]
) -> None:
    item = items[0]
    _both(store, item, "accept")
    assert _state(store, item) == ("accepted", 0, "reviews", False, True)
    t0 = datetime.now(UTC)
    with pytest.raises(Conflict, match="reopen it"):
        adjudicate(store, item_id=item, adjudicator="carol", decision="reject", reject_reason="ambiguous")

    done = reopen(store, item_id=item, adjudicator="carol", reason="  gold contradicts the biopsy  ", now=t0)
    assert (done.outcome_before, done.version_before, done.decided_by_before) == ("accepted", 0, "reviews")
    assert done.reason == "gold contradicts the biopsy"
    assert _state(store, item) == ("needs_adjudication", None, None, True, False)  # out of releases
    with store.read() as cur:  # the verdicts that decided it are kept
        verdicts = cur.execute("SELECT annotator, verdict FROM reviews WHERE item_id = ? ORDER BY 1", [item])
        assert verdicts.fetchall() == [("alice", "accept"), ("bob", "accept")]

    adjudicate(
        store, item_id=item, adjudicator="carol", decision="reject", reject_reason="wrong_answer",
        note="confirmed", now=t0 + timedelta(seconds=1),
    )  # fmt: skip
    assert _state(store, item) == ("rejected", None, "adjudication", False, False)
    assert [(e.who, e.what.split()[0], e.why) for e in history(store, item)] == [
        ("carol", "reopened", "gold contradicts the biopsy"),
        ("carol", "rejected", "confirmed"),
    ]


def test_rejected_and_adjudicated_items_reopen_too(store: ReviewStore, items: list[str]) -> None:
    rejected, disputed = items[1], items[2]
    _both(store, rejected, "reject")
    submit_review(store, item_id=disputed, annotator="alice", verdict="accept")
    submit_review(store, item_id=disputed, annotator="bob", verdict="reject", reject_reason="ambiguous")
    t0 = datetime.now(UTC)
    adjudicate(store, item_id=disputed, adjudicator="carol", decision="accept", item_version=0, now=t0)

    reopen(store, item_id=rejected, adjudicator="carol", reason="options were fixed upstream", now=t0)
    adjudicate(
        store, item_id=rejected, adjudicator="carol", decision="accept", item_version=0,
        now=t0 + timedelta(seconds=1),
    )  # fmt: skip
    assert _state(store, rejected) == ("accepted", 0, "adjudication", False, True)

    later = t0 + timedelta(seconds=2)
    again = reopen(store, item_id=disputed, adjudicator="carol", reason="second opinion", now=later)
    assert (again.outcome_before, again.decided_by_before) == ("accepted", "adjudication")
    assert _state(store, disputed) == ("needs_adjudication", None, None, True, False)
    with store.read() as cur:
        n = cur.execute("SELECT count(*) FROM adjudications WHERE item_id = ?", [disputed]).fetchone()
    assert n == (1,)  # the earlier decision is kept


def test_reopening_is_refused_when_it_would_mean_nothing(store: ReviewStore, items: list[str]) -> None:
    pending, disputed, agreed = items[3], items[4], items[5]
    submit_review(store, item_id=pending, annotator="alice", verdict="accept")
    submit_review(store, item_id=disputed, annotator="alice", verdict="accept")
    submit_review(store, item_id=disputed, annotator="bob", verdict="reject", reject_reason="ambiguous")
    _both(store, agreed, "accept")
    with pytest.raises(Conflict, match="has not had its reviews"):
        reopen(store, item_id=pending, adjudicator="carol", reason="why not")
    with pytest.raises(Conflict, match="not decided"):
        reopen(store, item_id=disputed, adjudicator="carol", reason="why not")
    with pytest.raises(InvalidInput, match="reason"):
        reopen(store, item_id=agreed, adjudicator="carol", reason="   ")
    with pytest.raises(NotAllowed):
        reopen(store, item_id=agreed, adjudicator="alice", reason="I changed my mind")
    reopen(store, item_id=agreed, adjudicator="carol", reason="check the images")
    with pytest.raises(Conflict, match="not decided"):
        reopen(store, item_id=agreed, adjudicator="carol", reason="twice")
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM reopenings").fetchone() == (1,)


def test_an_adjudicator_reopens_from_the_pages(store: ReviewStore, items: list[str], tokens, web) -> None:
    item = items[0]
    _both(store, item, "accept")
    with TestClient(create_app(store, ReviewSettings(), SECRET), follow_redirects=False) as client:
        csrf = web.login(client, tokens["carol"])
        assert item not in client.get("/adjudicate").text  # nothing to adjudicate yet
        decided = client.get("/adjudicate?show=decided").text
        assert f'href="/adjudicate/{item}"' in decided and "accepted" in decided
        page = client.get(f"/adjudicate/{item}").text
        assert 'id="reopen-form"' in page and 'id="accept-version-0"' not in page  # no decision yet
        assert client.get(f"/adjudicate/{item}/edit?base=0").status_code == 409
        # a stale decision form cannot change a decided item
        stale = client.post(
            f"/adjudicate/{item}", data={"csrf": csrf, "decision": "accept", "item_version": "0"}
        )
        assert stale.status_code == 409 and "reopen it" in stale.text
        refused = client.post(f"/adjudicate/{item}/reopen", data={"csrf": csrf, "reason": ""})
        assert refused.status_code == 422
        assert client.post(f"/adjudicate/{item}/reopen", data={"reason": "no csrf"}).status_code == 403
        done = client.post(
            f"/adjudicate/{item}/reopen", data={"csrf": csrf, "reason": "Gold <b>contradicts</b> the biopsy"}
        )
        assert done.status_code == 303 and done.headers["location"] == f"/adjudicate/{item}"
        listing = client.get("/adjudicate").text
        assert f'href="/adjudicate/{item}"' in listing and "reopened" in listing
        assert "Gold &lt;b&gt;contradicts&lt;/b&gt; the biopsy" in listing
        page = client.get(f"/adjudicate/{item}").text
        assert 'id="accept-version-0"' in page and 'id="reopen-form"' not in page
        assert 'id="history"' in page and "reopened it (accepted at version 0 by reviews)" in page
        client.cookies.clear()
        csrf = web.login(client, tokens["alice"])  # reviewers cannot reopen
        assert (
            client.post(f"/adjudicate/{item}/reopen", data={"csrf": csrf, "reason": "x"}).status_code == 403
        )
    assert _state(store, item)[0] == "needs_adjudication"
