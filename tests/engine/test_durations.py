"""Durations as the municipality writes them, and Dutch working days under the Algemene termijnenwet."""

from __future__ import annotations

from datetime import date

import pytest

from engine.durations import DurationError, add_werkdagen, is_werkdag, parse_duration


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
    with pytest.raises(DurationError, match="use ISO 8601 calendar units"):
        parse_duration(text)


def test_working_days_skip_weekends_and_holidays_under_the_algemene_termijnenwet():
    assert not is_werkdag(date(2026, 4, 6))  # Easter Monday
    assert not is_werkdag(date(2026, 4, 27))  # King's Day
    assert not is_werkdag(date(2026, 5, 5))  # 5 May counts every year for legal terms
    assert not is_werkdag(date(2026, 12, 26))  # Boxing Day (a Saturday anyway)
    assert is_werkdag(date(2026, 4, 3))  # Good Friday is not in the Algemene termijnenwet
    assert not is_werkdag(date(2026, 1, 3))  # a Saturday


def test_ten_working_days_across_christmas_and_new_year():
    # Fri 18 Dec 2026 + 10 working days: 21, 22, 23, 24, 28, 29, 30, 31 Dec, 4, 5 Jan.
    assert add_werkdagen(date(2026, 12, 18), 10) == date(2027, 1, 5)
    assert add_werkdagen(date(2027, 1, 5), -10) == date(2026, 12, 18)
