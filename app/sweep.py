"""The timer sweep: fire every due timer of every case, in batches, each timer exactly once.

The clock is read once, so one sweep has one `now`. Due cases are claimed a batch at a time in one
transaction each (`store.due.claim_due`): read, advance with the engine, write states, history,
outbox and open tasks, commit. Several workers may sweep at once on PostgreSQL.

Quarantine, not a halt: a case that cannot be advanced, whatever the reason (its stored state no
longer reads, its definition or profile is gone, the engine raises on it, the database refuses its
row), is set aside in the same transaction as the rest of its batch (`store.writes.set_aside`):
status `stuck`, the reason kept, one line in its history and one notice to the coordinator through the
outbox. It has no next due time, so no sweep claims it again until `regie case retry` (`retry` here)
tries it after a fix; every other due case goes on in the same sweep. The sweep that set cases aside
reports them (`SweepReport.failed`) and `raise_for_failures` lets its run fail once, loudly.

What is kept and said about a stuck case (its reason, the notice, its history, Prefect) names the step
that failed and the error's type only: the error's own text may quote case data. `regie case retry`
shows that text to whoever retries it, on their terminal, when it fails again (`detail`).
"""

from __future__ import annotations

import sys
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DataError, IntegrityError

from engine.people_time import moment
from engine.commands import NotifyRole
from engine.interpreter import fire_due_timers
from engine.process import Process
from engine.state import CaseState
from store.db import write_transaction
from store.due import DueCase, claim_due
from store.errors import StoreError
from store.writes import CaseChange, SetAside, save_changes, set_aside

COORDINATOR = "coordinator"
NOTICE_TEMPLATE = "zaak_vastgelopen"
ROW_ERRORS = (DataError, IntegrityError)
"""What the database says about one row it refuses (a value, a constraint); anything else is not the
case's fault (a lost connection, a deadlock) and fails the batch, which the next sweep does again."""

_STAGES = {
    "definition": "de procesdefinitie of het gemeenteprofiel van de zaak ontbreekt of werkt niet",
    "state": "de opgeslagen toestand van de zaak is niet leesbaar (gemaakt door een andere versie van Regie?)",
    "advance": "het verwerken van de termijnen en herinneringen gaf een fout",
    "write": "de database weigerde de nieuwe toestand van de zaak",
}


class SweepFailure(BaseModel):
    """A case whose due timers could not be fired; it was set aside as it was (status `stuck`)."""

    case_ref: str
    error: str
    """which step failed and the error's type (no case data)"""


class SweepFailed(StoreError):
    """Some due cases could not be advanced by the sweep; they were set aside, the rest was saved."""

    def __init__(self, failures: list[SweepFailure]):
        self.failures = failures
        lines = "; ".join(f"{f.case_ref}: {f.error}" for f in failures[:20])
        more = f" (en nog {len(failures) - 20})" if len(failures) > 20 else ""
        super().__init__(f"{len(failures)} zaak/zaken konden niet verder en zijn opzijgezet (status vastgelopen, "
                         f"`regie case retry` na herstel): {lines}{more}")


class SweepReport(BaseModel):
    """What one sweep did (counts, and the cases it set aside)."""

    now: datetime
    cases_advanced: int = 0
    commands_queued: int = 0
    batches: int = 0
    failed: list[SweepFailure] = []
    """cases set aside by this sweep"""

    def raise_for_failures(self) -> None:
        """Raise `SweepFailed` when cases were set aside (the others were saved)."""
        if self.failed:
            raise SweepFailed(self.failed)


class Cases(Protocol):
    """What the sweep needs of the case service (`app.cases.CaseService` is one)."""

    engine: Engine

    def now(self) -> datetime: ...

    def process_for(self, definition: str, profile: str | None) -> Process: ...


class Stuck(Exception):
    """A case could not be advanced: `stage` says where, `cause` what was raised."""

    def __init__(self, stage: str, cause: BaseException):
        self.stage = stage
        self.cause = cause
        super().__init__(summary(stage, cause))


def sweep(service: Cases, batch_size: int, limit: int | None = None) -> SweepReport:
    """Fire due timers at one `now` until no case is due (or `limit` cases were handled).

    On PostgreSQL a batch is written and committed by a second thread while the next batch is claimed
    (on another connection, after the last case claimed) and advanced: the database's work on one batch
    and the engine's on the next overlap instead of taking turns (issue 13). At most one batch is being
    written at a time; each is still one transaction of its own. SQLite has one writer at a time, so
    there the batches simply follow each other."""
    report = SweepReport(now=service.now())
    after: tuple[datetime, str] | None = None
    handled = 0
    overlap = service.engine.dialect.name == "postgresql"
    with ThreadPoolExecutor(1, thread_name_prefix="regie-sweep-write") if overlap else nullcontext() as writer:
        writing: Future | None = None
        while limit is None or handled < limit:
            size = batch_size if limit is None else min(batch_size, limit - handled)
            transaction = write_transaction(service.engine)
            conn = transaction.__enter__()
            try:
                rows = claim_due(conn, report.now, after, size)
                changes: list[CaseChange] = []
                aside: list[SetAside] = []
                for row in rows:
                    try:
                        changes.append(advance_due(service, row, report.now))
                    except Stuck as stuck:
                        aside.append(setting_aside(row.case_ref, row.version, stuck, report.now))
                if writing is not None:  # the previous batch first: a failure there stops the sweep here
                    _account(report, writing.result())
                    writing = None
            except BaseException:
                if not transaction.__exit__(*sys.exc_info()):
                    raise
                raise AssertionError("unreachable: a write transaction never swallows an error") from None
            if not rows:
                transaction.__exit__(None, None, None)
                break
            if writer is None:
                _account(report, _finish(transaction, conn, changes, aside, report.now))
            else:
                writing = writer.submit(_finish, transaction, conn, changes, aside, report.now)
            report.batches += 1
            handled += len(rows)
            # Continue after the last claimed case (cases set aside are no longer due anyway).
            after = (rows[-1].next_due_at, rows[-1].case_ref)
            if len(rows) < size:
                break  # nothing more is due, or other workers hold the rest
        if writing is not None:
            _account(report, writing.result())
    return report


