"""The state of one case: where its tokens are, which tasks and timers are open, its clocks and data.

It is a plain pydantic model that round-trips through JSON exactly (dates in case data are ISO text),
so the case store can keep it as one JSON document and the engine can be tested on frozen old states.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from engine.calendar import add_days
from engine.feestdagen import atw_last_day

ROOT_SCOPE = "root"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Part(BaseModel):
    # Parts of a state are immutable: the interpreter replaces them instead of changing them, so a
    # shallow copy of the state's lists is a safe working copy (and advance stays fast).
    model_config = ConfigDict(extra="forbid", frozen=True)


class Token(_Part):
    """A marker of where a path of the process is: at one element of one (sub-)process scope."""

    id: str
    scope: str
    element: str
    arrived_at: datetime


class Scope(_Part):
    """One running (sub-)process: the root, or a call activity's child process."""

    id: str
    definition: str
    parent_token: str | None = None


class OpenTask(_Part):
    """A user task waiting for a person."""

    id: str
    token: str
    scope: str
    element: str
    role: str
    opened_at: datetime
    due_on: date | None = None
    missed: bool = False


TimerKind = Literal[
    "reminder",
    "task_deadline",
    "escalation",
    "timer_event",
    "message_timeout",
    "boundary",
    "milestone",
    "clock_expiry",
    "clock_resume",
]


class Timer(_Part):
    """Something that happens at an absolute moment unless it is cancelled first."""

    id: str
    kind: TimerKind
    due_at: datetime
    created_at: datetime
    token: str | None = None
    clock: str | None = None
    ref: str = Field(default="", description="boundary id, milestone id, reminder or escalation index")
    occurrence: int = 1


class ClockState(_Part):
    """A legal clock in a case. `end_on` is the last day of the term.

    `base_end` is the last day as counted when the clock (re)started or was extended; finished pauses
    add `paused_days`. A statutory term (`atw`) then runs on to the next working day under the
    Algemene termijnenwet; that last step is computed whenever it is read, so a newly published royal
    decree (engine/gelijkgestelde_dagen.yaml) moves running terms too.
    """

    id: str
    status: Literal["running", "paused", "stopped", "expired"]
    started_on: date
    base_end: date
    paused_days: int = 0
    paused_since: date | None = None
    resume_on: date | None = None
    extended: bool = False
    fired: tuple[str, ...] = ()
    atw: bool = Field(default=False, description="a statutory term: the Algemene termijnenwet moves its end")

    @property
    def counted_end(self) -> date:
        """The last day as counted (wi2021.md#13, row 17), with finished pauses and extensions, before the Atw."""
        return add_days(self.base_end, self.paused_days)

    @property
    def end_on(self) -> date:
        """The last day of the term: counted, then moved by the Algemene termijnenwet for a statutory term."""
        return self._legal(self.counted_end)

    def last_day_on(self, today: date) -> date:
        """The last day as it stands on `today`: while paused it moves a day for every day of the pause so far."""
        if self.status == "paused" and self.paused_since is not None:
            return self._legal(add_days(self.counted_end, max((today - self.paused_since).days, 0)))
        return self.end_on

    def _legal(self, counted: date) -> date:
        return atw_last_day(self.started_on, counted) if self.atw else counted


Verdict = Literal["on_time", "late", "missed"]
"""How a task or a term ended against its due date: done on time, done late, or missed (the date passed)."""

HistoryKind = Literal[
    # the case
    "case_started", "case_completed", "case_terminated", "phase_entered", "message_received", "notified",
    "migrated",
    # user tasks and their deadlines
    "task_opened", "task_completed", "task_cancelled", "deadline_changed", "deadline_missed", "reminder_sent",
    "escalated",
    # timers of elements
    "timer_fired", "message_timeout",
    # sub-processes (call activities)
    "subprocess_started", "subprocess_completed", "subprocess_cancelled",
    # legal clocks
    "clock_started", "clock_restarted", "clock_paused", "clock_resume_planned", "clock_resumed", "clock_extended",
    "clock_stopped", "clock_expired", "milestone_reached",
    # accepted with a warning (a date before the case started where practice allows it)
    "warning",
]
"""Every kind of thing the engine records in a case's history (`deadline_missed` is about a task or a clock)."""


