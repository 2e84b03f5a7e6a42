"""Dates, times and choices as Regie shows them to people: one format, one clock, Dutch words.

Regie stores instants in UTC; people in the municipality read Amsterdam time. Every text for people
(the command line, inbox forms, run names, artifacts, notices) formats through here, so a time never
appears in UTC without saying so, and a date is always written the same way: `16-03-2026`.

A deadline is a date: it passes at the start of the next day in Amsterdam. Shown as an instant that
is midnight, Amsterdam time, never "23:00" on the due day (the same moment in UTC in winter).
"""

from __future__ import annotations

from datetime import date, datetime

from engine.calendar import NL

ZONE = "Amsterdam"


def day(value: date | datetime) -> str:
    """A date as people here write it: `16-03-2026` (an instant: its date in Amsterdam)."""
    if isinstance(value, datetime):
        value = value.astimezone(NL).date()
    return f"{value:%d-%m-%Y}"


def moment(value: datetime) -> str:
    """An instant in Amsterdam time, 24-hour, with the zone named: `16-03-2026 14:05 (Amsterdam)`."""
    return f"{value.astimezone(NL):%d-%m-%Y %H:%M} ({ZONE})"


def short_moment(value: datetime) -> str:
    """An instant where the zone is said once nearby (a list, a run name): `16-03-2026 14:05`."""
    return f"{value.astimezone(NL):%d-%m-%Y %H:%M}"


def choice(value: str) -> str:
    """How a choice in a definition reads for people: `snelle_start` -> `Snelle start`."""
    text = str(value).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


STATUS = {"active": "loopt", "completed": "afgerond", "cancelled": "geannuleerd", "stuck": "vastgelopen",
          "terminated": "beëindigd"}
"""A case's status in the words of the team."""


def status(value: str) -> str:
    """A case status in Dutch (`active` -> `loopt`); an unknown one as it is."""
    return STATUS.get(str(value), str(value))


CLOCK_STATUS = {"running": "loopt", "paused": "gepauzeerd", "stopped": "gestopt", "expired": "verlopen"}

DUE_KIND = {"reminder": "herinnering", "task_deadline": "termijn verstrijkt", "escalation": "escalatie",
            "timer_event": "wachttijd voorbij", "message_timeout": "wachten op bericht voorbij",
            "boundary": "signaal", "milestone": "mijlpaal", "clock_expiry": "termijn loopt af",
            "clock_resume": "termijn loopt weer"}
"""What a scheduled timer does, in the team's words."""

HISTORY_KIND = {
    "case_started": "zaak gestart", "case_completed": "zaak afgerond", "case_terminated": "zaak beëindigd",
    "phase_entered": "fase begonnen", "message_received": "bericht ontvangen", "notified": "bericht gestuurd",
    "migrated": "naar nieuwe versie", "task_opened": "taak geopend", "task_completed": "taak afgerond",
    "task_cancelled": "taak vervallen", "deadline_changed": "termijn gewijzigd", "deadline_missed": "termijn gemist",
    "reminder_sent": "herinnering gestuurd", "escalated": "geëscaleerd", "timer_fired": "wachttijd voorbij",
    "message_timeout": "geen bericht gekomen", "subprocess_started": "deelproces gestart",
    "subprocess_completed": "deelproces afgerond", "subprocess_cancelled": "deelproces vervallen",
    "clock_started": "termijn gestart", "clock_restarted": "termijn opnieuw gestart",
    "clock_paused": "termijn gepauzeerd", "clock_resume_planned": "termijn loopt weer vanaf",
    "clock_resumed": "termijn loopt weer", "clock_extended": "termijn verlengd", "clock_stopped": "termijn gestopt",
    "clock_expired": "termijn verlopen", "milestone_reached": "mijlpaal bereikt", "warning": "waarschuwing",
}
"""Every kind of history line (engine.state.HistoryKind) in the team's words."""


def said(words: dict[str, str], value: str) -> str:
    """`value` in the team's words from one of the tables above; an unknown one as it is."""
    return words.get(str(value), str(value))
