"""The coordinators' overview, read from the case store: caseload, deadline radar, case timeline, KPIs.

Read-only and process data only: case references, steps, roles, phases, dates and counts; never a
name, BSN or a medical outcome. Each function reads each kind of fact with one query for the whole
municipality (case rows with a few JSON paths of their state, open tasks, selected history lines), so
a municipality with a few thousand cases costs a handful of queries, not one per case.

`today` is always passed in (the Dutch calendar date the caller read from its clock once).

Norms come from the municipality profile's parameters where the definitions have one (their `source`
cites wi2021.md or a P-number); the others are the documented constants below.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, and_, case, func, or_, select

from engine.calendar import local_date
from engine.definitions import Clock, UserTask
from engine.durations import Duration, parse_duration
from engine.state import CaseState, ClockState
from store.errors import CaseNotFound
from store.writes import cases, history, tasks

if TYPE_CHECKING:
    from engine.loader import Library
    from store.service import CaseService

UNASSIGNED = "niet toegewezen"
"""Caseload group of cases without a `klantregisseur_id` (P14)."""

# Statuses of a timeline row (Dutch: the coordinators' words).
OP_TIJD, TE_LAAT, GEMIST, OPEN, NVT, GEDAAN = "op tijd", "te laat", "gemist", "open", "n.v.t.", "gedaan"

# --- norms without a profile parameter (documented constants) -----------------------------------------
WARME_OVERDRACHT_NORM = 80.0
WARME_OVERDRACHT_SOURCE = ("wi2021.md#2 Practice/AVG: COA promised 80% warm handovers (M); P1 driegesprek "
                           "before the move")
PIP_NORM = 100.0
PIP_SOURCE = "a legal term, so the norm is every PIP"
DUAAL_BANDWIDTH = "3–6 maanden"
DUO_BESLISTERMIJN = parse_duration("P8W")
MEDISCH_SOURCE = "wi2021.md#0 row 10 DUO decision term 8 weeks (H); P8 the wait eats into the term"
NAZORG_SOURCE = "wi2021.md#10 no national check-in norm (L)"

_DUE = re.compile(r"due (\d{4}-\d{2}-\d{2})")
_DAYS_PER_MONTH = 365.25 / 12


# --- shared reads -------------------------------------------------------------------------------------


def municipalities(engine: Engine) -> list[str]:
    """Every municipality that has cases, alphabetically."""
    with engine.connect() as conn:
        return list(conn.execute(select(cases.c.municipality).distinct().order_by(cases.c.municipality)).scalars())


def changed_cases(engine: Engine, since: datetime | None) -> list[str]:
    """Cases with history recorded at or after `since` (every case when None), by reference."""
    stmt = select(history.c.case_ref).distinct().order_by(history.c.case_ref)
    if since is not None:
        stmt = stmt.where(history.c.recorded_at >= since)
    with engine.connect() as conn:
        return list(conn.execute(stmt).scalars())


@dataclass(frozen=True)
class _CaseDoc:
    """The parts of one case's state the overview reads (never the personal-data table)."""

    case_ref: str
    definition: str
    profile: str | None
    status: str
    anchors: dict[str, date]
    data: dict[str, Any]
    clocks: dict[str, ClockState]

    def date(self, name: str) -> date | None:
        return _as_date(self.data.get(name))


def _case_docs(engine: Engine, municipality: str, *, active_only: bool = False) -> list[_CaseDoc]:
    """One query: the anchors, data and clocks of every case of a municipality (JSON paths, not states)."""
    c = cases.c
    stmt = select(c.case_ref, c.definition, c.profile, c.status, c.state["anchors"], c.state["data"],
                  c.state["clocks"]).where(c.municipality == municipality).order_by(c.case_ref)
    if active_only:
        stmt = stmt.where(c.status == "active")
    with engine.connect() as conn:
        rows = conn.execute(stmt).all()
    return [_CaseDoc(case_ref=r[0], definition=r[1], profile=r[2], status=r[3],
                     anchors={k: _as_date(v) for k, v in (r[4] or {}).items()}, data=r[5] or {},
                     clocks={k: ClockState.model_validate(v) for k, v in (r[6] or {}).items()})
            for r in rows]


@dataclass(frozen=True)
class _Fact:
    """One history line, reduced to what the overview needs."""

    kind: str
    ref: str
    detail: str
    on: date


