"""Durations as the municipality writes them: ISO 8601 (`P10W`, `P3Y`, `P18M`) or working days (`10 werkdagen`).

Legal terms are counted in calendar dates, not in seconds: "ten weeks after 2 March" is a date. So a
duration is applied to a `date` and yields a `date`; the interpreter turns dates into instants in one
place (`engine.calendar.start_of_day`).
"""

from __future__ import annotations

import calendar as _calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

_ISO = re.compile(r"^P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?$")
_WERKDAGEN = re.compile(r"^(?P<n>\d+)\s*(?:werkdag(?:en)?|working[ _]days?|WD)$", re.IGNORECASE)


class DurationError(ValueError):
    """A duration text that is neither ISO 8601 (`P10W`) nor working days (`10 werkdagen`)."""


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
        """The date this duration after `start` (months clamp to the month's last day)."""
        if self.werkdagen:
            return add_werkdagen(start, self.werkdagen)
        return _add_calendar(start, self.years, self.months, self.days)

    def before(self, end: date) -> date:
        """The date this duration before `end`."""
        if self.werkdagen:
            return add_werkdagen(end, -self.werkdagen)
        return _add_calendar(end, -self.years, -self.months, -self.days)

    def approx_days(self) -> int:
        """A rough length in days, only for sanity checks (a cycle of zero length) and ordering."""
        return self.years * 365 + self.months * 30 + self.days + self.werkdagen * 7 // 5

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=4096)
def parse_duration(text: str) -> Duration:
    """Parse `P10W`, `P3Y`, `P1Y6M`, `P2D`, `10 werkdagen`; raise DurationError naming the bad text."""
    if not isinstance(text, str):
        raise DurationError(f"duration must be text such as 'P10W' or '10 werkdagen', got {text!r}")
    clean = text.strip()
    if m := _WERKDAGEN.match(clean):
        return Duration(werkdagen=int(m["n"]), text=clean)
    m = _ISO.match(clean)
    if not m or clean == "P":
        raise DurationError(
            f"bad duration {text!r}: use ISO 8601 calendar units (P3Y, P18M, P10W, P5D) or 'N werkdagen'"
        )
    weeks = int(m["weeks"] or 0)
    return Duration(
        years=int(m["years"] or 0),
        months=int(m["months"] or 0),
        days=int(m["days"] or 0) + 7 * weeks,
        text=clean,
    )


def _add_calendar(start: date, years: int, months: int, days: int) -> date:
    total = start.year * 12 + (start.month - 1) + years * 12 + months
    year, month = divmod(total, 12)
    month += 1
    day = min(start.day, _calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=days)


@lru_cache(maxsize=64)
def _feestdagen(year: int) -> frozenset[date]:
    # The Algemene termijnenwet (art. 3) decides which days do not count for legal terms: Sundays, New
    # Year's Day, Easter Monday, Ascension Day, Whit Monday, both Christmas days, King's Day and 5 May
    # every year. The `holidays` calendar follows the public calendar instead: it adds Good Friday and
    # keeps 5 May only in lustrum years. We correct both so a term in working days matches the law.
    days = {d for d, name in holidays.Netherlands(years=year).items() if name != "Good Friday"}
    days.add(date(year, 5, 5))
    return frozenset(days)


def is_werkdag(day: date) -> bool:
    """Monday to Friday and not a public holiday under the Algemene termijnenwet."""
    return day.weekday() < 5 and day not in _feestdagen(day.year)


def add_werkdagen(start: date, count: int) -> date:
    """The date `count` working days after (or, if negative, before) `start`."""
    step = 1 if count >= 0 else -1
    day = start
    remaining = abs(count)
    while remaining:
        day += timedelta(days=step)
        if is_werkdag(day):
            remaining -= 1
    return day
