"""Dates and times for people: Amsterdam time, 24-hour, the zone said, one date format."""

from __future__ import annotations

from datetime import UTC, date, datetime

from engine.calendar import start_of_day
from engine.people_time import choice, day, moment, short_moment


def test_a_deadline_passes_at_midnight_in_amsterdam_not_at_23_00_on_its_due_day():
    # Due on 16 March 2026: missed from the start of the 17th, Dutch time, which is 23:00 UTC on the 16th.
    passes = start_of_day(date(2026, 3, 17))
    assert passes == datetime(2026, 3, 16, 23, 0, tzinfo=UTC)
    assert moment(passes) == "17-03-2026 00:00 (Amsterdam)"
    assert day(passes) == "17-03-2026"


def test_summer_time_is_shown_as_people_read_the_clock():
    assert moment(datetime(2026, 7, 1, 12, 5, tzinfo=UTC)) == "01-07-2026 14:05 (Amsterdam)"
    assert short_moment(datetime(2026, 1, 1, 12, 5, tzinfo=UTC)) == "01-01-2026 13:05"


def test_a_choice_reads_as_words():
    assert choice("snelle_start") == "Snelle start"
    assert choice("b1_route") == "B1 route"