def _history_facts(engine: Engine, condition: Any, *, municipality: str | None = None,
                   case_ref: str | None = None) -> dict[str, list[_Fact]]:
    """One query: the history lines matching `condition`, per case, in the order they were written."""
    h = history.c
    stmt = select(h.case_ref, h.kind, h.ref, h.detail, h.at).where(condition).order_by(h.id)
    if municipality is not None:
        stmt = stmt.join(cases, cases.c.case_ref == h.case_ref).where(cases.c.municipality == municipality)
    if case_ref is not None:
        stmt = stmt.where(h.case_ref == case_ref)
    found: dict[str, list[_Fact]] = defaultdict(list)
    with engine.connect() as conn:
        for ref, kind, what, detail, at in conn.execute(stmt):
            found[ref].append(_Fact(kind, what, detail, local_date(at)))
    return found


def _as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return local_date(value)
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        return date.fromisoformat(value[:10])
    return None


@dataclass(frozen=True)
class Norm:
    """A local norm: the parameter's value and where it comes from."""

    name: str
    value: Any
    source: str

    @property
    def duration(self) -> Duration:
        return parse_duration(str(self.value))


def norms(library: "Library", profile: str | None) -> dict[str, Norm]:
    """Every parameter of every definition with the profile's value where it sets one."""
    found: dict[str, Norm] = {}
    for definition in library.definitions.values():
        for name, parameter in definition.parameters.items():
            found.setdefault(name, Norm(name, parameter.default, parameter.source))
    chosen = library.profiles.get(profile) if profile else None
    if chosen is not None:
        for name, value in chosen.parameters.items():
            if name in found:
                found[name] = Norm(name, value, f"profiel {chosen.id}; {found[name].source}")
    return found


def municipality_profile(service: "CaseService", municipality: str) -> str | None:
    """The profile a new case of this municipality gets (as `CaseService.start_trajectory` chooses it)."""
    return municipality if municipality in service.library.profiles else service.default_profile


def dutch_duration(duration: Duration) -> str:
    """`P12W` -> `12 weken`, `P3M` -> `3 maanden`, `5 werkdagen` stays; mixed durations keep their text."""
    if duration.werkdagen:
        return f"{duration.werkdagen} werkdagen"
    parts = [(duration.years, "jaar", "jaar"), (duration.months, "maand", "maanden")]
    days = duration.days
    if days and days % 7 == 0 and not (duration.years or duration.months):
        parts.append((days // 7, "week", "weken"))
        days = 0
    parts.append((days, "dag", "dagen"))
    words = [f"{n} {one if n == 1 else many}" for n, one, many in parts if n]
    return " en ".join(words) or "0 dagen"


# --- caseload (P14) -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseloadRow:
    """Open cases of one group (the municipality, or one klantregisseur) by phase, with their tasks."""

    group: str
    cases: int = 0
    by_phase: dict[str, int] = field(default_factory=dict)
    open_tasks: int = 0
    overdue_tasks: int = 0


@dataclass(frozen=True)
class Caseload:
    """The caseload of a municipality: in total and per klantregisseur (by work code)."""

    municipality: str
    today: date
    phases: list[str]
    total: CaseloadRow
    by_klantregisseur: list[CaseloadRow]


def _klantregisseur():
    return cases.c.state[("data", "klantregisseur_id")].as_string()


def caseload(engine: Engine, municipality: str, today: date, *, phase_order: Iterable[str] = ()) -> Caseload:
    """Open (active) cases per phase, open tasks and overdue tasks: for the municipality and per klantregisseur.

    A task is overdue when its due date lies before `today` (or the engine marked it missed). Cases
    without a `klantregisseur_id` are counted under "niet toegewezen".
    """
    c, t = cases.c, tasks.c
    kr = _klantregisseur()
    active = and_(c.municipality == municipality, c.status == "active")
    overdue = case((or_(t.missed, t.due_on < today), 1), else_=0)
    with engine.connect() as conn:
        by_phase = conn.execute(select(kr, c.phase, func.count()).where(active).group_by(kr, c.phase)).all()
        task_counts = conn.execute(
            select(kr, func.count(), func.sum(overdue)).select_from(tasks.join(cases, c.case_ref == t.case_ref))
            .where(active).group_by(kr)).all()
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"cases": 0, "by_phase": {}, "open": 0, "overdue": 0})
    seen_phases: set[str] = set()
    for who, phase, n in by_phase:
        g = groups[who or UNASSIGNED]
        g["cases"] += n
        g["by_phase"][phase or "-"] = g["by_phase"].get(phase or "-", 0) + n
        seen_phases.add(phase or "-")
    for who, n, late in task_counts:
        g = groups[who or UNASSIGNED]
        g["open"] += n
        g["overdue"] += int(late or 0)
    rows = [CaseloadRow(group=who, cases=g["cases"], by_phase=dict(g["by_phase"]), open_tasks=g["open"],
                        overdue_tasks=g["overdue"])
            for who, g in sorted(groups.items(), key=lambda item: (item[0] == UNASSIGNED, item[0]))]
    total_phase: dict[str, int] = defaultdict(int)
    for row in rows:
        for phase, n in row.by_phase.items():
            total_phase[phase] += n
    order = [p for p in phase_order if p in seen_phases] + sorted(seen_phases - set(phase_order))
    total = CaseloadRow(group=municipality, cases=sum(r.cases for r in rows),
                        by_phase={p: total_phase[p] for p in order}, open_tasks=sum(r.open_tasks for r in rows),
                        overdue_tasks=sum(r.overdue_tasks for r in rows))
    return Caseload(municipality=municipality, today=today, phases=order, total=total, by_klantregisseur=rows)


