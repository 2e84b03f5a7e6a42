"""Reading cases: one case with its history, lists of cases, the inbox of open tasks, the cases set aside,
personal data, and the facts delivery and routing need. Plain rows: what is shown of them is decided in `app.views`.

Reads never change anything and never hold a write lock. Lists come from indexed columns and the
`open_tasks` table, so they do not parse case states.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, case, func
from sqlmodel import Session, select

from store.errors import CaseNotFound
from store.models import CaseRecord, PersonalRecord
from store.db import read_transaction
from store.writes import cases, personal, recent_history, tasks


def load_case(engine: Engine, case_ref: str) -> CaseRecord | None:
    """The case row, or None."""
    with Session(engine, expire_on_commit=False) as session:
        record = session.get(CaseRecord, case_ref)
        session.commit()  # not the ROLLBACK of a closing session: it would drop the prepared statements
        return record


def case_with_history(engine: Engine, case_ref: str, history: int) -> tuple[Any, list[Any]]:
    """The case row and its last `history` history lines, oldest first, read in one transaction (rows with
    attributes named as the columns)."""
    with read_transaction(engine) as conn:  # one read transaction: the case and its history agree
        record = conn.execute(select(cases).where(cases.c.case_ref == case_ref)).first()
        if record is None:
            raise CaseNotFound(case_ref)
        return record, recent_history(conn, case_ref, history)


def list_cases(engine: Engine, *, municipality: str | None, phase: str | None, status: str | None,
               limit: int | None, offset: int) -> list[dict[str, Any]]:
    """Cases in order of reference, filtered, with their numbers of open and missed tasks (column values)."""
    counts = select(tasks.c.case_ref, func.count().label("open_tasks"),
                    func.sum(case((tasks.c.missed, 1), else_=0)).label("missed_tasks")) \
        .group_by(tasks.c.case_ref).subquery()
    c = cases.c
    stmt = select(c.case_ref, c.municipality, c.definition, c.profile, c.version, c.status, c.phase,
                  c.next_due_at, c.updated_at, func.coalesce(counts.c.open_tasks, 0).label("open_tasks"),
                  func.coalesce(counts.c.missed_tasks, 0).label("missed_tasks")) \
        .outerjoin(counts, counts.c.case_ref == c.case_ref).order_by(c.case_ref).offset(offset)
    for column, value in ((c.municipality, municipality), (c.phase, phase), (c.status, status)):
        if value is not None:
            stmt = stmt.where(column == value)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(stmt)]


def open_tasks(engine: Engine, *, municipality: str | None, role: str | None, case_ref: str | None,
               missed: bool | None, limit: int | None) -> list[OpenTaskRow]:
    """Open user tasks across cases, soonest due first (tasks without a deadline last)."""
    t, c = tasks.c, cases.c
    stmt = select(t.case_ref, t.task_id, t.definition, t.step, t.role, t.opened_at, t.due_on, t.missed,
                  c.version, c.definition.label("case_definition"), c.profile, t.municipality, c.phase) \
        .join(cases, c.case_ref == t.case_ref) \
        .order_by(t.due_on.is_(None), t.due_on, t.case_ref, t.task_id)
    for column, value in ((t.municipality, municipality), (t.role, role), (t.case_ref, case_ref),
                          (t.missed, missed)):
        if value is not None:
            stmt = stmt.where(column == value)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        return [OpenTaskRow(*row) for row in conn.execute(stmt)]


@dataclass(frozen=True)
class OpenTaskRow:
    """An open task as the `open_tasks` table has it, with its case's version, definition and profile."""

    case_ref: str
    task_id: str
    definition: str
    step: str
    role: str
    opened_at: datetime
    due_on: date | None
    missed: bool
    version: int
    case_definition: str
    profile: str | None
    municipality: str = ""
    phase: str | None = None


