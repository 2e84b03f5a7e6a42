"""The reads behind the coordinators' overview (`app.overview`): small queries that return plain rows.

Process data only: case references, steps, roles, phases, dates, counts and the typed facts of the
history (element, clock, due date, verdict). Never the personal-data table, and never the wording of a
history line (`detail` is for people). Each kind of fact is read with one query for a whole
municipality, so a municipality with a few thousand cases costs a handful of queries, not one per case.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, and_, case, false, func, or_, select

from engine.calendar import local_date
from engine.expressions import to_date
from engine.state import ClockState
from store.writes import cases, history, tasks


def municipalities(engine: Engine) -> list[str]:
    """Every municipality that has cases, alphabetically."""
    with engine.connect() as conn:
        return list(conn.execute(select(cases.c.municipality).distinct().order_by(cases.c.municipality)).scalars())


def changed_cases(engine: Engine, since: datetime | None) -> list[str]:
    """Cases with history recorded at or after `since` (every case when None), by reference; not the cases
    set aside by the sweep (their state may not read: the radar lists them instead)."""
    stmt = select(history.c.case_ref).distinct().order_by(history.c.case_ref) \
        .join(cases, cases.c.case_ref == history.c.case_ref).where(cases.c.stuck_at.is_(None))
    if since is not None:
        stmt = stmt.where(history.c.recorded_at >= since)
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


# --- case documents -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseDoc:
    """The parts of one case's state the overview reads: anchors, data and clocks (JSON paths, not states)."""

    case_ref: str
    definition: str
    profile: str | None
    status: str
    anchors: dict[str, date]
    data: dict[str, Any]
    clocks: dict[str, ClockState]

    def date(self, name: str) -> date | None:
        """A date field of the case data (None when it is not set)."""
        return to_date(self.data.get(name))


def case_docs(engine: Engine, municipality: str, *, active_only: bool = False) -> list[CaseDoc]:
    """One query: the anchors, data and clocks of every case of a municipality, by reference (not the cases
    set aside by the sweep: their state may not read; the radar lists them instead)."""
    c = cases.c
    stmt = select(c.case_ref, c.definition, c.profile, c.status, c.state["anchors"], c.state["data"],
                  c.state["clocks"]).where(c.municipality == municipality, c.stuck_at.is_(None)).order_by(c.case_ref)
    if active_only:
        stmt = stmt.where(c.status == "active")
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [CaseDoc(case_ref=ref, definition=definition, profile=profile, status=status,
                    anchors={k: to_date(v) for k, v in (anchors or {}).items()}, data=data or {},
                    clocks={k: ClockState.model_validate(v) for k, v in (clocks or {}).items()})
            for ref, definition, profile, status, anchors, data, clocks in rows]


# --- history facts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HistoryFact:
    """One history line as typed facts, with the Dutch calendar date (`on`) it happened."""

    kind: str
    ref: str
    element: str | None
    clock: str | None
    due_on: date | None
    verdict: str | None
    on: date


@dataclass(frozen=True)
class FactFilter:
    """Which history lines to read: of one of `kinds`, about one of `refs` (any ref when None), or, with
    `definition`, about that definition at any version (the `<id>@<version>` ref of subprocess lines)."""

    kinds: tuple[str, ...]
    refs: tuple[str, ...] | None = None
    definition: str | None = None


def _matching(wanted: FactFilter) -> Any:
    h = history.c
    clauses = [h.kind.in_(wanted.kinds)]
    if wanted.refs is not None:
        clauses.append(h.ref.in_(wanted.refs))
    if wanted.definition is not None:
        clauses.append(h.ref.startswith(f"{wanted.definition}@", autoescape=True))
    return and_(*clauses)


