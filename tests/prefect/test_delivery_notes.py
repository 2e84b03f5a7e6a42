"""Delivery reports from the notifier reach the outbox outcome: notes for the case history, and
recipients still in backoff that must not use up the outbox's attempts."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.commands import NotifyRole
from integrations.apprise_notifier import CaseNote, DeliveryIncomplete
from tasks.delivery import DeliveryOutcome, _notify

COMMAND = NotifyRole(key="C-1:7:notify", case_ref="C-1", role="werkgever", template="bericht")
NOTE = CaseNote("C-1", "notification_unroutable", "werkgever", "geen ontvanger voor rol werkgever")


@dataclass
class Report:
    notes: tuple = ()
    attempted: bool = True


@dataclass
class Notifier:
    """A notifier of our own with the apprise notifier's `deliver` shape."""

    outcome: object
    sent: list = field(default_factory=list)

    def deliver(self, command):
        self.sent.append(command)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def notify(self, command):  # pragma: no cover - `deliver` is preferred when present
        raise AssertionError("deliver should be used")


def test_notes_of_a_delivered_message_are_kept_for_the_case_history():
    outcome = DeliveryOutcome()
    _notify(COMMAND.key, COMMAND, Notifier(Report(notes=(NOTE,))), outcome)
    assert outcome.errors == {COMMAND.key: None} and outcome.notes[COMMAND.key] == [NOTE]


def test_recipients_still_in_backoff_leave_the_row_pending_without_counting_an_attempt():
    outcome = DeliveryOutcome()
    _notify(COMMAND.key, COMMAND, Notifier(DeliveryIncomplete("waiting", Report(attempted=False))), outcome)
    assert COMMAND.key in outcome.failed and COMMAND.key in outcome.waiting


def test_a_failed_attempt_counts():
    outcome = DeliveryOutcome()
    _notify(COMMAND.key, COMMAND, Notifier(DeliveryIncomplete("smtp down", Report(attempted=True))), outcome)
    assert COMMAND.key in outcome.failed and COMMAND.key not in outcome.waiting
