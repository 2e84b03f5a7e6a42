"""The delivery ledger's vocabulary: what a delivery record is, and the pure rules for claiming and retrying.

A partner message (`NotifyRole`) can go to several recipients; each gets one ledger row, keyed by the
command's idempotency key and the partner id. The notifier (integrations/) reads and writes rows
through a `DeliveryLedger` interface; the case store (store/) keeps them in a table. The two never
import each other, so the row type they exchange lives here, in the pure core, together with the two
rules every ledger must agree on: whether a row may be claimed now, and how long to wait after a
failed attempt. Pure values only: no I/O, no clock (callers pass `now`).
"""

from __future__ import annotations

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