class HistoryEntry(_Part):
    """One thing that happened in the case, in process terms only (no personal data).

    The typed fields say what it is about; `detail` is the same in words, for people only: nothing
    may parse it. Which field each kind sets:

    - task_opened, task_cancelled, reminder_sent, escalated: `element` (the step) and `due_on`;
    - deadline_changed: `element`, `due_on` (the new due date, None when there is none any more);
    - task_completed: `element`, `due_on`, `verdict` on_time or late (None without a due date);
    - deadline_missed: of a task `element` and `due_on`, of a clock `clock` and its last day; `verdict` missed;
    - clock_started, _restarted, _extended, _paused, _resume_planned, _resumed: `clock`, `due_on` its last day;
    - clock_stopped: `clock`, `due_on`, `verdict` on_time (met) or late, None when it stopped because the
      case closed;
    - clock_expired: `clock`, `due_on`, `verdict` missed;
    - milestone_reached: `clock`, `element` (the milestone id) and `due_on` (the clock's last day);
    - timer_fired, message_timeout: `element` (for a boundary timer: the step it sits on; `ref` is the
      boundary event);
    - subprocess_started, _completed, _cancelled: `element` (the call activity);
    - warning: `ref` the field or message, `detail` what was accepted although unusual.
    """

    at: datetime
    kind: HistoryKind
    ref: str = Field(description="what it is about: step, clock, role, message, definition, 'clock.milestone'")
    detail: str = Field(default="", description="words for people; nothing may parse it")
    element: str | None = None
    clock: str | None = None
    due_on: date | None = Field(default=None, description="the task's due date or the clock's last day, then")
    verdict: Verdict | None = None

    def facts(self) -> dict[str, str]:
        """The typed fields that are set, as JSON values (dates as ISO text), e.g. for an event payload."""
        facts = {}
        if self.element is not None:
            facts["element"] = self.element
        if self.clock is not None:
            facts["clock"] = self.clock
        if self.due_on is not None:
            facts["due_on"] = self.due_on.isoformat()
        if self.verdict is not None:
            facts["verdict"] = self.verdict
        return facts


CaseStatus = Literal["new", "active", "completed", "terminated"]

STATE_FORMAT = 2
"""Version of the state's JSON layout. 1: with an embedded history list (dropped in 2: the case store's
append-only history table keeps it, and a full trajectory's state stays around 2 KB instead of 24 KB)."""


class CaseState(_Model):
    """Everything the engine knows about one case."""

    state_format: int = STATE_FORMAT
    case_ref: str
    definition: str
    status: CaseStatus = "new"
    started_on: date | None = Field(
        default=None, description="the day the case started (its start message's date); None in states "
                                  "stored before Regie kept it")
    phase: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    anchors: dict[str, date] = Field(default_factory=dict)
    scopes: list[Scope] = Field(default_factory=list)
    tokens: list[Token] = Field(default_factory=list)
    tasks: list[OpenTask] = Field(default_factory=list)
    timers: list[Timer] = Field(default_factory=list)
    clocks: dict[str, ClockState] = Field(default_factory=dict)
    joins: dict[str, int] = Field(default_factory=dict)
    seq: int = 0
    # Reading states stored by older versions of Regie (see STATE_FORMAT) is done per field, not by a
    # validator of the whole model: a "before" model validator made pydantic parse every state's JSON
    # into Python first, doubling the cost of reading a state (issue 13: the engine benchmark).
    history: SkipJsonSchema[list[Any] | None] = Field(
        default=None, exclude=True, repr=False,
        description="format 1 only: the embedded history, read and dropped (always None)")

    @field_validator("state_format")
    @classmethod
    def _upgrade(cls, value: int) -> int:
        return max(value, STATE_FORMAT)

    @field_validator("history")
    @classmethod
    def _drop_history(cls, value: Any) -> None:
        return None

    def start_day(self) -> date | None:
        """The day the case started; for a state stored before `started_on` existed, its earliest anchor."""
        if self.started_on is not None:
            return self.started_on
        return min(self.anchors.values(), default=None)

    def next_due_at(self) -> datetime | None:
        """When the earliest timer is due (the case store indexes this for the sweep)."""
        return min((t.due_at for t in self.timers), default=None)

    def due_timers(self, now: datetime) -> list[Timer]:
        """Timers due at `now`, earliest first (ties in creation order)."""
        due = [t for t in self.timers if t.due_at <= now]
        return sorted(due, key=lambda t: (t.due_at, int(t.id[1:])))

    def task(self, task_id: str) -> OpenTask | None:
        """The open task with this id, if any."""
        return next((t for t in self.tasks if t.id == task_id), None)


def new_case(case_ref: str, definition_ref: str) -> CaseState:
    """An empty case that has not started; send it a `Started` event."""
    return CaseState(case_ref=case_ref, definition=definition_ref)
