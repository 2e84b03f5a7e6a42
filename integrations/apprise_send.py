"""Sending one rendered message to one partner through apprise, trying the partner's URLs in order.

A fresh apprise plugin per send (apprise throttles each plugin instance, 5.5 s between mails on one
object); `notify()` returning False is a failure. Secrets are filled in at the moment of sending
(environment, Prefect Secret blocks) and removed from every error text; nothing here logs a URL.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote

import apprise

from integrations.directory import Partner, PartnerDirectory, SecretUnavailable, resolve_url
from integrations.messages import RenderedMessage

DELIVERY_HEADER = "X-Regie-Delivery"
"""Header (email, JSON webhooks) carrying `<message key>/<recipient>`, so a receiver can drop a repeat."""


@dataclass(frozen=True)
class Sent:
    """How sending to one partner went: accepted or not, by which service, and what was tried."""

    ok: bool
    service: str | None
    error: str | None = None
    tried: tuple[str, ...] = ()


@dataclass(frozen=True)
class Sender:
    """Sends to partners: the apprise asset (sender name) and where secrets come from."""

    asset: apprise.AppriseAsset
    env: Mapping[str, str]
    load_block: Callable[[str], str]

    def send(self, directory: PartnerDirectory, partner: Partner, message: RenderedMessage, delivery_key: str,
             avoid: Sequence[str] = ()) -> Sent:
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
                return Sent(True, service, None, tuple(tried))
            errors.append(f"{service}: {error}")
        return Sent(False, service, "; ".join(errors) or "no usable URL", tuple(tried))


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
