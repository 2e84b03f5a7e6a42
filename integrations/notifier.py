"""Telling a role that something needs doing: the `Notifier` interface and a recording fake.

The outbox delivery hands every `NotifyRole` command to a `Notifier`. A notifier either delivers the
message or raises `NotificationFailed`, so the delivery run shows Failed and the outbox row stays
pending for the next attempt. A later issue adds the apprise notifier (email, chat) behind this same
interface; until then `RecordingNotifier` logs one line per notice and keeps what it sent.

Commands carry process data only (case reference, step, role, deadline), so logging them is allowed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from engine.commands import NotifyRole

logger = logging.getLogger("regie.notifier")


class NotificationFailed(Exception):
    """The message could not be delivered; the outbox keeps the command for another attempt."""


class Notifier(Protocol):
    """Delivers one notice to whoever fills a role for a case."""

    def notify(self, command: NotifyRole) -> None:
        """Deliver the notice, or raise `NotificationFailed`. Delivering the same key twice is harmless."""
        ...


@dataclass
class RecordingNotifier:
    """Logs each notice and records it (in memory, and optionally in a JSON-lines ledger file).

    Idempotent by command key: a key already recorded is not recorded or logged again. `fail_roles`
    lets a test see how delivery behaves when a channel is down.
    """

    ledger: Path | None = None
    fail_roles: frozenset[str] = frozenset()
    sent: list[NotifyRole] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._keys = {c.key for c in self.sent}
        if self.ledger is not None and self.ledger.exists():
            with self.ledger.open(encoding="utf-8") as lines:
                self._keys.update(json.loads(line)["key"] for line in lines if line.strip())

    def notify(self, command: NotifyRole) -> None:
        """Record the notice; raise `NotificationFailed` for a role in `fail_roles`."""
        if command.role in self.fail_roles:
            raise NotificationFailed(f"no channel for role '{command.role}' (case {command.case_ref})")
        if command.key in self._keys:
            return
        logger.info("notified %s about case %s (%s)", command.role, command.case_ref, command.template)
        if self.ledger is not None:
            self.ledger.parent.mkdir(parents=True, exist_ok=True)
            entry = {"key": command.key, "case_ref": command.case_ref, "role": command.role,
                     "template": command.template}
            with self.ledger.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry) + "\n")
        self._keys.add(command.key)
        self.sent.append(command)
