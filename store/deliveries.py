"""The delivery ledger: one row per message and recipient, so a message is never sent to someone twice.

A partner message (`NotifyRole`) can go to several recipients; each gets its own row, keyed by the
command's idempotency key and the partner id (unique together). The row says how often sending was
tried, when, through which service (`mailto`, `json`, `slack`, ... never the URL or a secret), what went
wrong (error text with secrets removed), and when it was delivered. Digest partners' messages wait here
as `queued` (with their rendered text, process data only) until the daily digest carries them.

Sending is claimed first: a claim holds a row for a short lease, so two drains running at once never
both send, and a sender that crashed mid-send gives the row back when the lease runs out. Rows that
failed wait for their `next_attempt_at` (backoff).

The table is created by the migration `0002_deliveries`; `SqlDeliveryLedger` reads and writes it.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, field_validator
from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from store.db import write_transaction
from store.models import KEY, NAME, REF, BigId

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


class DeliveryRecord(SQLModel, table=True):
    """One message to one recipient, and how delivering it went."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("message_key", "recipient", name="uq_deliveries_message_recipient"),
        sa.Index("ix_deliveries_case_ref", "case_ref", "id"),
        sa.Index("ix_deliveries_outcome_recipient", "outcome", "recipient"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    message_key: str = Field(max_length=KEY, description="the command's idempotency key (or a derived one)")
    recipient: str = Field(max_length=NAME, description="partner id from the profile's partner list")
    profile: str | None = Field(default=None, max_length=NAME)
    case_ref: str | None = Field(default=None, max_length=REF, description="None for a digest")
    role: str = Field(max_length=NAME)
    template: str = Field(max_length=NAME)
    kind: str = Field(max_length=20)
    outcome: str = Field(max_length=20)
    digest: bool = Field(default=False, description="waits for (or went in) the recipient's daily digest")
    attempts: int = 0
    service: str | None = Field(default=None, max_length=40, description="apprise schema of the last attempt")
    error: str | None = Field(default=None, max_length=MAX_ERROR, description="last error, secrets removed")
    created_at: datetime
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    delivered_at: datetime | None = None
    escalated_at: datetime | None = None
    digest_key: str | None = Field(default=None, max_length=KEY, description="the digest that carried it")
    subject: str | None = Field(default=None, max_length=SUBJECT, description="rendered text, digest only")
    body: str | None = Field(default=None, sa_type=sa.Text)


deliveries: sa.Table = DeliveryRecord.__table__  # type: ignore[assignment]


class DeliveryMeta(BaseModel):
    """What a delivery is about: the message, the recipient, and for which case, role and template."""

    model_config = ConfigDict(frozen=True)

    message_key: str
    recipient: str
    profile: str | None
    case_ref: str | None
    role: str
    template: str
    kind: Kind


class Delivery(DeliveryMeta):
    """A row of the ledger as read."""

    outcome: Outcome
    digest: bool = False
    attempts: int = 0
    service: str | None = None
    error: str | None = None
    created_at: datetime
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    next_attempt_at: datetime | None = None
    claimed_until: datetime | None = None
    delivered_at: datetime | None = None
    escalated_at: datetime | None = None
    digest_key: str | None = None
    subject: str | None = None
    body: str | None = None

    @field_validator("created_at", "first_attempt_at", "last_attempt_at", "next_attempt_at", "claimed_until",
                     "delivered_at", "escalated_at", mode="after")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # SQLite hands datetimes back without a zone; we only ever write UTC.
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value

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


def utc(moment: datetime) -> datetime:
    """Aware UTC; a naive datetime is a bug (the caller's clock must be aware)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pass timezone-aware UTC")
    return moment.astimezone(UTC)


class SqlDeliveryLedger:
    """The ledger in the case store's database (SQLite or PostgreSQL); safe for several senders at once."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, message_key: str, recipient: str) -> Delivery | None:
        """The row for a message and recipient, if any."""
        with self.engine.connect() as conn:
            return _read(conn, message_key, recipient)

    def for_case(self, case_ref: str) -> list[Delivery]:
        """Every delivery about a case, oldest first (for the case view)."""
        stmt = select(deliveries).where(deliveries.c.case_ref == case_ref).order_by(deliveries.c.id)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(stmt)]

    def for_message(self, message_key: str) -> list[Delivery]:
        """Every recipient's row for one message key."""
        stmt = select(deliveries).where(deliveries.c.message_key == message_key).order_by(deliveries.c.id)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(stmt)]

    def claim(self, meta: DeliveryMeta, now: datetime, lease: timedelta) -> tuple[Claim, Delivery]:
        """Record the row if new, and hold it for this sender if it may be sent now."""
        now = utc(now)
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            _insert_new(conn, meta, now)
            stmt = update(deliveries).where(
                c.message_key == meta.message_key, c.recipient == meta.recipient,
                c.outcome.notin_([Outcome.delivered.value, Outcome.queued.value]),
                or_(c.claimed_until.is_(None), c.claimed_until <= now),
                or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
            ).values(outcome=Outcome.sending.value, claimed_until=now + lease).returning(*deliveries.c)
            claimed = conn.execute(stmt).first()
            row = _delivery(claimed) if claimed is not None else _read(conn, meta.message_key, meta.recipient)
        assert row is not None  # inserted above, never deleted
        return (Claim.go if claimed is not None else claim_answer(row, now)), row

    def succeeded(self, message_key: str, recipient: str, *, at: datetime, service: str | None) -> None:
        """The service accepted the message."""
        at = utc(at)
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            conn.execute(update(deliveries).where(c.message_key == message_key, c.recipient == recipient)
                         .values(outcome=Outcome.delivered.value, attempts=c.attempts + 1, service=service,
                                 first_attempt_at=sa.func.coalesce(c.first_attempt_at, at), last_attempt_at=at,
                                 delivered_at=at, claimed_until=None, next_attempt_at=None, error=None))

    def failed(self, message_key: str, recipient: str, *, at: datetime, service: str | None, error: str,
               retry_at: datetime) -> Delivery:
        """An attempt failed; the row waits until `retry_at`. Returns the row as it now is."""
        at, retry_at = utc(at), utc(retry_at)
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            conn.execute(update(deliveries).where(c.message_key == message_key, c.recipient == recipient,
                                                  c.outcome != Outcome.delivered.value)
                         .values(outcome=Outcome.failed.value, attempts=c.attempts + 1, service=service,
                                 first_attempt_at=sa.func.coalesce(c.first_attempt_at, at), last_attempt_at=at,
                                 next_attempt_at=retry_at, claimed_until=None, error=error[:MAX_ERROR]))
            row = _read(conn, message_key, recipient)
        assert row is not None
        return row

    def release(self, message_key: str, recipient: str) -> None:
        """Give a claimed row back without an attempt (nothing was sent)."""
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            conn.execute(update(deliveries).where(c.message_key == message_key, c.recipient == recipient,
                                                  c.outcome == Outcome.sending.value)
                         .values(outcome=sa.case((c.attempts > 0, Outcome.failed.value), else_=Outcome.new.value),
                                 claimed_until=None))

    def queue(self, meta: DeliveryMeta, *, at: datetime, subject: str, body: str) -> bool:
        """Put a message in the recipient's digest queue; False when it was queued (or sent) before."""
        at = utc(at)
        with write_transaction(self.engine) as conn:
            return _insert_new(conn, meta, at, outcome=Outcome.queued, digest=True,
                               subject=subject[:SUBJECT], body=body) == 1

    def queued(self) -> list[Delivery]:
        """Every message waiting for a digest, oldest first."""
        stmt = select(deliveries).where(deliveries.c.outcome == Outcome.queued.value).order_by(deliveries.c.id)
        with self.engine.connect() as conn:
            return [_delivery(r) for r in conn.execute(stmt)]

    def mark_digested(self, items: list[Delivery], *, digest_key: str, at: datetime, service: str | None) -> None:
        """These queued messages went out in digest `digest_key`."""
        at = utc(at)
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            for item in items:
                conn.execute(update(deliveries).where(
                    c.message_key == item.message_key, c.recipient == item.recipient,
                    c.outcome == Outcome.queued.value,
                ).values(outcome=Outcome.delivered.value, delivered_at=at, digest_key=digest_key, service=service,
                         attempts=c.attempts + 1, first_attempt_at=sa.func.coalesce(c.first_attempt_at, at),
                         last_attempt_at=at))

    def mark_escalated(self, message_key: str, recipient: str, *, at: datetime) -> bool:
        """Note that the coordinator was told; False when that was noted before."""
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            return conn.execute(update(deliveries).where(
                c.message_key == message_key, c.recipient == recipient, c.escalated_at.is_(None),
            ).values(escalated_at=utc(at))).rowcount == 1


def _insert_new(conn: sa.Connection, meta: DeliveryMeta, at: datetime, *, outcome: Outcome = Outcome.new,
                **extra: Any) -> int:
    row = {**meta.model_dump(mode="json"), "outcome": outcome.value, "created_at": at, "attempts": 0,
           "digest": False, **extra}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(deliveries).values(row) \
        .on_conflict_do_nothing(index_elements=["message_key", "recipient"]).returning(deliveries.c.id)
    # RETURNING rather than rowcount: psycopg does not report a row count for this statement.
    return 0 if conn.execute(stmt).first() is None else 1


def _read(conn: sa.Connection, message_key: str, recipient: str) -> Delivery | None:
    c = deliveries.c
    row = conn.execute(select(deliveries).where(and_(c.message_key == message_key, c.recipient == recipient))).first()
    return None if row is None else _delivery(row)


def _delivery(row: Any) -> Delivery:
    data = dict(row._mapping)
    data.pop("id", None)
    return Delivery.model_validate(data)
