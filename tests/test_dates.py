"""Partial publication dates: the one format curation stores, releases ship and scoring reads."""

from __future__ import annotations

import pytest

from mmrare.dates import PartialDate, Precision, after_month


@pytest.mark.parametrize(
    ("text", "precision"),
    [("2018", Precision.YEAR), ("2018-12", Precision.MONTH), ("2024-02-29", Precision.DAY)],
)
def test_iso_round_trip_keeps_the_precision(text: str, precision: Precision) -> None:
    date = PartialDate.parse(text)
    assert date.iso() == text and date.precision is precision


@pytest.mark.parametrize("text", ["2018-13", "2023-02-29", "18-12", "2018-1", "2018-12-05T10:00", "", "n.d."])
def test_anything_else_is_refused_by_name(text: str) -> None:
    with pytest.raises(ValueError, match=r"2018-12|does not exist|out of range"):
        PartialDate.parse(text)


@pytest.mark.parametrize(
    ("date", "cutoff", "after"),
    [
        ("2023", (2023, 4), False),  # January to December 2023: not all after April
        ("2024", (2023, 12), True),
        ("2023-04", (2023, 4), False),  # the cutoff month is inside training
        ("2023-05", (2023, 4), True),
        ("2023-04-30", (2023, 4), False),
        ("2023-05-01", (2023, 4), True),
        ("2022-12-31", (2023, 1), False),
    ],
)
def test_after_a_month_only_when_the_whole_span_is(date: str, cutoff: tuple[int, int], after: bool) -> None:
    assert after_month(PartialDate.parse(date), *cutoff) is after
