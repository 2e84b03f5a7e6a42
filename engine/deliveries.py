"""The delivery ledger's vocabulary: what a delivery record is, the pure rules for claiming and retrying,
and when a partner channel counts as down (an outage) and is tried again.

A partner message (`NotifyRole`) can go to several recipients; each gets one ledger row, keyed by the
command's idempotency key and the partner id. The notifier (integrations/) reads and writes rows
through a `DeliveryLedger` interface; the case store (store/) keeps them in a table. The two never
import each other, so the row types they exchange live here, in the pure core, together with the rules
every ledger must agree on: whether a row may be claimed now, how long to wait after a failed attempt,
and how a channel's failures add up to an outage (`ChannelHealth`, `after_failure`, `after_success`).
Pure values only: no I/O, no clock (callers pass `now`).

Delivery semantics (docs/reliability.md): at least once; a crash repeats at most the chunk of
deliveries the sender had claimed together (the delivery policy's `claim_chunk`), each repeat with the
same key. Each message to each recipient has a stable key, `<command key>/<recipient>`, carried to the
receiver (the e-mail's Message-ID is derived from it; webhooks get it as the `Idempotency-Key` header
and the `idempotency_key` field). The claim that says "I am sending these now" is committed before the
sends; a sender that dies between a send and recording it leaves the claim to run out (`lease`),
after which the message is sent again, once per crash, with the same key, so a receiver can drop it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.calendar import require_aware

KEY = 200
NAME = 100
REF = 64
MAX_ERROR = 500
SUBJECT = 500


class Outcome(str, Enum):
    """Where a delivery stands."""

    new = "new"
    """recorded, never tried"""
    sending = "sending"
    """claimed by a sender (see `claimed_until`)"""
    failed = "failed"
    """the last attempt failed; tried again from `next_attempt_at`"""
    delivered = "delivered"
    """the service accepted it (directly, or in a digest: `digest_key`)"""
    queued = "queued"
    """waiting for the recipient's daily digest"""


class Kind(str, Enum):
    """What a delivery carries."""

    message = "message"
    """a notification for a role"""
    unroutable = "unroutable"
    """to the coordinator: no recipient for a role"""
    escalation = "escalation"
    """to the coordinator, by another channel: a message keeps failing"""
    digest = "digest"
    """a partner's daily digest"""


class DeliveryMeta(BaseModel):
    """What a delivery is about: the message, the recipient, and for which case, role and template."""

    model_config = ConfigDict(frozen=True)

    message_key: str = Field(max_length=KEY, description="the command's idempotency key (or a derived one)")
    recipient: str = Field(max_length=NAME, description="partner id from the profile's partner list")
    profile: str | None = Field(None, max_length=NAME)
    case_ref: str | None = Field(None, max_length=REF, description="None for a digest")
    role: str = Field(max_length=NAME)
    template: str = Field(max_length=NAME)
    kind: Kind


