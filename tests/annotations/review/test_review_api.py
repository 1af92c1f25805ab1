"""The web app over HTTP (FastAPI TestClient): login, queue, verdicts, CSRF, escaping, image route."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from mmrare.annotations.review.queue import candidates
from mmrare.annotations.review.settings import ReviewSettings
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.web.app import create_app

VERSION0 = (
    "SELECT options::VARCHAR[], answer_index, evidence_sentence_ids::VARCHAR[],"
    " evidence_figure_ids::VARCHAR[] FROM item_versions_all WHERE item_id = ? AND version = 0"
)
SECRET = b"api-tests-session-secret-0123456789abcdefgh"


@pytest.fixture
def app_client(store: ReviewStore, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(store, ReviewSettings(), SECRET), follow_redirects=False) as client:
        yield client


def _rows(store: ReviewStore, sql: str, params: list | None = None) -> list[tuple]:
    with store.read() as cur:
        return cur.execute(sql, params or []).fetchall()


def test_pages_need_a_login(app_client: TestClient) -> None:
    for path in ("/", "/next", "/stats", "/adjudicate", "/images/x", f"/items/{'a' * 24}"):
        response = app_client.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path


def test_wrong_token_is_refused(app_client: TestClient, web: SimpleNamespace) -> None:
    page = app_client.get("/login")
    response = app_client.post("/login", data={"csrf": web.csrf_of(page.text), "token": "not-a-token"})
    assert response.status_code == 403
    assert "Unknown or inactive token" in response.text
    assert app_client.get("/").status_code == 303


def test_login_without_csrf_is_refused(app_client: TestClient, tokens: dict[str, str]) -> None:
    app_client.get("/login")
    response = app_client.post("/login", data={"token": tokens["alice"]})
    assert response.status_code == 403
    assert app_client.get("/").status_code == 303


def test_cross_origin_post_is_refused(
    app_client: TestClient, tokens: dict[str, str], web: SimpleNamespace
) -> None:
    page = app_client.get("/login")
    response = app_client.post(
        "/login",
        data={"csrf": web.csrf_of(page.text), "token": tokens["alice"]},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 403


def test_tampered_session_cookie_is_ignored(app_client: TestClient, tokens: dict[str, str], web) -> None:
    web.login(app_client, tokens["alice"])
    cookie = app_client.cookies.get("mmrare_review")
    assert cookie
    payload, signature = cookie.split(".")
    app_client.cookies.clear()
    app_client.cookies.set("mmrare_review", payload[:-2] + "xx." + signature)
    assert app_client.get("/").status_code == 303


def test_security_headers_and_cookie_flags(app_client: TestClient, tokens: dict[str, str], web) -> None:
    page = app_client.get("/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    response = app_client.post("/login", data={"csrf": web.csrf_of(page.text), "token": tokens["alice"]})
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie


def test_accept_edit_reject_over_http(
    app_client: TestClient, store: ReviewStore, tokens: dict[str, str], web: SimpleNamespace
) -> None:
    csrf = web.login(app_client, tokens["alice"])
    first = app_client.get("/next")
    assert first.status_code == 303
    item_a = first.headers["location"].rsplit("/", 1)[1]
    page = app_client.get(f"/items/{item_a}")
    assert page.status_code == 200 and 'id="accept-form"' in page.text
    done = app_client.post(
        f"/items/{item_a}/review", data={"csrf": csrf, "verdict": "accept", "shown_version": "0"}
    )
    assert done.status_code == 303 and done.headers["location"] == f"/next?skip={item_a}"
    # second item: an edit of the question through the edit form's fields
    item_b = app_client.get(done.headers["location"]).headers["location"].rsplit("/", 1)[1]
    assert item_b != item_a
    form = app_client.get(f"/items/{item_b}/edit")
    assert form.status_code == 200
    ((options, gold, evidence_s, evidence_f),) = _rows(
        store,
        VERSION0,
        [item_b],
    )
    data: dict[str, object] = {
        "csrf": csrf,
        "verdict": "edit",
        "shown_version": "0",
        "question": "Which finding is shown? (edited)",
        "answer": str(gold),
        "evidence_sentence": evidence_s,
        "evidence_figure": evidence_f,
        "note": "clearer wording",
    }
    data.update({f"option_{k}": text for k, text in enumerate(options)})
    edited = app_client.post(f"/items/{item_b}/review", data=data)
    assert edited.status_code == 303, edited.text
    # third item: reject with a reason
    item_c = app_client.get(edited.headers["location"]).headers["location"].rsplit("/", 1)[1]
    rejected = app_client.post(
        f"/items/{item_c}/review",
        data={"csrf": csrf, "verdict": "reject", "reject_reason": "ambiguous", "comment": "two options fit"},
    )
    assert rejected.status_code == 303
    rows = _rows(
        store, "SELECT item_id, verdict, result_version, reject_reason FROM reviews ORDER BY created_at"
    )
    assert rows == [
        (item_a, "accept", 0, None),
        (item_b, "edit", 1, None),
        (item_c, "reject", None, "ambiguous"),
    ]
    assert _rows(
        store, "SELECT question, editor, note FROM item_versions WHERE item_id = ? AND version = 1", [item_b]
    ) == [("Which finding is shown? (edited)", "alice", "clearer wording")]
    # the page of a reviewed item shows the annotator's own verdict and no form
    again = app_client.get(f"/items/{item_a}")
    assert 'id="my-verdict">accept<' in again.text and 'id="accept-form"' not in again.text


def test_reviewing_twice_is_a_conflict(app_client: TestClient, store: ReviewStore, tokens, web) -> None:
    csrf = web.login(app_client, tokens["alice"])
    item = candidates(store, "alice")[0][0]
    ok = app_client.post(f"/items/{item}/review", data={"csrf": csrf, "verdict": "accept"})
    assert ok.status_code == 303
    again = app_client.post(
        f"/items/{item}/review", data={"csrf": csrf, "verdict": "reject", "reject_reason": "ambiguous"}
    )
    assert again.status_code == 409
    assert "already reviewed" in again.text


def test_reject_needs_a_listed_reason(app_client: TestClient, store: ReviewStore, tokens, web) -> None:
    csrf = web.login(app_client, tokens["alice"])
    item = candidates(store, "alice")[0][0]
    bad = app_client.post(
        f"/items/{item}/review", data={"csrf": csrf, "verdict": "reject", "reject_reason": "meh"}
    )
    assert bad.status_code == 422
    other = app_client.post(
        f"/items/{item}/review", data={"csrf": csrf, "verdict": "reject", "reject_reason": "other"}
    )
    assert other.status_code == 422 and "needs a comment" in other.text
    assert _rows(store, "SELECT count(*) FROM reviews") == [(0,)]


def test_untrusted_text_is_escaped(app_client: TestClient, store: ReviewStore, tokens, web) -> None:
    """An edit carrying markup is stored as text and shown escaped (here on the adjudication page)."""
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    alice = web.login(app_client, tokens["alice"])
    item = candidates(store, "alice")[0][0]
    ((options, gold, sents, figs),) = _rows(
        store,
        VERSION0,
        [item],
    )
    data = {
        "csrf": alice,
        "verdict": "edit",
        "question": hostile,
        "answer": str(gold),
        "note": hostile,
        "evidence_sentence": sents,
        "evidence_figure": figs,
    }
    data.update({f"option_{k}": text for k, text in enumerate(options)})
    assert app_client.post(f"/items/{item}/review", data=data).status_code == 303
    app_client.cookies.clear()
    bob = web.login(app_client, tokens["bob"])
    assert (
        app_client.post(f"/items/{item}/review", data={"csrf": bob, "verdict": "accept"}).status_code == 303
    )
    app_client.cookies.clear()
    web.login(app_client, tokens["carol"])
    listing = app_client.get("/adjudicate")
    assert item in listing.text
    page = app_client.get(f"/adjudicate/{item}")
    assert page.status_code == 200
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text


def test_reviewers_never_see_other_verdicts(app_client: TestClient, store: ReviewStore, tokens, web) -> None:
    alice = web.login(app_client, tokens["alice"])
    item = candidates(store, "alice")[0][0]
    app_client.post(
        f"/items/{item}/review",
        data={
            "csrf": alice,
            "verdict": "reject",
            "reject_reason": "ambiguous",
            "comment": "ALICE-SECRET-COMMENT",
        },
    )
    app_client.cookies.clear()
    web.login(app_client, tokens["bob"])
    page = app_client.get(f"/items/{item}")
    assert page.status_code == 200
    assert "ALICE-SECRET-COMMENT" not in page.text and "alice" not in page.text
    assert app_client.get(f"/adjudicate/{item}").status_code == 403


def test_item_page_shows_masked_context_images_and_leakage(
    app_client: TestClient, store, tokens, web
) -> None:
    web.login(app_client, tokens["alice"])
    ((item, masked, n_images),) = _rows(
        store,
        "SELECT q.item_id, lc.masked_context, json_array_length(q.images) FROM qa_items q"
        " JOIN latest_leakage_contexts lc USING (item_id)"
        " WHERE EXISTS (SELECT 1 FROM leakage_decisions d WHERE d.item_id = q.item_id AND d.basis = lc.basis)"
        " ORDER BY q.item_id LIMIT 1",
    )
    page = app_client.get(f"/items/{item}").text
    assert 'id="leakage"' in page
    assert page.count('<img src="/images/') == n_images
    assert page.count("<summary>Caption") == n_images  # captions collapsed by default
    assert 'id="original"' in page  # the unmasked context on demand
    first_words = " ".join(masked.split()[:6])
    assert first_words.split()[0] in page


def test_image_route_serves_only_registered_files(app_client: TestClient, store, tokens, web) -> None:
    web.login(app_client, tokens["alice"])
    ((graphic, size),) = _rows(
        store, "SELECT graphic_id, width FROM graphics WHERE status = 'ok' ORDER BY 1 LIMIT 1"
    )
    ok = app_client.get(f"/images/{graphic}")
    assert (
        ok.status_code == 200 and ok.headers["content-type"] == "image/jpeg" and ok.content[:2] == b"\xff\xd8"
    )
    assert size and size > 0
    for bad in ("nope", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd"):
        assert app_client.get(f"/images/{bad}").status_code == 404, bad


def test_stats_page_and_shortcut_script(app_client: TestClient, tokens, web) -> None:
    web.login(app_client, tokens["alice"])
    page = app_client.get("/stats")
    assert page.status_code == 200 and "Cohen" in page.text and "Fleiss" in page.text
    script = app_client.get("/static/review.js")
    assert script.status_code == 200 and 'key === "a"' in script.text


def _edit_data(store: ReviewStore, item: str, csrf: str, **extra: str) -> dict[str, object]:
    ((options, gold, sents, figs),) = _rows(store, VERSION0, [item])
    data: dict[str, object] = {
        "csrf": csrf,
        "answer": str(gold),
        "evidence_sentence": sents,
        "evidence_figure": figs,
    }
    data.update({f"option_{k}": text for k, text in enumerate(options)})
    data.update(extra)
    return data


def test_a_refused_edit_keeps_what_was_typed(app_client: TestClient, store: ReviewStore, tokens, web) -> None:
    csrf = web.login(app_client, tokens["alice"])
    # an item with five options: without option_1 it still has four, so the duplicate is the problem
    item = next(i for i, _, _ in candidates(store, "alice") if "option_4" in _edit_data(store, i, csrf))
    data = _edit_data(store, item, csrf, verdict="edit", question="My careful new wording?", option_1="")
    data["option_0"] = data["option_2"]  # a duplicate option
    response = app_client.post(f"/items/{item}/review", data=data)
    assert response.status_code == 422 and "the same" in response.text
    assert "My careful new wording?" in response.text and 'id="edit-form"' in response.text
    assert _rows(store, "SELECT count(*) FROM item_versions WHERE version > 0") == [(0,)]


def test_adjudication_over_http(app_client: TestClient, store: ReviewStore, tokens, web) -> None:
    item_a, item_b = (i for i, _, _ in candidates(store, "alice")[:2])
    # carol may not open an item still under review: its verdicts must stay hidden
    web.login(app_client, tokens["carol"])
    assert app_client.get(f"/adjudicate/{item_a}").status_code == 409
    app_client.cookies.clear()
    for who, verdict in (("alice", "accept"), ("bob", "reject")):
        csrf = web.login(app_client, tokens[who])
        for item in (item_a, item_b):
            data = {
                "csrf": csrf,
                "verdict": verdict,
                "reject_reason": "ambiguous" if verdict == "reject" else "",
            }
            assert app_client.post(f"/items/{item}/review", data=data).status_code == 303
        app_client.cookies.clear()
    csrf = web.login(app_client, tokens["alice"])
    assert app_client.get("/adjudicate").status_code == 403  # not an adjudicator
    app_client.cookies.clear()
    csrf = web.login(app_client, tokens["carol"])
    listing = app_client.get("/adjudicate").text
    assert item_a in listing and item_b in listing
    page = app_client.get(f"/adjudicate/{item_a}")
    assert page.status_code == 200 and "ambiguous" in page.text and 'id="accept-version-0"' in page.text
    accepted = app_client.post(
        f"/adjudicate/{item_a}",
        data={"csrf": csrf, "decision": "accept", "item_version": "0", "note": "fine"},
    )
    assert accepted.status_code == 303
    assert app_client.get(f"/adjudicate/{item_b}/edit?base=0").status_code == 200
    edited = app_client.post(
        f"/adjudicate/{item_b}",
        data=_edit_data(
            store, item_b, csrf, decision="accept", mode="edit", shown_version="0", question="Fixed?"
        ),
    )
    assert edited.status_code == 303
    rows = _rows(
        store,
        "SELECT item_id, outcome, final_version, decided_by FROM review_outcomes"
        " WHERE item_id IN (?, ?) ORDER BY item_id = ?",
        [item_a, item_b, item_b],
    )
    assert rows == [(item_a, "accepted", 0, "adjudication"), (item_b, "accepted", 1, "adjudication")]
    assert _rows(
        store, "SELECT question, editor FROM item_versions WHERE item_id = ? AND version = 1", [item_b]
    ) == [("Fixed?", "carol")]


def test_the_app_holds_the_warehouse_only_inside_a_request(warehouse: Path, store: ReviewStore) -> None:
    """Between requests another process can open the file; while one holds it, a page says so (503)
    naming the holder, and works again once it lets go."""
    from functools import partial

    from mmrare.warehouse.db import connect

    store.close()  # the fixture's held connection; the app's store opens its own per request
    per_request = ReviewStore(opener=partial(connect, warehouse, wait_s=0, on_wait=lambda _m: None))
    with TestClient(create_app(per_request, ReviewSettings(), SECRET), follow_redirects=False) as client:
        assert client.get("/login").status_code == 200
        holder = subprocess.Popen(
            [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(warehouse)!r}); "
             "print('held', flush=True); sys.stdin.readline()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            busy = client.get("/login")
            assert busy.status_code == 503 and f"PID {holder.pid}" in busy.text
        finally:
            holder.communicate("\n", timeout=60)
        assert client.get("/login").status_code == 200