# --- deadline radar -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RadarRow:
    """Something due: an open task, or a legal clock (term or norm) that ends."""

    due_on: date
    overdue: bool
    kind: str  # "taak" or "termijn"
    case_ref: str
    step: str  # step id or clock id
    name: str
    role: str


def deadline_radar(service: "CaseService", municipality: str, today: date, days: int = 14) -> list[RadarRow]:
    """What is overdue and what falls due within `days`: open tasks and clocks, by date, then case and step.

    A running clock shows with the role warned before its end; a clock that ran out while what stops
    it has not happened yet (no home, no PIP) shows as overdue with the role told at its end.
    """
    horizon = today + timedelta(days=days)
    t, c = tasks.c, cases.c
    stmt = (select(t.case_ref, t.definition, t.step, t.role, t.due_on, t.missed)
            .join(cases, c.case_ref == t.case_ref)
            .where(t.municipality == municipality, c.status == "active", t.due_on.is_not(None),
                   or_(t.due_on <= horizon, t.missed)))
    with service.engine.connect() as conn:
        open_tasks = conn.execute(stmt).all()
    rows = [RadarRow(due_on=r.due_on, overdue=bool(r.missed or r.due_on < today), kind="taak", case_ref=r.case_ref,
                     step=r.step, name=_step_name(service.library, r.definition, r.step), role=r.role)
            for r in open_tasks]
    rows.extend(_clock_rows(service, municipality, today, horizon))
    return sorted(rows, key=lambda r: (r.due_on, r.case_ref, r.kind, r.step))


def _step_name(library: "Library", definition: str, step: str) -> str:
    element = next((e for e in library.definitions[definition].elements if e.id == step), None) \
        if definition in library.definitions else None
    return (element.name or step) if isinstance(element, UserTask) else step


def _clock_rows(service: "CaseService", municipality: str, today: date, horizon: date) -> list[RadarRow]:
    docs = _case_docs(service.engine, municipality, active_only=True)
    candidates: list[tuple[_CaseDoc, Clock, ClockState]] = []
    for doc in docs:
        process = service.process_for(doc.definition, doc.profile)
        for clock_id, state in doc.clocks.items():
            clock = process.clocks[clock_id][1]
            if (state.status == "running" and state.end_on <= horizon) or (state.status == "expired" and clock.deadline):
                candidates.append((doc, clock, state))
    # Which expired clocks are settled after all: one query for the steps that would have stopped them.
    stop_steps = {t.completed for _, clock, _ in candidates for t in clock.stop_on if t.completed}
    completed = _history_facts(service.engine, and_(history.c.kind == "task_completed",
                                                    history.c.ref.in_(sorted(stop_steps) or [""])),
                               municipality=municipality)
    rows = []
    for doc, clock, state in candidates:
        if state.status == "expired":
            done = {f.ref for f in completed.get(doc.case_ref, []) if f.on >= state.started_on}
            if any(t.message and t.message in doc.anchors for t in clock.stop_on) or \
                    any(t.completed in done for t in clock.stop_on if t.completed):
                continue
            role = clock.expiry.role if clock.expiry else "coordinator"
        else:
            role = next((m.notify.role for m in clock.milestones if m.before_end and m.notify), None) \
                or (clock.expiry.role if clock.expiry else "klantregisseur")
        rows.append(RadarRow(due_on=state.end_on, overdue=state.end_on < today or state.status == "expired",
                             kind="termijn", case_ref=doc.case_ref, step=clock.id, name=clock.name or clock.id,
                             role=role))
    return rows


