"""Durations as the municipality writes them, and Dutch working days under the Algemene termijnenwet."""

from __future__ import annotations

from datetime import date

import pytest

from engine.durations import DurationError, add_werkdagen, is_werkdag, parse_duration
from engine.errors import DateOutOfRange


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("P10W", "2026-01-05", "2026-03-16"),
        ("P3Y", "2026-03-03", "2029-03-03"),
        ("P18M", "2026-03-03", "2027-09-03"),
        ("P1M", "2026-01-31", "2026-02-28"),
        ("P1Y", "2028-02-29", "2029-02-28"),
        ("P1Y6M2W3D", "2026-01-01", "2027-07-18"),
        ("P0D", "2026-01-01", "2026-01-01"),
    ],
)
def test_iso_durations_count_calendar_units(text, start, expected):
    assert parse_duration(text).after(date.fromisoformat(start)).isoformat() == expected


def test_a_duration_before_a_date_counts_back():
    assert parse_duration("P6M").before(date(2029, 3, 2)).isoformat() == "2028-09-02"


@pytest.mark.parametrize("text", ["10 werkdagen", "10 werkdag", "10 working days", "10WD", " 10 Werkdagen "])
def test_working_days_can_be_written_in_dutch_or_english(text):
    assert parse_duration(text).werkdagen == 10


@pytest.mark.parametrize("text", ["tien weken", "P", "10 weken", "PT5H", "P-1D", "", "P1.5Y"])
def test_bad_durations_say_what_is_accepted(text):
    with pytest.raises(DurationError, match=r"onbruikbare duur .*: gebruik ISO 8601-eenheden \(P3Y, P18M, P10W, P5D\) "
                                            r"of 'N werkdagen'"):
        parse_duration(text)


def test_working_days_skip_weekends_and_holidays_under_the_algemene_termijnenwet():
    assert not is_werkdag(date(2026, 4, 6))  # Easter Monday
    assert not is_werkdag(date(2026, 4, 27))  # King's Day
    assert not is_werkdag(date(2026, 5, 5))  # 5 May counts every year for legal terms
    assert not is_werkdag(date(2026, 12, 26))  # Boxing Day (a Saturday anyway)
    assert not is_werkdag(date(2026, 4, 3))  # Goede Vrijdag: Atw art 3 lid 2 equates it
    assert not is_werkdag(date(2026, 5, 15))  # the Friday after Ascension, equated by royal decree
    assert is_werkdag(date(2026, 5, 4))  # the Monday before 5 May 2026 was not equated
    assert not is_werkdag(date(2026, 1, 3))  # a Saturday


def test_ten_working_days_across_christmas_and_new_year():
    # Fri 18 Dec 2026 + 10 working days: 21, 22, 23, 24, 28, 29, 30, 31 Dec, 4, 5 Jan.
    assert add_werkdagen(date(2026, 12, 18), 10) == date(2027, 1, 5)
    assert add_werkdagen(date(2027, 1, 5), -10) == date(2026, 12, 18)


def test_working_days_skip_goede_vrijdag_and_a_decreed_bridging_day():
    # Thu 2 Apr 2026 + 2 working days: Goede Vrijdag 3 Apr, the weekend and Easter Monday 6 Apr do not
    # count: 7 and 8 April.
    assert add_werkdagen(date(2026, 4, 2), 2) == date(2026, 4, 8)
    # Wed 13 May 2026 + 1 working day: Ascension (Thu 14) and the decreed Friday 15 May do not count.
    assert add_werkdagen(date(2026, 5, 13), 1) == date(2026, 5, 18)


@pytest.mark.parametrize(("text", "start", "expected"), [
    # wi2021.md#13, row 17: from an event on day D, N months or years end on D's day number, or on the
    # last day of the month where that day does not exist.
    ("P3Y", "2028-02-28", "2031-02-28"),   # 28 Feb 2028 (a leap year) + 3 years
    ("P3Y", "2028-02-29", "2031-02-28"),   # 29 Feb 2031 does not exist: last day of February
    ("P6M", "2026-08-31", "2027-02-28"),   # a month term from 31 August ends on the last day of February
    ("P18M", "2026-08-31", "2028-02-29"),  # ... and in a leap year on the 29th
    ("P1M", "2026-01-30", "2026-02-28"),
    ("P10W", "2026-03-02", "2026-05-11"),  # 2 March + 70 days
])
def test_calendar_units_count_from_the_event_day_to_the_same_day_number(text, start, expected):
    assert parse_duration(text).after(date.fromisoformat(start)).isoformat() == expected


@pytest.mark.parametrize("text", ["P10Y", "P120M", "P521W", "P3653D", "P5Y60M", "2610 werkdagen"])
def test_durations_up_to_ten_years_are_accepted(text):
    assert parse_duration(text).text == text


@pytest.mark.parametrize("text", ["P99999Y", "P11Y", "P121M", "P522W", "P3654D", "P10Y1D", "2611 werkdagen"])
def test_durations_beyond_ten_years_are_refused_when_read(text):
    with pytest.raises(DurationError, match=f"'{text}' is langer dan 10 jaar"):
        parse_duration(text)


def test_a_date_beyond_the_calendar_is_a_typed_error_naming_the_duration_and_the_date():
    with pytest.raises(DateOutOfRange, match="P3Y na 01-06-9998 valt na de laatste datum die de kalender kent"):
        parse_duration("P3Y").after(date(9998, 6, 1))
    with pytest.raises(DateOutOfRange, match="P2W na 25-12-9999"):
        parse_duration("P2W").after(date(9999, 12, 25))
    with pytest.raises(DateOutOfRange, match="P1M vóór 15-01-0001 valt vóór de eerste datum die de kalender kent"):
        parse_duration("P1M").before(date(1, 1, 15))
