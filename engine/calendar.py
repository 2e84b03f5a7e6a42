"""Where calendar dates meet instants: the municipality works in Dutch local dates.

A deadline is a date ("uiterlijk 16 maart"); it is missed from the start of the next day in the
Netherlands. Timers are stored as UTC instants so the store can index and compare them.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from engine.errors import DateOutOfRange

NL = ZoneInfo("Europe/Amsterdam")


def require_aware(now: datetime) -> datetime:
    """Refuse naive datetimes: a naive 'now' is ambiguous around DST and breaks ordering."""
    if now.tzinfo is timezone.utc:
        return now
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"time must be timezone-aware (UTC), got naive {now.isoformat()}")
    return now.astimezone(timezone.utc)


@lru_cache(maxsize=4096)
def local_date(moment: datetime) -> date:
    """The Dutch calendar date of an instant. Cached: a sweep asks it of the same `now` for every case,
    and the time zone conversion was the largest single cost after the engine's own work."""
    return moment.astimezone(NL).date()


@lru_cache(maxsize=4096)
def start_of_day(day: date) -> datetime:
    """Midnight at the start of a Dutch calendar date, as a UTC instant."""
    return datetime.combine(day, time(0, 0), tzinfo=NL).astimezone(timezone.utc)


def add_days(day: date, days: int) -> date:
    """`day` shifted by whole days; DateOutOfRange (never a bare OverflowError) past the calendar's ends."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        raise DateOutOfRange(f"{written(day)} {'+' if days >= 0 else '-'} {abs(days)} dagen valt buiten de "
                             f"kalender") from None


def written(day: date) -> str:
    """A date as people read it, `16-03-2026`, for the calendar's own errors (`engine.people_time.day`
    imports this module); also years before 1000 keep four digits, where strftime would not."""
    return f"{day.day:02d}-{day.month:02d}-{day.year:04d}"


def day_after(day: date) -> date:
    """The next calendar date (DateOutOfRange after 31 December 9999)."""
    return add_days(day, 1)


_MONTHS = {
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
           "november", "december"),
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"),
}


def long_date(day: date, language: str = "nl") -> str:
    """A date as people write it: `16 maart 2026` (Dutch) or `16 March 2026` (English)."""
    return f"{day.day} {_MONTHS[language][day.month - 1]} {day.year}"