def _finish(transaction: AbstractContextManager[Connection], conn: Connection, changes: list[CaseChange],
            aside: list[SetAside], now: datetime) -> tuple[list[CaseChange], list[SetAside]]:
    """Write a claimed batch and commit its transaction (`write_transaction`, entered by the claim); rolled
    back when anything raises. The cases written and those set aside."""
    try:
        done = _save(conn, changes, aside, now)
    except BaseException:
        if not transaction.__exit__(*sys.exc_info()):
            raise
        raise AssertionError("unreachable: a write transaction never swallows an error") from None
    transaction.__exit__(None, None, None)
    return done


def _account(report: SweepReport, done: tuple[list[CaseChange], list[SetAside]]) -> None:
    changes, aside = done
    report.commands_queued += sum(len(c.transition.commands) for c in changes)
    report.cases_advanced += len(changes)
    report.failed += [SweepFailure(case_ref=a.case_ref, error=a.reason) for a in aside]


def advance_due(service: Cases, row: DueCase, now: datetime, *, event: str = "timer_fired",
                actor: str = "system") -> CaseChange:
    """The case with its due timers fired, not yet saved; `Stuck` when that cannot be done."""
    # Each stage catches every Exception on purpose: whatever one case raises must set that case
    # aside, not stop the sweep for all the others. Nothing is swallowed: it is kept, noted and told.
    try:
        process = service.process_for(row.definition, row.profile)
    except Exception as exc:
        raise Stuck("definition", exc) from exc
    try:
        before = CaseState.model_validate_json(row.state)
    except Exception as exc:
        raise Stuck("state", exc) from exc
    try:
        change = CaseChange(case_ref=row.case_ref, municipality=row.municipality, definition=row.definition,
                            profile=row.profile, based_on=row.version, before=before,
                            transition=fire_due_timers(process, before, now), event=event, actor=actor, now=now)
        change.state_json()  # serialised now, so a state that cannot be written is this case's problem
    except Exception as exc:
        raise Stuck("advance", exc) from exc
    return change


def summary(stage: str, cause: BaseException) -> str:
    """What went wrong, in words that may go anywhere: the stage, and the error's type (no case data)."""
    return f"{_STAGES[stage]} ({type(cause).__name__})"


def detail(stage: str, cause: BaseException) -> str:
    """What went wrong in full, for the person who fixes it (shown on their terminal, never kept)."""
    if isinstance(cause, ValidationError):  # without the input values: they may be case data
        text = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or '-'}: {e['msg']}"
                           for e in cause.errors(include_url=False, include_input=False, include_context=False))
    else:
        text = str(cause)
    return f"{summary(stage, cause)}: {text}"


def setting_aside(case_ref: str, version: int, stuck: Stuck, now: datetime, *, tell: bool = True) -> SetAside:
    """How a stuck case is set aside: its reason, its history line and (once per version) the notice."""
    said = summary(stuck.stage, stuck.cause)
    since = moment(now)
    notice = NotifyRole(key=f"{case_ref}:{version}:vastgelopen", case_ref=case_ref, role=COORDINATOR,
                        template=NOTICE_TEMPLATE, reason="case_stuck",
                        context={"case_ref": case_ref, "fout": said, "sinds": since,
                                 "uiterlijk": "zo snel mogelijk"}) if tell else None
    return SetAside(case_ref=case_ref, based_on=version, reason=said,
                    note=f"zaak apart gezet: {said}; opnieuw proberen na herstel: regie case retry {case_ref}",
                    notice=notice, now=now)


def _save(conn: Connection, changes: list[CaseChange], aside: list[SetAside], now: datetime
          ) -> tuple[list[CaseChange], list[SetAside]]:
    """Write the batch; when the database refuses a row, write the cases one by one and set aside those
    it refuses (the claim's locks are kept throughout: savepoints, not a new transaction)."""
    try:
        with conn.begin_nested():
            _write(conn, changes, aside)
        return changes, aside
    except ROW_ERRORS:
        pass
    saved = []
    for change in changes:
        try:
            with conn.begin_nested():
                _write(conn, [change], [])
            saved.append(change)
        except ROW_ERRORS as exc:
            aside.append(setting_aside(change.case_ref, change.based_on, Stuck("write", exc), now))
    set_aside(conn, list(aside))
    return saved, aside


def _write(conn: Connection, changes: list[CaseChange], aside: list[SetAside]) -> None:
    if save_changes(conn, changes) != len(changes):
        # Cannot happen while the claim holds the rows; refuse rather than write half a batch.
        raise StoreError("een geclaimde zaak veranderde tijdens de ronde; de hele partij is teruggedraaid")
    set_aside(conn, list(aside))
