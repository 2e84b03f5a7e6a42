"""The delivery ledger in the case store: one row per message and recipient (`engine.deliveries.Delivery`).

The row type is the engine's `Delivery`; the `deliveries` table is derived from its fields, so the
row and what is read back cannot drift apart. `SqlDeliveryLedger` implements the notifier's
`integrations.ledger.DeliveryLedger` interface structurally (the two packages never import each other;
`app.bootstrap` wires them).

Sending is claimed first: a claim holds a row for a short lease, so two drains running at once never
both send, and a sender that crashed mid-send gives the row back when the lease runs out (the message
is then sent again, with the same key: see `engine.deliveries`). Rows that failed wait for their
`next_attempt_at` (backoff). The table is created by the migration `0002_deliveries`.

Claims and successes are written per chunk of deliveries (`claim_many`: the previous chunk's successes
and the chunk's claims in one transaction of two statements), many times per drained batch, so their
commits are light (`store.db.write_transaction`): they do not wait for the disk. A crash of the drain
loses none of them; a crash of the database server or machine may lose the last ones (those messages
are then sent again, with their idempotency keys).
The next ordinary commit (the drain's outbox record per batch) makes them durable with it, as both
databases write their log in order.

The `channels` table (migration `0004_reliability`) keeps, per partner channel, its failures in a row
and the outage they make (`engine.deliveries.ChannelHealth`); a channel's record is changed under a row
lock, so when several drains fail on it at once exactly one of them sees it go down (and escalates)
and exactly one sees it come back. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from engine.calendar import require_aware
from engine.deliveries import (
    MAX_ERROR,
    SUBJECT,
    ChannelHealth,
    Claim,
    Delivery,
    DeliveryMeta,
    OutageRule,
    Outcome,
    Succeeded,
    after_failure,
    after_success,
    claim_answer,
)
from store.db import write_transaction
from store.models import BigId, columns_of

def _succeeded(conn: sa.Connection, done: Sequence[Succeeded]) -> None:
    if not done:
        return
    c = deliveries.c
    at = sa.bindparam("b_at", type_=c.delivered_at.type)
    stmt = update(deliveries).where(c.message_key == sa.bindparam("b_key"), c.recipient == sa.bindparam("b_to")) \
        .values(outcome=Outcome.delivered.value, attempts=c.attempts + 1, service=sa.bindparam("b_service"),
                first_attempt_at=sa.func.coalesce(c.first_attempt_at, at), last_attempt_at=at, delivered_at=at,
                claimed_until=None, next_attempt_at=None, error=None)
    conn.execute(stmt, [{"b_key": d.message_key, "b_to": d.recipient, "b_service": d.service,
                         "b_at": require_aware(d.at)} for d in done])


deliveries = sa.Table(
    "deliveries", SQLModel.metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    *columns_of(Delivery, kind=sa.String(20), outcome=sa.String(20), body=sa.Text()),
    sa.UniqueConstraint("message_key", "recipient", name="uq_deliveries_message_recipient"),
    sa.Index("ix_deliveries_case_ref", "case_ref", "id"),
    sa.Index("ix_deliveries_outcome_recipient", "outcome", "recipient"),
)


def _channel_columns() -> list[sa.Column[Any]]:
    columns = columns_of(ChannelHealth)
    columns[0].primary_key = True  # `channel`
    return columns


channels = sa.Table("channels", SQLModel.metadata, *_channel_columns())


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

    def claim(self, meta: DeliveryMeta, now: datetime, lease: timedelta,
              succeeded: Sequence[Succeeded] = ()) -> tuple[Claim, Delivery]:
        """Record the row if new, and hold it for this sender if it may be sent now. `succeeded` (sends
        that went well since the last write) is recorded in the same transaction, before the claim."""
        [answer] = self.claim_many([meta], now, lease, succeeded)
        return answer

    def claim_many(self, metas: Sequence[DeliveryMeta], now: datetime, lease: timedelta,
                   succeeded: Sequence[Succeeded] = ()) -> list[tuple[Claim, Delivery]]:
        """`claim` for a chunk of deliveries in one transaction (two statements, whatever the chunk's size,
        and a read of the rows not held), answered in the order of `metas`; `succeeded` is recorded first."""
        now = require_aware(now)
        c = deliveries.c
        pairs = [(m.message_key, m.recipient) for m in metas]
        with write_transaction(self.engine, light=True) as conn:  # written per chunk; see write_transaction
            _succeeded(conn, succeeded)
            claimed = _insert_or_claim(conn, metas, now, now + lease)
            others = [p for p in pairs if p not in claimed]
            held = {(r.message_key, r.recipient): _delivery(r) for r in conn.execute(
                select(deliveries).where(sa.tuple_(c.message_key, c.recipient).in_(others)))} if others else {}
        # Rows are inserted above and never deleted, so every pair is in one of the two. A pair asked for
        # twice is sent once: its second answer is busy (held by this very claim).
        answers, given = [], set()
        for pair in pairs:
            if pair in claimed and pair not in given:
                given.add(pair)
                answers.append((Claim.go, claimed[pair]))
            else:
                row = claimed.get(pair) or held[pair]
                answers.append((claim_answer(row, now), row))
        return answers

    def succeeded(self, message_key: str, recipient: str, *, at: datetime, service: str | None) -> None:
        """The service accepted the message."""
        at = require_aware(at)
        c = deliveries.c
        with write_transaction(self.engine, light=True) as conn:
            conn.execute(update(deliveries).where(c.message_key == message_key, c.recipient == recipient)
                         .values(outcome=Outcome.delivered.value, attempts=c.attempts + 1, service=service,
                                 first_attempt_at=sa.func.coalesce(c.first_attempt_at, at), last_attempt_at=at,
                                 delivered_at=at, claimed_until=None, next_attempt_at=None, error=None))

    def succeeded_many(self, done: list[Succeeded]) -> None:
        """`succeeded` for many rows in one transaction (a drained batch)."""
        if done:
            with write_transaction(self.engine, light=True) as conn:
                _succeeded(conn, done)

    def failed(self, message_key: str, recipient: str, *, at: datetime, service: str | None, error: str,
               retry_at: datetime) -> Delivery:
        """An attempt failed; the row waits until `retry_at`. Returns the row as it now is."""
        at, retry_at = require_aware(at), require_aware(retry_at)
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
        at = require_aware(at)
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
        at = require_aware(at)
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
            ).values(escalated_at=require_aware(at))).rowcount == 1

    def note_waiting(self, meta: DeliveryMeta, *, at: datetime) -> bool:
        """Record the row if new and mark that it waits for a channel that is down; True the first time."""
        at = require_aware(at)
        c = deliveries.c
        with write_transaction(self.engine) as conn:
            _insert_new(conn, meta, at)
            return conn.execute(update(deliveries).where(
                c.message_key == meta.message_key, c.recipient == meta.recipient, c.escalated_at.is_(None),
            ).values(escalated_at=at)).rowcount == 1

    # -- channels --

    def troubled_channels(self) -> dict[str, ChannelHealth]:
        """Every channel with failures in a row or an outage, by channel id (healthy ones have no record)."""
        return {h.channel: h for h in channels_in_trouble(self.engine)}

    def channel_failed(self, *, channel: str, profile: str | None, recipient: str, service: str | None,
                       error: str, at: datetime, rule: OutageRule) -> tuple[ChannelHealth | None, ChannelHealth]:
        """One more failed attempt on the channel: (its record before, its record now)."""
        at = require_aware(at)
        with write_transaction(self.engine) as conn:
            before = _lock_channel(conn, channel, profile, recipient)
            after = after_failure(before if before.failures or before.down else None, channel=channel,
                                  profile=profile, recipient=recipient, service=service, error=error, now=at,
                                  rule=rule)
            conn.execute(update(channels).where(channels.c.channel == channel).values(**after.model_dump()))
        return (before if before.failures or before.down else None), after

    def channel_succeeded(self, channel: str, *, at: datetime) -> ChannelHealth | None:
        """An attempt on the channel worked: its record is reset; returns the record before, if it had failures."""
        at = require_aware(at)
        c = channels.c
        with write_transaction(self.engine) as conn:
            stmt = select(channels).where(c.channel == channel)
            if conn.dialect.name == "postgresql":
                stmt = stmt.with_for_update()
            row = conn.execute(stmt).first()
            if row is None:
                return None
            before = ChannelHealth.model_validate(dict(row._mapping))
            if not before.failures and not before.down:
                return None
            conn.execute(update(channels).where(c.channel == channel)
                         .values(**after_success(before, at).model_dump()))
        return before

    def mark_channel_escalated(self, channel: str, *, down_since: datetime, at: datetime) -> bool:
        """Note that the coordinator was told of this outage; False when that was noted before."""
        c = channels.c
        with write_transaction(self.engine) as conn:
            return conn.execute(update(channels).where(
                c.channel == channel, c.down_since == require_aware(down_since), c.escalated_at.is_(None),
            ).values(escalated_at=require_aware(at))).rowcount == 1


def channels_in_trouble(engine: Engine) -> list[ChannelHealth]:
    """Channels that are down or failed lately, those down first (longest first), then by channel id."""
    c = channels.c
    stmt = select(channels).where(or_(c.failures > 0, c.down_since.is_not(None))) \
        .order_by(c.down_since.is_(None), c.down_since, c.channel)
    with engine.connect() as conn:
        return [ChannelHealth.model_validate(dict(r._mapping)) for r in conn.execute(stmt)]


def _lock_channel(conn: sa.Connection, channel: str, profile: str | None, recipient: str) -> ChannelHealth:
    """The channel's record, held until the transaction ends (made healthy first if it had none)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(channels).values(channel=channel, profile=profile, recipient=recipient, failures=0)
                 .on_conflict_do_nothing(index_elements=["channel"]))
    stmt = select(channels).where(channels.c.channel == channel)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return ChannelHealth.model_validate(dict(conn.execute(stmt).one()._mapping))


