"""The calendar of the Algemene termijnenwet (Atw): which days are not working days, and where a statutory
term really ends (wi2021.md#13, row 16).

- Art 3 lid 1 and 2: Nieuwjaarsdag, Goede Vrijdag, tweede Paasdag, Koningsdag (27 April, or 26 April when
  the 27th is a Sunday), 5 May (every year), Hemelvaartsdag, tweede Pinksterdag and both Kerstdagen. The
  `holidays` library knows the public calendar; it keeps 5 May only in lustrum years, so 5 May is added.
- Art 3 lid 3: days equated by royal decree, per year: data in `gelijkgestelde_dagen.yaml`, each with the
  decree it comes from, never a rule in code.
- Art 1 lid 1: a statutory term that would end on a Saturday, Sunday or such a holiday runs on to and
  including the next day that is none of these. Art 2: a term of at least three days includes at least
  two such working days. The Atw moves the END of a term only, and only of a term set by law or AMvB
  (a clock with `atw: true`); local norms do not get it.

Working-day durations (`10 werkdagen`) use the same calendar.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources

import holidays
import yaml

from engine.calendar import day_after

DECREES_FILE = "gelijkgestelde_dagen.yaml"


@dataclass(frozen=True)
class Decree:
    """A royal decree that equates days with a holiday for the Atw (art 3 lid 3)."""

    title: str
    source: str
    confidence: str
    years: tuple[int, ...]
    days: tuple[date, ...]


@lru_cache(maxsize=1)
def decrees() -> tuple[Decree, ...]:
    """The decrees in `gelijkgestelde_dagen.yaml` (read once; the file ships with the engine)."""
    text = resources.files("engine").joinpath(DECREES_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    found = []
    for item in data["decrees"]:
        days = tuple(d if isinstance(d, date) else date.fromisoformat(d) for d in item["days"])
        found.append(Decree(title=item["title"], source=item["source"], confidence=item["confidence"],
                            years=tuple(item["years"]), days=days))
    return tuple(found)


def decreed_years() -> frozenset[int]:
    """The years for which the decreed days are known (a decree covers them)."""
    return frozenset(y for d in decrees() for y in d.years)


@lru_cache(maxsize=128)
def feestdagen(year: int) -> frozenset[date]:
    """The days of `year` that count as generally recognised holidays under the Atw (art 3)."""
    days = set(holidays.Netherlands(years=year))  # incl. Goede Vrijdag and Koningsdag on the 26th
    days.add(date(year, 5, 5))  # every year for the Atw, not only in lustrum years
    days.update(d for decree in decrees() for d in decree.days if d.year == year)
    return frozenset(days)


def is_werkdag(day: date) -> bool:
    """Monday to Friday and not a holiday under the Algemene termijnenwet (art 3, incl. decreed days)."""
    return day.weekday() < 5 and day not in feestdagen(day.year)


def atw_last_day(first_day: date, last_day: date) -> date:
    """The last day of a statutory term that runs from `first_day` to `last_day` as counted, under the Atw.

    Art 1: a last day on a Saturday, Sunday or holiday moves to the next working day. Art 2: a term of
    at least three days includes at least two working days.
    """
    end = last_day
    while not is_werkdag(end):
        end = day_after(end)
    if (last_day - first_day).days >= 2:
        # The second working day from the first day (found within days for any real term).
        day, count = first_day, int(is_werkdag(first_day))
        while count < 2:
            day = day_after(day)
            count += is_werkdag(day)
        end = max(end, day)
    return end
