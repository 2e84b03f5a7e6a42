"""The token in a partner link: a random link id and its last moment, signed with the municipality's key.

A token is 71 URL-safe characters: `1` (the format), the link id (16 random bytes) and its expiry (4
bytes, seconds since 1970) in base64url, then an HMAC-SHA256 over the id, the expiry and everything the
link is bound to (case, kind, step, task, role, recipient). So a token cannot be made or changed
without the key, and a token moved to another case, step or partner no longer checks out. It is one
run of word characters starting with a digit, so no filter that looks for words in a message (the
privacy guard, spam filters) can see a word in it.

The key comes from the settings (`REGIE_LINK_KEY`), from a Prefect Secret block (`secret:<block>`),
or, on the embedded default, from `<data_dir>/link.key`, made once with 32 random bytes (mode 0600) by
whichever process needs it first.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from integrations.directory import SecretUnavailable
from store.links import LinkRecord

FORMAT = "1"
TOKEN = re.compile(r"^1[A-Za-z0-9_-]{70}$")
"""The shape of a token: anything else is not one, and is refused before the database is asked."""
MIN_KEY_CHARS = 32
KEY_FILE = "link.key"


class LinkKeyError(ValueError):
    """The key that signs partner links cannot be used (too short, or its Secret block cannot be read)."""


def new_link_id() -> str:
    """A fresh link id: 16 random bytes, as 32 hex characters."""
    return secrets.token_hex(16)


def make_token(key: bytes, link: LinkRecord) -> str:
    """The token for a stored link."""
    head = bytes.fromhex(link.id) + _seconds(link.expires_at).to_bytes(4, "big")
    return FORMAT + _b64(head) + _b64(_mac(key, link))


def link_id(token: str) -> str | None:
    """The link id a token names, or None when the text is not shaped like a token."""
    if not TOKEN.match(token):
        return None
    try:
        head = base64.urlsafe_b64decode(token[1:28] + "=")
        base64.urlsafe_b64decode(token[28:] + "=")
    except (binascii.Error, ValueError):
        return None
    return head[:16].hex() if len(head) == 20 else None


def signed_for(key: bytes, token: str, link: LinkRecord) -> bool:
    """Whether the token is this link's, signed with this key (a constant-time comparison)."""
    return same(token, make_token(key, link))


def form_token(key: bytes, token: str, nonce: str) -> str:
    """The token a page's forms carry: bound to the link and to the nonce in the browser's cookie."""
    mac = hmac.new(key, b"regie-partner-form-1\0" + token.encode("utf-8") + b"\0" + nonce.encode("utf-8"),
                   hashlib.sha256).digest()
    return _b64(mac)


def same(given: str, expected: str) -> bool:
    """Compare two secrets in constant time (whatever the given text holds)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def _mac(key: bytes, link: LinkRecord) -> bytes:
    bound = "\0".join((link.id, str(_seconds(link.expires_at)), link.case_ref, link.kind, link.step,
                       link.task_id or "", link.role, link.recipient))
    return hmac.new(key, b"regie-partner-link-1\0" + bound.encode("utf-8"), hashlib.sha256).digest()


def _seconds(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def load_key(configured: str, data_dir: Path, load_block: Callable[[str], str]) -> bytes:
    """The signing key: the configured text, a Prefect Secret block's value, or the local key file."""
    if configured.startswith("secret:"):
        name = configured.removeprefix("secret:")
        try:
            configured = load_block(name)
        except SecretUnavailable as exc:
            raise LinkKeyError(f"REGIE_LINK_KEY noemt een Prefect Secret-blok dat niet te lezen is: {exc}") from None
    if configured:
        if len(configured) < MIN_KEY_CHARS:
            raise LinkKeyError(f"REGIE_LINK_KEY is te kort ({len(configured)} tekens): gebruik er minstens "
                               f"{MIN_KEY_CHARS}, willekeurig gekozen")
        return configured.encode("utf-8")
    return _key_file(data_dir / KEY_FILE)


def _key_file(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made before, maybe by another process right now: read it below
    else:
        with os.fdopen(fd, "w", encoding="ascii") as out:
            out.write(secrets.token_hex(32))
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_KEY_CHARS:  # a writer that has not finished yet, or a damaged file
        raise LinkKeyError(f"{path} bevat geen bruikbare sleutel; verwijder het bestand, dan wordt er een nieuwe "
                           "gemaakt (oude links werken dan niet meer)")
    return text.encode("ascii")
