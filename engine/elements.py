"""Process elements, BPMN-style: events, tasks, gateways and call activities, with their timers and notifications.

Each element kind is one frozen model; `Element` is their discriminated union (on `type:`). The
notification (`Notify`) and timer (`TimerSpec`) parts are here too, because elements carry them;
legal clocks and message handlers use them as well (see `engine.definitions`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from engine.expressions import (
    ClockMeasure,
    Condition,
    DateExpr,
    DaysSince,
    DurationSpec,
    Frozen,
    Identifier,
    ParamRef,
    Scalar,
    TermShare,
    _check_duration_text,
)

SetValue = Union[Scalar, ParamRef, DateExpr]
"""What `set:` may store in a case-data field: a literal, a profile parameter, or a computed date."""


# --- notifications -------------------------------------------------------------------------------


class ContextValue(Frozen):
    """A named value computed for a notification (a date, a clock measure, days since a date)."""

    name: Identifier
    value: Union[ClockMeasure, DaysSince, TermShare, DateExpr]


ContextItem = Union[Identifier, ContextValue]
"""A case-data field name, or a named computed value."""


class Notify(Frozen):
    """Tell a role something: which template, and which process data it may show."""

    role: Identifier
    template: Identifier
    context: list[ContextItem] = Field(default_factory=list)


# --- timers --------------------------------------------------------------------------------------


class Cycle(Frozen):
    """A repeating timer: every `every`, counted from `start` (default: when the wait began), `times` at most."""

    every: DurationSpec
    times: int | None = Field(default=None, ge=1)
    start: DateExpr | None = None

    _check = field_validator("every", mode="before")(_check_duration_text)


class TimerSpec(Frozen):
    """When a timer fires: a duration after the wait began, a date from case data, or a cycle."""

    duration: DurationSpec | None = None
    date: DateExpr | None = None
    cycle: Cycle | None = None

    _check = field_validator("duration", mode="before")(_check_duration_text)

    @model_validator(mode="after")
    def _exactly_one(self) -> "TimerSpec":
        given = [k for k in ("duration", "date", "cycle") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("een wachttijd (timer) heeft precies één van: duration, date, cycle")
        return self


# --- elements ------------------------------------------------------------------------------------


class _Element(Frozen):
    id: Identifier
    name: str = ""
    phase: Identifier | None = Field(default=None, description="phase (GLOSSARY.md) the case is in here")
    documentation: str = ""


class FormField(Frozen):
    """A field on a user task's form; its type comes from the data field of the same name."""

    field: Identifier
    required: bool = True
    label: str = ""


class Reminder(Frozen):
    """A reminder to the task's role (or another) some time before the deadline."""

    before: DurationSpec
    to: Identifier | None = None
    template: Identifier = "herinnering_taak"

    _check = field_validator("before", mode="before")(_check_duration_text)


class Escalation(Frozen):
    """Who is told when a deadline is missed, `after` the day the deadline passed (P0D: at once)."""

    to: Identifier
    after: DurationSpec = "P0D"
    template: Identifier = "termijn_verstreken"

    _check = field_validator("after", mode="before")(_check_duration_text)


class _Boundary(Frozen):
    id: Identifier
    interrupting: bool = True
    next: Identifier | None = None
    notify: Notify | None = None
    source: str = ""

    @model_validator(mode="after")
    def _interrupting_needs_next(self) -> "_Boundary":
        if self.interrupting and self.next is None:
            raise ValueError("een onderbrekend signaal (boundary) heeft `next` nodig: waar de zaak dan heen gaat")
        if self.next is None and self.notify is None:
            raise ValueError("een signaal (boundary) heeft `next`, `notify` of beide nodig")
        return self


class BoundaryTimer(_Boundary):
    """A timer on a task: fires while the task is open; interrupting cancels the task."""

    type: Literal["timer"] = "timer"
    timer: TimerSpec


class BoundaryMessage(_Boundary):
    """A message on a task: arrives while the task is open; interrupting cancels the task."""

    type: Literal["message"] = "message"
    message: Identifier


BoundaryEvent = Annotated[Union[BoundaryTimer, BoundaryMessage], Field(discriminator="type")]


class StartEvent(_Element):
    """Where a case begins; with `message`, only when the case is started by that life event."""

    type: Literal["start_event"]
    message: Identifier | None = None
    next: Identifier


