"""Delivery reports from the notifier reach the outbox outcome: notes for the case history, and
recipients still in backoff that must not use up the outbox's attempts."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.delivery import BatchOutcome, _notify
from engine.commands import NotifyRole
from integrations.notifier import CaseNote, DeliveryIncomplete, DeliveryReport, OneAtATime

COMMAND = NotifyRole(key="C-1:7:notify", case_ref="C-1", role="werkgever", template="bericht")
NOTE = CaseNote("C-1", "notification_unroutable", "werkgever", "geen ontvanger voor rol werkgever")


@dataclass
class Notifier(OneAtATime):
    """A notifier of our own: returns or raises what the test gives it."""

    outcome: object
    sent: list = field(default_factory=list)

    def deliver(self, command):
        self.sent.append(command)
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome

    def send_digests(self, now=None):  # pragma: no cover - not used by delivery
        raise AssertionError("no digests here")


def test_notes_of_a_delivered_message_are_kept_for_the_case_history():
    outcome = BatchOutcome()
    _notify(COMMAND.key, COMMAND, Notifier(DeliveryReport(COMMAND.key, delivered=("x",), notes=(NOTE,))), outcome)
    assert outcome.errors == {COMMAND.key: None} and outcome.notes[COMMAND.key] == [NOTE]


def test_recipients_still_in_backoff_leave_the_row_pending_without_counting_an_attempt():
    outcome = BatchOutcome()
    waiting = DeliveryReport(COMMAND.key, failed={"x": "waiting to retry"}, waiting=("x",))
    _notify(COMMAND.key, COMMAND, Notifier(DeliveryIncomplete("waiting", waiting)), outcome)
    assert COMMAND.key in outcome.failed and COMMAND.key in outcome.waiting


def test_a_failed_attempt_counts():
    outcome = BatchOutcome()
    _notify(COMMAND.key, COMMAND, Notifier(DeliveryIncomplete("smtp down", DeliveryReport(COMMAND.key, failed={"x": "smtp down"}))),
            outcome)
    assert COMMAND.key in outcome.failed and COMMAND.key not in outcome.waiting
