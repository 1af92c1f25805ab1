"""Plain review functions without the web layer: annotators, queue order and leases, independence,
edit validation, versioning."""

from __future__ import annotations

import pytest

from mmrare.annotations.review.annotators import add_annotator, authenticate, reset_token, token_sha256
from mmrare.annotations.review.errors import Conflict, InvalidInput, NotAllowed
from mmrare.annotations.review.itemview import load_item_page
from mmrare.annotations.review.queue import Leases, candidates, next_item
from mmrare.annotations.review.records import EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.versions import get_version, list_versions


def test_tokens_are_stored_only_as_sha256(store: ReviewStore, tokens: dict[str, str]) -> None:
    with store.read() as cur:
        stored = dict(cur.execute("SELECT name, token_sha256 FROM annotators").fetchall())
        dump = " ".join(str(v) for row in cur.execute("SELECT * FROM annotators").fetchall() for v in row)
    assert stored["alice"] == token_sha256(tokens["alice"])
    assert all(token not in dump for token in tokens.values())
    assert authenticate(store, tokens["carol"]).is_adjudicator
    with pytest.raises(NotAllowed):
        authenticate(store, tokens["alice"][:-1] + "x")


def test_names_are_checked_and_unique(store: ReviewStore, tokens: dict[str, str]) -> None:
    with pytest.raises(Conflict):
        add_annotator(store, "Alice")
    for bad in ("", "a b", "<script>", "drafter"):
        with pytest.raises(InvalidInput):
            add_annotator(store, bad)


def test_reset_token_replaces_the_old_one(store: ReviewStore, tokens: dict[str, str]) -> None:
    new = reset_token(store, "alice")
    assert authenticate(store, new).name == "alice"
    with pytest.raises(NotAllowed):
        authenticate(store, tokens["alice"])


def test_queue_finishes_started_items_first(store: ReviewStore, tokens: dict[str, str]) -> None:
    first = candidates(store, "alice")
    assert {n for _, n, _ in first} == {0} and len(first) == len({i for i, _, _ in first})
    started = first[5][0]
    submit_review(store, item_id=started, annotator="bob", verdict="accept")
    assert candidates(store, "alice")[0][0] == started
    assert started not in [i for i, _, _ in candidates(store, "bob")]


def test_leases_keep_two_reviewers_off_the_last_slot(store: ReviewStore, tokens: dict[str, str]) -> None:
    leases = Leases()
    item = candidates(store, "alice")[0][0]
    submit_review(store, item_id=item, annotator="carol", verdict="accept")  # one of two reviews done
    assert next_item(store, "alice", leases) == item
    assert next_item(store, "bob", leases) != item  # alice holds the last slot
    leases.release(item, "alice")
    assert next_item(store, "bob", leases) == item


def test_leases_expire(store: ReviewStore, tokens: dict[str, str]) -> None:
    leases = Leases(seconds=0.0)
    leases.claim("x", "alice")
    assert leases.others("x", "bob") == 0


def test_edit_creates_a_version_and_keeps_the_draft(store: ReviewStore, tokens: dict[str, str]) -> None:
    item = candidates(store, "alice")[0][0]
    with store.read() as cur:
        draft = get_version(cur, item, 0)
    options = (*draft.options[:-1], "A brand-new distractor")
    gold = draft.answer_index if draft.answer_index < len(options) - 1 else 0
    edit = EditInput(
        "  Edited   question? ", options, gold, ("alias one", "alias one"), draft.evidence_sentence_ids
    )
    review = submit_review(store, item_id=item, annotator="alice", verdict="edit", edit=edit, comment="fixed")
    with store.read() as cur:
        versions = list_versions(cur, item)
        qa_question = cur.execute("SELECT question FROM qa_items WHERE item_id = ?", [item]).fetchone()
    assert review.result_version == 1 and [v.version for v in versions] == [0, 1]
    assert versions[0].question == draft.question == (qa_question[0] if qa_question else None)
    assert versions[0].editor == "drafter"
    new = versions[1]
    assert new.question == "Edited question?" and new.aliases == ("alias one",)
    assert new.answer == options[gold] and new.based_on == 0 and new.editor == "alice"
    assert new.evidence_figure_ids == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"question": "  "}, "question"),
        ({"options": ("a", "b", "c")}, "need 4"),
        ({"options": ("a", "b", "c", "A")}, "the same"),
        ({"answer_index": 9}, "answer"),
        ({"evidence_sentence_ids": (), "evidence_figure_ids": ()}, "at least one"),
        ({"evidence_sentence_ids": ("PMC1:sec0:p0:s0",)}, "not a sentence of"),
        ({"evidence_figure_ids": ("PMC1:F9",)}, "not one of the item's images"),
        ({}, "changes nothing"),
    ],
)
def test_bad_edits_are_refused_and_leave_no_rows(
    store: ReviewStore, tokens: dict[str, str], change: dict, message: str
) -> None:
    item = candidates(store, "alice")[0][0]
    with store.read() as cur:
        draft = get_version(cur, item, 0)
    fields = {
        "question": draft.question,
        "options": draft.options,
        "answer_index": draft.answer_index,
        "aliases": draft.aliases,
        "evidence_sentence_ids": draft.evidence_sentence_ids,
        "evidence_figure_ids": draft.evidence_figure_ids,
    } | change
    with pytest.raises(InvalidInput, match=message):
        submit_review(store, item_id=item, annotator="alice", verdict="edit", edit=EditInput(**fields))
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM reviews").fetchone() == (0,)
        assert cur.execute("SELECT count(*) FROM item_versions").fetchone() == (0,)  # rolled back


def test_inactive_annotators_cannot_review(store: ReviewStore, tokens: dict[str, str]) -> None:
    with store.write() as cur:
        cur.execute("UPDATE annotators SET active = false WHERE name = 'bob'")
    item = candidates(store, "alice")[0][0]
    with pytest.raises(NotAllowed):
        submit_review(store, item_id=item, annotator="bob", verdict="accept")
    with pytest.raises(NotAllowed):
        authenticate(store, tokens["bob"])


def test_item_page_data_is_what_the_model_sees(store: ReviewStore, tokens: dict[str, str]) -> None:
    with store.read() as cur:
        item, n_images = cur.execute(
            "SELECT item_id, json_array_length(images) FROM qa_items WHERE track = 'cross_image'"
            " ORDER BY json_array_length(images) DESC, item_id LIMIT 1"
        ).fetchone()
    page = load_item_page(store, item)
    assert page.masked and page.leakage_status == "kept"
    assert [i.position for i in page.images] == list(range(1, n_images + 1))
    assert all(i.marker == f"Image {i.position}" and i.available and i.caption for i in page.images)
    assert "".join(s.text for s in page.segments) == page.context
    # evidence is withheld from the context by the drafter, so it is listed, not highlighted
    assert page.evidence and all(e.text for e in page.evidence)
    assert set(page.evidence_missing) <= {e.sentence_id for e in page.evidence}
