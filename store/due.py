"""Claiming due cases for the timer sweep, a batch at a time (and a stuck case for its retry).

Due cases are read in (next_due_at, case_ref) order after the last one the sweep saw. On PostgreSQL
the claim is `SELECT ... FOR UPDATE SKIP LOCKED`: several workers sweep at once, each takes cases no
other holds, and a case fired and committed by one is no longer due for the next. On SQLite the write
lock is taken at BEGIN (`store.db.write_transaction`), so sweeps simply take turns.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, Select, Text, and_, cast, func, or_, select

from store.writes import cases, history


@dataclass(frozen=True)
class DueCase:
    """A claimed due case: its row, with the state as JSON text (pydantic parses text fastest)."""

    case_ref: str
    municipality: str
    definition: str
    profile: str | None
    version: int
    state: str
    next_due_at: datetime | None


def _columns() -> Select:
    c = cases.c
    return select(c.case_ref, c.municipality, c.definition, c.profile, c.version, cast(c.state, Text).label("state"),
                  c.next_due_at)


def claim_due(conn: Connection, now: datetime, after: tuple[datetime, str] | None, size: int) -> list[DueCase]:
    """Up to `size` cases due at `now`, after `after` (next_due_at, case_ref), held until the transaction ends.

    A stuck case has no `next_due_at`, so it is never claimed here."""
    c = cases.c
    stmt = _columns().where(c.next_due_at <= now).order_by(c.next_due_at, c.case_ref).limit(size)
    if after is not None:
        due, ref = after
        stmt = stmt.where(or_(c.next_due_at > due, and_(c.next_due_at == due, c.case_ref > ref)))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return [DueCase(*row) for row in conn.execute(stmt)]


def stuck_case(conn: Connection, case_ref: str) -> DueCase | None:
    """A stuck case, as the sweep would read it (held until the transaction ends); None when not stuck."""
    stmt = _columns().where(cases.c.case_ref == case_ref, cases.c.stuck_at.is_not(None))
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    return None if row is None else DueCase(*row)


def next_due_at(engine: Engine) -> datetime | None:
    """When the next timer of any case is due (None: none is); one indexed MIN, cheap to ask every minute."""
    with engine.connect() as conn:
        due = conn.execute(select(func.min(cases.c.next_due_at))).scalar()
    if due is not None and due.tzinfo is None:  # SQLite hands datetimes back without a zone
        due = due.replace(tzinfo=UTC)
    return due


def last_change(engine: Engine) -> int:
    """The id of the newest history line (0: none): it grows with every change to any case, so a
    watcher that remembers it knows whether anything changed since (an index lookup)."""
    with engine.connect() as conn:
        return conn.execute(select(func.max(history.c.id))).scalar() or 0


def due_refs(engine: Engine, now: datetime) -> set[str]:
    """The references of the cases due at `now`, read without claiming them (the demo loader sweeps only
    when there are any, and knows which cases the sweep changed)."""
    with engine.connect() as conn:
        return set(conn.execute(select(cases.c.case_ref).where(cases.c.next_due_at <= now)).scalars())