class Delivery(DeliveryMeta):
    """One message to one recipient, and how delivering it went (the ledger row; the store's table is
    derived from these fields, so the row and its read model cannot drift apart)."""

    outcome: Outcome
    digest: bool = Field(False, description="waits for (or went in) the recipient's daily digest")
    attempts: int = 0
    service: str | None = Field(None, max_length=40, description="apprise schema of the last attempt")
    error: str | None = Field(None, max_length=MAX_ERROR, description="last error, secrets removed")
    created_at: datetime
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    delivered_at: datetime | None = None
    escalated_at: datetime | None = None
    digest_key: str | None = Field(None, max_length=KEY, description="the digest that carried it")
    subject: str | None = Field(None, max_length=SUBJECT, description="rendered text, digest only")
    body: str | None = Field(None, description="rendered text, digest only")

    @field_validator("created_at", "first_attempt_at", "last_attempt_at", "next_attempt_at", "claimed_until",
                     "delivered_at", "escalated_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands datetimes back without a zone; only UTC is ever written.
        if value is None:
            return None
        return require_aware(value if value.tzinfo is not None else value.replace(tzinfo=UTC))

    @property
    def done(self) -> bool:
        """Delivered, or safely waiting in the digest queue: nothing more to send now."""
        return self.outcome in (Outcome.delivered, Outcome.queued)


@dataclass(frozen=True)
class Succeeded:
    """A recipient's service accepted a message (recorded for a whole drained batch at once)."""

    message_key: str
    recipient: str
    at: datetime
    service: str | None


class Claim(str, Enum):
    """The answer to a claim: may this sender send now?"""

    go = "go"
    """yes: the row is held for this sender until its lease runs out"""
    done = "done"
    """no: already delivered (or queued for the digest)"""
    busy = "busy"
    """no: another sender holds it right now"""
    wait = "wait"
    """no: it failed recently; try again from `next_attempt_at`"""


def claim_answer(row: Delivery, now: datetime) -> Claim:
    """Why a row can or cannot be claimed at `now` (shared by every ledger, so they agree)."""
    if row.done:
        return Claim.done
    if row.claimed_until is not None and row.claimed_until > now:
        return Claim.busy
    if row.next_attempt_at is not None and row.next_attempt_at > now:
        return Claim.wait
    return Claim.go


def backoff(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """Wait after the n-th failed attempt: base, 2×base, 4×base ... at most `cap`."""
    return min(base * (2 ** min(max(attempts - 1, 0), 32)), cap)


# --- partner channels and their outages -----------------------------------------------------------


def channel_id(profile: str | None, recipient: str, position: int) -> str:
    """The id of one channel: the `position`-th URL (from 1) of a partner in a profile's partner list.

    `tilburg/taalschool_delta#1`. A channel is what fails as a whole (a mail server, a webhook
    endpoint), so outages are tracked, escalated and shown per channel, never per message.
    """
    return f"{profile or '-'}/{recipient}#{position}"


class OutageRule(BaseModel):
    """When a channel counts as down, and how often a down channel is tried again (a probe)."""

    model_config = ConfigDict(frozen=True)

    failures: int = Field(3, ge=1, description="consecutive failed attempts that make a channel down")
    window: timedelta = Field(timedelta(hours=4), description="or this long since the first of them")
    probe_base: timedelta = Field(timedelta(seconds=60), description="wait before the first probe")
    probe_max: timedelta = Field(timedelta(hours=1), description="longest wait between probes")


class ChannelHealth(BaseModel):
    """How one channel is doing: failures in a row, and whether (since when) it is down.

    A channel without a record is healthy. One record per channel id; a success resets it.
    """

    model_config = ConfigDict(frozen=True)

    channel: str = Field(max_length=KEY, description="see `channel_id`")
    profile: str | None = Field(None, max_length=NAME)
    recipient: str = Field(max_length=NAME, description="partner id")
    service: str | None = Field(None, max_length=40, description="apprise schema of the last attempt")
    failures: int = Field(0, description="failed attempts in a row")
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = Field(None, max_length=MAX_ERROR, description="secrets removed")
    down_since: datetime | None = Field(None, description="the first failure of the streak that made it down")
    next_probe_at: datetime | None = Field(None, description="while down: when a message may try it again")
    escalated_at: datetime | None = Field(None, description="when the coordinator was told of this outage")
    recovered_at: datetime | None = Field(None, description="when it last came back after an outage")

    @field_validator("first_failure_at", "last_failure_at", "down_since", "next_probe_at", "escalated_at",
                     "recovered_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return None
        return require_aware(value if value.tzinfo is not None else value.replace(tzinfo=UTC))

    @property
    def down(self) -> bool:
        """Whether the channel is out of use (only a probe is sent to it)."""
        return self.down_since is not None


def may_try(health: ChannelHealth | None, now: datetime) -> bool:
    """Whether a message may be sent over the channel at `now`: it is not down, or a probe is due."""
    return health is None or not health.down or health.next_probe_at is None or health.next_probe_at <= now


def after_failure(health: ChannelHealth | None, *, channel: str, profile: str | None, recipient: str,
                  service: str | None, error: str, now: datetime, rule: OutageRule) -> ChannelHealth:
    """The channel after one more failed attempt: down after `rule.failures` in a row (or `rule.window`
    since the first of them); a down channel waits longer before each probe (backoff, at most `probe_max`)."""
    failures = (health.failures if health else 0) + 1
    first = (health.first_failure_at if health else None) or now
    down_since = health.down_since if health else None
    if down_since is None and (failures >= rule.failures or now - first >= rule.window):
        down_since = first
    probes = failures - rule.failures + 1 if failures >= rule.failures else 1
    return ChannelHealth(
        channel=channel, profile=profile, recipient=recipient, service=service or (health.service if health else None),
        failures=failures, first_failure_at=first, last_failure_at=now, last_error=error[:MAX_ERROR],
        down_since=down_since,
        next_probe_at=now + backoff(probes, rule.probe_base, rule.probe_max) if down_since else None,
        escalated_at=health.escalated_at if health else None, recovered_at=health.recovered_at if health else None)


def after_success(health: ChannelHealth, now: datetime) -> ChannelHealth:
    """The channel after an attempt that worked: healthy again (the outage, if any, is over)."""
    return health.model_copy(update={
        "failures": 0, "first_failure_at": None, "last_failure_at": None, "last_error": None, "down_since": None,
        "next_probe_at": None, "escalated_at": None, "recovered_at": now if health.down else health.recovered_at})