# --- case timeline ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineRow:
    """One point on a case's line: what, when it should happen, when it did, and how that went."""

    what: str
    planned: date | None
    actual: date | None
    status: str


@dataclass(frozen=True)
class CaseTimeline:
    """A whole case from koppeling (or DUO's notice) to nazorg, the way practice draws it."""

    case_ref: str
    municipality: str
    phase: str | None
    status: str
    today: date
    rows: list[TimelineRow]


@dataclass
class _Occurrence:
    due: date | None = None
    done: date | None = None
    verdict: str = ""  # "on time", "late" or "" (no due date); "cancelled"


def _occurrences(facts: list[_Fact]) -> dict[str, list[_Occurrence]]:
    """Each opening of each step with its due date and completion, paired first-in first-out."""
    found: dict[str, list[_Occurrence]] = defaultdict(list)
    pending: dict[str, list[_Occurrence]] = defaultdict(list)
    for f in facts:
        if f.kind == "task_opened":
            due = _DUE.search(f.detail)
            occurrence = _Occurrence(due=date.fromisoformat(due[1]) if due else None)
            found[f.ref].append(occurrence)
            pending[f.ref].append(occurrence)
        elif f.kind == "deadline_changed" and pending[f.ref]:
            due = _DUE.search(f.detail)
            pending[f.ref][-1].due = date.fromisoformat(due[1]) if due else None
        elif f.kind in ("task_completed", "task_cancelled") and pending[f.ref]:
            occurrence = pending[f.ref].pop(0)
            occurrence.done = f.on
            occurrence.verdict = "cancelled" if f.kind == "task_cancelled" else \
                ("late" if "late" in f.detail else "on time" if "on time" in f.detail else "")
    return found


def _judge(planned: date | None, actual: date | None, today: date) -> str:
    if actual is not None:
        if planned is None:
            return GEDAAN
        return OP_TIJD if actual <= planned else TE_LAAT
    if planned is not None and planned < today:
        return GEMIST
    return OPEN


# What the timeline shows, in the order practice draws it. Kinds: anchor (a message's first date),
# step (a user task, each occurrence), clock (a term or norm: planned = its last day), data (a date
# field), milestones (of the inburgeringstermijn), term_end. `needs` names a step or clock the case's
# process must have, else the row is n.v.t.; optional rows show only when they happened.
_LINE: list[dict[str, Any]] = [
    {"what": "Koppeling", "kind": "anchor", "anchor": "koppeling", "needs": "huisvestingsnorm"},
    {"what": "Kennisgeving DUO", "kind": "anchor", "anchor": "duo_kennisgeving"},
    {"what": "Klantprofiel COA ontvangen", "kind": "step", "step": "klantprofiel_ontvangen"},
    {"what": "Gesprek in het AZC", "kind": "step", "step": "gesprek_azc"},
    {"what": "Driegesprek", "kind": "step", "step": "driegesprek"},
    {"what": "Woning (norm huisvesting)", "kind": "clock", "clock": "huisvestingsnorm", "anchor": "huisvesting"},
    {"what": "Verhuizing", "kind": "data", "field": "verhuisdatum", "needs": "huisvestingsnorm"},
    {"what": "Inschrijving BRP", "kind": "anchor", "anchor": "brp_inschrijving"},
    {"what": "Eerste intakegesprek", "kind": "step", "step": "intakegesprek"},
    {"what": "Leerbaarheidstoets gepland", "kind": "step", "step": "lbt_plannen"},
    {"what": "Routeadvies", "kind": "step", "step": "routeadvies"},
    {"what": "PIP vastgesteld", "kind": "clock", "clock": "pip_termijn", "field": "pip_dagtekening",
     "step": "pip_vaststellen"},
    {"what": "Kinderopvang of vervoer geregeld", "kind": "step", "step": "regelen", "optional": True},
    {"what": "Lessen gestart", "kind": "step", "step": "lessen_starten"},
    {"what": "Belastbaarheid beoordeeld", "kind": "step", "step": "belastbaarheid"},
    {"what": "Start duaal traject", "kind": "clock", "clock": "duaal_streefdatum", "field": "duaal_startdatum",
     "step": "duaal_starten"},
    {"what": "Aanmelding PVT", "kind": "step", "step": "pvt_aanmelden"},
    {"what": "PVT ondertekend", "kind": "step", "step": "pvt_afronden"},
    {"what": "Aanmelding MAP", "kind": "step", "step": "map_aanmelden", "map": True},
    {"what": "MAP eindgesprek", "kind": "step", "step": "map_eindgesprek", "map": True},
    {"what": "Medisch advies (beslistermijn DUO)", "kind": "medisch"},
    {"what": "Termijn", "kind": "milestones", "clock": "inburgeringstermijn"},
    {"what": "Einde inburgeringstermijn", "kind": "term_end", "clock": "inburgeringstermijn"},
    {"what": "Plaatsing", "kind": "data", "field": "plaatsingsdatum", "needs": "checkin"},
    {"what": "Contactmoment nazorg", "kind": "step", "step": "checkin"},
    {"what": "Extra coaching", "kind": "step", "step": "extra_coaching", "optional": True},
]