@dataclass(frozen=True)
class StuckCase:
    """A case the sweep set aside: since when, and why."""

    case_ref: str
    municipality: str
    definition: str
    phase: str | None
    stuck_at: datetime
    stuck_reason: str | None


def stuck_cases(engine: Engine, municipality: str | None = None) -> list[StuckCase]:
    """Cases set aside by the sweep (status `stuck`), longest stuck first."""
    c = cases.c
    stmt = select(c.case_ref, c.municipality, c.definition, c.phase, c.stuck_at, c.stuck_reason) \
        .where(c.stuck_at.is_not(None)).order_by(c.stuck_at, c.case_ref)
    if municipality is not None:
        stmt = stmt.where(c.municipality == municipality)
    with engine.connect() as conn:
        return [StuckCase(*row) for row in conn.execute(stmt)]


def case_profiles(engine: Engine, municipality: str) -> set[str | None]:
    """The profiles the cases of a municipality run with (None: the default profile)."""
    with engine.connect() as conn:
        return set(conn.execute(select(cases.c.profile).where(cases.c.municipality == municipality).distinct())
                   .scalars())


def personal_data(engine: Engine, case_ref: str) -> dict[str, Any]:
    """The identifying data kept for a case ({} when none was given)."""
    with Session(engine, expire_on_commit=False) as session:
        if session.get(CaseRecord, case_ref) is None:
            raise CaseNotFound(case_ref)
        record = session.get(PersonalRecord, case_ref)
        session.commit()  # see load_case
    return dict(record.data) if record else {}


def case_exists(engine: Engine, case_ref: str) -> bool:
    """Whether a case with this reference exists."""
    with engine.connect() as conn:
        return conn.execute(select(cases.c.case_ref).where(cases.c.case_ref == case_ref)).first() is not None


def people_of(engine: Engine, case_refs: Iterable[str], key: str) -> dict[str, Any]:
    """For the references that exist: the personal value `key` of each case (None where it has none).

    The COA import reads the V-number behind a reference this way, to tell "imported before" from
    "another person with the same reference" (a collision)."""
    refs = sorted(set(case_refs))
    found: dict[str, Any] = {}
    value = personal.c.data[key].as_string()
    with engine.connect() as conn:
        for start in range(0, len(refs), 500):  # keep IN lists well below SQLite's parameter limit
            stmt = select(cases.c.case_ref, value).outerjoin(personal, personal.c.case_ref == cases.c.case_ref) \
                .where(cases.c.case_ref.in_(refs[start:start + 500]))
            found.update({ref: v for ref, v in conn.execute(stmt)})
    return found


def routing_facts(engine: Engine, case_ref: str) -> tuple[str | None, dict[str, Any]] | None:
    """What routing a notice needs of a case: its profile and its data (None: no such case)."""
    c = cases.c
    with engine.connect() as conn:
        row = conn.execute(select(c.profile, c.state["data"].label("data")).where(c.case_ref == case_ref)).first()
    if row is None:
        return None
    return row.profile, row.data if isinstance(row.data, dict) else {}


def delivery_facts(engine: Engine, case_refs: Iterable[str]) -> tuple[dict[str, str], set[tuple[str, str]]]:
    """For delivering a batch of commands: each case's municipality, and the (case, task) pairs still open."""
    refs = sorted(set(case_refs))
    municipality: dict[str, str] = {}
    still_open: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for start in range(0, len(refs), 500):  # keep IN lists well below SQLite's parameter limit
            chunk = refs[start:start + 500]
            rows = conn.execute(select(cases.c.case_ref, cases.c.municipality).where(cases.c.case_ref.in_(chunk)))
            municipality.update({r.case_ref: r.municipality for r in rows})
            rows = conn.execute(select(tasks.c.case_ref, tasks.c.task_id).where(tasks.c.case_ref.in_(chunk)))
            still_open.update((r.case_ref, r.task_id) for r in rows)
    return municipality, still_open
