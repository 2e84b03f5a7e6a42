"""Delivering the outbox: claim ready commands, carry out each one's side effect, record the outcomes.

Commands go to three channels: inbox runs and case events to Prefect (`Channels`), notices to the
partners (`integrations.notifier.Notifier`). Every side effect is idempotent by command key (inbox runs
by case and task, events by an id derived from the key, notices by key and recipient), so delivering
twice is harmless.

Nothing stops the line:
- A drain claims only rows that are ready (`store.outbox.claim`): a row that failed waits for its
  `next_attempt_at` without hiding the rows behind it. Drains running at once each claim other rows
  (SKIP LOCKED on PostgreSQL), so they share the work; one that finds nothing ready just ends.
- A failure is recorded on its row (attempts, error, when to try again) and the drain goes on with
  every other ready row; it never stops at the first bad batch. A notice whose recipient's channels
  are down waits for the channel's next probe without using up the row's attempts (see
  `integrations.apprise_notifier`: the coordinator hears of an outage once, not per message).
- A command that failed `MAX_ATTEMPTS` times is no longer claimed (it stays visible in the outbox
  with its last error, and `regie storingen` counts it).
`DrainReport.raise_for_failures` raises `DeliveryFailed` afterwards when an attempt failed in a new
way (not a known outage, not another drain's row), so the Prefect run shows Failed and says why.
Delivery notes (a message nobody could receive, a message waiting for a channel) go to the case history.

Order matters only within an inbox entry: in a batch, opens go before closes. An open whose task is no
longer open (a close got there first, e.g. after the open failed once) creates nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, Protocol

from app.cases import CaseService
from app.clock import utc_now
from app.faults import MAX_ATTEMPTS
from engine.commands import CloseUserTask, Command, EmitEvent, NotifyRole, OpenUserTask
from engine.deliveries import backoff
from integrations.inbox import CloseOutcome, InboxEntry, today_in_nl
from integrations.notifier import CaseNote, DeliveryReport, NotificationFailed, Notifier
from integrations.prefect_channels import API_ERRORS, prefect_channels
from store import queries
from store.outbox import Finished, OutboxItem

UNKNOWN_MUNICIPALITY = "onbekend"
LEASE = timedelta(minutes=5)
"""How long a drain holds the rows it claimed; a drain that died leaves them to the next after this."""
RETRY_BASE = timedelta(minutes=1)
RETRY_MAX = timedelta(hours=1)
"""Backoff of a row whose attempt failed (when the notifier names no better moment)."""


class DeliveryFailed(RuntimeError):
    """Some commands could not be delivered; they stay pending. The message lists them."""

    def __init__(self, message: str, report: "DrainReport | None" = None):
        super().__init__(message)
        self.report = report


class Channels(Protocol):
    """Where inbox runs and case events go (Prefect: `integrations.prefect_channels.PrefectChannels`)."""

    async def open_tasks(self, entries: Sequence[InboxEntry]) -> None: ...

    async def close_task(self, case_ref: str, task_id: str,
                         reason: Literal["completed", "cancelled"]) -> CloseOutcome: ...

    async def publish_events(self, events: Sequence[tuple[EmitEvent, str]], occurred: datetime) -> None: ...


@dataclass
class DrainReport:
    """How many commands were delivered, by what was done with them; what waits, and what failed."""

    delivered: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    """commands whose recipients only wait (backoff, a channel known to be down, another drain's claim)"""
    failed: dict[str, str] = field(default_factory=dict)
    """command key -> error, for attempts that failed in this drain"""

    def raise_for_failures(self) -> None:
        """Raise `DeliveryFailed` when an attempt failed (the rows stay pending, the rest was delivered)."""
        if self.failed:
            lines = "; ".join(f"{k}: {e}" for k, e in list(self.failed.items())[:5])
            raise DeliveryFailed(f"{len(self.failed)} opdracht(en) niet bezorgd (ze blijven klaarstaan en worden "
                                 f"opnieuw geprobeerd): {lines}", self)


@dataclass
class BatchOutcome:
    """Per command key: None when delivered, else the error. Plus counts for the run's summary."""

    errors: dict[str, str | None] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    notes: dict[str, list[CaseNote]] = field(default_factory=dict)
    """per command key: lines the case history must show (undeliverable, escalated)"""
    waiting: set[str] = field(default_factory=set)
    """keys whose recipients were not tried yet (backoff, outage): pending, but not a failed attempt"""
    retry_at: dict[str, datetime] = field(default_factory=dict)
    """per key not delivered: the moment a new attempt makes sense, when the notifier knows one"""

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
    """Deliver every ready command, a claimed batch at a time, until none is ready (or `max_batches`).

    Failures are recorded per row and do not stop the drain (see `DrainReport.raise_for_failures`).
    `now` is when Prefect learns of the events: they carry Prefect's own time, not the case's clock,
    so they show in the event feed even for backdated cases.
    """
    report = DrainReport()
    for _ in range(max_batches):
        items = service.claim_commands(batch, lease=LEASE, max_attempts=MAX_ATTEMPTS)
        if not items:
            break
        with notifier.batch():
            outcome = await deliver_batch([(i.key, i.command()) for i in items], notifier=notifier,
                                          channels=channels,
                                          facts=lambda refs: queries.delivery_facts(service.engine, refs), now=now)
        at = service.now()
        first = service.finish_commands([_finished(item, outcome, at) for item in items])
        for item in items:
            error = outcome.errors[item.key]
            if error is None:
                report.delivered += 1
            elif item.key in outcome.waiting:
                report.waiting += 1
            else:
                report.failed[item.key] = error
            for note in outcome.notes.get(item.key, []):
                # An unroutable note comes back on every call; write it once, when the row is done.
                if note.kind != "notification_unroutable" or item.key in first:
                    service.record_note(note.case_ref, kind=note.kind, ref=note.ref, detail=note.detail)
        for what, n in outcome.counts.items():
            report.counts[what] = report.counts.get(what, 0) + n
        if len(items) < batch:
            break
    return report


def _finished(item: OutboxItem, outcome: BatchOutcome, at: datetime) -> Finished:
    error = outcome.errors[item.key]
    if error is None:
        return Finished(item.key)
    waiting = item.key in outcome.waiting
    # Only a real attempt counts against the attempt limit; recipients that only wait would otherwise
    # use it up during a long outage.
    retry_at = outcome.retry_at.get(item.key) or at + (RETRY_BASE if waiting else backoff(item.attempts + 1,
                                                                                          RETRY_BASE, RETRY_MAX))
    return Finished(item.key, error, attempted=not waiting, retry_at=retry_at)


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
    notices = [(key, c) for key, c in items if isinstance(c, NotifyRole)]
    if notices:  # the whole batch at once: AppriseNotifier claims and records its recipients per chunk
        for (key, _), result in zip(notices, notifier.deliver_many([c for _, c in notices]), strict=True):
            _notified(key, result, outcome)
    return outcome


def _notify(key: str, command: NotifyRole, notifier: Notifier, outcome: BatchOutcome) -> None:
    _notified(key, notifier.deliver_many([command])[0], outcome)


def _notified(key: str, result: DeliveryReport | NotificationFailed, outcome: BatchOutcome) -> None:
    if isinstance(result, NotificationFailed):
        if result.report is not None:
            outcome.notes[key] = list(result.report.notes)
            if not result.report.attempted:
                outcome.waiting.add(key)
            if result.report.retry_at is not None:
                outcome.retry_at[key] = result.report.retry_at
        outcome.fail(key, result)
        return
    outcome.notes[key] = list(result.notes)
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


async def deliver_pending(service: CaseService, notifier: Notifier, *, batch: int = 500,
                          raise_failures: bool = True) -> DrainReport:
    """Drain the outbox to the Prefect API this process is configured for (PREFECT_API_URL) and the partners;
    raises `DeliveryFailed` afterwards when an attempt failed (unless `raise_failures` is False)."""
    async with prefect_channels(lambda: today_in_nl(service.now())) as channels:
        report = await drain(service, notifier, channels, now=utc_now(), batch=batch)
    if raise_failures:
        report.raise_for_failures()
    return report