def history_facts(engine: Engine, wanted: Iterable[FactFilter], *, municipality: str | None = None,
                  case_ref: str | None = None) -> dict[str, list[HistoryFact]]:
    """One query: the history lines any of `wanted` asks for, of a municipality's cases or of one case,
    per case reference, in the order they were written."""
    h = history.c
    conditions = [_matching(f) for f in wanted]
    stmt = select(h.case_ref, h.kind, h.ref, h.element, h.clock, h.due_on, h.verdict, h.at) \
        .where(or_(*conditions) if conditions else false()).order_by(h.id)
    if municipality is not None:
        stmt = stmt.join(cases, cases.c.case_ref == h.case_ref).where(cases.c.municipality == municipality)
    if case_ref is not None:
        stmt = stmt.where(h.case_ref == case_ref)
    found: dict[str, list[HistoryFact]] = defaultdict(list)
    with engine.connect() as conn:
        for ref, kind, about, element, clock, due_on, verdict, at in conn.execute(stmt):
            found[ref].append(HistoryFact(kind=kind, ref=about, element=element, clock=clock, due_on=due_on,
                                          verdict=verdict, on=local_date(at)))
    return dict(found)


# --- open tasks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseCount:
    """Active cases of one klantregisseur (None: nobody assigned) in one phase."""

    klantregisseur: str | None
    phase: str | None
    cases: int


@dataclass(frozen=True)
class TaskCount:
    """Open tasks of the active cases of one klantregisseur, and how many of them are overdue."""

    klantregisseur: str | None
    open_tasks: int
    overdue_tasks: int


@dataclass(frozen=True)
class CaseloadCounts:
    """The counts a caseload is made of, read in one transaction."""

    by_phase: list[PhaseCount]
    tasks: list[TaskCount]


def caseload_counts(engine: Engine, municipality: str, today: date) -> CaseloadCounts:
    """Active cases per klantregisseur (`klantregisseur_id` in the case data) and phase, and their open tasks;
    a task is overdue when its due date lies before `today` or the engine marked it missed."""
    c, t = cases.c, tasks.c
    kr = c.state[("data", "klantregisseur_id")].as_string()
    active = and_(c.municipality == municipality, c.status == "active")
    overdue = case((or_(t.missed, t.due_on < today), 1), else_=0)
    with engine.connect() as conn:
        by_phase = conn.execute(select(kr, c.phase, func.count()).where(active).group_by(kr, c.phase)).all()
        task_counts = conn.execute(
            select(kr, func.count(), func.sum(overdue)).select_from(tasks.join(cases, c.case_ref == t.case_ref))
            .where(active).group_by(kr)).all()
    return CaseloadCounts(by_phase=[PhaseCount(who, phase, n) for who, phase, n in by_phase],
                          tasks=[TaskCount(who, n, int(late or 0)) for who, n, late in task_counts])


@dataclass(frozen=True)
class DueTask:
    """An open task with a due date, of an active case."""

    case_ref: str
    definition: str
    step: str
    role: str
    due_on: date
    missed: bool


def tasks_due(engine: Engine, municipality: str, horizon: date) -> list[DueTask]:
    """Open tasks of the municipality's active cases due on or before `horizon`, or marked missed."""
    t, c = tasks.c, cases.c
    stmt = (select(t.case_ref, t.definition, t.step, t.role, t.due_on, t.missed)
            .join(cases, c.case_ref == t.case_ref)
            .where(t.municipality == municipality, c.status == "active", t.due_on.is_not(None),
                   or_(t.due_on <= horizon, t.missed)))
    with engine.connect() as conn:
        return [DueTask(*row) for row in conn.execute(stmt)]


def overdue_tasks_per_case(engine: Engine, municipality: str, step: str, today: date) -> dict[str, int]:
    """How many open tasks of `step` each case of the municipality has that are overdue (due before
    `today` or marked missed); cases without any are left out."""
    t = tasks.c
    stmt = select(t.case_ref, func.count()).where(t.municipality == municipality, t.step == step,
                                                  or_(t.missed, t.due_on < today)).group_by(t.case_ref)
    with engine.connect() as conn:
        return {ref: n for ref, n in conn.execute(stmt)}
