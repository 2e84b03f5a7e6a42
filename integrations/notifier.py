"""Telling a role that something needs doing: the `Notifier` interface, what it reports, and a log notifier.

The outbox delivery (app/delivery.py) hands every `NotifyRole` command to a `Notifier`. A notifier
delivers the message to every recipient of the role and returns a `DeliveryReport`, or raises a
`NotificationFailed` (carrying the report of what did happen, when there is one), so the outbox row
stays pending for the next attempt. Two notifiers implement it: `AppriseNotifier` (email and chat to
the partners in the municipality profiles) and `LogNotifier` (logs and records each notice; the demo,
whose partners are fictional, and tests).

Commands carry process data only (case reference, step, role, deadline), so logging them is allowed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from engine.commands import NotifyRole

logger = logging.getLogger("regie.notifier")


@dataclass(frozen=True)
class CaseNote:
    """Something about delivery the case history must show (the caller writes it; process data only)."""

    case_ref: str
    kind: str
    """`notification_unroutable` (nobody fills the role), or `notification_waiting` (a channel of the
    recipient is down: the message waits, the coordinator hears of the outage once)"""
    ref: str
    """the role concerned"""
    detail: str


@dataclass(frozen=True)
class DeliveryReport:
    """What happened to one command, per recipient id."""

    key: str
    delivered: tuple[str, ...] = ()
    already: tuple[str, ...] = ()
    queued: tuple[str, ...] = ()
    failed: Mapping[str, str] = field(default_factory=dict)
    """recipients not reached, with why (including those only `waiting`)"""
    waiting: tuple[str, ...] = ()
    """recipients not tried now (their backoff has not run out, another run is sending to them, their
    channels are down), or tried only on channels already known to be down (a probe): nothing new failed"""
    notes: tuple[CaseNote, ...] = ()
    retry_at: datetime | None = None
    """the earliest moment a recipient not reached may be tried again (None: at once, or nobody waits)"""

    @property
    def attempted(self) -> bool:
        """Whether anything was sent, or newly failed, now; False when every open recipient was only waiting."""
        return bool(self.delivered or self.queued or set(self.failed) - set(self.waiting))


@dataclass(frozen=True)
class DigestReport:
    """Digests sent now (their keys) and messages left for a later digest."""

    sent: tuple[str, ...] = ()
    waiting: int = 0


class NotificationFailed(Exception):
    """The message did not reach every recipient; the outbox keeps the command for another attempt.

    `report` says what did happen (recipients reached, waiting, notes for the case history) when the
    notifier got as far as trying; None when it could not even start (no partner directory, say).
    """

    def __init__(self, message: str, report: DeliveryReport | None = None):
        super().__init__(message)
        self.report = report


class MessageRefused(NotificationFailed):
    """The message cannot be rendered (privacy guard, missing variable): nothing was sent to anyone."""


class DeliveryIncomplete(NotificationFailed):
    """Some recipients were not reached (the outbox row stays pending); `report` says what did happen,
    including notes for the case history (an escalation happens on a failed attempt)."""

    report: DeliveryReport

    def __init__(self, message: str, report: DeliveryReport):
        super().__init__(message, report)


class Notifier(Protocol):
    """Delivers notices to whoever fills a role for a case, and the partners' daily digests."""

    def deliver(self, command: NotifyRole) -> DeliveryReport:
        """Deliver to every recipient of the role, or raise `NotificationFailed`. Delivering the same
        key twice is harmless: recipients that got it are not sent it again."""
        ...

    def send_digests(self, now: datetime | None = None) -> DigestReport:
        """Send today's digest to every partner with queued messages; raise `NotificationFailed` if any
        could not be sent (their messages stay queued)."""
        ...

    def deliver_many(self, commands: Sequence[NotifyRole]) -> list[DeliveryReport | NotificationFailed]:
        """`deliver` for each command, answered in their order: the report, or the `NotificationFailed` that
        `deliver` would raise (one command refused or not reached does not stop the others)."""
        ...

    def batch(self) -> AbstractContextManager[Any]:
        """A block in which a drained batch is delivered (a notifier may share reads and writes over it)."""
        ...


class OneAtATime:
    """`deliver_many` and `batch` for a notifier that delivers each command on its own (the log notifier,
    test fakes); `AppriseNotifier` claims and records recipients a chunk at a time instead."""

    def deliver_many(self, commands: Sequence[NotifyRole]) -> list[DeliveryReport | NotificationFailed]:
        results: list[DeliveryReport | NotificationFailed] = []
        for command in commands:
            try:
                results.append(self.deliver(command))  # type: ignore[attr-defined]
            except NotificationFailed as exc:
                results.append(exc)
        return results

    def batch(self) -> AbstractContextManager[Any]:
        return nullcontext()


@dataclass
class LogNotifier(OneAtATime):
    """Logs each notice and records it (in memory, and optionally in a JSON-lines file).

    Idempotent by command key: a key already recorded is not recorded or logged again. `fail_roles`
    lets a test see how delivery behaves when a channel is down. It has no digest partners.
    """

    ledger: Path | None = None
    fail_roles: frozenset[str] = frozenset()
    sent: list[NotifyRole] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._keys = {c.key for c in self.sent}
        if self.ledger is not None and self.ledger.exists():
            with self.ledger.open(encoding="utf-8") as lines:
                self._keys.update(json.loads(line)["key"] for line in lines if line.strip())

    def deliver(self, command: NotifyRole) -> DeliveryReport:
        """Record the notice; raise `DeliveryIncomplete` for a role in `fail_roles`."""
        if command.role in self.fail_roles:
            why = f"geen kanaal voor rol '{command.role}' (zaak {command.case_ref})"
            raise DeliveryIncomplete(why, DeliveryReport(command.key, failed={command.role: why}))
        if command.key in self._keys:
            return DeliveryReport(command.key, already=(command.role,))
        logger.info("notified %s about case %s (%s)", command.role, command.case_ref, command.template)
        if self.ledger is not None:
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
            entry = {"key": command.key, "case_ref": command.case_ref, "role": command.role,
                     "template": command.template}
            with self.ledger.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
        self._keys.add(command.key)
        self.sent.append(command)
        return DeliveryReport(command.key, delivered=(command.role,))

    def send_digests(self, now: datetime | None = None) -> DigestReport:
        """Nothing waits for a digest here."""
        return DigestReport()
