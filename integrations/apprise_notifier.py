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
   in the ledger (the claim is committed before the send, so after a crash the message goes again at
   most once, with the same idempotency key: see `engine.deliveries`), sends it over the first channel
   that may be tried (integrations.apprise_send) and records the attempt. A message that asks the
   recipient to do a step ends with their own partner-page link, made just before sending by the
   injected `LinkMaker` (app/links wires it; this package cannot issue links itself);
5. records each channel's outcome: failures in a row make a channel down, and the coordinator is told
   once per outage, preferring a channel of another kind; the first success after it tells the
   coordinator it is over (integrations.outages);
6. raises `DeliveryIncomplete` when a recipient was not reached, so the outbox row stays pending; its
   report says which recipients only wait (backoff, another sender, a known outage) and from when a
   new attempt makes sense (`retry_at`). A retry skips recipients that already got it.

Partners with `digest: daily` get the message queued in the ledger; `send_digests` sends one digest per
partner per day (integrations.digests). It implements `integrations.notifier.Notifier`. This module is
a little over 300 lines: steps 4 and 5 share the ledger, the sender and the channel records of one call.
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
from engine.deliveries import ChannelHealth, Claim, DeliveryMeta, Kind, Succeeded, channel_id, may_try
from engine.people_time import moment
from integrations import outages
from integrations.apprise_send import Sender, Sent, prefect_secret
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


Health = dict[str, ChannelHealth]
"""The channels with failures or an outage, by channel id, as this call knows them (kept up to date)."""


# --- the notifier -------------------------------------------------------------------------------


