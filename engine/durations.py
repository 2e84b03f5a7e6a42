"""Durations as the municipality writes them: ISO 8601 (`P10W`, `P3Y`, `P18M`) or working days (`10 werkdagen`).

Legal terms are counted in calendar dates, not in seconds: "ten weeks after 2 March" is a date. So a
duration is applied to a `date` and yields a `date`; the interpreter turns dates into instants in one
place (`engine.calendar.start_of_day`). Months and years count to the same day number and, where that
day does not exist (29–31 in a shorter month), to the last day of that month (wi2021.md#13, row 17).
Working days skip weekends and the holidays of the Algemene termijnenwet (`engine.feestdagen`).

A duration longer than `MAX_YEARS` is refused when it is read: no legal term runs that long, and such a
text is a typing error (P99999Y) that would otherwise overflow the calendar later, in a sweep.
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from engine.calendar import written as _written
from engine.errors import DateOutOfRange
from engine.feestdagen import is_werkdag

MAX_YEARS = 10
"""The longest duration a definition, a profile or case data may use (the longest legal term, three
years plus extensions, stays well inside it)."""

__all__ = ["MAX_YEARS", "Duration", "DurationError", "add_werkdagen", "is_werkdag", "parse_duration"]

_ISO = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")
_WERKDAGEN = re.compile(r"^(?P<n>\d+)\s*(?:werkdag(?:en)?|working[ _]days?|WD)$", re.IGNORECASE)


class DurationError(ValueError):
    """A duration text that is neither ISO 8601 (`P10W`) nor working days (`10 werkdagen`), or is longer
    than `MAX_YEARS`."""


@dataclass(frozen=True, slots=True)
class Duration:
    """A calendar duration (years, months, weeks, days) or a number of Dutch working days."""

    years: int = 0
    months: int = 0
    days: int = 0
    werkdagen: int = 0
    text: str = ""

    @property
    def is_zero(self) -> bool:
        """True for `P0D` and `0 werkdagen`: nothing to add."""
        return not (self.years or self.months or self.days or self.werkdagen)

    def after(self, start: date) -> date:
        """The date this duration after `start` (months clamp to the month's last day).

        Raises DateOutOfRange when the result lies beyond the calendar (year 9999)."""
        try:
            if self.werkdagen:
                return add_werkdagen(start, self.werkdagen)
            return _add_calendar(start, self.years, self.months, self.days)
        except (OverflowError, ValueError):
            raise DateOutOfRange(f"{self.text} na {_written(start)} valt na de laatste datum die de kalender "
                                 f"kent") from None

    def before(self, end: date) -> date:
        """The date this duration before `end` (DateOutOfRange before the calendar's first date)."""
        try:
            if self.werkdagen:
                return add_werkdagen(end, -self.werkdagen)
            return _add_calendar(end, -self.years, -self.months, -self.days)
        except (OverflowError, ValueError):
            raise DateOutOfRange(f"{self.text} vóór {_written(end)} valt vóór de eerste datum die de kalender "
                                 f"kent") from None

    def approx_days(self) -> int:
        """A rough length in days, only for sanity checks (a cycle of zero length) and ordering."""
        return self.years * 365 + self.months * 30 + self.days + self.werkdagen * 7 // 5

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> Duration:
    """Parse `P10W`, `P3Y`, `P1Y6M`, `P2D`, `10 werkdagen`; raise DurationError naming the bad text."""
    if not isinstance(text, str):
        raise DurationError(f"een duur is tekst zoals 'P10W' of '10 werkdagen', niet {text!r}")
    clean = text.strip()
    if m := _WERKDAGEN.match(clean):
        duration = Duration(werkdagen=int(m["n"]), text=clean)
        _check_bound(duration)
        return duration
    m = _ISO.match(clean)
    if not m or clean == "P":
        raise DurationError(
            f"onbruikbare duur {text!r}: gebruik ISO 8601-eenheden (P3Y, P18M, P10W, P5D) of 'N werkdagen'"
        )
    weeks = int(m["weeks"] or 0)
    duration = Duration(
        years=int(m["years"] or 0),
        months=int(m["months"] or 0),
        days=int(m["days"] or 0) + 7 * weeks,
        text=clean,
    )
    _check_bound(duration)
    return duration


def _check_bound(duration: Duration) -> None:
    # Each unit's share of ten years: P10Y, P120M, P3653D (P521W) or 2610 working days each reach it.
    share = ((duration.years * 12 + duration.months) / (12 * MAX_YEARS) + duration.days / 3653
             + duration.werkdagen / 2610)
    if share > 1:
        raise DurationError(f"duur {duration.text!r} is langer dan {MAX_YEARS} jaar: geen wettelijke termijn of "
                            f"norm duurt zo lang (een tikfout?)")


def _add_calendar(start: date, years: int, months: int, days: int) -> date:
    total = start.year * 12 + (start.month - 1) + years * 12 + months
    year, month = divmod(total, 12)
    month += 1
    day = min(start.day, _calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=days)


def add_werkdagen(start: date, count: int) -> date:
    """The date `count` working days after (or, if negative, before) `start` (Atw calendar)."""
    step = 1 if count >= 0 else -1
    day = start
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_werkdag(day):
            remaining -= 1
    return day