class EndEvent(_Element):
    """Where a path ends; `terminate` ends the whole (sub-)process at once, cancelling open work."""

    type: Literal["end_event"]
    terminate: bool = False


class UserTask(_Element):
    """Work for a person in a role: a form, a deadline, reminders before it, escalations after it."""

    type: Literal["user_task"]
    role: Identifier
    instructions: str = Field(description="what to do, in plain Dutch; shown in the inbox and messages")
    form: list[FormField] = Field(default_factory=list)
    deadline: DurationSpec | DateExpr | None = Field(
        default=None, description="a duration after the task opens, or a date expression"
    )
    reminders: list[Reminder] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    no_escalation: str | None = Field(
        default=None, description="why nobody is told when this step's deadline passes (instead of escalations)"
    )
    notify_on_open: bool = True
    source: str = ""
    boundary: list[BoundaryEvent] = Field(default_factory=list)
    next: Identifier

    @field_validator("reminders", mode="before")
    @classmethod
    def _short_reminders(cls, value: Any) -> Any:
        # `reminders: [P2W, P3D]` is the common case; expand it to full reminder objects.
        if isinstance(value, list):
            return [{"before": v} if isinstance(v, str) else v for v in value]
        return value

    @field_validator("deadline", mode="before")
    @classmethod
    def _deadline_duration(cls, value: Any) -> Any:
        return _check_duration_text(value)

    @model_validator(mode="after")
    def _deadline_needed(self) -> "UserTask":
        if (self.reminders or self.escalations or self.no_escalation is not None) and self.deadline is None:
            raise ValueError("reminders, escalations en no_escalation vragen een termijn (deadline)")
        if self.escalations and self.no_escalation is not None:
            raise ValueError("een stap heeft escalations of no_escalation (met de reden), niet beide")
        if self.no_escalation is not None and not self.no_escalation.strip():
            raise ValueError("no_escalation noemt de reden waarom niemand het hoort als de termijn verstrijkt")
        return self


class ServiceTask(_Element):
    """Automatic work: notify a role, and/or set case data (a literal or a computed date)."""

    type: Literal["service_task"]
    notify: Notify | None = None
    set: dict[Identifier, SetValue] | None = None
    next: Identifier

    @model_validator(mode="after")
    def _does_something(self) -> "ServiceTask":
        if self.notify is None and not self.set:
            raise ValueError("een service_task heeft `notify`, `set` of beide nodig")
        return self


class IntermediateTimerEvent(_Element):
    """Wait until a timer fires."""

    type: Literal["intermediate_timer_event"]
    timer: TimerSpec
    source: str = ""
    next: Identifier


class Timeout(Frozen):
    """How long a message is waited for, and where the case goes when it does not come."""

    timer: TimerSpec
    next: Identifier
    notify: Notify | None = None
    source: str = ""


class IntermediateMessageEvent(_Element):
    """Wait for a life event (message) such as `huisvesting`, optionally with a timeout."""

    type: Literal["intermediate_message_event"]
    message: Identifier
    timeout: Timeout | None = None
    next: Identifier


class Branch(Frozen):
    """An outgoing flow of an exclusive gateway, taken when its condition holds."""

    when: Condition
    next: Identifier


class ExclusiveGateway(_Element):
    """Choose one path: the first branch whose condition holds, else the default."""

    type: Literal["exclusive_gateway"]
    branches: list[Branch] = Field(default_factory=list)
    default: Identifier | None = None


class ParallelGateway(_Element):
    """Split into paths that run side by side, or (with several incoming flows) wait for all of them."""

    type: Literal["parallel_gateway"]
    next: list[Identifier] = Field(min_length=1)


class CallActivity(_Element):
    """Run another definition as a sub-process; the case continues when it ends."""

    type: Literal["call_activity"]
    process: Identifier
    version: int = Field(ge=1)
    boundary: list[BoundaryEvent] = Field(default_factory=list)
    next: Identifier


Element = Annotated[
    Union[
        StartEvent,
        EndEvent,
        UserTask,
        ServiceTask,
        IntermediateTimerEvent,
        IntermediateMessageEvent,
        ExclusiveGateway,
        ParallelGateway,
        CallActivity,
    ],
    Field(discriminator="type"),
]

