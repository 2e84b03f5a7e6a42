"""The outbox: commands queued with the state change that caused them, delivered afterwards.

Delivery happens outside the change's transaction (deliver-notifications), so a crash between the
commit and the delivery leaves the command pending, to be delivered after a restart. Each command
has one row per idempotency key; marking it delivered twice changes nothing the second time, and a
receiver that sees the same key twice knows it is the same command.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from sqlalchemy import Engine, select, update

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
        .values(attempts=c.attempts + 1, last_error=error[:MAX_ERROR])
    with write_transaction(engine) as conn:
        if conn.execute(stmt).rowcount == 0:
            _require(conn, key)


def _require(conn: Any, key: str) -> None:
    if conn.execute(select(outbox.c.id).where(outbox.c.key == key)).first() is None:
        raise CommandNotFound(f"no outbox command with key {key!r}")
