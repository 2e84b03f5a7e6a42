"""The delivery ledger as the notifier sees it: an interface and an in-memory fake.

Per message and recipient a delivery row; per partner channel its health (failures in a row, outage).
The row types and the claim, backoff and outage rules are the engine's (`engine.deliveries`), so every
ledger agrees on them. The real ledger is the case store's `store.deliveries.SqlDeliveryLedger`, which
implements this interface structurally; `app.bootstrap` wires it in. `MemoryLedger` behaves the same
(the shared contract test runs both) for unit tests and benchmarks without a database.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from engine.calendar import require_aware
from engine.deliveries import (
    MAX_ERROR,
    SUBJECT,
    ChannelHealth,
    Claim,
    Delivery,
    DeliveryMeta,
    Kind,
    OutageRule,
    Outcome,
    Succeeded,
    after_failure,
    after_success,
    backoff,
    claim_answer,
)

__all__ = ["ChannelHealth", "Claim", "Delivery", "DeliveryLedger", "DeliveryMeta", "Kind", "MemoryLedger",
           "OutageRule", "Outcome", "Succeeded", "backoff"]


class DeliveryLedger(Protocol):
    """Per message and recipient: claimed, tried, delivered or queued for the digest."""

    def get(self, message_key: str, recipient: str) -> Delivery | None: ...

    def for_case(self, case_ref: str) -> list[Delivery]: ...

    def for_message(self, message_key: str) -> list[Delivery]: ...

    def claim(self, meta: DeliveryMeta, now: datetime, lease: timedelta,
              succeeded: Sequence[Succeeded] = ()) -> tuple[Claim, Delivery]:
        """Hold the row for this sender if it may be sent now; `succeeded` (sends that went well since the
        last write) is recorded in the same write, before the claim."""
        ...

    def claim_many(self, metas: Sequence[DeliveryMeta], now: datetime, lease: timedelta,
                   succeeded: Sequence[Succeeded] = ()) -> list[tuple[Claim, Delivery]]:
        """`claim` for a chunk of deliveries in one write, answered in the order of `metas` (a delivery
        asked for twice is held once: the second answer is `busy`)."""
        ...

    def succeeded(self, message_key: str, recipient: str, *, at: datetime, service: str | None) -> None: ...

    def succeeded_many(self, done: list[Succeeded]) -> None:
        """`succeeded` for many rows at once (a chunk's last successes: one write instead of one per message)."""
        ...

    def failed(self, message_key: str, recipient: str, *, at: datetime, service: str | None, error: str,
               retry_at: datetime) -> Delivery: ...

    def release(self, message_key: str, recipient: str) -> None: ...

    def queue(self, meta: DeliveryMeta, *, at: datetime, subject: str, body: str) -> bool: ...

    def queued(self) -> list[Delivery]: ...

    def mark_digested(self, items: list[Delivery], *, digest_key: str, at: datetime,
                      service: str | None) -> None: ...

    def mark_escalated(self, message_key: str, recipient: str, *, at: datetime) -> bool: ...

    def note_waiting(self, meta: DeliveryMeta, *, at: datetime) -> bool: ...

    def troubled_channels(self) -> dict[str, ChannelHealth]: ...

    def channel_failed(self, *, channel: str, profile: str | None, recipient: str, service: str | None,
                       error: str, at: datetime, rule: OutageRule) -> tuple[ChannelHealth | None, ChannelHealth]: ...

    def channel_succeeded(self, channel: str, *, at: datetime) -> ChannelHealth | None: ...

    def mark_channel_escalated(self, channel: str, *, down_since: datetime, at: datetime) -> bool: ...


class MemoryLedger:
    """The ledger in a dict; thread-safe, lost when the process ends (tests and benchmarks only)."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], Delivery] = {}
        self._order: list[tuple[str, str]] = []
        self._channels: dict[str, ChannelHealth] = {}
        self._lock = threading.Lock()

    def get(self, message_key: str, recipient: str) -> Delivery | None:
        return self._rows.get((message_key, recipient))

    def for_case(self, case_ref: str) -> list[Delivery]:
        with self._lock:
            return [self._rows[k] for k in self._order if self._rows[k].case_ref == case_ref]

    def for_message(self, message_key: str) -> list[Delivery]:
        with self._lock:
            return [self._rows[k] for k in self._order if k[0] == message_key]

    def claim(self, meta: DeliveryMeta, now: datetime, lease: timedelta,
              succeeded: Sequence[Succeeded] = ()) -> tuple[Claim, Delivery]:
        [answer] = self.claim_many([meta], now, lease, succeeded)
        return answer

    def claim_many(self, metas: Sequence[DeliveryMeta], now: datetime, lease: timedelta,
                   succeeded: Sequence[Succeeded] = ()) -> list[tuple[Claim, Delivery]]:
        now = require_aware(now)
        self.succeeded_many(list(succeeded))
        answers = []
        with self._lock:
            for meta in metas:
                row = self._insert(meta, now)
                answer = claim_answer(row, now)
                if answer is Claim.go:
                    row = self._set(row, outcome=Outcome.sending, claimed_until=now + lease)
                answers.append((answer, row))
        return answers

    def succeeded(self, message_key: str, recipient: str, *, at: datetime, service: str | None) -> None:
        at = require_aware(at)
        with self._lock:
            row = self._rows[(message_key, recipient)]
            self._set(row, outcome=Outcome.delivered, attempts=row.attempts + 1, service=service,
                      first_attempt_at=row.first_attempt_at or at, last_attempt_at=at, delivered_at=at,
                      claimed_until=None, next_attempt_at=None, error=None)

    def succeeded_many(self, done: list[Succeeded]) -> None:
        for s in done:
            self.succeeded(s.message_key, s.recipient, at=s.at, service=s.service)

    def failed(self, message_key: str, recipient: str, *, at: datetime, service: str | None, error: str,
               retry_at: datetime) -> Delivery:
        at, retry_at = require_aware(at), require_aware(retry_at)
        with self._lock:
            row = self._rows[(message_key, recipient)]
            if row.outcome is Outcome.delivered:
                return row
            return self._set(row, outcome=Outcome.failed, attempts=row.attempts + 1, service=service,
                             first_attempt_at=row.first_attempt_at or at, last_attempt_at=at,
                             next_attempt_at=retry_at, claimed_until=None, error=error[:MAX_ERROR])

    def release(self, message_key: str, recipient: str) -> None:
        with self._lock:
            row = self._rows.get((message_key, recipient))
            if row is not None and row.outcome is Outcome.sending:
                self._set(row, outcome=Outcome.failed if row.attempts else Outcome.new, claimed_until=None)

    def queue(self, meta: DeliveryMeta, *, at: datetime, subject: str, body: str) -> bool:
        at = require_aware(at)
        with self._lock:
            if (meta.message_key, meta.recipient) in self._rows:
                return False
            self._insert(meta, at, outcome=Outcome.queued, digest=True, subject=subject[:SUBJECT], body=body)
            return True

    def queued(self) -> list[Delivery]:
        with self._lock:
            return [self._rows[k] for k in self._order if self._rows[k].outcome is Outcome.queued]

    def mark_digested(self, items: list[Delivery], *, digest_key: str, at: datetime, service: str | None) -> None:
        at = require_aware(at)
        with self._lock:
            for item in items:
                row = self._rows[(item.message_key, item.recipient)]
                if row.outcome is Outcome.queued:
                    self._set(row, outcome=Outcome.delivered, delivered_at=at, digest_key=digest_key,
                              service=service, attempts=row.attempts + 1,
                              first_attempt_at=row.first_attempt_at or at, last_attempt_at=at)

    def mark_escalated(self, message_key: str, recipient: str, *, at: datetime) -> bool:
        with self._lock:
            row = self._rows[(message_key, recipient)]
            if row.escalated_at is not None:
                return False
            self._set(row, escalated_at=require_aware(at))
            return True

    def note_waiting(self, meta: DeliveryMeta, *, at: datetime) -> bool:
        at = require_aware(at)
        with self._lock:
            row = self._insert(meta, at)
            if row.escalated_at is not None:
                return False
            self._set(row, escalated_at=at)
            return True

    def troubled_channels(self) -> dict[str, ChannelHealth]:
        with self._lock:
            return {k: h for k, h in self._channels.items() if h.failures or h.down}

    def channel_failed(self, *, channel: str, profile: str | None, recipient: str, service: str | None,
                       error: str, at: datetime, rule: OutageRule) -> tuple[ChannelHealth | None, ChannelHealth]:
        with self._lock:
            before = self._channels.get(channel)
            before = before if before is not None and (before.failures or before.down) else None
            after = after_failure(before, channel=channel, profile=profile, recipient=recipient, service=service,
                                  error=error, now=require_aware(at), rule=rule)
            self._channels[channel] = after
            return before, after

    def channel_succeeded(self, channel: str, *, at: datetime) -> ChannelHealth | None:
        with self._lock:
            before = self._channels.get(channel)
            if before is None or not (before.failures or before.down):
                return None
            self._channels[channel] = after_success(before, require_aware(at))
            return before

    def mark_channel_escalated(self, channel: str, *, down_since: datetime, at: datetime) -> bool:
        with self._lock:
            health = self._channels.get(channel)
            if health is None or health.down_since != down_since or health.escalated_at is not None:
                return False
            self._channels[channel] = health.model_copy(update={"escalated_at": require_aware(at)})
            return True

    def _insert(self, meta: DeliveryMeta, at: datetime, outcome: Outcome = Outcome.new, **extra: object) -> Delivery:
        key = (meta.message_key, meta.recipient)
        if key not in self._rows:
            self._rows[key] = Delivery(**meta.model_dump(), outcome=outcome, created_at=at, **extra)
            self._order.append(key)
        return self._rows[key]

    def _set(self, row: Delivery, **changes: object) -> Delivery:
        new = row.model_copy(update=changes)
        self._rows[(row.message_key, row.recipient)] = new
        return new
