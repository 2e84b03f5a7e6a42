"""Carrying out outbox commands: open and close inbox runs, publish case events, notify roles.

`deliver` takes a batch of queued commands, does the side effect of each, and says per command key
whether it succeeded. The caller marks a command delivered only when it did, so a failure leaves it
pending for the next run. Every side effect is idempotent by command key (inbox runs by case and task,
events by an id derived from the key, notices by key), so delivering twice is harmless, and two drains
running at once are too.

Order matters only within an inbox entry: in a batch, opens go before closes. An open whose task is no
longer open (a close got there first, e.g. after the open failed once) creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
from prefect.client.orchestration import PrefectClient

from engine.commands import CloseUserTask, EmitEvent, NotifyRole, OpenUserTask
from integrations.notifier import NotificationFailed, Notifier
from tasks import events, inbox


@dataclass(frozen=True)
class CaseFacts:
    """What delivery needs to know about the cases in a batch, read from the case store at once."""

    municipality: dict[str, str]
    """case_ref -> municipality"""
    open_tasks: set[tuple[str, str]]
    """(case_ref, task_id) of every task still open"""


@dataclass
class DeliveryOutcome:
    """Per command key: None when delivered, else the error. Plus counts for the run's summary."""

    errors: dict[str, str | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, list[Any]] = field(default_factory=dict)
    """per command key: lines the case history must show (undeliverable, escalated)"""
    waiting: set[str] = field(default_factory=set)
    """keys whose recipients were not tried yet (backoff): pending, but not a failed attempt"""

    def ok(self, key: str, what: str) -> None:
        self.errors[key] = None
        self.counts[what] = self.counts.get(what, 0) + 1

    def fail(self, key: str, error: BaseException | str) -> None:
        self.errors[key] = error if isinstance(error, str) else f"{type(error).__name__}: {error}"

    @property
    def failed(self) -> dict[str, str]:
        return {k: e for k, e in self.errors.items() if e is not None}


API_ERRORS = (httpx.HTTPError, RuntimeError)
"""What talking to Prefect can raise (transport errors, refused requests, refused bulk entries).
Anything else is a bug and is raised at once."""

Item = tuple[str, Any]
"""(command key, engine command)"""


async def deliver(items: Sequence[Item], *, client: PrefectClient, inbox_deployment: UUID | None,
                  notifier: Notifier, facts: Callable[[set[str]], CaseFacts], now: datetime) -> DeliveryOutcome:
    """Carry out each command once; errors are collected per key, never swallowed (see `failed`)."""
    outcome = DeliveryOutcome()
    known = facts({command.case_ref for _, command in items})
    await _open(items, client, inbox_deployment, known, outcome)
    for key, command in items:
        if isinstance(command, CloseUserTask):
            try:
                result = await inbox.close_entry(client, command.case_ref, command.task_id, command.reason)
                outcome.ok(key, f"inbox {result}")
            except API_ERRORS as exc:  # recorded on the outbox row; the caller fails the run afterwards
                outcome.fail(key, exc)
    emitted = [(key, c) for key, c in items if isinstance(c, EmitEvent)]
    if emitted:
        try:
            await events.publish(client, [events.case_event(c, known.municipality.get(c.case_ref, "onbekend"), now)
                                          for _, c in emitted])
            for key, _ in emitted:
                outcome.ok(key, "events")
        except API_ERRORS as exc:
            for key, _ in emitted:
                outcome.fail(key, exc)
    for key, command in items:
        if isinstance(command, NotifyRole):
            _notify(key, command, notifier, outcome)
    return outcome


def _notify(key: str, command: NotifyRole, notifier: Notifier, outcome: DeliveryOutcome) -> None:
    # A notifier with `deliver` (the apprise notifier) reports per recipient, with notes for the case.
    deliver_one = getattr(notifier, "deliver", None)
    try:
        report = deliver_one(command) if deliver_one is not None else notifier.notify(command)
    except NotificationFailed as exc:
        report = getattr(exc, "report", None)
        if report is not None:
            outcome.notes[key] = list(report.notes)
            if not report.attempted:
                outcome.waiting.add(key)
        outcome.fail(key, exc)
        return
    if report is not None:
        outcome.notes[key] = list(report.notes)
    outcome.ok(key, "notices")


async def _open(items: Sequence[Item], client: PrefectClient, deployment: UUID | None, known: CaseFacts,
                outcome: DeliveryOutcome) -> None:
    opens = [(key, c) for key, c in items if isinstance(c, OpenUserTask)]
    live = [(key, c) for key, c in opens if (c.case_ref, c.task_id) in known.open_tasks]
    for key, c in opens:
        if (c.case_ref, c.task_id) not in known.open_tasks:
            outcome.ok(key, "inbox skipped (task no longer open)")
    if not live:
        return
    if deployment is None:
        raise ValueError("inbox tasks to open, but no inbox deployment given")
    entries = [inbox.InboxEntry.from_command(c, known.municipality[c.case_ref]) for _, c in live]
    try:
        await inbox.open_entries(client, deployment, entries)
    except API_ERRORS as exc:  # the whole group is retried; creating is idempotent
        for key, _ in live:
            outcome.fail(key, exc)
        return
    for key, _ in live:
        outcome.ok(key, "inbox opened")
