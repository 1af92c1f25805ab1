"""Answer positions are balanced per track, deterministically, and options keep their texts."""

from __future__ import annotations

from dataclasses import replace

from mmrare.items import QAItem
from mmrare.warehouse.release.positions import balance_positions, with_answer_at
from mmrare.warehouse.release.records import ReleaseItem
from mmrare.warehouse.release.validity import positions


def _item(n: int, track: str = "treatment", options: int = 5) -> ReleaseItem:
    texts = tuple(f"option {k} of item {n}" for k in range(options))
    qa = QAItem(
        item_id=f"item{n:04d}", track=track, question_type="treatment", pmcid=f"PMC{n}", question="Which?",
        context="A case.", context_sentence_ids=("s1",), images=(), options=texts, answer_index=0,
        answer=texts[0], aliases=(), orpha_code=None, answer_category=None, evidence_sentence_ids=("s1",),
        evidence_figure_ids=(), rationale="", drafter="rules", drafter_version="rules-drafter/2", seed=0,
    )  # fmt: skip
    return ReleaseItem(item=qa, item_version=0, images=(), licence="CC-BY-4.0")


def test_all_answers_at_a_become_uniform_and_stay_the_same_items() -> None:
    items = [_item(n) for n in range(103)] + [_item(n, options=4) for n in range(200, 241)]
    balanced = balance_positions(items)
    assert [b.item.item_id for b in balanced] == [i.item.item_id for i in items]
    for before, after in zip(items, balanced, strict=True):
        assert after.item.answer == before.item.answer
        assert sorted(after.item.options) == sorted(before.item.options)
    report = positions([b.row() for b in balanced])
    assert report["within_tolerance"] and report["max_gap"] < 0.02, report


def test_balancing_depends_on_the_item_ids_only() -> None:
    items = [_item(n) for n in range(50)]
    once = balance_positions(items)
    shuffled = balance_positions(list(reversed(items)))
    assert {b.item.item_id: b.item.answer_index for b in once} == {
        b.item.item_id: b.item.answer_index for b in shuffled
    }
    assert balance_positions(once) == once  # balancing a balanced release changes nothing


def test_items_released_before_keep_their_answer_and_new_ones_are_balanced() -> None:
    first = balance_positions([_item(n) for n in range(100)])
    pinned = {(b.item.item_id, b.item_version): b.item.answer_index for b in first}
    grown = [_item(n) for n in range(150)]
    grown[3] = replace(grown[3], item_version=1)  # edited after the first release: placed anew
    second = balance_positions(grown, pinned=pinned)
    before = {b.item.item_id: b.item.answer_index for b in first}
    kept = [b for b in second if b.item.item_id in before and b.item_version == 0]
    assert len(kept) == 99 and all(b.item.answer_index == before[b.item.item_id] for b in kept)
    options = {b.item.item_id: b.item.options for b in first}
    assert all(b.item.options == options[b.item.item_id] for b in kept)
    report = positions([b.row() for b in second])
    assert report["within_tolerance"], report
    # without the pins, the same 150 items would move answers of items already released
    unpinned = {b.item.item_id: b.item.answer_index for b in balance_positions(grown)}
    assert any(unpinned[i] != before[i] for i in before)


def test_with_answer_at_keeps_the_distractor_order() -> None:
    assert with_answer_at(("a", "b", "c", "d"), 2, 0) == (("c", "a", "b", "d"), 0)
    assert with_answer_at(("a", "b", "c", "d"), 0, 3) == (("b", "c", "d", "a"), 3)


def test_an_unbalanced_track_is_reported_outside_the_tolerance() -> None:
    rows = [replace(_item(n)).row() for n in range(40)]  # every answer at A
    report = positions(rows)
    assert report["counts"]["A"] == 40 and not report["within_tolerance"]
