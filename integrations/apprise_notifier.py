"""The apprise notifier: delivers `NotifyRole` commands to partners by email and chat, exactly once each.

For one command it
1. finds the case's municipality profile and its partner directory, and the partner the case names
   for the role (`partner_<role>` in the command's context or the case data);
2. routes the role to recipients (integrations.directory.route). A role without a recipient becomes a
   message to the coordinator ("geen ontvanger voor rol X") and a `CaseNote` for the case history;
3. renders the message per recipient language; the privacy guard runs for every recipient before
   anything is sent (integrations.messages);
4. per recipient, claims the delivery in the ledger (so it is never sent twice, also across crashes,
   restarts and concurrent drains), sends it (integrations.apprise_send), and records the attempt
   (time, outcome, service schema, error with secrets removed). A message that asks the recipient to
   do a step ends with their own partner-page link, made just before sending by the injected
   `LinkMaker` (app/links wires it; this package cannot issue links itself);
5. raises `DeliveryIncomplete` when any recipient failed, so the outbox row stays pending; a retry
   skips recipients that already got it. After `escalate_after_failures` failed attempts, or
   `escalate_after_hours` since the first, the coordinator is told once, preferring a channel of
   another kind than the one failing.

Partners with `digest: daily` get the message queued in the ledger; `send_digests` sends one digest per
partner per day (integrations.digests). It implements `integrations.notifier.Notifier`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import apprise

from engine.commands import NotifyRole
from engine.deliveries import Claim, Delivery, DeliveryMeta, Kind
from integrations.apprise_send import Sender, prefect_secret
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
_TODAY = {"nl": "vandaag", "en": "today"}


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


# --- the notifier -------------------------------------------------------------------------------


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

    # -- one command --

    def deliver(self, command: NotifyRole) -> DeliveryReport:
        """Deliver to every recipient of the role; returns what happened, including notes for the case.

        Raises `DeliveryIncomplete` (a `NotificationFailed`, after trying every recipient, carrying the
        report) when any recipient failed, and `MessageRefused` before sending anything when a message
        cannot be rendered.
        """
        now = self.clock()
        case = self.cases.case(command.case_ref) or CaseInfo(None, {})
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
        for item in planned:
            result, error, note = self._deliver_one(directory, item, now)
            if error is not None:
                failed[item.partner.id] = error
            if result in outcomes:
                outcomes[result].append(item.partner.id)
            if note is not None:
                notes.append(note)
        report = DeliveryReport(command.key, tuple(outcomes["delivered"]), tuple(outcomes["already"]),
                                tuple(outcomes["queued"]), failed, tuple(outcomes["waiting"]), tuple(notes))
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
        try:
            message = self.renderer.render(template, context, partner.language, command.case_ref)
        except MessageError as exc:
            raise MessageRefused(f"{command.key} ({template}) not sent to anyone: {exc}") from None
        return _Planned(partner, meta, message, command if kind is Kind.message else None)

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

    def _deliver_one(self, directory: PartnerDirectory, item: _Planned, now: datetime,
                     avoid: Sequence[str] = ()) -> tuple[str, str | None, CaseNote | None]:
        """(outcome, error or None, note or None) for one recipient."""
        meta, partner = item.meta, item.partner
        if partner.digest == "daily" and meta.kind is Kind.message:
            queued_before = self.links is not None and self.ledger.get(meta.message_key, meta.recipient) is not None
            message = item.message if queued_before else self._with_link(item)
            fresh = self.ledger.queue(meta, at=now, subject=message.subject, body=message.body)
            return ("queued" if fresh else "already"), None, None
        answer, row = self.ledger.claim(meta, now, self.policy.lease)
        if answer is Claim.done:
            return "already", None, None
        if answer is Claim.busy:
            return "waiting", "another delivery run is sending it right now", None
        if answer is Claim.wait:
            return "waiting", f"waiting to retry from {row.next_attempt_at:%Y-%m-%d %H:%M} UTC", None
        try:
            message = self._with_link(item)
            sent = self.sender.send(directory, partner, message, f"{meta.message_key}/{meta.recipient}", avoid)
        except BaseException:
            self.ledger.release(meta.message_key, meta.recipient)  # a bug, not a failed send: give it back
            raise
        if sent.ok:
            self.ledger.succeeded(meta.message_key, meta.recipient, at=now, service=sent.service)
            return "delivered", None, None
        row = self.ledger.failed(meta.message_key, meta.recipient, at=now, service=sent.service,
                                 error=sent.error or "failed", retry_at=now + self.policy.retry_after(row.attempts + 1))
        note = self._maybe_escalate(directory, partner, row, sent.tried, now)
        return "failed", sent.error or "failed", note

    # -- escalation --

    def _maybe_escalate(self, directory: PartnerDirectory, partner: Partner, row: Delivery,
                        failing: Sequence[str], now: datetime) -> CaseNote | None:
        if row.kind not in (Kind.message, Kind.unroutable) or row.escalated_at is not None:
            return None
        started = row.first_attempt_at or now
        hours = timedelta(hours=self.policy.escalate_after_hours)
        if row.attempts < self.policy.escalate_after_failures and now - started < hours:
            return None
        coordinators = directory.roles.get(COORDINATOR, ())
        reached = 0
        for coordinator in coordinators:
            lang = coordinator.language
            context = {"case_ref": row.case_ref, "role": row.role, "message_kind": row.template,
                       "partner": partner.organisation, "service": ", ".join(dict.fromkeys(failing)) or "-",
                       "sinds": f"{started:%Y-%m-%d %H:%M} UTC", "pogingen": row.attempts,
                       "uiterlijk": _TODAY[lang]}
            command = NotifyRole(key=row.message_key, case_ref=row.case_ref or "-", role=row.role,
                                 template="bezorging_mislukt")
            planned = self._plan(directory, command, coordinator, Kind.escalation, "bezorging_mislukt", context,
                                 key=f"{row.message_key}~escalation~{row.recipient}")
            outcome, error, _ = self._deliver_one(directory, planned, now, avoid=tuple(failing))
            reached += error is None
        if coordinators and reached == len(coordinators) and \
                self.ledger.mark_escalated(row.message_key, row.recipient, at=now):
            return CaseNote(row.case_ref or "-", "notification_escalated", row.role,
                            f"bericht {row.template} aan {partner.id} komt niet aan na {row.attempts} "
                            f"poging(en); coördinator ingelicht")
        return None

    # -- daily digests --

    def send_digests(self, now: datetime | None = None) -> DigestReport:
        """One digest per partner per calendar day with everything queued for it; raises if any failed."""
        return send_digests(ledger=self.ledger, directories=self.directories, renderer=self.renderer,
                            sender=self.sender, policy=self.policy, now=now or self.clock())
