"""The definition language: BPMN-style processes, legal clocks, the shared catalogue and municipality profiles.

Every YAML file in `process_definitions/` is one of three kinds (its `kind:` key says which):

- `process`: a versioned process definition (`id@version`) with its elements, data fields, parameters
  and legal clocks;
- `catalog`: the shared vocabulary: roles, messages (life events), message templates, shared data fields;
- `profile`: one municipality's local policy: parameter values and partners.

The models are frozen and reject unknown keys, so a typo in a definition is an error at load time,
never a silently ignored setting. Graph rules (reachability, references, privacy) live in
`engine.validator`, which reports every problem at once.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from engine.expressions import (
    ClockMeasure,
    Condition,
    DateExpr,
    DaysSince,
    DurationSpec,
    TermShare,
    Frozen,
    ParamRef,
    Scalar,
    _check_duration_text,
)

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case identifier")]
SetValue = Union[Scalar, ParamRef, DateExpr]
"""What `set:` may store in a case-data field: a literal, a profile parameter, or a computed date."""


# --- data ----------------------------------------------------------------------------------------


class Privacy(str, Enum):
    """Privacy category of a data field (GLOSSARY.md); decides where a value may travel."""

    case_reference = "case_reference"
    """the pseudonymous case reference: may appear anywhere"""
    process = "process"
    """step, deadline, role, leerroute, phase: may appear in notifications and the Prefect UI"""
    identifying = "identifying"
    """name, BSN, address, date of birth: stays in the case store"""
    special = "special"
    """special category (AVG art. 9: health, medical outcome): stays in the case store, never in messages"""

    @property
    def may_leave_case_store(self) -> bool:
        """Whether a value of this category may appear in notifications, Prefect parameters or events."""
        return self in (Privacy.case_reference, Privacy.process)


class FieldType(str, Enum):
    """Types of case-data and form fields."""

    date = "date"
    """a calendar date, stored as ISO text (2026-03-02)"""
    bool = "bool"
    """yes or no"""
    enum = "enum"
    """one of a fixed list of values"""
    int = "int"
    """a whole number"""
    text = "text"
    """free text"""


class DataField(Frozen):
    """A case-data field: its type and privacy category."""

    type: FieldType
    privacy: Privacy
    values: list[str] | None = None
    description: str = ""

    @model_validator(mode="after")
    def _enum_values(self) -> "DataField":
        if self.type is FieldType.enum and not self.values:
            raise ValueError("an enum field needs a non-empty list of values")
        if self.type is not FieldType.enum and self.values is not None:
            raise ValueError("only enum fields take a list of values")
        return self


class Parameter(Frozen):
    """A value the municipality profile may set; the default is the fact sheet's value."""

    type: Literal["duration", "int", "bool", "text"]
    default: Scalar
    source: str = Field(description="the rule it encodes: a wi2021.md section or a P-number")
    description: str = ""

    @model_validator(mode="after")
    def _default_fits(self) -> "Parameter":
        check_parameter_value(self.type, self.default)
        return self


def check_parameter_value(kind: str, value: Any) -> None:
    """Raise ValueError when `value` does not fit a parameter of type `kind`."""
    expected = {"duration": str, "int": int, "bool": bool, "text": str}[kind]
    if not isinstance(value, expected) or (kind == "int" and isinstance(value, bool)):
        raise ValueError(f"a {kind} parameter needs a {expected.__name__}, got {value!r}")
    if kind == "duration":
        _check_duration_text(value)


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
            raise ValueError("a timer needs exactly one of: duration, date, cycle")
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
            raise ValueError("an interrupting boundary event needs `next`: where the case goes instead")
        if self.next is None and self.notify is None:
            raise ValueError("a boundary event needs `next`, `notify`, or both")
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
        if (self.reminders or self.escalations) and self.deadline is None:
            raise ValueError("reminders and escalations need a deadline")
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
            raise ValueError("a service task needs `notify`, `set`, or both")
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


# --- legal clocks --------------------------------------------------------------------------------