MILESTONE_NAMES = {
    "schakelen_signaal": "signaal einde schakeltermijn",
    "schakeltermijn_voorbij": "einde schakeltermijn (18 maanden)",
    "verlengingsvenster": "verlenging aanvragen mogelijk (2,5 jaar)",
    "zes_maanden_voor_einde": "nog zes maanden",
}


def case_timeline(service: "CaseService", case_ref: str, today: date) -> CaseTimeline:
    """The timeline of one case: planned and actual dates side by side, missed dates marked `gemist`.

    Planned dates come from the deadlines the engine set (history `task_opened`/`deadline_changed`),
    the clocks' last days and the scheduled milestones; actual dates from the first date of each
    message, the completions in the history and the date fields of the case.
    """
    with service.engine.connect() as conn:
        record = conn.execute(select(cases.c.municipality, cases.c.definition, cases.c.profile, cases.c.status,
                                     cases.c.phase, cases.c.state).where(cases.c.case_ref == case_ref)).first()
    if record is None:
        raise CaseNotFound(case_ref)
    state = CaseState.model_validate(record.state)
    process = service.process_for(record.definition, record.profile)
    facts = _history_facts(service.engine, history.c.kind.in_(
        ("task_opened", "deadline_changed", "task_completed", "task_cancelled", "milestone_reached",
         "clock_stopped")), case_ref=case_ref).get(case_ref, [])
    steps = {e.id for elements in process.elements.values() for e in elements.values() if isinstance(e, UserTask)}
    line = _Line(state, process, facts, steps, today)
    rows = [row for spec in _LINE for row in line.rows(spec)]
    return CaseTimeline(case_ref=case_ref, municipality=record.municipality, phase=record.phase,
                        status=record.status, today=today, rows=rows)


