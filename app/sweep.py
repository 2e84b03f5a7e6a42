"""The timer sweep: fire every due timer of every case, in batches, each timer exactly once.

The clock is read once, so one sweep has one `now`. Due cases are claimed a batch at a time in one
transaction each: read, advance with the engine, write states, history, outbox and open tasks, commit.
On PostgreSQL the claim is `SELECT ... FOR UPDATE SKIP LOCKED`: several workers sweep at once, each
takes cases no other holds, and a case fired and committed by one is no longer due for the next. On
SQLite the write lock is taken at BEGIN, so sweeps simply take turns.

A case the engine cannot advance (a definition problem) is left as it was and reported; the sweep
goes on with the others. `SweepReport.raise_for_failures` lets the caller fail loudly afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from sqlalchemy import Text, and_, cast, or_, select

from engine.errors import EngineError
from engine.interpreter import fire_due_timers
from engine.state import CaseState
from store.db import write_transaction
from store.errors import StoreError, SweepFailed, UnknownDefinition
from store.writes import CaseChange, cases, update_cases, write_effects

if TYPE_CHECKING:
    from store.service import CaseService


class SweepFailure(BaseModel):
    """A case whose due timers could not be fired; it stays as it was."""

    case_ref: str
    error: str


class SweepReport(BaseModel):
    """What one sweep did (counts only, so its size does not grow with the number of cases)."""

    now: datetime
    cases_advanced: int = 0
    commands_queued: int = 0
    batches: int = 0
    failed: list[SweepFailure] = []

    def raise_for_failures(self) -> None:
        """Raise `SweepFailed` when a case could not be advanced (the others were saved)."""
        if self.failed:
            raise SweepFailed(self.failed)


def sweep(service: "CaseService", batch_size: int, limit: int | None = None) -> SweepReport:
    """Fire due timers at one `now` until no case is due (or `limit` cases were advanced)."""
    report = SweepReport(now=service.now())
    after: tuple[datetime, str] | None = None
    while limit is None or report.cases_advanced < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.cases_advanced)
        with write_transaction(service.engine) as conn:
            rows = conn.execute(_claim(conn.dialect.name, report.now, after, size)).all()
            changes = [change for row in rows if (change := _fire(service, row, report)) is not None]
            if update_cases(conn, changes) != len(changes):
                # Cannot happen while the claim holds the rows; refuse rather than write half a batch.
                raise StoreError("a claimed case changed during the sweep; the batch was rolled back")
            report.commands_queued += write_effects(conn, changes)
        if not rows:
            break
        report.batches += 1
        report.cases_advanced += len(changes)
        # Continue after the last claimed case, so a case that failed is not claimed again in this sweep.
        after = (rows[-1].next_due_at, rows[-1].case_ref)
        if len(rows) < size:
            break  # nothing more is due, or other workers hold the rest
    return report


def _claim(dialect: str, now: datetime, after: tuple[datetime, str] | None, size: int) -> Any:
    c = cases.c
    # The state comes as JSON text: pydantic parses text faster than Python's json module plus validation.
    stmt = select(c.case_ref, c.municipality, c.definition, c.profile, c.version,
                  cast(c.state, Text).label("state"), c.next_due_at) \
        .where(c.next_due_at <= now).order_by(c.next_due_at, c.case_ref).limit(size)
    if after is not None:
        due, ref = after
        stmt = stmt.where(or_(c.next_due_at > due, and_(c.next_due_at == due, c.case_ref > ref)))
    if dialect == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def _fire(service: "CaseService", row: Any, report: SweepReport) -> CaseChange | None:
    try:
        process = service.process_for(row.definition, row.profile)
        before = CaseState.model_validate_json(row.state)
        transition = fire_due_timers(process, before, report.now)
    except (EngineError, UnknownDefinition) as exc:
        report.failed.append(SweepFailure(case_ref=row.case_ref, error=f"{type(exc).__name__}: {exc}"))
        return None
    return CaseChange(case_ref=row.case_ref, municipality=row.municipality, definition=row.definition,
                      profile=row.profile, based_on=row.version, before=before, transition=transition,
                      event="timer_fired", actor="system", now=report.now)
