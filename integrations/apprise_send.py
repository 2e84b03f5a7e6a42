"""Sending one rendered message to one partner through apprise, trying the partner's URLs in order.

A fresh apprise plugin per send (apprise throttles each plugin instance, 5.5 s between mails on one
object); `notify()` returning False is a failure. Secrets are filled in at the moment of sending
(environment, Prefect Secret blocks) and removed from every error text; nothing here logs a URL.

Each URL is a channel (`engine.deliveries.channel_id`): the caller says which channels may be tried
now (a channel that is down is skipped until its next probe) and gets back how each attempt went.

The message's idempotency key (`<command key>/<recipient>`) goes with every send, so a receiver can
drop a repeat (after a crash of the drain the messages of the chunk it was sending may go again):
- e-mail: `Message-ID: <sha256(key)[:32]@regie>` (`message_id`), and the key in `X-Regie-Delivery`;
- webhooks (json, xml, form): the `Idempotency-Key` and `X-Regie-Delivery` headers, and for JSON also
  the `idempotency_key` field of the body.
Other services (chat) cannot carry it; a repeat there shows as a second message.

apprise's e-mail plugin makes a random Message-ID with `email.utils.make_msgid`, imported into its
module; `_stable_message_ids` replaces that name once, the first time a message is sent, with one
that returns the Message-ID of the send under way in this thread (a context variable) and apprise's
own value otherwise. tests/reliability checks the header at a real SMTP server, so an apprise release
that builds its mails differently fails the tests instead of silently losing the key.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import apprise

from integrations.directory import Partner, PartnerDirectory, SecretUnavailable, resolve_url
from integrations.messages import RenderedMessage

DELIVERY_HEADER = "X-Regie-Delivery"
"""Header (email, webhooks) carrying `<message key>/<recipient>`, so a receiver can drop a repeat."""
IDEMPOTENCY_HEADER = "Idempotency-Key"
"""The same key in the header webhooks commonly deduplicate on."""
IDEMPOTENCY_FIELD = "idempotency_key"
"""The same key as a field of a JSON webhook's body."""
_MAIL_SCHEMAS = frozenset({"mailto", "mailtos"})
FAILED = "mislukt"
"""The error of a failed send that gave no reason of its own."""


def message_id(delivery_key: str) -> str:
    """The e-mail Message-ID of a delivery: the same for every send of the same key (`<hex@regie>`)."""
    return f"<{hashlib.sha256(delivery_key.encode()).hexdigest()[:32]}@regie>"


@dataclass(frozen=True)
class Attempt:
    """One try on one channel: the URL's position in the partner's list (from 1), the service, the outcome."""

    position: int
    service: str | None
    ok: bool
    error: str | None = None


@dataclass(frozen=True)
class Sent:
    """How sending to one partner went: accepted or not, by which service, and what was tried."""

    ok: bool
    service: str | None
    error: str | None = None
    attempts: tuple[Attempt, ...] = ()
    skipped: tuple[int, ...] = ()
    """positions of channels not tried now (down, no probe due)"""

    @property
    def tried(self) -> tuple[str, ...]:
        """The services tried, in order."""
        return tuple(a.service or "unknown" for a in self.attempts)


@dataclass(frozen=True)
class Sender:
    """Sends to partners: the apprise asset (sender name) and where secrets come from."""

    asset: apprise.AppriseAsset
    env: Mapping[str, str]
    load_block: Callable[[str], str]

    def send(self, directory: PartnerDirectory, partner: Partner, message: RenderedMessage, delivery_key: str,
             avoid: Sequence[str] = (), may_try: Callable[[int], bool] = lambda position: True) -> Sent:
        """Try the partner's URLs (those of a kind in `avoid` last, those `may_try` refuses not at all)
        until one accepts the message."""
        channels = sorted(enumerate(directory.channels[partner.id], start=1), key=lambda ch: ch[1].schema in avoid)
        errors, attempts, skipped, service = [], [], [], None
        for position, channel in channels:
            if not may_try(position):
                skipped.append(position)
                continue
            try:
                resolved = resolve_url(channel.url, self.env, self.load_block)
            except SecretUnavailable as exc:
                errors.append(f"{channel.schema or 'geheime URL'}: {exc}")
                attempts.append(Attempt(position, channel.schema, False, str(exc)))
                continue
            ok, service, error = send_with_apprise(resolved.url, message, delivery_key, self.asset,
                                                   secrets=resolved.secrets)
            attempts.append(Attempt(position, service, ok, error))
            if ok:
                return Sent(True, service, None, tuple(attempts), tuple(skipped))
            errors.append(f"{service}: {error}")
        return Sent(False, service, "; ".join(errors) or "geen bruikbare URL", tuple(attempts), tuple(skipped))