class _Line:
    """Turns one case's state and history into timeline rows, one `_LINE` entry at a time."""

    def __init__(self, state: CaseState, process: Any, facts: list[_Fact], steps: set[str], today: date):
        self.state, self.process, self.today, self.steps = state, process, today, steps
        self.occurrences = _occurrences(facts)
        self.first_completed: dict[str, date] = {}
        for f in facts:
            if f.kind == "task_completed":
                self.first_completed.setdefault(f.ref, f.on)
        self.milestones = {f.ref: f.on for f in facts if f.kind == "milestone_reached"}
        self.stopped = {f.ref: f for f in facts if f.kind == "clock_stopped"}

    def applies(self, spec: dict[str, Any]) -> bool:
        if spec.get("map") and self.state.data.get("leerroute") == "onderwijsroute":
            return False  # no MAP in the onderwijsroute (wi2021.md#7)
        needs = spec.get("needs") or spec.get("clock") or spec.get("step")
        return needs is None or needs in self.steps or needs in self.process.clocks

    def rows(self, spec: dict[str, Any]) -> list[TimelineRow]:
        what, kind = spec["what"], spec["kind"]
        if kind == "medisch":
            return self._medisch(what)
        if not self.applies(spec):
            return [] if spec.get("optional") else [TimelineRow(what, None, None, NVT)]
        if kind == "anchor":
            actual = self.state.anchors.get(spec["anchor"])
            return [TimelineRow(what, None, actual, GEDAAN if actual else OPEN)]
        if kind == "data":
            actual = _as_date(self.state.data.get(spec["field"]))
            return [TimelineRow(what, None, actual, GEDAAN if actual else OPEN)]
        if kind == "step":
            return self._step(what, spec["step"], optional=spec.get("optional", False))
        if kind == "clock":
            return [self._clock(what, spec)]
        if kind == "milestones":
            return self._milestones(what, spec["clock"])
        return [self._term_end(what, spec["clock"])]

    def _step(self, what: str, step: str, optional: bool) -> list[TimelineRow]:
        found = self.occurrences.get(step, [])
        if not found:
            return [] if optional else [TimelineRow(what, None, None, OPEN)]
        rows = []
        for n, o in enumerate(found, start=1):
            label = f"{what} ({n})" if len(found) > 1 else what
            if o.verdict == "cancelled":
                status = NVT
            elif o.done is not None:
                status = TE_LAAT if o.verdict == "late" else OP_TIJD if o.verdict == "on time" else GEDAAN
            else:
                status = _judge(o.due, None, self.today)
            rows.append(TimelineRow(label, o.due, o.done if o.verdict != "cancelled" else None, status))
        return rows

    def _clock(self, what: str, spec: dict[str, Any]) -> TimelineRow:
        clock = self.state.clocks.get(spec["clock"])
        planned = clock.end_on if clock else None
        if "anchor" in spec:
            actual = self.state.anchors.get(spec["anchor"])
        else:
            actual = _as_date(self.state.data.get(spec["field"])) or self.first_completed.get(spec["step"])
        if actual is None and clock is not None and clock.status == "expired":
            return TimelineRow(what, planned, None, GEMIST)
        return TimelineRow(what, planned, actual, _judge(planned, actual, self.today))

    def _milestones(self, what: str, clock_id: str) -> list[TimelineRow]:
        _, clock = self.process.clocks[clock_id]
        state = self.state.clocks.get(clock_id)
        pending = {t.ref: local_date(t.due_at) for t in self.state.timers
                   if t.kind == "milestone" and t.clock == clock_id}
        rows = []
        for milestone in clock.milestones:
            label = f"{what}: {MILESTONE_NAMES.get(milestone.id, milestone.id.replace('_', ' '))}"
            reached = self.milestones.get(f"{clock_id}.{milestone.id}")
            if reached is not None:
                rows.append(TimelineRow(label, reached, reached, GEDAAN))
            elif milestone.id in pending:
                rows.append(TimelineRow(label, pending[milestone.id], None, OPEN))
            elif state is not None and state.status in ("stopped", "expired"):
                rows.append(TimelineRow(label, None, None, NVT))
            else:
                rows.append(TimelineRow(label, None, None, OPEN))
        return rows

    def _term_end(self, what: str, clock_id: str) -> TimelineRow:
        clock = self.state.clocks.get(clock_id)
        if clock is None:
            return TimelineRow(what, None, None, OPEN)
        stop = self.stopped.get(clock_id)
        if stop is not None and not stop.detail.startswith("case closed"):
            return TimelineRow(what, clock.end_on, stop.on, OP_TIJD if stop.detail.startswith("met") else TE_LAAT)
        if clock.status == "expired":
            return TimelineRow(what, clock.end_on, None, GEMIST)
        return TimelineRow(what, clock.end_on, None, _judge(clock.end_on, None, self.today))

    def _medisch(self, what: str) -> list[TimelineRow]:
        asked = _as_date(self.state.data.get("medisch_advies_aangevraagd_op"))
        if asked is None:
            return [TimelineRow(what, None, None, NVT)]
        received = _as_date(self.state.data.get("medisch_advies_ontvangen_op"))
        if received is not None and received < asked:
            received = None  # an answer to an earlier request; this one is still waiting
        return [TimelineRow(what, DUO_BESLISTERMIJN.after(asked), received,
                            _judge(DUO_BESLISTERMIJN.after(asked), received, self.today))]


# --- KPIs ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kpi:
    """One indicator of a municipality, with its norm and how many cases it rests on.

    `value` is in `unit` (a median, or a share in %); `met_norm` is the share (%) of those cases that
    meet the norm; `trend` is (month, value, cases) by the month the measured period started.
    """

    key: str
    name: str
    value: float | None
    unit: str
    norm: str
    source: str
    cases: int
    met_norm: float | None = None
    target: float | None = None
    detail: str = ""
    trend: list[tuple[str, float, int]] = field(default_factory=list)


