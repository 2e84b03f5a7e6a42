"""The outbox: commands queued with the state change that caused them, delivered afterwards.

Delivery happens outside the change's transaction (deliver-notifications), so a crash between the
commit and the delivery leaves the command pending, to be delivered after a restart. Each command
has one row per idempotency key; marking it delivered twice changes nothing the second time, and a
receiver that sees the same key twice knows it is the same command.

A drain takes work with `claim`: only rows that are ready (not delivered, not waiting for their
`next_attempt_at`, not held by another drain), oldest first, held for a lease (`claimed_until`). On
PostgreSQL the claim reads with `FOR UPDATE SKIP LOCKED`, so drains running at once each take other
rows and none waits for another; on SQLite claims take turns (the write lock). A row that failed waits
for its next attempt without hiding the rows behind it. `finish` records a batch's outcomes in one
transaction. A drain that dies leaves its rows to the next one when the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import Engine, and_, bindparam, func, or_, select, update

from engine.commands import Command
from store.db import write_transaction
from store.errors import CommandNotFound
from store.writes import outbox

_COMMAND: TypeAdapter[Any] = TypeAdapter(Command)
MAX_ERROR = 2000


class OutboxItem(BaseModel):
    """A queued command (process data only, like the command itself)."""

    model_config = ConfigDict(frozen=True)

    id: int
    key: str
    case_ref: str
    type: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    last_error: str | None

    def command(self) -> Any:
        """The engine command (NotifyRole, OpenUserTask, CloseUserTask or EmitEvent)."""
        return _COMMAND.validate_python(self.payload)


def pending(engine: Engine, limit: int = 100, *, max_attempts: int | None = None,
            types: list[str] | None = None) -> list[OutboxItem]:
    """Undelivered commands, oldest first; `max_attempts` leaves out those that failed that often."""
    c = outbox.c
    stmt = select(c.id, c.key, c.case_ref, c.type, c.payload, c.created_at, c.attempts, c.last_error) \
        .where(c.delivered_at.is_(None)).order_by(c.id).limit(limit)
    if max_attempts is not None:
        stmt = stmt.where(c.attempts < max_attempts)
    if types:
        stmt = stmt.where(c.type.in_(types))
    with engine.connect() as conn:
        return [OutboxItem.model_validate(row._mapping) for row in conn.execute(stmt)]


def claim(engine: Engine, now: datetime, *, limit: int, lease: timedelta, max_attempts: int,
          types: list[str] | None = None) -> list[OutboxItem]:
    """Up to `limit` ready commands, oldest first, held for this drain until `now + lease`."""
    c = outbox.c
    stmt = select(c.id, c.key, c.case_ref, c.type, c.payload, c.created_at, c.attempts, c.last_error) \
        .where(_ready(now), c.attempts < max_attempts).order_by(c.id).limit(limit)
    if types:
        stmt = stmt.where(c.type.in_(types))
    with write_transaction(engine) as conn:
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = conn.execute(stmt).all()
        if rows:
            conn.execute(update(outbox).where(c.id.in_([r.id for r in rows])).values(claimed_until=now + lease))
    return [OutboxItem.model_validate(row._mapping) for row in rows]


def _ready(now: datetime) -> Any:
    c = outbox.c
    return and_(c.delivered_at.is_(None), or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
                or_(c.claimed_until.is_(None), c.claimed_until <= now))


@dataclass(frozen=True)
class Finished:
    """How one claimed command went: delivered (`error` None), or not, and whether that was an attempt."""

    key: str
    error: str | None = None
    attempted: bool = True
    """False when nothing was tried (every recipient waits): the row's attempts stay as they are"""
    retry_at: datetime | None = None
    """not claimed again before this"""


def finish(engine: Engine, outcomes: Sequence[Finished], at: datetime) -> set[str]:
    """Record a batch's outcomes in one transaction and let go of its rows; returns the keys delivered now
    for the first time (a key another drain recorded first is not among them)."""
    c = outbox.c
    delivered = [o.key for o in outcomes if o.error is None]
    failed = [{"b_key": o.key, "b_add": int(o.attempted), "b_error": (o.error or "")[:MAX_ERROR],
               "b_retry": o.retry_at} for o in outcomes if o.error is not None]
    first: set[str] = set()
    with write_transaction(engine) as conn:
        for start in range(0, len(delivered), 500):
            stmt = update(outbox).where(c.key.in_(delivered[start:start + 500]), c.delivered_at.is_(None)) \
                .values(delivered_at=at, attempts=c.attempts + 1, last_error=None, next_attempt_at=None,
                        claimed_until=None).returning(c.key)
            first.update(conn.execute(stmt).scalars())
        if failed:
            conn.execute(update(outbox).where(c.key == bindparam("b_key"), c.delivered_at.is_(None)).values(
                attempts=c.attempts + bindparam("b_add"), last_error=bindparam("b_error"),
                next_attempt_at=bindparam("b_retry", type_=c.next_attempt_at.type), claimed_until=None), failed)
    return first


