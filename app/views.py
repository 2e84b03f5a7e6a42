"""What the service shows of a case: process data only, safe for the Prefect UI, logs and messages.

Case data fields appear only when their privacy category may leave the case store (`process`,
`case_reference`); identifying and special-category data, and anything undeclared, never do.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from engine.commands import FormFieldSpec
from engine.definitions import UserTask
from engine.process import Process
from engine.state import CaseState, Timer


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class TaskView(_View):
    """An open user task, with what the inbox needs to show its form."""

    case_ref: str
    task_id: str
    step: str
    name: str
    role: str
    instructions: str = ""
    opened_at: datetime
    due_on: date | None = None
    missed: bool = False
    form: list[FormFieldSpec] = []
    case_version: int
    municipality: str = ""
    phase: str | None = None
    """the case's phase now"""


class ClockView(_View):
    """A legal clock: when it started, its last day, and whether it runs."""

    clock: str
    status: str
    started_on: date
    end_on: date
    paused_days: int
    extended: bool


class DueView(_View):
    """A scheduled timer: when, what kind, and for which step or clock."""

    due_at: datetime
    kind: str
    subject: str


class HistoryView(_View):
    """One line of the audit trail."""

    version: int
    at: datetime
    actor: str
    event: str
    kind: str
    ref: str
    detail: str


class _CaseHeader(_View):
    """What every view of a case starts with."""

    case_ref: str
    municipality: str
    definition: str
    profile: str | None
    version: int
    status: str
    phase: str | None
    next_due_at: datetime | None


class CaseSummary(_CaseHeader):
    """A case in a list."""

    open_tasks: int
    missed_tasks: int
    updated_at: datetime


class CaseView(_CaseHeader):
    """One case in full, as far as process data goes."""

    open_tasks: list[TaskView]
    clocks: list[ClockView]
    next_due: list[DueView]
    data: dict[str, Any]
    history: list[HistoryView]
    created_at: datetime
    updated_at: datetime
    stuck_since: datetime | None = None
    """set aside by the sweep since then (status `stuck`): see `stuck_reason`, and `regie case retry`"""
    stuck_reason: str | None = None
    """which step failed and the error's type (no case data)"""


def shareable_data(process: Process, data: dict[str, Any]) -> dict[str, Any]:
    """The case data that may be shown: declared fields whose privacy category may leave the store."""
    fields = process.data_fields
    return {name: value for name, value in data.items()
            if name in fields and fields[name].privacy.may_leave_case_store}


def task_view(process: Process, *, case_ref: str, case_version: int, definition: str, task_id: str,
              step: str, role: str, opened_at: datetime, due_on: date | None, missed: bool,
              municipality: str = "", phase: str | None = None) -> TaskView:
    """An open task with its step's name, instructions and form from the definition."""
    element = process.elements.get(definition, {}).get(step)
    name, instructions, form = step, "", []
    if isinstance(element, UserTask):
        name, instructions = element.name or element.id, element.instructions
        form = process.form(element)
    return TaskView(case_ref=case_ref, task_id=task_id, step=step, name=name, role=role,
                    instructions=instructions, opened_at=opened_at, due_on=due_on, missed=missed, form=form,
                    case_version=case_version, municipality=municipality, phase=phase)


def clock_views(state: CaseState) -> list[ClockView]:
    """Every clock of the case."""
    return [ClockView(clock=c.id, status=c.status, started_on=c.started_on, end_on=c.end_on,
                      paused_days=c.paused_days, extended=c.extended) for c in state.clocks.values()]


def due_views(state: CaseState) -> list[DueView]:
    """The scheduled timers, earliest first."""
    elements = {t.id: t.element for t in state.tokens}
    return [DueView(due_at=t.due_at, kind=t.kind, subject=_subject(t, elements))
            for t in sorted(state.timers, key=lambda t: (t.due_at, len(t.id), t.id))]


def _subject(timer: Timer, elements: dict[str, str]) -> str:
    if timer.clock is not None:
        return f"{timer.clock}.{timer.ref}" if timer.kind == "milestone" else timer.clock
    subject = elements.get(timer.token or "", "")
    return f"{subject}.{timer.ref}" if timer.kind == "boundary" and timer.ref else subject


def case_view(record: Any, history: list[Any], process: Process, state: CaseState | None = None) -> CaseView:
    """One case with its open tasks, clocks, timers, shareable data and the given history lines.

    `record` has the case row's columns as attributes (a row or a `CaseRecord`); `state` is its state when
    the caller has it parsed already (a change just made), else it is read from `record.state`."""
    if state is None:
        state = CaseState.model_validate(record.state)
    scopes = {s.id: s.definition for s in state.scopes}
    open_tasks = [
        task_view(process, case_ref=record.case_ref, case_version=record.version,
                  definition=scopes.get(t.scope, record.definition), task_id=t.id, step=t.element,
                  role=t.role, opened_at=t.opened_at, due_on=t.due_on, missed=t.missed)
        for t in state.tasks
    ]
    return CaseView(
        case_ref=record.case_ref, municipality=record.municipality, definition=record.definition,
        profile=record.profile, version=record.version, status=record.status, phase=record.phase,
        next_due_at=record.next_due_at, open_tasks=open_tasks, clocks=clock_views(state),
        next_due=due_views(state), data=shareable_data(process, state.data),
        history=_history(history), created_at=record.created_at, updated_at=record.updated_at,
        stuck_since=record.stuck_at, stuck_reason=record.stuck_reason,
    )


def stuck_case_view(record: Any, history: list[Any]) -> CaseView:
    """A stuck case whose state or definition cannot be read: what the case row and its history say."""
    return CaseView(
        case_ref=record.case_ref, municipality=record.municipality, definition=record.definition,
        profile=record.profile, version=record.version, status=record.status, phase=record.phase,
        next_due_at=record.next_due_at, open_tasks=[], clocks=[], next_due=[], data={}, history=_history(history),
        created_at=record.created_at, updated_at=record.updated_at, stuck_since=record.stuck_at,
        stuck_reason=record.stuck_reason,
    )


def _history(history: list[Any]) -> list[HistoryView]:
    return [HistoryView(version=h.version, at=h.at, actor=h.actor, event=h.event, kind=h.kind, ref=h.ref,
                        detail=h.detail) for h in history]
