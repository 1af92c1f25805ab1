"""Split assignment: deterministic, by case, stratified by track, pinned to earlier releases."""

from __future__ import annotations

import pytest

from mmrare.errors import FatalError
from mmrare.warehouse.release.split import FAR_POINTS, assign_splits, dev_target, share_warning

# 40 cases: every case has a diagnosis item, every 4th an examination item, every 10th a cross-image one.
CASES = {
    f"PMC{1000 + n}": {"diagnosis"}
    | ({"examination"} if n % 4 == 0 else set())
    | ({"cross_image"} if n % 10 == 0 else set())
    for n in range(40)
}


def _dev_share(splits: dict[str, str], track: str) -> tuple[int, int]:
    members = [p for p, t in CASES.items() if track in t]
    return sum(1 for p in members if splits[p] == "dev"), len(members)


def test_same_input_same_assignment_whatever_the_order() -> None:
    a = assign_splits(CASES, 0.2, "salt")
    b = assign_splits(dict(reversed(list(CASES.items()))), 0.2, "salt")
    assert a == b and set(a) == set(CASES) and set(a.values()) == {"dev", "test"}
    assert assign_splits(CASES, 0.2, "other salt") != a


def test_stratified_by_track() -> None:
    splits = assign_splits(CASES, 0.2, "salt")
    assert _dev_share(splits, "cross_image") == (1, 4)  # scarcest track: exact target round(0.8) = 1
    dev, n = _dev_share(splits, "examination")
    assert abs(dev - 0.2 * n) <= 1
    dev, n = _dev_share(splits, "diagnosis")
    assert abs(dev - 0.2 * n) <= 1


def test_pinned_cases_keep_their_split() -> None:
    first = assign_splits(CASES, 0.2, "salt")
    grown = {**CASES, "PMC9999": {"diagnosis", "cross_image"}}
    second = assign_splits(grown, 0.5, "new salt", pinned=first)
    assert {p: second[p] for p in first} == first
    assert second["PMC9999"] in ("dev", "test")
    with pytest.raises(FatalError, match="unknown split"):
        assign_splits(CASES, 0.2, "salt", pinned={"PMC1000": "train"})


@pytest.mark.parametrize(
    ("n", "fraction", "expected"),
    [
        (0, 0.2, 0),
        (1, 0.2, 0),
        (2, 0.2, 1),
        (3, 0.2, 1),
        (10, 0.2, 2),
        (10, 0.0, 0),
        (10, 1.0, 10),
        (2, 0.9, 1),
    ],
)
def test_dev_target(n: int, fraction: float, expected: int) -> None:
    assert dev_target(n, fraction) == expected


def test_fraction_zero_and_one() -> None:
    assert set(assign_splits(CASES, 0.0, "s").values()) == {"test"}
    assert set(assign_splits(CASES, 1.0, "s").values()) == {"dev"}


def _counts(dev: int, test: int, dev_cases: int, test_cases: int) -> dict:
    cases = {"dev": dev_cases, "test": test_cases}
    return {"all": {"dev": dev, "test": test, "total": dev + test, "cases": dev_cases + test_cases,
                    "cases_per_split": cases}}  # fmt: skip


def test_share_warning_when_dev_items_are_far_from_the_fraction() -> None:
    # the case: 3 cases, dev fraction 0.2, one large case in dev
    line = share_warning(_counts(11, 9, 1, 2), 0.2)
    assert line is not None and "\n" not in line
    assert "dev holds 55% of the items (11 of 20; 1 of 3 cases)" in line
    assert f"more than {FAR_POINTS} points off" in line and "0.2" in line
    assert share_warning(_counts(0, 9, 0, 1), 0.2) is not None  # nothing in dev at all
    assert share_warning(_counts(5, 15, 2, 8), 0.2) is None  # 25%: within 10 points
    assert share_warning(_counts(30, 70, 2, 8), 0.2) is None  # exactly 10 points
    assert share_warning(_counts(31, 69, 2, 8), 0.2) is not None  # just over
    assert share_warning(_counts(0, 0, 0, 0), 0.2) is None
