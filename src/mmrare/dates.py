"""Publication dates as articles give them: to the year, the month or the day.

A JATS article may date itself only to the year ("2018") or the month ("1867-01"), and that
precision matters: whether an article appeared after a model's training cutoff can only be answered
when the whole span it may fall in lies after the cutoff. So a date is kept as an ISO 8601 prefix
of the precision given, never padded to a made-up first of the month. Curation writes these
strings; a release ships them; scoring reads them back. This module is the one definition both
sides share.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from enum import StrEnum

_ISO = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


class Precision(StrEnum):
    YEAR = "year"
    MONTH = "month"
    DAY = "day"


@dataclass(frozen=True, slots=True, order=True)
class PartialDate:
    """A calendar date known to the year, the month or the day (``month``/``day`` None when unknown).

    Construction checks the date exists (no month 13, no 30 February), so every stored string
    parses back.
    """

    year: int
    month: int | None = None
    day: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year {self.year} out of range")
        if self.month is None:
            if self.day is not None:
                raise ValueError("a day without a month")
            return
        if not 1 <= self.month <= 12:
            raise ValueError(f"month {self.month} out of range")
        if self.day is not None and not 1 <= self.day <= calendar.monthrange(self.year, self.month)[1]:
            raise ValueError(f"day {self.day} does not exist in {self.year}-{self.month:02d}")

    @property
    def precision(self) -> Precision:
        if self.month is None:
            return Precision.YEAR
        return Precision.MONTH if self.day is None else Precision.DAY

    def iso(self) -> str:
        """``2018``, ``2018-12`` or ``2018-12-05``: ISO 8601 to the precision known."""
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def first_month(self) -> tuple[int, int]:
        """(year, month) of the earliest day this date may stand for."""
        return (self.year, self.month or 1)

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """The inverse of :meth:`iso`; anything else is a ``ValueError`` naming the text."""
        match = _ISO.match(text.strip())
        if not match:
            raise ValueError(f"{text!r} is not a date like 2018, 2018-12 or 2018-12-05")
        year, month, day = (int(g) if g else None for g in match.groups())
        assert year is not None
        return cls(year, month, day)


def after_month(date: PartialDate, year: int, month: int) -> bool:
    """True when every day ``date`` may stand for lies after the month ``year``-``month``.

    A date known only to the year is after March 2023 only if it is 2024 or later; one known to the
    month or day is after it from April 2023.
    """
    return date.first_month() > (year, month)
