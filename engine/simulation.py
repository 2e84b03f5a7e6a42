"""Run one case in virtual time: "what happens if…", for policy staff and for whole-trajectory tests.

A scenario names a definition (and optionally a municipality profile), a start date, the initial case
data, dated events (a task completed with data, a message delivered) and an `until` date. Between
events every due timer fires in due order, each at its own moment. The state goes through a JSON
round-trip between events, exactly as the case store would keep it.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.calendar import NL, start_of_day
from engine.commands import NotifyRole
from engine.errors import DefinitionError, EngineError
from engine.events import MessageReceived, Started, TaskCompleted
from engine.interpreter import advance, fire_due_timers
from engine.loader import Library, Problem, load_yaml
from engine.model_errors import explain
from engine.people_time import CLOCK_STATUS, DUE_KIND, HISTORY_KIND, ZONE, day, said, short_moment, status
from engine.process import Process
from engine.state import CaseState, HistoryEntry, new_case

# Operators work office hours: a scenario event "on 2026-03-02" happens at 09:00 Dutch time.
EVENT_TIME = time(9, 0)


class ScenarioEvent(BaseModel):
    """One dated event: complete a step, or deliver a message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on: date
    complete: str | None = None
    message: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    occurred_on: date | None = None
    actor: str = "scenario"

    @model_validator(mode="after")
    def _one_action(self) -> "ScenarioEvent":
        if (self.complete is None) == (self.message is None):
            raise ValueError("een gebeurtenis heeft precies één van: complete, message")
        return self

    def describe(self) -> str:
        """The event as the scenario file says it, on its date as people write it."""
        what = f"complete: {self.complete}" if self.complete else f"message: {self.message}"
        return f"{day(self.on)} {what}"


class Scenario(BaseModel):
    """A case file in virtual time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    definition: str
    profile: str | None = None
    case_ref: str = "SIM-0001"
    start: date
    start_message: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    events: list[ScenarioEvent] = Field(default_factory=list)
    until: date

    @model_validator(mode="after")
    def _ordered(self) -> "Scenario":
        dates = [self.start] + [e.on for e in self.events]
        if dates != sorted(dates):
            raise ValueError("de gebeurtenissen (events) staan op datumvolgorde, op of na de startdatum")
        if self.until < dates[-1]:
            raise ValueError("`until` ligt vóór de laatste gebeurtenis")
        return self


class SimulationResult(BaseModel):
    """What happened, in time order, and where the case stands at `until`."""

    scenario: str
    definition: str
    profile: str | None
    until: date
    timeline: list[HistoryEntry]
    notifications: list[dict[str, Any]]
    status: str
    phase: str | None
    open_tasks: list[dict[str, Any]]
    clocks: list[dict[str, Any]]
    next_due: list[dict[str, Any]]
    state: CaseState

    def text(self) -> str:
        """The timeline and the final picture as plain text for people, one happening per line (Dutch words,
        Amsterdam time, dates as 16-03-2026); `--json` keeps the machine's values."""
        lines = [f"Scenario {self.scenario}: {self.definition}" + (f" (profiel {self.profile})" if self.profile else "")
                 + f"  (tijden: {ZONE})"]
        for h in self.timeline:
            lines.append(f"{short_moment(h.at)}  {said(HISTORY_KIND, h.kind):<24} {h.ref}"
                         + (f"  ({h.detail})" if h.detail else ""))
        phase = f", fase {self.phase}" if self.phase else ""
        lines.append(f"Op {day(self.until)}: zaak {status(self.status)}{phase}")
        lines.append("  Open taken:" + ("" if self.open_tasks else " geen"))
        for t in self.open_tasks:
            due = day(date.fromisoformat(t["due_on"])) if t["due_on"] else "geen termijn"
            lines.append(f"    {t['task_id']}  {t['role']}  uiterlijk {due}" + ("  GEMIST" if t["missed"] else ""))
        lines.append("  Termijnen:" + ("" if self.clocks else " geen"))
        for c in self.clocks:
            lines.append(f"    {c['clock']}  {said(CLOCK_STATUS, c['status'])}  "
                         f"{day(date.fromisoformat(c['started_on']))} t/m {day(date.fromisoformat(c['end_on']))}")
        lines.append("  Hierna:" + ("" if self.next_due else " niets gepland"))
        for n in self.next_due:
            lines.append(f"    {day(date.fromisoformat(n['due_on']))}  {n['what']}")
        return "\n".join(lines)


