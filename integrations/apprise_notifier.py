"""The apprise notifier: delivers `NotifyRole` commands to partners by email and chat, exactly once each.

For one command it
1. finds the case's municipality profile and its partner directory, and the partner the case names
   for the role (`partner_<role>` in the command's context or the case data);
2. routes the role to recipients (integrations.directory.route). A role without a recipient becomes a
   message to the coordinator ("geen ontvanger voor rol X") and a `CaseNote` for the case history;
3. renders the message per recipient language; the privacy guard runs for every recipient before
   anything is sent (integrations.messages);
4. per recipient, claims the delivery in the ledger (so it is never sent twice, also across crashes,
   restarts and concurrent drains), sends it through a fresh apprise plugin (no throttling between
   sends), trying the partner's URLs in order, and records the attempt (time, outcome, service schema,
   error with secrets removed). apprise `notify()` returning False is a failure;
5. raises `NotificationFailed` when any recipient failed, so the outbox row stays pending; a retry
   skips recipients that already got it. After `escalate_after_failures` failed attempts, or
   `escalate_after_hours` since the first, the coordinator is told once, preferring a channel of
   another kind than the one failing.

Partners with `digest: daily` get the message queued in the ledger; `send_digests` sends one digest per
partner per day.

Secrets in URLs are read when sending (environment, Prefect Secret blocks) and never logged or stored.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo

import apprise
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, select

from engine.commands import NotifyRole
from engine.loader import Library
from integrations.directory import (
    COORDINATOR,
    DirectoryError,
    Partner,
    PartnerDirectory,
    SecretUnavailable,
    Unroutable,
    case_choices,
    check_directory,
    resolve_url,
    route,
)
from integrations.ledger import Claim, Delivery, DeliveryLedger, DeliveryMeta, Kind, SqlDeliveryLedger, backoff
from integrations.messages import MessageError, MessageRenderer, RenderedMessage, WhereToAct
from integrations.notifier import NotificationFailed
from store.writes import cases as cases_table

DELIVERY_HEADER = "X-Regie-Delivery"
"""Header (email, JSON webhooks) carrying `<message key>/<recipient>`, so a receiver can drop a repeat."""
_ASAP = {"nl": "zo snel mogelijk", "en": "as soon as possible"}
_TODAY = {"nl": "vandaag", "en": "today"}


class MessageRefused(NotificationFailed):
    """The message cannot be rendered (privacy guard, missing variable): nothing was sent to anyone."""


class DeliveryIncomplete(NotificationFailed):
    """Some recipients were not reached (the outbox row stays pending); `report` says what did happen,
    including notes for the case history (an escalation happens on a failed attempt)."""

    def __init__(self, message: str, report: "DeliveryReport"):
        super().__init__(message)
        self.report = report


class NotifySettings(BaseSettings):
    """Delivery policy, read from `REGIE_NOTIFY_*` variables when asked for (`get_notify_settings`)."""

    model_config = SettingsConfigDict(env_prefix="REGIE_NOTIFY_", env_file=".env", extra="ignore")

    escalate_after_failures: int = Field(3, ge=1, description="failed attempts before the coordinator is told")
    escalate_after_hours: float = Field(4.0, gt=0, description="or hours since the first failed attempt")
    retry_base_seconds: float = Field(60, ge=0, description="wait after the first failure; doubles each time")
    retry_max_seconds: float = Field(3600, ge=0, description="longest wait between attempts")
    lease_seconds: float = Field(300, gt=0, description="how long a sender holds a delivery it is sending")
    ui_url: str | None = Field(None, description="Prefect UI address partners can reach; else the CLI line")
    inbox_path: str = Field("/runs?flowRuns.tags.name={tag}",
                            description="the UI's runs list filtered on a tag; {tag} becomes case:<case_ref>")
    digest_timezone: str = Field("Europe/Amsterdam", description="whose calendar day a daily digest covers")
    app_id: str = Field("Regie", description="sender name apprise puts in mail headers")


def get_notify_settings(**overrides: Any) -> NotifySettings:
    """Read the delivery settings now (environment, `.env`, then `overrides`)."""
    return NotifySettings(**overrides)


def utc_now() -> datetime:
    """The real clock (tests pass their own)."""
    return datetime.now(UTC)


# --- what the notifier needs to know about a case -----------------------------------------------


@dataclass(frozen=True)
class CaseInfo:
    """What routing needs of a case: its profile, and its data (for `partner_<role>` choices)."""

    profile: str | None
    data: Mapping[str, Any]


class CaseLookup(Protocol):
    """Reads what routing needs of a case (None: no such case)."""

    def case(self, case_ref: str) -> CaseInfo | None: ...


@dataclass
class StaticCases:
    """Case facts held in memory (tests, benchmarks)."""

    profiles: dict[str, str] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)

    def case(self, case_ref: str) -> CaseInfo | None:
        return CaseInfo(self.profiles.get(case_ref), self.data.get(case_ref, {}))


@dataclass
class StoreCases:
    """Case facts read from the case store (one indexed read per command)."""

    engine: Engine

    def case(self, case_ref: str) -> CaseInfo | None:
        c = cases_table.c
        with self.engine.connect() as conn:
            row = conn.execute(select(c.profile, c.state["data"].label("data"))
                               .where(c.case_ref == case_ref)).first()
        if row is None:
            return None
        return CaseInfo(row.profile, row.data if isinstance(row.data, dict) else {})


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseNote:
    """Something about delivery the case history must show (the caller writes it; process data only)."""

    case_ref: str
    kind: str
    """`notification_unroutable` or `notification_escalated`"""
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
    """recipients not tried now: their backoff has not run out, or another run is sending to them"""
    notes: tuple[CaseNote, ...] = ()

    @property
    def attempted(self) -> bool:
        """Whether anything was sent (or tried) now; False when every open recipient was only waiting."""
        return bool(self.delivered or self.queued or set(self.failed) - set(self.waiting))


@dataclass(frozen=True)
class DigestReport:
    """Digests sent now (their keys) and messages left for a later digest."""

    sent: tuple[str, ...] = ()
    waiting: int = 0


@dataclass(frozen=True)
class _Send:
    ok: bool
    service: str | None
    error: str | None = None
    tried: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Planned:
    partner: Partner
    meta: DeliveryMeta
    message: RenderedMessage


# --- the notifier -------------------------------------------------------------------------------


class AppriseNotifier:
    """Routes, renders and delivers partner messages; implements `integrations.notifier.Notifier`."""

    def __init__(self, *, directories: Mapping[str, PartnerDirectory], renderer: MessageRenderer,
                 ledger: DeliveryLedger, cases: CaseLookup, settings: NotifySettings | None = None,
                 default_profile: str | None = None, clock: Callable[[], datetime] = utc_now,
                 env: Mapping[str, str] | None = None, load_block: Callable[[str], str] | None = None):
        self.directories = directories
        self.renderer = renderer
        self.ledger = ledger
        self.cases = cases
        self.settings = settings or NotifySettings()
        self.default_profile = default_profile
        self.clock = clock
        self.env = os.environ if env is None else env
        self.load_block = load_block or prefect_secret
        self.asset = apprise.AppriseAsset(app_id=self.settings.app_id, app_desc="Regie", secure_logging=True)

    # -- one command --

    def notify(self, command: NotifyRole) -> None:
        """Deliver to every recipient of the role, or raise `NotificationFailed` (the Notifier interface)."""
        self.deliver(command)

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
        return _Planned(partner, meta, message)

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
            fresh = self.ledger.queue(meta, at=now, subject=item.message.subject, body=item.message.body)
            return ("queued" if fresh else "already"), None, None
        answer, row = self.ledger.claim(meta, now, timedelta(seconds=self.settings.lease_seconds))
        if answer is Claim.done:
            return "already", None, None
        if answer is Claim.busy:
            return "waiting", "another delivery run is sending it right now", None
        if answer is Claim.wait:
            return "waiting", f"waiting to retry from {row.next_attempt_at:%Y-%m-%d %H:%M} UTC", None
        try:
            sent = self._send(directory, partner, item.message, f"{meta.message_key}/{meta.recipient}", avoid)
        except BaseException:
            self.ledger.release(meta.message_key, meta.recipient)  # a bug, not a failed send: give it back
            raise
        if sent.ok:
            self.ledger.succeeded(meta.message_key, meta.recipient, at=now, service=sent.service)
            return "delivered", None, None
        wait = backoff(row.attempts + 1, timedelta(seconds=self.settings.retry_base_seconds),
                       timedelta(seconds=self.settings.retry_max_seconds))
        row = self.ledger.failed(meta.message_key, meta.recipient, at=now, service=sent.service,
                                 error=sent.error or "failed", retry_at=now + wait)
        note = self._maybe_escalate(directory, partner, row, sent.tried, now)
        return "failed", sent.error or "failed", note

    def _send(self, directory: PartnerDirectory, partner: Partner, message: RenderedMessage, delivery_key: str,
              avoid: Sequence[str] = ()) -> _Send:
        """Try the partner's URLs (those of a kind in `avoid` last) until one accepts the message."""
        channels = sorted(directory.channels[partner.id], key=lambda ch: ch.schema in avoid)
        errors, tried, service = [], [], None
        for channel in channels:
            try:
                resolved = resolve_url(channel.url, self.env, self.load_block)
            except SecretUnavailable as exc:
                errors.append(f"{channel.schema or 'secret url'}: {exc}")
                continue
            ok, service, error = send_with_apprise(resolved.url, message, delivery_key, self.asset,
                                                   secrets=resolved.secrets)
            tried.append(service or "unknown")
            if ok:
                return _Send(True, service, None, tuple(tried))
            errors.append(f"{service}: {error}")
        return _Send(False, service, "; ".join(errors) or "no usable URL", tuple(tried))

    # -- escalation --

    def _maybe_escalate(self, directory: PartnerDirectory, partner: Partner, row: Delivery,
                        failing: Sequence[str], now: datetime) -> CaseNote | None:
        if row.kind not in (Kind.message, Kind.unroutable) or row.escalated_at is not None:
            return None
        started = row.first_attempt_at or now
        hours = timedelta(hours=self.settings.escalate_after_hours)
        if row.attempts < self.settings.escalate_after_failures and now - started < hours:
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
        """One digest per partner per calendar day with everything queued for it; raises if any failed.

        Messages queued after today's digest went out wait for tomorrow's. A failed digest keeps its
        messages queued; the next run retries it (after the backoff).
        """
        now = now or self.clock()
        day = now.astimezone(ZoneInfo(self.settings.digest_timezone)).date()
        groups: dict[tuple[str | None, str], list[Delivery]] = {}
        for item in self.ledger.queued():
            groups.setdefault((item.profile, item.recipient), []).append(item)
        sent, waiting, failed = [], 0, {}
        for (profile, recipient), items in groups.items():
            directory = self.directories.get(profile or "")
            partner = directory.partner(recipient) if directory else None
            if directory is None or partner is None:
                failed[recipient] = f"partner {recipient} is no longer in the directory of {profile}"
                continue
            key = f"digest:{profile}:{recipient}:{day.isoformat()}"
            meta = DeliveryMeta(message_key=key, recipient=recipient, profile=profile, case_ref=None,
                                role=items[0].role, template="dagoverzicht", kind=Kind.digest)
            messages = [RenderedMessage(i.template, partner.language, i.subject or "", i.body or "") for i in items]
            digest = self.renderer.render_digest(partner.organisation, day, messages, partner.language)
            answer, row = self.ledger.claim(meta, now, timedelta(seconds=self.settings.lease_seconds))
            if answer is Claim.done:
                waiting += len(items)
                continue
            if answer is not Claim.go:
                failed[recipient] = f"digest {key}: {answer.value}"
                continue
            result = self._send(directory, partner, digest, f"{key}/{recipient}")
            if result.ok:
                self.ledger.mark_digested(items, digest_key=key, at=now, service=result.service)
                self.ledger.succeeded(key, recipient, at=now, service=result.service)
                sent.append(key)
            else:
                wait = backoff(row.attempts + 1, timedelta(seconds=self.settings.retry_base_seconds),
                               timedelta(seconds=self.settings.retry_max_seconds))
                self.ledger.failed(key, recipient, at=now, service=result.service, error=result.error or "failed",
                                   retry_at=now + wait)
                failed[recipient] = result.error or "failed"
        if failed:
            lines = "; ".join(f"{who}: {why}" for who, why in failed.items())
            raise NotificationFailed(f"{len(failed)} digest(s) not sent (their messages stay queued): {lines}")
        return DigestReport(tuple(sent), waiting)