def _insert_or_claim(conn: sa.Connection, metas: Sequence[DeliveryMeta], now: datetime, until: datetime
                     ) -> dict[tuple[str, str], Delivery]:
    """Hold these deliveries for this sender until `until`: a new row is inserted held, an existing one is
    held when it may be sent at `now` (not done, not held by another, not waiting for a retry). Returns
    the rows held. One statement, so a chunk costs one round trip, not an insert and an update.

    In key order, so two drains with overlapping chunks lock the rows in the same order (no deadlock);
    each delivery once, as PostgreSQL refuses a statement that would change a row twice."""
    if not metas:
        return {}
    c = deliveries.c
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    unique = {(m.message_key, m.recipient): m for m in metas}
    rows = [{**m.model_dump(mode="json"), "outcome": Outcome.sending.value, "created_at": now, "attempts": 0,
             "digest": False, "claimed_until": until} for _, m in sorted(unique.items())]
    # Executed with many parameter sets, not `.values(rows)`: SQLAlchemy cannot cache an ON CONFLICT insert,
    # so it compiles it for every chunk; this way it compiles one row's VALUES and repeats it for the others
    # when it sends them as one multi-row INSERT ("insertmanyvalues"), instead of compiling every row's.
    stmt = dialect.insert(deliveries).on_conflict_do_update(
        index_elements=["message_key", "recipient"],
        set_={"outcome": Outcome.sending.value, "claimed_until": until},
        # Not `notin_`: an expanding IN cannot go with many parameter sets.
        where=and_(c.outcome != Outcome.delivered.value, c.outcome != Outcome.queued.value,
                   or_(c.claimed_until.is_(None), c.claimed_until <= now),
                   or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now)),
    ).returning(*deliveries.c)
    return {(r.message_key, r.recipient): _delivery(r) for r in conn.execute(stmt, rows)}


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