def _comma(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _cases(n: int) -> str:
    return f"{n} {'zaak' if n == 1 else 'zaken'}"


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _trend(points: list[tuple[date, float]]) -> list[tuple[str, float, int]]:
    by_month: dict[str, list[float]] = defaultdict(list)
    for start, value in points:
        by_month[f"{start:%Y-%m}"].append(value)
    return [(month, round(statistics.median(v), 1), len(v)) for month, v in sorted(by_month.items())]


# History lines the KPIs read, in one query per municipality.
_KPI_FACTS = or_(
    and_(history.c.kind == "task_completed", history.c.ref.in_(("driegesprek", "pip_vaststellen", "checkin"))),
    and_(history.c.kind == "task_opened", history.c.ref == "map_aanmelden"),
    and_(history.c.kind == "message_timeout", history.c.ref == "wacht_op_taalniveau"),
    and_(history.c.kind.in_(("subprocess_started", "subprocess_completed")), history.c.ref.like("map@%")),
)


def kpis(service: "CaseService", municipality: str, today: date) -> list[Kpi]:
    """The municipality's indicators, each with its norm (profile parameter or documented constant)."""
    local = norms(service.library, municipality_profile(service, municipality))
    docs = _case_docs(service.engine, municipality)
    facts = _history_facts(service.engine, _KPI_FACTS, municipality=municipality)
    t = tasks.c
    with service.engine.connect() as conn:
        missed_checkins = dict(conn.execute(
            select(t.case_ref, func.count()).where(t.municipality == municipality, t.step == "checkin",
                                                   or_(t.missed, t.due_on < today)).group_by(t.case_ref)).all())
    return [
        _housing(docs, local, today),
        _driegesprek(docs, facts, today),
        _pip(docs, facts, local),
        _duaal(docs, local),
        _map(docs, facts, local),
        _medisch(docs, today),
        _nazorg(facts, missed_checkins, local),
    ]


def _housing(docs: list[_CaseDoc], local: dict[str, Norm], today: date) -> Kpi:
    norm = local["huisvestingsnorm"]
    weeks, met, points, waiting_over = [], 0, [], 0
    for doc in docs:
        koppeling, housed = doc.anchors.get("koppeling"), doc.anchors.get("huisvesting")
        if koppeling is None:
            continue
        if housed is None:
            waiting_over += doc.status == "active" and today > norm.duration.after(koppeling)
            continue
        weeks.append((housed - koppeling).days / 7)
        met += housed <= norm.duration.after(koppeling)
        points.append((koppeling, (housed - koppeling).days / 7))
    return Kpi(key="huisvesting", name="Weken van koppeling tot woning", value=_median(weeks), unit="weken (mediaan)",
               norm=f"woning binnen {dutch_duration(norm.duration)} na koppeling (huisvestingsnorm {norm.value})",
               source=norm.source, cases=len(weeks), met_norm=_share(met, len(weeks)), target=100.0,
               detail=f"{_cases(waiting_over)} zonder woning en al boven de norm",
               trend=_trend(points))


def _move_date(doc: _CaseDoc) -> date | None:
    return doc.date("verhuisdatum") or doc.anchors.get("huisvesting")


def _driegesprek(docs: list[_CaseDoc], facts: dict[str, list[_Fact]], today: date) -> Kpi:
    moved, before = 0, 0
    for doc in docs:
        move = _move_date(doc)
        if move is None or move > today:
            continue
        moved += 1
        held = next((f.on for f in facts.get(doc.case_ref, []) if f.kind == "task_completed" and f.ref == "driegesprek"),
                    None)
        before += held is not None and held < move
    share = _share(before, moved)
    return Kpi(key="driegesprek", name="Driegesprek vóór de verhuizing", value=share, unit="%",
               norm=f"≥ {WARME_OVERDRACHT_NORM:.0f}% van de verhuisde statushouders", source=WARME_OVERDRACHT_SOURCE,
               cases=moved, met_norm=share, target=WARME_OVERDRACHT_NORM,
               detail=f"{before} van {moved} verhuisde zaken hadden het driegesprek vóór de verhuisdatum")


def _pip(docs: list[_CaseDoc], facts: dict[str, list[_Fact]], local: dict[str, Norm]) -> Kpi:
    norm = local["pip_termijn"]
    adopted, on_time, overdue_open = 0, 0, 0
    for doc in docs:
        clock = doc.clocks.get("pip_termijn")
        if clock is None:
            continue
        completed = next((f.on for f in facts.get(doc.case_ref, [])
                          if f.kind == "task_completed" and f.ref == "pip_vaststellen"), None)
        # The PIP's dagtekening is its legal date; the completion date stands in when it is missing.
        adopted_on = doc.date("pip_dagtekening") or completed
        if adopted_on is None:
            overdue_open += doc.status == "active" and clock.status == "expired"
            continue
        adopted += 1
        on_time += adopted_on <= clock.end_on
    share = _share(on_time, adopted)
    return Kpi(key="pip", name="PIP vastgesteld binnen de pip_termijn", value=share, unit="%",
               norm=f"{PIP_NORM:.0f}% binnen {dutch_duration(norm.duration)} (pip_termijn {norm.value})",
               source=f"{norm.source}; {PIP_SOURCE}", cases=adopted, met_norm=share, target=PIP_NORM,
               detail=f"{_cases(overdue_open)} zonder PIP met een verstreken termijn")


def _duaal(docs: list[_CaseDoc], local: dict[str, Norm]) -> Kpi:
    norm = local["duaal_streeftermijn"]
    months, met, points = [], 0, []
    for doc in docs:
        pip, start = doc.date("pip_dagtekening"), doc.date("duaal_startdatum")
        if pip is None or start is None:
            continue
        months.append((start - pip).days / _DAYS_PER_MONTH)
        met += start <= norm.duration.after(pip)
        points.append((pip, (start - pip).days / _DAYS_PER_MONTH))
    return Kpi(key="duaal", name="Maanden van PIP tot start duaal traject", value=_median(months),
               unit="maanden (mediaan)",
               norm=f"{DUAAL_BANDWIDTH}; streeftermijn gemeente {dutch_duration(norm.duration)} "
                    f"(duaal_streeftermijn {norm.value})",
               source=norm.source, cases=len(months), met_norm=_share(met, len(months)),
               target=100.0, trend=_trend(points))


def _map(docs: list[_CaseDoc], facts: dict[str, list[_Fact]], local: dict[str, Norm]) -> Kpi:
    norm = local["map_minimaal_taalniveau"]
    enrolled, at_level, waiting = 0, 0, 0
    for doc in docs:
        kinds = {(f.kind, f.ref.split("@")[0]) for f in facts.get(doc.case_ref, [])}
        if ("task_opened", "map_aanmelden") in kinds:
            enrolled += 1
            # Enrolled on the latest start date that fits the term, without the level (P7).
            at_level += ("message_timeout", "wacht_op_taalniveau") not in kinds
        elif ("subprocess_started", "map") in kinds and ("subprocess_completed", "map") not in kinds \
                and doc.status == "active":
            waiting += 1
    share = _share(at_level, enrolled)
    return Kpi(key="map", name="Aanmelding MAP op het vereiste taalniveau", value=share, unit="%",
               norm=f"aanmelden vanaf taalniveau {str(norm.value).upper()} (map_minimaal_taalniveau), uiterlijk op "
                    "de laatste startdatum binnen de termijn",
               source=norm.source, cases=enrolled, met_norm=share, target=100.0,
               detail=f"{enrolled - at_level} aangemeld op de uiterste startdatum zonder het niveau; "
                      f"{waiting} wachtend op startmoment of taalniveau")


def _medisch(docs: list[_CaseDoc], today: date) -> Kpi:
    waits, met, open_waits = [], 0, []
    for doc in docs:
        asked, received = doc.date("medisch_advies_aangevraagd_op"), doc.date("medisch_advies_ontvangen_op")
        if asked is None:
            continue
        if received is None or received < asked:
            if doc.status == "active":
                open_waits.append((today - asked).days / 7)
            continue
        waits.append((received - asked).days / 7)
        met += received <= DUO_BESLISTERMIJN.after(asked)
    longest = f"; langste lopende wacht {_comma(max(open_waits))} weken" if open_waits else ""
    return Kpi(key="medisch", name="Wachttijd medisch advies", value=_median(waits), unit="weken (mediaan)",
               norm=f"uitkomst binnen {dutch_duration(DUO_BESLISTERMIJN)} (beslistermijn DUO)", source=MEDISCH_SOURCE,
               cases=len(waits), met_norm=_share(met, len(waits)), target=100.0,
               detail=f"{len(open_waits)} lopende {'aanvraag' if len(open_waits) == 1 else 'aanvragen'}{longest}")


def _nazorg(facts: dict[str, list[_Fact]], missed_open: dict[str, int], local: dict[str, Norm]) -> Kpi:
    norm = local["nazorg_checkin_termijn"]
    done, on_time, involved = 0, 0, set(missed_open)
    for case_ref, lines in facts.items():
        for f in lines:
            if f.kind == "task_completed" and f.ref == "checkin":
                done += 1
                on_time += "on time" in f.detail
                involved.add(case_ref)
    total = done + sum(missed_open.values())
    share = _share(on_time, total)
    return Kpi(key="nazorg", name="Nazorg-contactmomenten op tijd", value=share, unit="%",
               norm=f"elk contactmoment binnen {dutch_duration(norm.duration)} (nazorg_checkin_termijn)",
               source=f"{norm.source}; {NAZORG_SOURCE}", cases=len(involved), met_norm=share, target=100.0,
               detail=f"{on_time} van {total} contactmomenten op tijd ({sum(missed_open.values())} open en te laat)")
