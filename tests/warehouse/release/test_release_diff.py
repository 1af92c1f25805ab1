"""``diff`` after review changes: a reopened item re-decided with an edit is a changed item, one
re-decided as rejected or still open is removed, and new items show."""

from __future__ import annotations

from pathlib import Path

import duckdb

from mmrare.annotations.review.adjudication import adjudicate, reopen
from mmrare.annotations.review.records import EditInput
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review
from mmrare.annotations.review.versions import get_version
from mmrare.warehouse.release import diff_releases


def test_diff_reports_review_changes(con: duckdb.DuckDBPyConnection, tmp_path: Path, builder, facts) -> None:
    first = builder(con, tmp_path)
    store = ReviewStore(con)
    treatment = sorted(i for i in facts.accepted if facts.items[i].track == "treatment")
    changed, withdrawn = treatment[0], treatment[1]
    with store.read() as cur:
        v = get_version(cur, changed, 0)
    edit = EditInput("Which treatment was given first?", v.options, v.answer_index, v.aliases,
                     v.evidence_sentence_ids, v.evidence_figure_ids, note="sharper question")  # fmt: skip
    for item_id in (changed, withdrawn):  # both reviewers accepted these; a decided item is reopened first
        reopen(store, item_id=item_id, adjudicator="cleo", reason="second look after release 1.0.0")
    adjudicate(store, item_id=changed, adjudicator="cleo", decision="accept", edit=edit)
    adjudicate(store, item_id=withdrawn, adjudicator="cleo", decision="reject", reject_reason="ambiguous")
    submit_review(store, item_id=facts.pending, annotator="ben", verdict="accept")
    second = builder(con, tmp_path, "1.1.0")

    result = diff_releases(first.root, second.root)
    assert (result.a, result.b) == ("1.0.0", "1.1.0")
    track = result.tracks["treatment"]
    assert [c.item_id for c in track.changed] == [changed]
    change = track.changed[0]
    assert "question" in change.columns and "item_version" in change.columns
    assert (change.version_a, change.version_b) == (0, 1)
    assert track.removed == [withdrawn]
    assert result.tracks["cross_image"].added == [facts.pending]
    assert not any(d.changed for t, d in result.tracks.items() if t != "treatment")
    unchanged = sum(d.unchanged for d in result.tracks.values())
    assert unchanged == first.n_items - 2
    assert result.as_dict()["tracks"]["treatment"]["changed"][0]["columns"] == list(change.columns)


def test_identical_releases_have_an_empty_diff(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder
) -> None:
    a = builder(con, tmp_path)
    b = builder(con, tmp_path, "1.0.1")
    result = diff_releases(a.root, b.root)
    assert all(d.empty for d in result.tracks.values())
    assert sum(d.unchanged for d in result.tracks.values()) == a.n_items


def test_a_reopened_item_is_not_released_until_decided_again(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, builder, facts
) -> None:
    first = builder(con, tmp_path)
    store = ReviewStore(con)
    item = sorted(i for i in facts.accepted if facts.items[i].track == "examination")[0]
    track = facts.items[item].track
    reopen(store, item_id=item, adjudicator="cleo", reason="the gold examination is not in the text")
    while_open = builder(con, tmp_path, "1.0.1")
    assert diff_releases(first.root, while_open.root).tracks[track].removed == [item]
    adjudicate(store, item_id=item, adjudicator="cleo", decision="accept", item_version=0, note="it is")
    decided = builder(con, tmp_path, "1.0.2")
    assert diff_releases(while_open.root, decided.root).tracks[track].added == [item]
    assert all(d.empty for d in diff_releases(first.root, decided.root).tracks.values())