def send_with_apprise(url: str, message: RenderedMessage, delivery_key: str, asset: apprise.AppriseAsset, *,
                      secrets: Sequence[str] = ()) -> tuple[bool, str | None, str | None]:
    """Send one message through a fresh apprise plugin: (accepted, schema, error without secrets).

    The delivery key goes with it (see the module's docstring)."""
    parsed = apprise.plugins.url_to_dict(url)
    if parsed is None:
        return False, None, "apprise neemt de URL niet aan als de geheimen erin staan"
    schema = parsed["schema"]
    if schema in _WEBHOOK_SCHEMAS:
        _keep_alive()
    with _apprise_warnings() as warnings:
        plugin = apprise.Apprise.instantiate(url, asset=asset)
        if plugin is None:
            return False, schema, f"apprise neemt de {schema}://-URL niet aan als de geheimen erin staan"
        # A fresh plugin per send never waits, and neither does one with the rate limit off.
        plugin.request_rate_per_sec = 0
        _carry_key(plugin, schema, delivery_key)
        with _message_id(message_id(delivery_key) if schema in _MAIL_SCHEMAS else None):
            ok = plugin.notify(body=message.body, title=message.subject, body_format=apprise.NotifyFormat.TEXT)
    if ok:
        return True, schema, None
    # apprise's own words (its warnings) quoted as they are; the framing is ours.
    said = "; ".join(f"„{w}”" for w in warnings)
    error = f"apprise meldt: {said}" if said else "apprise: niet verstuurd, zonder opgave van reden"
    return False, schema, redact(error, [url, *secrets])


def _carry_key(plugin: Any, schema: str, delivery_key: str) -> None:
    headers = getattr(plugin, "headers", None)
    if isinstance(headers, dict):
        headers[DELIVERY_HEADER] = delivery_key
        if schema not in _MAIL_SCHEMAS:
            headers[IDEMPOTENCY_HEADER] = delivery_key
    extras = getattr(plugin, "payload_extras", None)
    if isinstance(extras, dict) and schema in ("json", "jsons"):
        extras[IDEMPOTENCY_FIELD] = delivery_key


_WEBHOOK_SCHEMAS = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
_WEBHOOK_PLUGINS = ("custom_json", "custom_xml", "custom_form")


class _KeptAlive:
    """Stands in for the `requests` module inside apprise's webhook plugins: everything is the module's
    own, except that `request` goes through one `requests.Session` per thread, so the HTTP connection
    to a partner is kept alive from one message to the next (`requests.request` opens a new session,
    and so a new TCP connection, per call). The sessions accept no cookies: one message must not carry
    what a partner's answer to another set."""

    def __init__(self, module: Any):
        self._module = module
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            from http.cookiejar import DefaultCookiePolicy

            session = self._module.Session()
            session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
            self._local.session = session
        return session.request(method, url, **kwargs)


def _keep_alive() -> None:
    """Give apprise's webhook plugins kept-alive connections (see `_KeptAlive`), once per process."""
    import importlib

    with _HOOK_LOCK:
        for name in _WEBHOOK_PLUGINS:
            module = importlib.import_module(f"apprise.plugins.{name}")
            if not isinstance(module.requests, _KeptAlive):
                module.requests = _KeptAlive(module.requests)


_CURRENT_MESSAGE_ID: ContextVar[str | None] = ContextVar("regie_message_id", default=None)
_HOOK_LOCK = threading.Lock()


@contextmanager
def _message_id(value: str | None) -> Iterator[None]:
    if value is not None:
        _stable_message_ids()
    token = _CURRENT_MESSAGE_ID.set(value)
    try:
        yield
    finally:
        _CURRENT_MESSAGE_ID.reset(token)


def _stable_message_ids() -> None:
    """Make apprise's e-mail plugin use the Message-ID of the send under way (see the module docstring)."""
    from apprise.plugins.email import base as email_plugin

    with _HOOK_LOCK:
        original = email_plugin.make_msgid
        if getattr(original, "regie_stable", False):
            return

        def make_msgid(idstring: str | None = None, domain: str | None = None) -> str:
            return _CURRENT_MESSAGE_ID.get() or original(idstring, domain)

        make_msgid.regie_stable = True  # type: ignore[attr-defined]
        email_plugin.make_msgid = make_msgid


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
        raise SecretUnavailable(f"Prefect Secret-blok {name!r} is niet te lezen ({type(exc).__name__})") from None
