"""Agreement statistics: the kappa formulas against published / library values, and the report
computed from reviews stored in a real warehouse."""

from __future__ import annotations

import pytest
from sklearn.metrics import cohen_kappa_score

from mmrare.annotations.review.agreement import agreement_stats, cohen_kappa, fleiss_kappa
from mmrare.annotations.review.annotators import add_annotator
from mmrare.annotations.review.queue import candidates
from mmrare.annotations.review.store import ReviewStore
from mmrare.annotations.review.submit import submit_review

# Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa" article: 10 subjects, 14 raters, 5 categories.
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_matches_the_published_example() -> None:
    assert fleiss_kappa(FLEISS_EXAMPLE) == pytest.approx(0.20993, abs=1e-4)


def test_fleiss_edge_cases() -> None:
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[2, 0, 0], [2, 0, 0]]) is None  # one category only: chance agreement is 1
    assert fleiss_kappa([[2, 0, 0], [0, 2, 0], [0, 0, 2]]) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        fleiss_kappa([[2, 0, 0], [1, 1, 1]])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            ["accept", "accept", "edit", "reject", "accept", "reject"],
            ["accept", "edit", "edit", "reject", "reject", "reject"],
        ),
        (["accept"] * 5 + ["reject"] * 3, ["accept"] * 4 + ["reject"] * 4),
        (["accept", "edit", "reject"], ["reject", "accept", "edit"]),
    ],
)
def test_cohen_matches_scikit_learn(a: list[str], b: list[str]) -> None:
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_cohen_undefined_when_everyone_says_the_same() -> None:
    assert cohen_kappa(["accept"] * 4, ["accept"] * 4) is None
    assert cohen_kappa([], []) is None


def test_report_from_stored_reviews(store: ReviewStore, tokens: dict[str, str]) -> None:
    """alice/bob agree on 4 of 6 items; carol and dave review one more item with a different pair."""
    add_annotator(store, "dave")
    items = [i for i, _, _ in candidates(store, "alice")]
    plan = [
        ("accept", "accept"),
        ("accept", "accept"),
        ("reject", "reject"),
        ("accept", "reject"),
        ("reject", "accept"),
        ("accept", "accept"),
    ]
    for item, (va, vb) in zip(items, plan, strict=False):
        for who, verdict in (("alice", va), ("bob", vb)):
            reason = "ambiguous" if verdict == "reject" else None
            submit_review(store, item_id=item, annotator=who, verdict=verdict, reject_reason=reason)
    last = items[len(plan)]
    submit_review(store, item_id=last, annotator="carol", verdict="accept")
    submit_review(store, item_id=last, annotator="dave", verdict="accept")
    submit_review(store, item_id=items[len(plan) + 1], annotator="alice", verdict="accept")  # single: ignored

    report = agreement_stats(store)
    pairs = {(p.annotator_a, p.annotator_b): p for p in report.pairs}
    assert set(pairs) == {("alice", "bob"), ("carol", "dave")}
    ab = pairs[("alice", "bob")]
    expected = cohen_kappa_score([a for a, _ in plan], [b for _, b in plan])
    assert ab.n_items == 6 and ab.observed == pytest.approx(4 / 6) and ab.kappa == pytest.approx(expected)
    assert pairs[("carol", "dave")].kappa is None  # one item, one category
    assert sum(t.n_items for t in report.tracks) == 7
    assert all(t.raters == 2 for t in report.tracks)
    assert sum(t.verdicts["accept"] for t in report.tracks) == 10
    assert report.as_dict()["pairs"][0]["annotator_a"] == "alice"
