"""The timer sweep: fire every due timer of every case, in batches, each timer exactly once.

The clock is read once, so one sweep has one `now`. Due cases are claimed a batch at a time in one
transaction each (`store.due.claim_due`): read, advance with the engine, write states, history,
outbox and open tasks, commit. Several workers may sweep at once on PostgreSQL.

A case the engine cannot advance (a definition problem) is left as it was and reported; the sweep
goes on with the others. `SweepReport.raise_for_failures` lets the caller fail loudly afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from pydantic import BaseModel
from sqlalchemy import Engine

from engine.errors import EngineError
from engine.interpreter import fire_due_timers
from engine.process import Process
from engine.state import CaseState
from store.db import write_transaction
from store.due import DueCase, claim_due
from store.errors import StoreError, UnknownDefinition
from store.writes import CaseChange, update_cases, write_effects


class SweepFailure(BaseModel):
    """A case whose due timers could not be fired; it stays as it was."""

    case_ref: str
    error: str


class SweepFailed(StoreError):
    """Some due cases could not be advanced by the sweep; they stay as they were, the rest was saved."""

    def __init__(self, failures: list[SweepFailure]):
        self.failures = failures
        lines = "; ".join(f"{f.case_ref}: {f.error}" for f in failures[:20])
        more = f" (and {len(failures) - 20} more)" if len(failures) > 20 else ""
        super().__init__(f"{len(failures)} case(s) could not be advanced: {lines}{more}")


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


class Cases(Protocol):
    """What the sweep needs of the case service (`app.cases.CaseService` is one)."""

    engine: Engine

    def now(self) -> datetime: ...

    def process_for(self, definition: str, profile: str | None) -> Process: ...


def sweep(service: Cases, batch_size: int, limit: int | None = None) -> SweepReport:
    """Fire due timers at one `now` until no case is due (or `limit` cases were advanced)."""
    report = SweepReport(now=service.now())
    after: tuple[datetime, str] | None = None
    while limit is None or report.cases_advanced < limit:
        size = batch_size if limit is None else min(batch_size, limit - report.cases_advanced)
        with write_transaction(service.engine) as conn:
            rows = claim_due(conn, report.now, after, size)
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


def _fire(service: Cases, row: DueCase, report: SweepReport) -> CaseChange | None:
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