# --- apprise ------------------------------------------------------------------------------------


def send_with_apprise(url: str, message: RenderedMessage, delivery_key: str, asset: apprise.AppriseAsset, *,
                      secrets: Sequence[str] = ()) -> tuple[bool, str | None, str | None]:
    """Send one message through a fresh apprise plugin: (accepted, schema, error without secrets)."""
    parsed = apprise.plugins.url_to_dict(url)
    if parsed is None:
        return False, None, "apprise does not accept the URL once its secrets are filled in"
    schema = parsed["schema"]
    with _apprise_warnings() as warnings:
        plugin = apprise.Apprise.instantiate(url, asset=asset)
        if plugin is None:
            return False, schema, f"apprise does not accept the {schema}:// URL once its secrets are filled in"
        # A fresh plugin per send never waits, and neither does one with the rate limit off.
        plugin.request_rate_per_sec = 0
        if isinstance(getattr(plugin, "headers", None), dict):
            plugin.headers[DELIVERY_HEADER] = delivery_key
        ok = plugin.notify(body=message.body, title=message.subject, body_format=apprise.NotifyFormat.TEXT)
    if ok:
        return True, schema, None
    return False, schema, redact("; ".join(warnings) or "apprise notify() returned False", [url, *secrets])


def redact(text: str, secrets: Sequence[str]) -> str:
    """`text` with every secret (and its URL-encoded form) replaced by ***."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            text = text.replace(form, "***")
    return text


class _ThreadCapture(logging.Handler):
    """Collects apprise warnings raised by this thread only (sends may run in parallel threads)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.lines.append(record.getMessage())