def load_scenario(path: Path) -> Scenario:
    """Read a scenario file; problems name the file and the line (or the field)."""
    label = str(path)
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        raise DefinitionError([Problem(label, "-", f"YAML-syntaxis: {exc.problem}", mark.line + 1 if mark else None)])
    except (yaml.YAMLError, UnicodeDecodeError, RecursionError) as exc:  # control characters, not UTF-8, too deep
        raise DefinitionError([Problem(label, "-", f"niet te lezen: {type(exc).__name__}")]) from None
    except OSError as exc:
        raise DefinitionError([Problem(label, "-", f"niet te lezen: {exc.strerror}")]) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError([
            Problem(label, ".".join(str(p) for p in keys) or "-", message)
            for keys, message in (explain(e, data) for e in exc.errors())
        ]) from None


def event_moment(day: date) -> datetime:
    """When a scenario event on `day` happens (office hours, Dutch time), as a UTC instant."""
    return datetime.combine(day, EVENT_TIME, tzinfo=NL).astimezone(timezone.utc)


def simulate(library: Library, scenario: Scenario) -> SimulationResult:
    """Run the scenario; an event that does not fit raises EngineError naming the event."""
    process = library.process(scenario.definition, scenario.profile)
    return run_scenario(process, scenario)


def run_scenario(process: Process, scenario: Scenario) -> SimulationResult:
    """Run a scenario against an already built process."""
    state = new_case(scenario.case_ref, process.ref)
    history: list[HistoryEntry] = []
    notifications: list[dict[str, Any]] = []

    def apply(event: Any, now: datetime, what: str) -> None:
        nonlocal state
        try:
            step = fire_due_timers(process, state, now)
            state = _roundtrip(step.state)
            history.extend(step.happened)
            notifications.extend(_notes(step.commands, step.happened))
            if event is not None:
                step = advance(process, state, event, now)
                state = _roundtrip(step.state)
                history.extend(step.happened)
                notifications.extend(_notes(step.commands, step.happened))
        except EngineError as exc:
            raise EngineError(f"scenario '{scenario.name or scenario.case_ref}', {what}: {exc}") from exc

    apply(Started(message=scenario.start_message, data=scenario.data, actor="scenario"),
          event_moment(scenario.start), f"start {day(scenario.start)}")
    for event in scenario.events:
        if event.complete is not None:
            engine_event: Any = TaskCompleted(task=event.complete, data=event.data, actor=event.actor)
        else:
            engine_event = MessageReceived(message=event.message, data=event.data,
                                           occurred_on=event.occurred_on, actor=event.actor)
        apply(engine_event, event_moment(event.on), event.describe())
    end = start_of_day(scenario.until + timedelta(days=1)) - timedelta(microseconds=1)
    apply(None, end, f"tot {day(scenario.until)}")
    return _result(process, scenario, state, history, notifications)


def _roundtrip(state: CaseState) -> CaseState:
    return CaseState.model_validate_json(state.model_dump_json())


def _notes(commands: list[Any], happened: list[HistoryEntry]) -> list[dict[str, Any]]:
    moments = [h.at for h in happened if h.kind == "notified"]
    notes = [c for c in commands if isinstance(c, NotifyRole)]
    return [
        {"at": at.isoformat(), "role": c.role, "template": c.template, "reason": c.reason, "context": c.context}
        for at, c in zip(moments, notes)
    ]


def _result(process: Process, scenario: Scenario, state: CaseState, history: list[HistoryEntry],
            notifications: list[dict[str, Any]]) -> SimulationResult:
    next_due = []
    for timer in sorted(state.timers, key=lambda t: (t.due_at, int(t.id[1:]))):
        subject = timer.clock or next((t.element for t in state.tokens if t.id == timer.token), "")
        if timer.kind == "milestone":
            subject = f"{timer.clock}.{timer.ref}"
        next_due.append({"due_on": timer.due_at.astimezone(NL).date().isoformat(), "kind": timer.kind,
                         "what": f"{said(DUE_KIND, timer.kind)}: {subject}"})
    return SimulationResult(
        scenario=scenario.name or scenario.case_ref,
        definition=process.ref,
        profile=scenario.profile,
        until=scenario.until,
        timeline=history,
        notifications=notifications,
        status=state.status,
        phase=state.phase,
        open_tasks=[{"task_id": t.id, "step": t.element, "role": t.role,
                     "due_on": t.due_on.isoformat() if t.due_on else None, "missed": t.missed}
                    for t in state.tasks],
        clocks=[{"clock": c.id, "status": c.status, "started_on": c.started_on.isoformat(),
                 "end_on": c.end_on.isoformat(), "paused_days": c.paused_days, "extended": c.extended}
                for c in state.clocks.values()],
        next_due=next_due,
        state=state,
    )
