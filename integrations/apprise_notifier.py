"""The apprise notifier: delivers `NotifyRole` commands to partners by email and chat, once per key.

For one command it
1. finds the case's municipality profile and its partner directory, and the partner the case names
   for the role (`partner_<role>` in the command's context or the case data);
2. routes the role to recipients (integrations.directory.route). A role without a recipient becomes a
   message to the coordinator ("geen ontvanger voor rol X") and a `CaseNote` for the case history;
3. renders the message per recipient language; the privacy guard runs for every recipient before
   anything is sent (integrations.messages);
4. per recipient: when every channel (URL) of the partner is down and none is due for a probe, the
   recipient waits without a network call (and its case gets one note); else it claims the delivery
   in the ledger, with the other deliveries of its chunk (`policy.claim_chunk`, one write), sends it
   over the first channel that may be tried (integrations.apprise_send) and records the attempt (a
   success with the next chunk's claim). The claim is committed before the send, so after a crash
   the chunk in hand goes again at most once, each message with its idempotency key (`deliver_many`).
   A message that asks the recipient to do a step ends with their own partner-page link, made just
   before sending by the injected `LinkMaker` (app/links wires it; this package cannot issue links);
5. records each channel's outcome: failures in a row make a channel down, and the coordinator is told
   once per outage, preferring a channel of another kind; the first success after it tells the
   coordinator it is over (integrations.outages);
6. raises `DeliveryIncomplete` when a recipient was not reached, so the outbox row stays pending; its
   report says which recipients only wait (backoff, another sender, a known outage) and from when a
   new attempt makes sense (`retry_at`). A retry skips recipients that already got it.

Partners with `digest: daily` get the message queued in the ledger; `send_digests` sends one digest per
partner per day (integrations.digests). It implements `integrations.notifier.Notifier`. This module is
about 500 lines: steps 4 and 5 share the ledger, the sender and the channel records of one call or batch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import apprise

from engine.commands import NotifyRole
from engine.deliveries import ChannelHealth, Claim, Delivery, DeliveryMeta, Kind, Succeeded, channel_id, may_try
from engine.people_time import moment
from integrations import outages
from integrations.apprise_send import FAILED, Sender, Sent, prefect_secret
from integrations.digests import send_digests
from integrations.directory import COORDINATOR, Partner, PartnerDirectory
from integrations.ledger import DeliveryLedger
from integrations.messages import ActLink, MessageError, MessageRenderer, RenderedMessage
from integrations.notifier import (
    CaseNote,
    DeliveryIncomplete,
    DeliveryReport,
    DigestReport,
    MessageRefused,
    NotificationFailed,
)
from integrations.policy import DeliveryPolicy
from integrations.routing import Unroutable, case_choices, route

_ASAP = {"nl": "zo snel mogelijk", "en": "as soon as possible"}


# --- what the notifier needs to know about a case -----------------------------------------------


@dataclass(frozen=True)
class CaseInfo:
    """What routing needs of a case: its profile, and its data (for `partner_<role>` choices)."""

    profile: str | None
    data: Mapping[str, Any]


class CaseLookup(Protocol):
    """Reads what routing needs of a case (None: no such case)."""

    def case(self, case_ref: str) -> CaseInfo | None: ...


LinkMaker = Callable[[NotifyRole, str], ActLink | None]
"""(command, recipient partner id) -> a fresh partner-page link when the message asks that recipient to
do a step, else None. Called once per message and recipient, right before it is sent or queued."""


@dataclass
class StaticCases:
    """Case facts held in memory (tests, benchmarks)."""

    profiles: dict[str, str] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)

    def case(self, case_ref: str) -> CaseInfo | None:
        return CaseInfo(self.profiles.get(case_ref), self.data.get(case_ref, {}))


@dataclass(frozen=True)
class _Planned:
    partner: Partner
    meta: DeliveryMeta
    message: RenderedMessage
    command: NotifyRole | None = None
    """the partner message it renders (None for Regie's own messages to the coordinator)"""


@dataclass(frozen=True)
class _Result:
    """How one recipient went: delivered, already, queued, waiting or failed."""

    outcome: str
    error: str | None = None
    notes: tuple[CaseNote, ...] = ()
    retry_at: datetime | None = None


def _not_claimed(answer: Claim, row: Delivery) -> _Result:
    """A delivery this sender may not send now: done before, held by another sender, or waiting to retry."""
    if answer is Claim.done:
        return _Result("already")
    if answer is Claim.busy:
        return _Result("waiting", "een andere bezorgrun verstuurt het bericht op dit moment",
                       retry_at=row.claimed_until)
    return _Result("waiting", f"wacht op een nieuwe poging vanaf {moment(row.next_attempt_at)}",
                   retry_at=row.next_attempt_at)


Health = dict[str, ChannelHealth]
"""The channels with failures or an outage, by channel id, as this call knows them (kept up to date)."""


# --- the notifier -------------------------------------------------------------------------------


@dataclass
class _Batch:
    """What deliveries share over a batch (see `AppriseNotifier.batch`), or over one `deliver_many` call:
    the channels' health as known now, the cases' routing facts, and the successes not yet recorded.
    Deliveries may run in threads."""

    health: Health
    cases: dict[str, CaseInfo] = field(default_factory=dict)
    succeeded: list[Succeeded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Plan:
    """One command routed and rendered: its recipients' messages, and notes for the case."""

    command: NotifyRole
    directory: PartnerDirectory
    items: list[_Planned]
    notes: list[CaseNote]


class AppriseNotifier:
    """Routes, renders and delivers partner messages; implements `integrations.notifier.Notifier`."""

    def __init__(self, *, directories: Mapping[str, PartnerDirectory], renderer: MessageRenderer,
                 ledger: DeliveryLedger, cases: CaseLookup, clock: Callable[[], datetime],
                 policy: DeliveryPolicy | None = None, default_profile: str | None = None,
                 env: Mapping[str, str] | None = None, load_block: Callable[[str], str] | None = None,
                 links: LinkMaker | None = None):
        self.directories = directories
        self.links = links
        self.renderer = renderer
        self.ledger = ledger
        self.cases = cases
        self.policy = policy or DeliveryPolicy()
        self.default_profile = default_profile
        self.clock = clock
        asset = apprise.AppriseAsset(app_id=self.policy.app_id, app_desc="Regie", secure_logging=True)
        self.sender = Sender(asset, os.environ if env is None else env, load_block or prefect_secret)
        self._batch: _Batch | None = None

    # -- a batch of commands --

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Deliver a drained batch: within the block each case's routing facts and the channels' health
        are read once for the whole batch, and the successes of one chunk of deliveries are recorded in
        the same transaction as the next chunk's claim (the last ones when the block ends, also by an
        error). See `deliver_many` for what a crash may repeat."""
        batch = _Batch(health=self.ledger.troubled_channels())
        self._batch = batch
        try:
            yield
        finally:
            self._batch = None
            self.ledger.succeeded_many(self._recorded_now(batch))

    def _case(self, case_ref: str, run: _Batch) -> CaseInfo:
        if case_ref not in run.cases:
            run.cases[case_ref] = self.cases.case(case_ref) or CaseInfo(None, {})
        return run.cases[case_ref]

    @staticmethod
    def _recorded_now(run: _Batch) -> list[Succeeded]:
        # The successes so far go with the next claim: written before anything else is sent, so a crash
        # leaves at most the chunk in hand unrecorded (sent again, each with its own key).
        with run.lock:
            done, run.succeeded = run.succeeded, []
        return done

    @staticmethod
    def _succeeded(run: _Batch, meta: DeliveryMeta, now: datetime, service: str | None) -> None:
        with run.lock:
            run.succeeded.append(Succeeded(meta.message_key, meta.recipient, now, service))

    # -- commands --

    def deliver(self, command: NotifyRole) -> DeliveryReport:
        """Deliver to every recipient of the role; returns what happened, including notes for the case.

        Raises `DeliveryIncomplete` (a `NotificationFailed`, after trying every recipient, carrying the
        report) when any recipient failed, and `MessageRefused` before sending anything when a message
        cannot be rendered.
        """
        [result] = self.deliver_many([command])
        if isinstance(result, NotificationFailed):
            raise result
        return result

    def deliver_many(self, commands: Sequence[NotifyRole]) -> list[DeliveryReport | NotificationFailed]:
        """`deliver` for several commands, answered in their order: a report, or the `NotificationFailed`
        `deliver` would raise (a command refused or not reached does not stop the others).

        Their recipients are claimed `policy.claim_chunk` at a time, in one ledger write per chunk, then
        sent one after the other; the chunk's successes are written with the next chunk's claim (or when
        the call, or the `batch` block, ends). So a crash in the middle of a chunk leaves at most that
        chunk sent but unrecorded: those messages go again after the claims' lease, each with its own
        idempotency key (Message-ID, Idempotency-Key) for the receiver to drop. Nothing is lost: a
        delivery is recorded as delivered only after its send was accepted.
        """
        run = self._batch
        if run is not None:
            return self._deliver_all(commands, run)
        run = _Batch(health=self.ledger.troubled_channels())
        try:
            return self._deliver_all(commands, run)
        finally:
            self.ledger.succeeded_many(self._recorded_now(run))

    def _deliver_all(self, commands: Sequence[NotifyRole], run: _Batch) -> list[DeliveryReport | NotificationFailed]:
        now = self.clock()
        plans: list[_Plan | NotificationFailed] = []
        for command in commands:
            try:
                plans.append(self._plan_command(command, run))
            except NotificationFailed as exc:  # refused or unroutable: nothing of it is sent, the rest goes on
                plans.append(exc)
        results: dict[tuple[int, int], _Result] = {}
        sendable: list[tuple[tuple[int, int], PartnerDirectory, _Planned]] = []
        for n, plan in enumerate(plans):
            if isinstance(plan, _Plan):
                for m, item in enumerate(plan.items):
                    if item.partner.digest == "daily" and item.meta.kind is Kind.message:
                        results[n, m] = self._queue_for_digest(item, now)
                    else:
                        sendable.append(((n, m), plan.directory, item))
        size = self.policy.claim_chunk
        for start in range(0, len(sendable), size):
            chunk = sendable[start:start + size]
            for (where, _, _), result in zip(chunk, self._deliver_chunk([(d, i) for _, d, i in chunk], now, run)):
                results[where] = result
        return [plan if isinstance(plan, NotificationFailed) else
                self._report(plan, [results[n, m] for m in range(len(plan.items))])
                for n, plan in enumerate(plans)]

    def _plan_command(self, command: NotifyRole, run: _Batch) -> _Plan:
        case = self._case(command.case_ref, run)
        directory = self._directory(command.case_ref, case.profile)
        choices = case_choices({**case.data, **command.context}, [command.role])
        routed = route(directory, command.role, choices.get(command.role))
        if isinstance(routed, Unroutable):
            note = CaseNote(command.case_ref, "notification_unroutable", command.role,
                            f"geen ontvanger voor rol {command.role} ({command.template}): {routed.nl}; "
                            f"bericht naar de coördinator")
            return _Plan(command, directory, self._plan_unroutable(directory, command, routed), [note])
        return _Plan(command, directory, [self._plan(directory, command, partner, Kind.message, command.template,
                                                     dict(command.context)) for partner in routed], [])

    @staticmethod
    def _report(plan: _Plan, results: list[_Result]) -> DeliveryReport | NotificationFailed:
        outcomes: dict[str, list[str]] = {"delivered": [], "already": [], "queued": [], "waiting": []}
        failed: dict[str, str] = {}
        notes = list(plan.notes)
        retry: list[datetime] = []
        for item, result in zip(plan.items, results):
            if result.error is not None:
                failed[item.partner.id] = result.error
            if result.outcome in outcomes:
                outcomes[result.outcome].append(item.partner.id)
            notes.extend(result.notes)
            if result.retry_at is not None:
                retry.append(result.retry_at)
        command = plan.command
        report = DeliveryReport(command.key, tuple(outcomes["delivered"]), tuple(outcomes["already"]),
                                tuple(outcomes["queued"]), failed, tuple(outcomes["waiting"]), tuple(notes),
                                retry_at=min(retry) if failed and retry else None)
        if failed:
            lines = "; ".join(f"{who}: {why}" for who, why in failed.items())
            return DeliveryIncomplete(f"{len(failed)} van {len(plan.items)} ontvanger(s) van {command.key} niet "
                                      f"bereikt (wordt opnieuw geprobeerd): {lines}", report)
        return report

    def _directory(self, case_ref: str, profile: str | None) -> PartnerDirectory:
        profile = profile or self.default_profile
        directory = self.directories.get(profile) if profile else None
        if directory is None:
            raise NotificationFailed(f"zaak {case_ref}: geen partnerlijst voor profiel {profile!r} "
                                     f"(bekend: {', '.join(sorted(self.directories)) or 'geen'})")
        return directory

    def _plan(self, directory: PartnerDirectory, command: NotifyRole, partner: Partner, kind: Kind,
              template: str, context: dict[str, Any], key: str | None = None) -> _Planned:
        meta = DeliveryMeta(message_key=key or command.key, recipient=partner.id, profile=directory.profile,
                            case_ref=command.case_ref, role=command.role, template=template, kind=kind)
        planned = self._render(meta, partner, context)
        # Only a partner message can ask its recipient to act (and so carry a link).
        return replace(planned, command=command) if kind is Kind.message else planned

    def _render(self, meta: DeliveryMeta, partner: Partner, context: dict[str, Any]) -> _Planned:
        try:
            # case_ref None (a message about a channel, not a case): no "where to act" line
            message = self.renderer.render(meta.template, context, partner.language,
                                           meta.case_ref)  # type: ignore[arg-type]
        except MessageError as exc:
            raise MessageRefused(f"{meta.message_key} ({meta.template}) aan niemand verstuurd: {exc}") from None
        return _Planned(partner, meta, message)

    def _with_link(self, item: _Planned) -> RenderedMessage:
        # Issued only now, when this recipient really gets the message: a retry for another recipient
        # must not replace (and so revoke) the link this one already received.
        link = self.links(item.command, item.partner.id) if self.links and item.command else None
        if link is None:
            return item.message
        command = item.command
        return self.renderer.render(command.template, command.context, item.partner.language, command.case_ref,
                                    link=link)

    def _plan_unroutable(self, directory: PartnerDirectory, command: NotifyRole, why: Unroutable
                         ) -> list[_Planned]:
        coordinators = directory.roles.get(COORDINATOR, ())
        if not coordinators:
            raise NotificationFailed(f"zaak {command.case_ref}: geen ontvanger voor rol {command.role} "
                                     f"({why.nl}), en geen coördinator in {directory.profile}")
        planned = []
        for partner in coordinators:
            lang = partner.language
            context = {"case_ref": command.case_ref, "role": command.role, "message_kind": command.template,
                       "problem": why.nl if lang == "nl" else why.en,
                       "uiterlijk": command.context.get("due_on") or _ASAP[lang]}
            planned.append(self._plan(directory, command, partner, Kind.unroutable, "geen_ontvanger", context,
                                      key=f"{command.key}~unroutable"))
        return planned

    # -- recipients --

    def _deliver_chunk(self, chunk: list[tuple[PartnerDirectory, _Planned]], now: datetime, run: _Batch
                       ) -> list[_Result]:
        """Claim the chunk's deliveries in one write (with the successes not yet recorded), then send those
        claimed one by one. Recipients whose every channel is down wait without a claim."""
        results: list[_Result | None] = [None] * len(chunk)
        ids = [self._channel_ids(directory, item.partner) for directory, item in chunk]
        to_claim = []
        for n, (directory, item) in enumerate(chunk):
            if any(may_try(run.health.get(cid), now) for cid in ids[n].values()):
                to_claim.append(n)
            else:
                results[n] = self._wait_for_channels(directory, item, ids[n], now, run, escalate=True)
        answers = self.ledger.claim_many([chunk[n][1].meta for n in to_claim], now, self.policy.lease,
                                         self._recorded_now(run)) if to_claim else []
        claimed = []
        for n, (answer, row) in zip(to_claim, answers):
            if answer is Claim.go:
                claimed.append((n, row))
            else:
                results[n] = _not_claimed(answer, row)
        for position, (n, row) in enumerate(claimed):
            directory, item = chunk[n]
            if self.clock() - now >= self.policy.lease / 2:
                # Slow partners made the chunk take long: once its claims could run out during a send, another
                # drain could take a message over and send it too. The rest go back unsent, for the next run.
                for m, _ in claimed[position:]:
                    self.ledger.release(chunk[m][1].meta.message_key, chunk[m][1].meta.recipient)
                    results[m] = _Result("waiting", "niet verstuurd zolang de claim gold; gaat mee met een volgende "
                                                    "run")
                break
            try:
                results[n] = self._send_claimed(directory, item, row, ids[n], now, run, escalate=True)
            except BaseException:
                # A bug, not a failed send: the rest of the chunk is given back unsent (this one was already).
                for m, _ in claimed[position + 1:]:
                    self.ledger.release(chunk[m][1].meta.message_key, chunk[m][1].meta.recipient)
                raise
        return [r for r in results if r is not None]

    def _deliver_one(self, directory: PartnerDirectory, item: _Planned, now: datetime, run: _Batch,
                     avoid: Sequence[str] = (), escalate: bool = True) -> _Result:
        """One recipient on its own, claimed in a write of its own (Regie's notes to the coordinator)."""
        ids = self._channel_ids(directory, item.partner)
        if not any(may_try(run.health.get(cid), now) for cid in ids.values()):
            return self._wait_for_channels(directory, item, ids, now, run, escalate)
        answer, row = self.ledger.claim(item.meta, now, self.policy.lease, self._recorded_now(run))
        if answer is not Claim.go:
            return _not_claimed(answer, row)
        return self._send_claimed(directory, item, row, ids, now, run, escalate, avoid)

    def _queue_for_digest(self, item: _Planned, now: datetime) -> _Result:
        meta = item.meta
        queued_before = self.links is not None and self.ledger.get(meta.message_key, meta.recipient) is not None
        message = item.message if queued_before else self._with_link(item)
        fresh = self.ledger.queue(meta, at=now, subject=message.subject, body=message.body)
        return _Result("queued" if fresh else "already")

    @staticmethod
    def _channel_ids(directory: PartnerDirectory, partner: Partner) -> dict[int, str]:
        return {n: channel_id(directory.profile, partner.id, n)
                for n in range(1, len(directory.channels[partner.id]) + 1)}

    def _send_claimed(self, directory: PartnerDirectory, item: _Planned, row: Delivery, ids: dict[int, str],
                      now: datetime, run: _Batch, escalate: bool, avoid: Sequence[str] = ()) -> _Result:
        """Send a delivery this sender holds, and record how it went (a success with the next claim)."""
        meta, partner, health = item.meta, item.partner, run.health
        if not any(may_try(health.get(cid), now) for cid in ids.values()):
            # Its channels went down after the chunk was claimed (earlier messages of the chunk failed on
            # them): give the claim back and wait, as if they had been down before.
            self.ledger.release(meta.message_key, meta.recipient)
            return self._wait_for_channels(directory, item, ids, now, run, escalate)
        was_down = {cid for cid in ids.values() if cid in health and health[cid].down}
        try:
            message = self._with_link(item)
            sent = self.sender.send(directory, partner, message, f"{meta.message_key}/{meta.recipient}", avoid,
                                    may_try=lambda n: may_try(health.get(ids[n]), now))
        except BaseException:
            self.ledger.release(meta.message_key, meta.recipient)  # a bug, not a failed send: give it back
            raise
        if sent.ok:
            # Pending before `_record` may claim a note to the coordinator, which then records it first.
            self._succeeded(run, meta, now, sent.service)
        self._record(directory, partner, ids, sent, now, run, escalate)
        if sent.ok:
            return _Result("delivered")
        error = sent.error or FAILED
        row = self.ledger.failed(meta.message_key, meta.recipient, at=now, service=sent.service, error=error,
                                 retry_at=now + self.policy.retry_after(row.attempts + 1))
        down = [health[cid] for cid in ids.values() if cid in health and health[cid].down]
        notes = self._waiting_note(item, down, now) if down else ()
        # Only probes of channels already known to be down failed: nothing new, the outage is reported.
        probes_only = all(ids[a.position] in was_down for a in sent.attempts)
        return _Result("waiting" if probes_only else "failed", error, notes, row.next_attempt_at)

    def _wait_for_channels(self, directory: PartnerDirectory, item: _Planned, ids: dict[int, str], now: datetime,
                           run: _Batch, escalate: bool) -> _Result:
        """Every channel of the recipient is down and none is due for a probe: wait, without a claim."""
        down = [run.health[cid] for cid in ids.values()]
        if escalate:
            for h in down:
                if h.escalated_at is None:  # the escalation could not be sent before: try again
                    self._escalate(directory, item.partner, h, now, run)
        probes = [h.next_probe_at for h in down if h.next_probe_at is not None]
        return _Result("waiting", outages.waiting_error(down), self._waiting_note(item, down, now),
                       min(probes) if probes else None)

    def _waiting_note(self, item: _Planned, down: list[ChannelHealth], now: datetime) -> tuple[CaseNote, ...]:
        meta = item.meta
        if meta.case_ref is None or meta.kind not in (Kind.message, Kind.unroutable) or \
                not self.ledger.note_waiting(meta, at=now):
            return ()
        return (CaseNote(meta.case_ref, outages.WAITING_NOTE, meta.role,
                         outages.waiting_detail(meta.template, item.partner, down)),)

    # -- channels: outages --

    def _record(self, directory: PartnerDirectory, partner: Partner, ids: dict[int, str], sent: Sent, now: datetime,
                run: _Batch, escalate: bool) -> None:
        """Count each attempt against its channel; tell the coordinator when one goes down or comes back."""
        health = run.health
        for attempt in sent.attempts:
            cid = ids[attempt.position]
            if attempt.ok:
                if cid in health:  # only a channel with failures has a record to reset
                    before = self.ledger.channel_succeeded(cid, at=now)
                    del health[cid]
                    if before is not None and before.down and escalate:
                        self._announce_recovery(directory, partner, before, now, run)
                continue
            _, after = self.ledger.channel_failed(channel=cid, profile=directory.profile, recipient=partner.id,
                                                  service=attempt.service, error=attempt.error or FAILED, at=now,
                                                  rule=self.policy.outage)
            health[cid] = after
            if after.down and after.escalated_at is None and escalate:
                self._escalate(directory, partner, after, now, run)

    def _escalate(self, directory: PartnerDirectory, partner: Partner, down: ChannelHealth, now: datetime,
                  run: _Batch) -> None:
        """Tell every coordinator of the profile, once per outage, by a channel of another kind if there is one."""
        coordinators = directory.roles.get(COORDINATOR, ())
        reached = 0
        for coordinator in coordinators:
            planned = self._about_channel(directory, coordinator, down, outages.ESCALATION,
                                          outages.escalation_context(down, partner, coordinator.language))
            result = self._deliver_one(directory, planned, now, run, avoid=(down.service or "",), escalate=False)
            reached += result.outcome in ("delivered", "already")
        assert down.down_since is not None
        if coordinators and reached == len(coordinators) and \
                self.ledger.mark_channel_escalated(down.channel, down_since=down.down_since, at=now):
            run.health[down.channel] = down.model_copy(update={"escalated_at": now})

    def _announce_recovery(self, directory: PartnerDirectory, partner: Partner, before: ChannelHealth,
                           now: datetime, run: _Batch) -> None:
        """The channel works again: one note to each coordinator (best effort: a failure is not retried)."""
        for coordinator in directory.roles.get(COORDINATOR, ()):
            planned = self._about_channel(directory, coordinator, before, outages.RECOVERY,
                                          outages.recovery_context(before, partner, now))
            self._deliver_one(directory, planned, now, run, escalate=False)

    def _about_channel(self, directory: PartnerDirectory, coordinator: Partner, health: ChannelHealth,
                       template: str, context: dict[str, Any]) -> _Planned:
        what = "storing" if template == outages.ESCALATION else "hersteld"
        meta = DeliveryMeta(message_key=outages.outage_key(health, what), recipient=coordinator.id,
                            profile=directory.profile, case_ref=None, role=COORDINATOR, template=template,
                            kind=Kind.escalation)
        return self._render(meta, coordinator, context)

    # -- daily digests --

    def send_digests(self, now: datetime | None = None) -> DigestReport:
        """One digest per partner per calendar day with everything queued for it; raises if any failed."""
        return send_digests(ledger=self.ledger, directories=self.directories, renderer=self.renderer,
                            sender=self.sender, policy=self.policy, now=now or self.clock())
