"""Delivering the outbox: read pending commands, carry out each one's side effect, record the outcome.

Commands go to three channels: inbox runs and case events to Prefect (`Channels`), notices to the
partners (`integrations.notifier.Notifier`). Every side effect is idempotent by command key (inbox runs
by case and task, events by an id derived from the key, notices by key and recipient), so delivering
twice is harmless, and two drains running at once are too.

A command is marked delivered only after its side effect succeeded; a failure is recorded on its row
(`attempts`, `last_error`) and `DeliveryFailed` is raised once the rest of the batch is done, so the
Prefect run shows Failed and the next run tries again. A command that failed `MAX_ATTEMPTS` times is
no longer picked up (it stays visible in the outbox with its last error). Delivery notes (a message
nobody could receive, an escalation) are written to the case history.

Order matters only within an inbox entry: in a batch, opens go before closes. An open whose task is no
longer open (a close got there first, e.g. after the open failed once) creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from app.cases import CaseService
from app.clock import utc_now
from engine.commands import CloseUserTask, Command, EmitEvent, NotifyRole, OpenUserTask
from integrations.inbox import CloseOutcome, InboxEntry
from integrations.notifier import CaseNote, NotificationFailed, Notifier
from integrations.prefect_channels import API_ERRORS, prefect_channels
from store import queries

MAX_ATTEMPTS = 50
UNKNOWN_MUNICIPALITY = "onbekend"


class DeliveryFailed(RuntimeError):
    """Some commands could not be delivered; they stay pending. The message lists them."""


class Channels(Protocol):
    """Where inbox runs and case events go (Prefect: `integrations.prefect_channels.PrefectChannels`)."""

    async def open_tasks(self, entries: Sequence[InboxEntry]) -> None: ...

    async def close_task(self, case_ref: str, task_id: str,
                         reason: Literal["completed", "cancelled"]) -> CloseOutcome: ...

    async def publish_events(self, events: Sequence[tuple[EmitEvent, str]], occurred: datetime) -> None: ...


@dataclass
class DrainReport:
    """How many commands were delivered, by what was done with them."""

    delivered: int = 0
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class BatchOutcome:
    """Per command key: None when delivered, else the error. Plus counts for the run's summary."""

    errors: dict[str, str | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, list[CaseNote]] = field(default_factory=dict)
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


Item = tuple[str, Command]
"""(command key, engine command)"""

CaseFacts = Callable[[set[str]], tuple[dict[str, str], set[tuple[str, str]]]]
"""case refs -> (municipality of each case, the (case, task) pairs still open): `store.queries.delivery_facts`"""


async def drain(service: CaseService, notifier: Notifier, channels: Channels, *, now: datetime, batch: int = 500,
                max_batches: int = 100) -> DrainReport:
    """Deliver pending commands, a batch at a time, until none are left (or a batch had failures).

    `now` is when Prefect learns of the events: they carry Prefect's own time, not the case's clock,
    so they show in the event feed even for backdated cases.
    """
    report = DrainReport()
    for _ in range(max_batches):
        items = service.pending_commands(batch, max_attempts=MAX_ATTEMPTS)
        if not items:
            break
        outcome = await deliver_batch([(i.key, i.command()) for i in items], notifier=notifier, channels=channels,
                                      facts=lambda refs: queries.delivery_facts(service.engine, refs), now=now)
        for key, error in outcome.errors.items():
            first_time = True
            if error is None:
                first_time = service.mark_delivered(key)
                report.delivered += 1
            elif key not in outcome.waiting:
                # Only a real attempt counts against the outbox's attempt limit; recipients still in
                # backoff would otherwise use it up during a long outage.
                service.mark_failed(key, error)
            for note in outcome.notes.get(key, []):
                # An unroutable note comes back on every call; write it once, when the row is done.
                if note.kind != "notification_unroutable" or (error is None and first_time):
                    service.record_note(note.case_ref, kind=note.kind, ref=note.ref, detail=note.detail)
        for what, n in outcome.counts.items():
            report.counts[what] = report.counts.get(what, 0) + n
        if outcome.failed:
            lines = "; ".join(f"{k}: {e}" for k, e in list(outcome.failed.items())[:5])
            raise DeliveryFailed(f"{len(outcome.failed)} of {len(items)} commands not delivered "
                                 f"(they stay pending): {lines}")
        if len(items) < batch:
            break
    return report


async def deliver_batch(items: Sequence[Item], *, notifier: Notifier, channels: Channels, facts: CaseFacts,
                        now: datetime) -> BatchOutcome:
    """Carry out each command once; errors are collected per key, never swallowed (see `failed`)."""
    outcome = BatchOutcome()
    municipality, still_open = facts({command.case_ref for _, command in items})
    await _open(items, channels, municipality, still_open, outcome)
    for key, command in items:
        if isinstance(command, CloseUserTask):
            try:
                result = await channels.close_task(command.case_ref, command.task_id, command.reason)
                outcome.ok(key, f"inbox {result}")
            except API_ERRORS as exc:  # recorded on the outbox row; the caller fails the run afterwards
                outcome.fail(key, exc)
    emitted = [(key, c) for key, c in items if isinstance(c, EmitEvent)]
    if emitted:
        try:
            await channels.publish_events(
                [(c, municipality.get(c.case_ref, UNKNOWN_MUNICIPALITY)) for _, c in emitted], now)
            for key, _ in emitted:
                outcome.ok(key, "events")
        except API_ERRORS as exc:
            for key, _ in emitted:
                outcome.fail(key, exc)
    for key, command in items:
        if isinstance(command, NotifyRole):
            _notify(key, command, notifier, outcome)
    return outcome


def _notify(key: str, command: NotifyRole, notifier: Notifier, outcome: BatchOutcome) -> None:
    try:
        report = notifier.deliver(command)
    except NotificationFailed as exc:
        if exc.report is not None:
            outcome.notes[key] = list(exc.report.notes)
            if not exc.report.attempted:
                outcome.waiting.add(key)
        outcome.fail(key, exc)
        return
    outcome.notes[key] = list(report.notes)
    outcome.ok(key, "notices")


async def _open(items: Sequence[Item], channels: Channels, municipality: dict[str, str],
                still_open: set[tuple[str, str]], outcome: BatchOutcome) -> None:
    opens = [(key, c) for key, c in items if isinstance(c, OpenUserTask)]
    live = [(key, c) for key, c in opens if (c.case_ref, c.task_id) in still_open]
    for key, c in opens:
        if (c.case_ref, c.task_id) not in still_open:
            outcome.ok(key, "inbox skipped (task no longer open)")
    if not live:
        return
    entries = [InboxEntry.from_command(c, municipality[c.case_ref]) for _, c in live]
    try:
        await channels.open_tasks(entries)
    except API_ERRORS as exc:  # the whole group is retried; creating is idempotent
        for key, _ in live:
            outcome.fail(key, exc)
        return
    for key, _ in live:
        outcome.ok(key, "inbox opened")


async def deliver_pending(service: CaseService, notifier: Notifier, *, batch: int = 500) -> DrainReport:
    """Drain the outbox to the Prefect API this process is configured for (PREFECT_API_URL) and the partners."""
    async with prefect_channels() as channels:
        return await drain(service, notifier, channels, now=utc_now(), batch=batch)
