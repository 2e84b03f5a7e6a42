"""The calendar of the Algemene termijnenwet: its holidays, the days equated by royal decree (data with their
source), and where a statutory term really ends (wi2021.md#13, row 16)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from engine.feestdagen import atw_last_day, decreed_years, decrees, feestdagen, is_werkdag


def weekdays(days: frozenset[date]) -> list[str]:
    return sorted(d.isoformat() for d in days if d.weekday() < 5)


def test_the_atw_holidays_of_2026_on_weekdays_worked_out_by_hand():
    # Atw art 3: Nieuwjaarsdag (Thu 1 Jan) and the decreed Friday 2 Jan, Goede Vrijdag 3 Apr, tweede
    # Paasdag 6 Apr, Koningsdag Mon 27 Apr, 5 May (a Tuesday; every year, not only in lustrum years),
    # Hemelvaartsdag Thu 14 May and the decreed Friday 15 May, tweede Pinksterdag 25 May, Kerstmis
    # Fri 25 Dec (26 Dec is a Saturday).
    assert weekdays(feestdagen(2026)) == [
        "2026-01-01", "2026-01-02", "2026-04-03", "2026-04-06", "2026-04-27", "2026-05-05", "2026-05-14",
        "2026-05-15", "2026-05-25", "2026-12-25"]


def test_koningsdag_is_the_26th_when_the_27th_is_a_sunday():
    # 27 April 2025 is a Sunday: the King's birthday is celebrated on Saturday 26 April.
    assert date(2025, 4, 27).weekday() == 6
    assert date(2025, 4, 26) in feestdagen(2025) and date(2025, 4, 27) not in feestdagen(2025)
    assert date(2026, 4, 27) in feestdagen(2026) and date(2026, 4, 26) not in feestdagen(2026)


def test_five_may_counts_every_year():
    assert all(not is_werkdag(date(year, 5, 5)) for year in range(2022, 2036))


def test_every_decreed_day_is_a_working_day_otherwise_inside_the_years_its_decree_covers():
    for decree in decrees():
        assert decree.source.startswith("https://") and decree.title and decree.confidence in ("H", "M", "L")
        for day in decree.days:
            assert day.year in decree.years, (decree.title, day)
            assert day.weekday() < 5, (decree.title, day)
    # Known from 2022 (when Wi2021 starts) through 2028; the decree for 2029–2031 is not published yet.
    assert decreed_years() == frozenset(range(2022, 2029))


@pytest.mark.parametrize(("last_day", "expected", "why"), [
    ("2026-03-07", "2026-03-09", "a Saturday runs on to Monday"),
    ("2026-04-03", "2026-04-07", "Goede Vrijdag, the weekend and Easter Monday: Tuesday"),
    ("2026-04-27", "2026-04-28", "Koningsdag on Monday 27 April: Tuesday"),
    ("2025-04-26", "2025-04-28", "Koningsdag on Saturday 26 April 2025 (the 27th is a Sunday): Monday"),
    ("2026-05-05", "2026-05-06", "5 May 2026, a Tuesday: Wednesday"),
    ("2026-05-14", "2026-05-18", "Ascension, the decreed Friday 15 May and the weekend: Monday"),
    ("2026-05-15", "2026-05-18", "the decreed bridging day itself: Monday"),
    ("2026-05-25", "2026-05-26", "tweede Pinksterdag: Tuesday"),
    ("2026-12-25", "2026-12-28", "Christmas on Friday, Saturday 26th, Sunday: Monday"),
    ("2026-01-01", "2026-01-05", "Nieuwjaarsdag, the decreed Friday 2 January and the weekend: Monday"),
    ("2026-03-10", "2026-03-10", "a working day stays"),
])
def test_a_statutory_term_ending_on_a_weekend_or_holiday_runs_on_to_the_next_working_day(last_day, expected, why):
    end = date.fromisoformat(last_day)
    assert atw_last_day(end - timedelta(days=69), end).isoformat() == expected, why


def test_a_term_of_three_days_or_more_includes_two_working_days():
    # Atw art 2: Thursday 24 Dec 2026 to Saturday 26 Dec counts only the 24th as a working day; art 1
    # moves the end to Monday 28 Dec, which is the second working day.
    assert atw_last_day(date(2026, 12, 24), date(2026, 12, 26)) == date(2026, 12, 28)
    # Wednesday 30 Dec 2026 to Friday 1 Jan 2027: 30 and 31 Dec are working days, 1 Jan is not: Monday 4 Jan.
    assert atw_last_day(date(2026, 12, 30), date(2027, 1, 1)) == date(2027, 1, 4)
    # Friday 2 Jan 2026 (decreed) to Monday 5 Jan: only the 5th counts, so the term runs to Tuesday 6 Jan.
    assert atw_last_day(date(2026, 1, 2), date(2026, 1, 5)) == date(2026, 1, 6)