@dataclass
class _Batch:
    """What a batch of deliveries shares (see `AppriseNotifier.batch`); deliveries may run in threads."""

    health: Health
    cases: dict[str, CaseInfo] = field(default_factory=dict)
    succeeded: list[Succeeded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


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
        are read once for the whole batch, and a success is recorded in the same transaction as the next
        claim (the last ones when the block ends, also by an error): one write per message instead of
        two. A claim is still made before each send, so two drains never both send, and a crash leaves
        at most the message in hand unrecorded (it is sent again once, with the same key)."""
        batch = _Batch(health=self.ledger.troubled_channels())
        self._batch = batch
        try:
            yield
        finally:
            self._batch = None
            with batch.lock:
                done, batch.succeeded = batch.succeeded, []
            self.ledger.succeeded_many(done)

    def _case(self, case_ref: str) -> CaseInfo:
        batch = self._batch
        if batch is None:
            return self.cases.case(case_ref) or CaseInfo(None, {})
        if case_ref not in batch.cases:
            batch.cases[case_ref] = self.cases.case(case_ref) or CaseInfo(None, {})
        return batch.cases[case_ref]

    def _recorded_now(self) -> list[Succeeded]:
        # The batch's successes so far go with the next claim: written before anything else is sent, so a
        # crash still leaves at most the message in hand unrecorded (sent again once, with its key).
        batch = self._batch
        if batch is None:
            return []
        with batch.lock:
            done, batch.succeeded = batch.succeeded, []
        return done

    def _succeeded(self, meta: DeliveryMeta, now: datetime, service: str | None) -> None:
        batch = self._batch
        if batch is None:
            self.ledger.succeeded(meta.message_key, meta.recipient, at=now, service=service)
            return
        with batch.lock:
            batch.succeeded.append(Succeeded(meta.message_key, meta.recipient, now, service))

    # -- one command --

    def deliver(self, command: NotifyRole) -> DeliveryReport:
        """Deliver to every recipient of the role; returns what happened, including notes for the case.

        Raises `DeliveryIncomplete` (a `NotificationFailed`, after trying every recipient, carrying the
        report) when any recipient failed, and `MessageRefused` before sending anything when a message
        cannot be rendered.
        """
        now = self.clock()
        case = self._case(command.case_ref)
        directory = self._directory(command.case_ref, case.profile)
        choices = case_choices({**case.data, **command.context}, [command.role])
        routed = route(directory, command.role, choices.get(command.role))
        notes: list[CaseNote] = []
        if isinstance(routed, Unroutable):
            planned = self._plan_unroutable(directory, command, routed)
            notes.append(CaseNote(command.case_ref, "notification_unroutable", command.role,
                                  f"geen ontvanger voor rol {command.role} ({command.template}): {routed.nl}; "
                                  f"bericht naar de coördinator"))
        else:
            planned = [self._plan(directory, command, partner, Kind.message, command.template,
                                  dict(command.context)) for partner in routed]
        outcomes: dict[str, list[str]] = {"delivered": [], "already": [], "queued": [], "waiting": []}
        failed: dict[str, str] = {}
        health: Health = self._batch.health if self._batch is not None else self.ledger.troubled_channels()
        retry: list[datetime] = []
        for item in planned:
            result = self._deliver_one(directory, item, now, health)
            if result.error is not None:
                failed[item.partner.id] = result.error
            if result.outcome in outcomes:
                outcomes[result.outcome].append(item.partner.id)
            notes.extend(result.notes)
            if result.retry_at is not None:
                retry.append(result.retry_at)
        report = DeliveryReport(command.key, tuple(outcomes["delivered"]), tuple(outcomes["already"]),
                                tuple(outcomes["queued"]), failed, tuple(outcomes["waiting"]), tuple(notes),
                                retry_at=min(retry) if failed and retry else None)
        if failed:
            lines = "; ".join(f"{who}: {why}" for who, why in failed.items())
            raise DeliveryIncomplete(f"{len(failed)} of {len(planned)} recipient(s) of {command.key} not "
                                     f"reached (will retry): {lines}", report)
        return report

    def _directory(self, case_ref: str, profile: str | None) -> PartnerDirectory:
        profile = profile or self.default_profile
        directory = self.directories.get(profile) if profile else None
        if directory is None:
            raise NotificationFailed(f"case {case_ref}: no partner directory for profile {profile!r} "
                                     f"(known: {', '.join(sorted(self.directories)) or 'none'})")
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
            raise MessageRefused(f"{meta.message_key} ({meta.template}) not sent to anyone: {exc}") from None
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
            raise NotificationFailed(f"case {command.case_ref}: no recipient for role {command.role} "
                                     f"({why.en}), and no coordinator in {directory.profile}")
        planned = []
        for partner in coordinators:
            lang = partner.language
            context = {"case_ref": command.case_ref, "role": command.role, "message_kind": command.template,
                       "problem": why.nl if lang == "nl" else why.en,
                       "uiterlijk": command.context.get("due_on") or _ASAP[lang]}
            planned.append(self._plan(directory, command, partner, Kind.unroutable, "geen_ontvanger", context,
                                      key=f"{command.key}~unroutable"))
        return planned

    # -- one recipient --

    def _deliver_one(self, directory: PartnerDirectory, item: _Planned, now: datetime, health: Health,
                     avoid: Sequence[str] = (), escalate: bool = True) -> _Result:
        meta, partner = item.meta, item.partner
        if partner.digest == "daily" and meta.kind is Kind.message:
            queued_before = self.links is not None and self.ledger.get(meta.message_key, meta.recipient) is not None
            message = item.message if queued_before else self._with_link(item)
            fresh = self.ledger.queue(meta, at=now, subject=message.subject, body=message.body)
            return _Result("queued" if fresh else "already")
        ids = {n: channel_id(directory.profile, partner.id, n)
               for n in range(1, len(directory.channels[partner.id]) + 1)}
        if not any(may_try(health.get(cid), now) for cid in ids.values()):
            return self._wait_for_channels(directory, item, [health[cid] for cid in ids.values()], now, health,
                                           escalate)
        answer, row = self.ledger.claim(meta, now, self.policy.lease, self._recorded_now())
        if answer is Claim.done:
            return _Result("already")
        if answer is Claim.busy:
            return _Result("waiting", "another delivery run is sending it right now", retry_at=row.claimed_until)
        if answer is Claim.wait:
            return _Result("waiting", f"waiting to retry from {moment(row.next_attempt_at)}",
                           retry_at=row.next_attempt_at)
        was_down = {cid for cid in ids.values() if cid in health and health[cid].down}
        try:
            message = self._with_link(item)
            sent = self.sender.send(directory, partner, message, f"{meta.message_key}/{meta.recipient}", avoid,
                                    may_try=lambda n: may_try(health.get(ids[n]), now))
        except BaseException:
            self.ledger.release(meta.message_key, meta.recipient)  # a bug, not a failed send: give it back
            raise
        self._record(directory, partner, ids, sent, now, health, escalate)
        if sent.ok:
            self._succeeded(meta, now, sent.service)
            return _Result("delivered")
        error = sent.error or "failed"
        row = self.ledger.failed(meta.message_key, meta.recipient, at=now, service=sent.service, error=error,
                                 retry_at=now + self.policy.retry_after(row.attempts + 1))
        down = [health[cid] for cid in ids.values() if cid in health and health[cid].down]
        notes = self._waiting_note(item, down, now) if down else ()
        # Only probes of channels already known to be down failed: nothing new, the outage is reported.
        probes_only = all(ids[a.position] in was_down for a in sent.attempts)
        return _Result("waiting" if probes_only else "failed", error, notes, row.next_attempt_at)

    def _wait_for_channels(self, directory: PartnerDirectory, item: _Planned, down: list[ChannelHealth],
                           now: datetime, health: Health, escalate: bool) -> _Result:
        """Every channel of the recipient is down and none is due for a probe: wait, without a claim."""
        if escalate:
            for h in down:
                if h.escalated_at is None:  # the escalation could not be sent before: try again
                    self._escalate(directory, item.partner, h, now, health)
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
                health: Health, escalate: bool) -> None:
        """Count each attempt against its channel; tell the coordinator when one goes down or comes back."""
        for attempt in sent.attempts:
            cid = ids[attempt.position]
            if attempt.ok:
                if cid in health:  # only a channel with failures has a record to reset
                    before = self.ledger.channel_succeeded(cid, at=now)
                    del health[cid]
                    if before is not None and before.down and escalate:
                        self._announce_recovery(directory, partner, before, now, health)
                continue
            _, after = self.ledger.channel_failed(channel=cid, profile=directory.profile, recipient=partner.id,
                                                  service=attempt.service, error=attempt.error or "failed", at=now,
                                                  rule=self.policy.outage)
            health[cid] = after
            if after.down and after.escalated_at is None and escalate:
                self._escalate(directory, partner, after, now, health)

    def _escalate(self, directory: PartnerDirectory, partner: Partner, down: ChannelHealth, now: datetime,
                  health: Health) -> None:
        """Tell every coordinator of the profile, once per outage, by a channel of another kind if there is one."""
        coordinators = directory.roles.get(COORDINATOR, ())
        reached = 0
        for coordinator in coordinators:
            planned = self._about_channel(directory, coordinator, down, outages.ESCALATION,
                                          outages.escalation_context(down, partner, coordinator.language))
            result = self._deliver_one(directory, planned, now, health, avoid=(down.service or "",), escalate=False)
            reached += result.outcome in ("delivered", "already")
        assert down.down_since is not None
        if coordinators and reached == len(coordinators) and \
                self.ledger.mark_channel_escalated(down.channel, down_since=down.down_since, at=now):
            health[down.channel] = down.model_copy(update={"escalated_at": now})

    def _announce_recovery(self, directory: PartnerDirectory, partner: Partner, before: ChannelHealth,
                           now: datetime, health: Health) -> None:
        """The channel works again: one note to each coordinator (best effort: a failure is not retried)."""
        for coordinator in directory.roles.get(COORDINATOR, ()):
            planned = self._about_channel(directory, coordinator, before, outages.RECOVERY,
                                          outages.recovery_context(before, partner, now))
            self._deliver_one(directory, planned, now, health, escalate=False)

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