@dataclass(frozen=True)
class OutboxSummary:
    """How the outbox stands at a moment: what is ready, what waits, what was given up."""

    ready: int
    waiting: int
    given_up: int
    next_attempt_at: datetime | None
    """the earliest moment a waiting command is tried again"""


def summary(engine: Engine, now: datetime, max_attempts: int) -> OutboxSummary:
    """Counts of undelivered commands: ready now, waiting for a later attempt, given up after `max_attempts`."""
    c = outbox.c
    pending = c.delivered_at.is_(None)
    given_up = c.attempts >= max_attempts
    waits = and_(~given_up, c.next_attempt_at > now)
    stmt = select(func.count().filter(and_(~given_up, or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now))),
                  func.count().filter(waits), func.count().filter(given_up),
                  func.min(c.next_attempt_at).filter(waits)).where(pending)
    with engine.connect() as conn:
        ready, waiting, gone, earliest = conn.execute(stmt).one()
    if earliest is not None and earliest.tzinfo is None:  # SQLite hands datetimes back without a zone
        earliest = earliest.replace(tzinfo=UTC)
    return OutboxSummary(ready, waiting, gone, earliest)


def mark_delivered(engine: Engine, key: str, at: datetime) -> bool:
    """Record the delivery; False when it was already recorded (the first delivery time stays)."""
    c = outbox.c
    stmt = update(outbox).where(c.key == key, c.delivered_at.is_(None)) \
        .values(delivered_at=at, attempts=c.attempts + 1, last_error=None)
    with write_transaction(engine) as conn:
        if conn.execute(stmt).rowcount == 1:
            return True
        _require(conn, key)
        return False


def mark_failed(engine: Engine, key: str, error: str) -> None:
    """Count a failed attempt and keep its error; a command already delivered stays delivered."""
    c = outbox.c
    stmt = update(outbox).where(c.key == key, c.delivered_at.is_(None)) \
        .values(attempts=c.attempts + 1, last_error=error[:MAX_ERROR], claimed_until=None)
    with write_transaction(engine) as conn:
        if conn.execute(stmt).rowcount == 0:
            _require(conn, key)


def _require(conn: Any, key: str) -> None:
    if conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is None:
        raise CommandNotFound(f"geen opdracht in de outbox met sleutel {key!r}")


SETTLED = "afgedaan zonder uitvoeren"
"""The mark of a settled row: recorded as delivered, never carried out (see `settle`)."""


def settle(engine: Engine, case_refs: Sequence[str], at: datetime, *, chunk: int = 500) -> int:
    """Record every undelivered command of these cases as delivered at `at`, without carrying it out;
    the rows settled. For a history that happened in virtual time (the demo population): three years of
    notices, events and inbox runs that are long over are not work for today."""
    c = outbox.c
    settled = 0
    with write_transaction(engine) as conn:
        for i in range(0, len(case_refs), chunk):
            stmt = update(outbox).where(c.case_ref.in_(case_refs[i:i + chunk]), c.delivered_at.is_(None)) \
                .values(delivered_at=at, last_error=SETTLED)
            settled += conn.execute(stmt).rowcount
    return settled


def settled_tasks(engine: Engine, tasks: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of these (case, task) were opened by a settled command: they never had an inbox run, by
    design, so the inbox keeper must not take them for tasks whose run was lost."""
    if not tasks:
        return set()
    c = outbox.c
    refs = sorted({case_ref for case_ref, _ in tasks})
    found: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for i in range(0, len(refs), 500):
            rows = conn.execute(select(c.case_ref, c.payload).where(
                c.case_ref.in_(refs[i:i + 500]), c.type == "open_user_task", c.last_error == SETTLED))
            found.update((case_ref, payload.get("task_id")) for case_ref, payload in rows)
    return found & tasks
