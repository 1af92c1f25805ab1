"""What the review pages show a clinician: verdict controls first, masked spans marked, dataset flags
grouped and naming their other end, images on the edit page, and an adjudication list that says what
each item is and how it was reviewed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from mmrare.annotations.review.highlight import MASK_TOKEN, mask_pieces
from mmrare.annotations.review.queue import candidates
from mmrare.annotations.review.settings import ReviewSettings
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.web.app import create_app
from mmrare.leakage import DEFAULT_POLICY, Provenance, duplicate_images
from mmrare.leakage import MASK_TOKEN as LEAKAGE_MASK_TOKEN
from mmrare.warehouse.queries.review import qa_item
from mmrare.warehouse.shards import insert_rows

SECRET = b"pages-tests-session-secret-0123456789abcdef"


@pytest.fixture
def client(store: ReviewStore, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(store, ReviewSettings(), SECRET), follow_redirects=False) as c:
        yield c


def _section(page: str, section_id: str) -> str:
    """The HTML of one ``<section id=...>`` (sections do not nest on these pages)."""
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def test_verdict_controls_come_first_and_stay_in_view(client: TestClient, store, tokens, web) -> None:
    web.login(client, tokens["alice"])
    item = candidates(store, "alice")[0][0]
    page = client.get(f"/items/{item}").text
    actions = page.index('id="actions"')
    assert actions < page.index('id="context"') and actions < page.index('id="dataset-flags"')
    assert 'class="card actions sticky"' in page
    css = client.get("/static/review.css").text
    assert re.search(r"\.sticky\s*\{[^}]*position:\s*sticky;[^}]*top:\s*0", css)
    submit_review(store, item_id=item, annotator="alice", verdict="accept")
    page = client.get(f"/items/{item}").text  # once reviewed, the bar says so, still first
    assert page.index('id="my-review"') < page.index('id="context"')


def test_the_mask_token_is_the_leakage_policys() -> None:
    assert MASK_TOKEN == LEAKAGE_MASK_TOKEN == DEFAULT_POLICY.mask_token
    assert mask_pieces(f"a {MASK_TOKEN}, b{MASK_TOKEN}") == [
        ("a ", False), (MASK_TOKEN, True), (", b", False), (MASK_TOKEN, True),
    ]  # fmt: skip


def test_masked_spans_are_highlighted_in_the_context(client: TestClient, store, tokens, web) -> None:
    web.login(client, tokens["alice"])
    item = candidates(store, "alice")[0][0]
    with store.write() as cur:  # a newer leakage context that masked the item's first words
        cur.execute(
            "INSERT INTO leakage_contexts SELECT * REPLACE ("
            " ? || ' ' || ? || substr(masked_context, 40) AS masked_context, 2 AS n_masked_spans,"
            " 'newer' AS config_hash, created_at + INTERVAL 1 HOUR AS created_at)"
            " FROM latest_leakage_contexts WHERE item_id = ?",
            [LEAKAGE_MASK_TOKEN, LEAKAGE_MASK_TOKEN, item],
        )
    context = _section(client.get(f"/items/{item}").text, "context")
    assert context.count(f'<mark class="masked">{MASK_TOKEN}</mark>') == 2
    assert context.count(MASK_TOKEN) == 2  # none left unmarked


def _duplicate_image_flags(store: ReviewStore, config_hash: str, hours: int) -> None:
    """The real duplicate-image check over the sample's figures (placeholders with near-equal hashes)."""
    with store.read() as cur:
        ids = [r[0] for r in cur.execute("SELECT item_id FROM qa_items ORDER BY item_id").fetchall()]
        items = [qa_item(cur, i) for i in ids]
        phashes = dict(cur.execute("SELECT graphic_id, phash FROM graphics").fetchall())
    flags = duplicate_images([i for i in items if i], phashes, DEFAULT_POLICY.image_max_hamming)
    when = datetime.now(UTC) + timedelta(hours=hours)
    prov = Provenance("test-model", "0" * 64, "4.2", config_hash, "leakage-policy/1", "1" * 64, "", when)
    with store.write() as cur:
        insert_rows(cur, "dataset_flags", [f.row(prov) for f in flags])


def test_flags_are_grouped_and_name_the_other_image(client: TestClient, store, tokens, web) -> None:
    web.login(client, tokens["alice"])
    _duplicate_image_flags(store, "run-1", 0)
    _duplicate_image_flags(store, "run-2", 1)  # a second run: the page reads the latest only
    with store.read() as cur:
        item, n_pairs, n_rows = cur.execute(
            "SELECT item_id, count(DISTINCT ref), count(*) FROM dataset_flags"
            " WHERE flag = 'duplicate_image' AND flagged"
            " GROUP BY item_id ORDER BY count(DISTINCT ref) DESC, item_id LIMIT 1"
        ).fetchone()
    assert n_pairs > 1 and n_rows == 2 * n_pairs  # each pair flagged by both runs
    flags = _section(client.get(f"/items/{item}").text, "dataset-flags")
    assert flags.count('id="flags-duplicate_image"') == 1 and flags.count("<h3>") == 1
    lines = re.findall(r'<li class="flag-image">\s*<span>(.*?)</span>', flags, re.S)
    assert len(lines) == n_pairs and len(set(lines)) == n_pairs  # one line per image pair, none repeated
    for line in lines:
        assert re.match(r"Image \d+ looks like <code>PMC\d+:[^<]+</code> in PMC\d+ \(item <code>", line), line
    assert flags.count('<img class="thumb" src="/images/') == n_pairs  # the look-alike is shown


def test_the_edit_page_shows_the_images(client: TestClient, store, tokens, web) -> None:
    web.login(client, tokens["alice"])
    with store.read() as cur:
        item, n_images = cur.execute(
            "SELECT item_id, json_array_length(images) FROM qa_items WHERE track = 'cross_image'"
            " AND item_id IN (SELECT item_id FROM review_queue) ORDER BY item_id LIMIT 1"
        ).fetchone()
    page = client.get(f"/items/{item}/edit").text
    images = page[page.index('id="edit-images"') : page.index("</fieldset>", page.index('id="edit-images"'))]
    assert n_images >= 2 and images.count('<img src="/images/') == n_images
    assert images.count('name="evidence_figure"') == n_images
    first = re.search(r'<img src="(/images/[^"]+)"', images)
    assert first and client.get(first.group(1)).status_code == 200


def test_the_adjudication_list_shows_track_question_and_verdicts(
    client: TestClient, store, tokens, web
) -> None:
    item = candidates(store, "alice")[0][0]
    submit_review(store, item_id=item, annotator="alice", verdict="accept")
    submit_review(store, item_id=item, annotator="bob", verdict="reject", reject_reason="bad_options")
    with store.read() as cur:
        track, question = cur.execute(
            "SELECT track, question FROM qa_items WHERE item_id = ?", [item]
        ).fetchone()
    web.login(client, tokens["carol"])
    listing = client.get("/adjudicate").text
    (row,) = [r for r in listing.split("<tr>") if f'href="/adjudicate/{item}"' in r]
    assert f"<td>{track}</td>" in row
    assert str(escape(question)) in row
    assert '<span class="who">alice</span>: <strong>accept</strong>' in row
    assert '<span class="who">bob</span>: <strong>reject</strong> (bad_options)' in row