class Trigger(Frozen):
    """Something that happens in a case: a message arrives, a task is completed, an element is reached."""

    message: Identifier | None = None
    completed: Identifier | None = None
    reached: Identifier | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "Trigger":
        given = [k for k in ("message", "completed", "reached") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a trigger needs exactly one of: message, completed, reached")
        return self


class Milestone(Frozen):
    """A moment on a clock (after its start, or before its end) that notifies and/or sets case data."""

    id: Identifier
    after_start: DurationSpec | None = None
    before_end: DurationSpec | None = None
    notify: Notify | None = None
    set: dict[Identifier, SetValue] | None = None
    source: str = ""

    _check = field_validator("after_start", "before_end", mode="before")(_check_duration_text)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Milestone":
        if (self.after_start is None) == (self.before_end is None):
            raise ValueError("a milestone needs exactly one of: after_start, before_end")
        return self


class Extension(Frozen):
    """A verlenging: on a trigger, the end moves to a date from case data or by a duration."""

    on: Trigger
    new_end: DateExpr | None = None
    by: DurationSpec | None = None

    _check = field_validator("by", mode="before")(_check_duration_text)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Extension":
        if (self.new_end is None) == (self.by is None):
            raise ValueError("an extension needs exactly one of: new_end, by")
        return self


class Clock(Frozen):
    """A legal term: starts on a trigger, runs for a duration, can be paused, extended and stopped."""

    id: Identifier
    name: str = ""
    duration: DurationSpec
    start_on: list[Trigger] = Field(min_length=1)
    start_from: DateExpr | None = Field(
        default=None, description="the start date; default: the date of the starting trigger"
    )
    first_only: bool = Field(
        default=True,
        description="false: a later start trigger restarts a running, paused or expired clock from a recomputed date",
    )
    deadline: bool = Field(
        default=True,
        description="running out is a missed deadline (false for a period such as ontzorgen, which simply ends)",
    )
    pause_on: list[Trigger] = Field(default_factory=list)
    resume_on: list[Trigger] = Field(default_factory=list)
    resume_delay: DurationSpec | None = Field(
        default=None, description="the pause lasts this long after the resume trigger (e.g. P2W)"
    )
    stop_on: list[Trigger] = Field(default_factory=list)
    extensions: list[Extension] = Field(default_factory=list)
    milestones: list[Milestone] = Field(default_factory=list)
    expiry: Notify | None = Field(default=None, description="who is told when the clock runs out")
    source: str

    _check = field_validator("duration", "resume_delay", mode="before")(_check_duration_text)


class MessageHandler(Frozen):
    """A message handled whenever it arrives while the case runs (BPMN: non-interrupting event sub-process)."""

    id: Identifier
    message: Identifier
    notify: list[Notify] = Field(default_factory=list)
    set: dict[Identifier, SetValue] | None = None

    @field_validator("notify", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value


# --- files ---------------------------------------------------------------------------------------


class Definition(Frozen):
    """A versioned process definition (`id@version`)."""

    kind: Literal["process"]
    id: Identifier
    version: int = Field(ge=1)
    name: str
    description: str = ""
    phase: Identifier | None = None
    data: dict[Identifier, DataField] = Field(default_factory=dict)
    parameters: dict[Identifier, Parameter] = Field(default_factory=dict)
    clocks: list[Clock] = Field(default_factory=list)
    message_handlers: list[MessageHandler] = Field(default_factory=list)
    elements: list[Element] = Field(min_length=1)

    @property
    def ref(self) -> str:
        """`id@version`, the name a case pins."""
        return f"{self.id}@{self.version}"


class Role(Frozen):
    """A partner role (GLOSSARY.md)."""

    description: str


class MessageKind(Frozen):
    """A life event or signal that can reach a case (GLOSSARY.md)."""

    description: str
    data: list[Identifier] = Field(default_factory=list, description="case-data fields it may carry")


class TemplateText(Frozen):
    """A subject and a body with `{{ variable }}` placeholders, in one language."""

    subject: str
    body: str


class Template(Frozen):
    """A message template: subject and body in plain Dutch with `{{ variable }}` placeholders.

    `en` is the English variant for partners who prefer English; it may use only the variables the
    Dutch text uses, so a notification that fills the Dutch text fills the English one too.
    """

    subject: str
    body: str
    description: str = ""
    en: TemplateText | None = None


class Catalog(Frozen):
    """The shared vocabulary of all definitions: roles, messages, templates, shared data fields, phases."""

    kind: Literal["catalog"]
    roles: dict[Identifier, Role]
    messages: dict[Identifier, MessageKind]
    templates: dict[Identifier, Template]
    phases: dict[Identifier, str] = Field(default_factory=dict)
    data: dict[Identifier, DataField] = Field(default_factory=dict)


class Profile(Frozen):
    """A municipality's local policy: parameter values (norms, intervals, targets) and partners."""

    kind: Literal["profile"]
    id: Identifier
    name: str
    region: str = ""
    parameters: dict[Identifier, Scalar] = Field(default_factory=dict)
    partners: dict[Identifier, Any] = Field(default_factory=dict)


__all__ = [
    "BoundaryMessage", "BoundaryTimer", "Branch", "CallActivity", "Catalog", "Clock", "ContextValue",
    "Cycle", "DataField", "Definition", "Element", "EndEvent", "Escalation", "ExclusiveGateway",
    "Extension", "FieldType", "FormField", "IntermediateMessageEvent", "IntermediateTimerEvent",
    "MessageHandler", "MessageKind", "Milestone", "Notify", "ParallelGateway", "ParamRef", "Parameter",
    "Privacy", "Profile", "Reminder", "Role", "ServiceTask", "StartEvent", "Template", "TemplateText",
    "Timeout",
    "TimerSpec", "Trigger", "UserTask",
]