@contextmanager
def _apprise_warnings() -> Iterator[list[str]]:
    handler = _ThreadCapture()
    logger = logging.getLogger("apprise")
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


def prefect_secret(name: str) -> str:
    """The value of a Prefect Secret block (read only when a message is sent)."""
    import httpx
    from prefect.blocks.system import Secret

    try:
        # _sync: the outbox drain calls us from inside an event loop, where load() would return a coroutine
        return str(Secret.load(name, _sync=True).get())  # type: ignore[call-arg, union-attr]
    except (ValueError, httpx.HTTPError, RuntimeError, OSError) as exc:
        raise SecretUnavailable(f"Prefect Secret block {name!r} cannot be read ({type(exc).__name__})") from None


# --- wiring -------------------------------------------------------------------------------------


def load_directories(library: Library, env: Mapping[str, str] | None = None) -> dict[str, PartnerDirectory]:
    """The partner directory of every profile in the library; raises `DirectoryError` listing every problem."""
    directories, problems = {}, []
    for profile in library.profiles.values():
        directory, found = check_directory(profile, library.catalog, os.environ if env is None else env)
        directories[profile.id] = directory
        problems.extend(found)
    if problems:
        raise DirectoryError(sorted(problems))
    return directories


def build_notifier(*, engine: Engine, library: Library, clock: Callable[[], datetime] = utc_now,
                   default_profile: str | None = None, settings: NotifySettings | None = None,
                   env: Mapping[str, str] | None = None) -> AppriseNotifier:
    """The notifier for a running Regie: directories from every profile, the ledger in the case store."""
    if library.catalog is None:
        raise ValueError("the definitions have no catalogue: there are no templates to send")
    settings = settings or get_notify_settings()
    where = WhereToAct(settings.ui_url, settings.inbox_path)
    return AppriseNotifier(
        directories=load_directories(library, env), renderer=MessageRenderer(library.catalog, where),
        ledger=SqlDeliveryLedger(engine), cases=StoreCases(engine), settings=settings,
        default_profile=default_profile, clock=clock, env=env,
    )
