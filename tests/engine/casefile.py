"""Test helpers: build processes from inline YAML and drive one case through dated events.

Every step goes through a JSON round-trip of the state, exactly as the case store keeps it, so each
scenario test also proves the state survives serialisation between events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.calendar import NL
from engine.commands import NotifyRole
from engine.definitions import Catalog, Definition, Profile
from engine.events import MessageReceived, Started, TaskCompleted
from engine.interpreter import Transition, advance, fire_due_timers
from engine.loader import Library, load_yaml
from engine.process import Process
from engine.state import CaseState, HistoryEntry, HistoryKind, new_case
from engine.validator import check_library

ROOT = Path(__file__).resolve().parents[2]


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    return Catalog.model_validate(load_yaml((ROOT / "process_definitions" / "catalog.yaml").read_text()))


def library(*texts: str, profiles: tuple[str, ...] = ()) -> Library:
    """A library of inline definitions (YAML text) checked against the project's catalogue."""
    lib = Library(catalog=catalog())
    lib.files["catalog"] = "catalog.yaml"
    for i, text in enumerate(texts):
        d = Definition.model_validate(load_yaml(text))
        lib.definitions[d.ref] = d
        lib.files[d.ref] = f"inline-{i}.yaml"
    for text in profiles:
        p = Profile.model_validate(load_yaml(text))
        lib.profiles[p.id] = p
        lib.files[f"profile:{p.id}"] = f"profile-{p.id}.yaml"
    return lib


def problems(*texts: str, profiles: tuple[str, ...] = ()) -> list[str]:
    """Every validator problem of inline definitions, as printable lines."""
    return [str(p) for p in check_library(library(*texts, profiles=profiles))]


def process(*texts: str, profile: str | None = None, profiles: tuple[str, ...] = ()) -> Process:
    """The process of the first inline definition; fails the test if the library has problems."""
    lib = library(*texts, profiles=profiles)
    found = [str(p) for p in check_library(lib)]
    assert not found, "\n".join(found)
    first = Definition.model_validate(load_yaml(texts[0]))
    return lib.process(first.ref, profile)


def at(day: date | str, hour: int = 9) -> datetime:
    """A Dutch office-hours moment on a date, as UTC."""
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return datetime.combine(day, time(hour), tzinfo=NL).astimezone(timezone.utc)


@dataclass
class Case:
    """One case driven through events; keeps a readable log of everything that happened."""

    process: Process
    case_ref: str = "TEST-0001"
    state: CaseState = None  # type: ignore[assignment]
    log: list[tuple[str, str, str, str]] = field(default_factory=list)
    history: list[HistoryEntry] = field(default_factory=list)
    notified: list[tuple[str, str, str]] = field(default_factory=list)
    commands: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.state = new_case(self.case_ref, self.process.ref)

    def _apply(self, step: Transition) -> Transition:
        restored = CaseState.model_validate_json(step.state.model_dump_json())
        assert restored == step.state, "state must round-trip through JSON exactly"
        self.state = restored
        moments = [h.at for h in step.happened if h.kind == "notified"]
        notes = [c for c in step.commands if isinstance(c, NotifyRole)]
        for moment, note in zip(moments, notes):
            self.notified.append((_day(moment), note.role, note.template))
        for h in step.happened:
            self.log.append((_day(h.at), h.kind, h.ref, h.detail))
        self.history.extend(step.happened)
        self.commands.extend(step.commands)
        return step

    def until(self, day: str) -> "Case":
        """Let virtual time run to the end of `day`, firing every timer due by then."""
        end = at(date.fromisoformat(day) + timedelta(days=1), 0) - timedelta(microseconds=1)
        self._apply(fire_due_timers(self.process, self.state, end))
        return self

    def start(self, day: str, message: str | None = None, **data: Any) -> "Case":
        self.until_before(day)
        self._apply(advance(self.process, self.state, Started(message=message, data=data), at(day)))
        return self

    def complete(self, day: str, task: str, actor: str = "operator", **data: Any) -> "Case":
        self.until_before(day)
        self._apply(advance(self.process, self.state, TaskCompleted(task=task, data=data, actor=actor), at(day)))
        return self

    def message(self, day: str, name: str, occurred_on: str | None = None, **data: Any) -> "Case":
        self.until_before(day)
        event = MessageReceived(message=name, data=data,
                                occurred_on=date.fromisoformat(occurred_on) if occurred_on else None)
        self._apply(advance(self.process, self.state, event, at(day)))
        return self

    def until_before(self, day: str) -> None:
        self._apply(fire_due_timers(self.process, self.state, at(day)))

    def kinds(self, kind: str) -> list[tuple[str, str, str]]:
        """(date, ref, detail) of every logged happening of one kind."""
        return [(d, ref, detail) for d, k, ref, detail in self.log if k == kind]

    def entries(self, kind: HistoryKind) -> list[HistoryEntry]:
        """Every history entry of one kind, with its typed fields."""
        return [h for h in self.history if h.kind == kind]

    @property
    def open_steps(self) -> list[str]:
        return sorted(t.element for t in self.state.tasks)


def _day(moment: datetime) -> str:
    return moment.astimezone(NL).date().isoformat()
