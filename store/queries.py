"""Reading cases: one case in full, lists of cases, the inbox of open tasks, and personal data.

Reads never change anything and never hold a write lock. Lists come from indexed columns and the
`open_tasks` table, so they do not parse case states.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, case, func
from sqlmodel import Session, select

from engine.process import Process
from engine.state import CaseState
from store.errors import CaseNotFound
from store.models import CaseRecord, HistoryRecord, PersonalRecord
from store.views import (
    CaseSummary,
    CaseView,
    HistoryView,
    TaskView,
    clock_views,
    due_views,
    shareable_data,
    task_view,
)
from store.writes import cases, tasks

ProcessFor = Callable[[str, str | None], Process]
"""(definition ref, profile) -> the process to show a case of it with"""


def load_case(engine: Engine, case_ref: str) -> CaseRecord | None:
    """The case row, or None."""
    with Session(engine) as session:
        return session.get(CaseRecord, case_ref)


def show_case(engine: Engine, process_for: ProcessFor, case_ref: str, history: int) -> CaseView:
    """One case with its open tasks, clocks, timers, shareable data and last `history` history lines."""
    with Session(engine) as session:  # one read transaction: the case and its history agree
        record = session.get(CaseRecord, case_ref)
        if record is None:
            raise CaseNotFound(case_ref)
        recent = session.exec(select(HistoryRecord).where(HistoryRecord.case_ref == case_ref)
                              .order_by(HistoryRecord.id.desc()).limit(history)).all()
    state = CaseState.model_validate(record.state)
    process = process_for(record.definition, record.profile)
    scopes = {s.id: s.definition for s in state.scopes}
    open_tasks = [
        task_view(process, case_ref=case_ref, case_version=record.version,
                  definition=scopes.get(t.scope, record.definition), task_id=t.id, step=t.element,
                  role=t.role, opened_at=t.opened_at, due_on=t.due_on, missed=t.missed)
        for t in state.tasks
    ]
    return CaseView(
        case_ref=case_ref, municipality=record.municipality, definition=record.definition,
        profile=record.profile, version=record.version, status=record.status, phase=record.phase,
        next_due_at=record.next_due_at, open_tasks=open_tasks, clocks=clock_views(state),
        next_due=due_views(state), data=shareable_data(process, state.data),
        history=[HistoryView(version=h.version, at=h.at, actor=h.actor, event=h.event, kind=h.kind,
                             ref=h.ref, detail=h.detail) for h in reversed(recent)],
        created_at=record.created_at, updated_at=record.updated_at,
    )


def list_cases(engine: Engine, *, municipality: str | None, phase: str | None, status: str | None,
               limit: int | None, offset: int) -> list[CaseSummary]:
    """Cases in order of reference, filtered, with their numbers of open and missed tasks."""
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
        return [CaseSummary.model_validate(row._mapping) for row in conn.execute(stmt)]


def open_tasks(engine: Engine, process_for: ProcessFor, *, municipality: str | None, role: str | None,
               case_ref: str | None, missed: bool | None, limit: int | None) -> list[TaskView]:
    """Open user tasks across cases, soonest due first (tasks without a deadline last)."""
    t, c = tasks.c, cases.c
    stmt = select(t.case_ref, t.task_id, t.definition, t.step, t.role, t.opened_at, t.due_on, t.missed,
                  c.version, c.definition.label("case_definition"), c.profile) \
        .join(cases, c.case_ref == t.case_ref) \
        .order_by(t.due_on.is_(None), t.due_on, t.case_ref, t.task_id)
    for column, value in ((t.municipality, municipality), (t.role, role), (t.case_ref, case_ref),
                          (t.missed, missed)):
        if value is not None:
            stmt = stmt.where(column == value)
    if limit is not None:
        stmt = stmt.limit(limit)
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [task_view(process_for(r.case_definition, r.profile), case_ref=r.case_ref, case_version=r.version,
                      definition=r.definition, task_id=r.task_id, step=r.step, role=r.role,
                      opened_at=r.opened_at, due_on=r.due_on, missed=r.missed)
            for r in rows]


def personal_data(engine: Engine, case_ref: str) -> dict[str, Any]:
    """The identifying data kept for a case ({} when none was given)."""
    with Session(engine) as session:
        if session.get(CaseRecord, case_ref) is None:
            raise CaseNotFound(case_ref)
        record = session.get(PersonalRecord, case_ref)
    return dict(record.data) if record else {}
