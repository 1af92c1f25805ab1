"""The final-outcome rule of 006_review.sql, exercised through the review functions on real drafts:
agreeing accepts, agreeing and differing edits, rejects, adjudication, leakage drops, and the exact
columns of ``accepted_items`` that release builds read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from mmrare.annotations.review.adjudication import adjudicate, reopen
from mmrare.annotations.review.errors import Conflict, NotAllowed
from mmrare.annotations.review.queue import candidates, enqueue
from mmrare.annotations.review.records import EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.versions import get_version

ACCEPTED_COLUMNS = [
    "item_id",
    "item_version",
    "track",
    "question_type",
    "pmcid",
    "question",
    "context",
    "context_sentence_ids",
    "images",
    "options",
    "answer_index",
    "answer",
    "aliases",
    "orpha_code",
    "answer_category",
    "rationale",
    "evidence_sentence_ids",
    "evidence_figure_ids",
    "accepted_at",
]


def _edit(store: ReviewStore, item_id: str, question: str) -> EditInput:
    with store.read() as cur:
        v = get_version(cur, item_id, 0)
    return EditInput(
        question, v.options, v.answer_index, v.aliases, v.evidence_sentence_ids, v.evidence_figure_ids
    )


def _outcome(store: ReviewStore, item_id: str) -> tuple:
    with store.read() as cur:
        row = cur.execute(
            "SELECT outcome, final_version, decided_by FROM review_outcomes WHERE item_id = ?", [item_id]
        ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.fixture
def items(store: ReviewStore, tokens: dict[str, str]) -> list[str]:
    return [item for item, _, _ in candidates(store, "alice")]


def test_accepted_items_has_the_release_columns(store: ReviewStore, items: list[str]) -> None:
    with store.read() as cur:
        cols = [r[0] for r in cur.execute("DESCRIBE accepted_items").fetchall()]
    assert cols == ACCEPTED_COLUMNS


def test_accept_accept_is_accepted_with_the_masked_context(store: ReviewStore, items: list[str]) -> None:
    item = items[0]
    submit_review(store, item_id=item, annotator="alice", verdict="accept")
    assert _outcome(store, item) == ("pending", None, None)
    submit_review(store, item_id=item, annotator="bob", verdict="accept")
    assert _outcome(store, item) == ("accepted", 0, "reviews")
    with store.read() as cur:
        row = cur.execute(
            "SELECT a.item_version, a.context, a.context_sentence_ids, a.evidence_sentence_ids, a.options,"
            " lc.masked_context, lc.kept_sentence_ids, q.question = a.question"
            " FROM accepted_items a JOIN latest_leakage_contexts lc USING (item_id)"
            " JOIN qa_items q USING (item_id)"
        ).fetchone()
        evidence = [
            r[0]
            for r in cur.execute(
                "SELECT ref_id FROM qa_evidence WHERE item_id = ? AND kind = 'sentence' ORDER BY ordinal",
                [item],
            ).fetchall()
        ]
    assert row is not None
    version, context, ctx_ids, ev, options, masked, kept, same_question = row
    assert version == 0 and context == masked and json.loads(ctx_ids) == json.loads(kept) and same_question
    assert json.loads(ev) == evidence and len(json.loads(options)) >= 4


def test_agreeing_edits_give_the_latest_version(store: ReviewStore, items: list[str]) -> None:
    item = items[1]
    submit_review(
        store, item_id=item, annotator="alice", verdict="edit", edit=_edit(store, item, "Same  fix?")
    )
    submit_review(store, item_id=item, annotator="bob", verdict="edit", edit=_edit(store, item, "Same fix?"))
    assert _outcome(store, item) == ("accepted", 2, "reviews")
    with store.read() as cur:
        assert cur.execute("SELECT question FROM accepted_items").fetchall() == [("Same fix?",)]


def test_differing_edits_and_mixed_verdicts_need_adjudication(store: ReviewStore, items: list[str]) -> None:
    a, b = items[2], items[3]
    submit_review(store, item_id=a, annotator="alice", verdict="edit", edit=_edit(store, a, "One fix?"))
    submit_review(store, item_id=a, annotator="bob", verdict="edit", edit=_edit(store, a, "Another fix?"))
    submit_review(store, item_id=b, annotator="alice", verdict="accept")
    submit_review(store, item_id=b, annotator="bob", verdict="reject", reject_reason="wrong_answer")
    assert _outcome(store, a)[0] == _outcome(store, b)[0] == "needs_adjudication"
    with pytest.raises(NotAllowed):
        adjudicate(store, item_id=a, adjudicator="alice", decision="accept", item_version=1)
    later = datetime.now(UTC) + timedelta(seconds=5)
    adjudicate(store, item_id=a, adjudicator="carol", decision="accept", item_version=2, note="bob's wording")
    adjudicate(store, item_id=b, adjudicator="carol", decision="reject", reject_reason="wrong_answer")
    assert _outcome(store, a) == ("accepted", 2, "adjudication")
    assert _outcome(store, b) == ("rejected", None, "adjudication")
    # a decided item takes a new decision only once reopened; the later one decides, both stay
    with pytest.raises(Conflict, match="reopen it"):
        adjudicate(store, item_id=b, adjudicator="carol", decision="accept", item_version=0, now=later)
    reopen(store, item_id=b, adjudicator="carol", reason="the answer is right after all", now=later)
    assert _outcome(store, b) == ("needs_adjudication", None, None)
    adjudicate(
        store, item_id=b, adjudicator="carol", decision="accept", item_version=0, now=later + timedelta(1)
    )
    assert _outcome(store, b) == ("accepted", 0, "adjudication")
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM adjudications WHERE item_id = ?", [b]).fetchone() == (2,)
        assert sorted(r[0] for r in cur.execute("SELECT item_id FROM accepted_items").fetchall()) == sorted(
            [a, b]
        )


def test_reject_reject_is_rejected(store: ReviewStore, items: list[str]) -> None:
    item = items[4]
    submit_review(store, item_id=item, annotator="alice", verdict="reject", reject_reason="ambiguous")
    submit_review(store, item_id=item, annotator="bob", verdict="reject", reject_reason="bad_options")
    assert _outcome(store, item) == ("rejected", None, "reviews")


def test_adjudication_waits_for_the_reviews(store: ReviewStore, items: list[str]) -> None:
    submit_review(store, item_id=items[5], annotator="alice", verdict="accept")
    with pytest.raises(Conflict, match="has not had its reviews"):
        adjudicate(store, item_id=items[5], adjudicator="carol", decision="accept", item_version=0)


def test_items_dropped_by_leakage_are_never_queued_or_accepted(store: ReviewStore, items: list[str]) -> None:
    """A newer leakage context that drops the item wins over the older kept one."""
    item = items[6]
    submit_review(store, item_id=item, annotator="alice", verdict="accept")
    submit_review(store, item_id=item, annotator="bob", verdict="accept")
    assert _outcome(store, item)[0] == "accepted"
    with store.write() as cur:
        cur.execute(
            "INSERT INTO leakage_contexts SELECT * REPLACE ('dropped' AS status, 'test: leaked' AS reason,"
            " 'newer' AS config_hash, created_at + INTERVAL 1 HOUR AS created_at)"
            " FROM leakage_contexts WHERE item_id = ?",
            [item],
        )
    assert _outcome(store, item) == ("dropped_by_leakage", None, None)
    with store.read() as cur:
        assert cur.execute("SELECT count(*) FROM accepted_items").fetchone() == (0,)


def test_enqueue_is_idempotent_and_keeps_the_required_count(
    store: ReviewStore, tokens: dict[str, str]
) -> None:
    with store.read() as cur:
        n_items = cur.execute("SELECT count(*) FROM qa_items").fetchone()
    assert enqueue(store, 3) == 0  # the tokens fixture queued everything with 2 already
    with store.read() as cur:
        counts = cur.execute("SELECT required_reviews, count(*) FROM review_queue GROUP BY 1").fetchall()
    assert n_items is not None and counts == [(2, n_items[0])]
