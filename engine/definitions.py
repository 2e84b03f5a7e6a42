"""The definition language: a versioned process definition with its legal clocks and message handlers.

Every YAML file in `process_definitions/` is one of three kinds (its `kind:` key says which):

- `process`: a versioned process definition (`id@version`) with its elements, data fields, parameters
  and legal clocks (this module; the elements are in `engine.elements`);
- `catalog`: the shared vocabulary: roles, messages (life events), message templates, shared data fields;
- `profile`: one municipality's local policy: parameter values and partners (both in `engine.catalog`).

The models are frozen and reject unknown keys, so a typo in a definition is an error at load time,
never a silently ignored setting. Graph rules (reachability, references, privacy) live in
`engine.validator`, which reports every problem at once. Every model of the language can be imported
from here, as the other layers do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from engine.catalog import (
    Catalog,
    DataField,
    FieldType,
    MessageKind,
    Parameter,
    Privacy,
    Profile,
    Role,
    Template,
    TemplateText,
    check_parameter_value,
)
from engine.elements import (
    BoundaryEvent,
    BoundaryMessage,
    BoundaryTimer,
    Branch,
    CallActivity,
    ContextItem,
    ContextValue,
    Cycle,
    Element,
    EndEvent,
    Escalation,
    ExclusiveGateway,
    FormField,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    Notify,
    ParallelGateway,
    Reminder,
    ServiceTask,
    SetValue,
    StartEvent,
    Timeout,
    TimerSpec,
    UserTask,
)
from engine.expressions import (
    Condition,
    DateExpr,
    DecidedDuration,
    DurationSpec,
    FieldDuration,  # noqa: F401 - re-exported: engine.diagram imports it from here
    Frozen,
    Identifier,
    ParamRef,
    _check_duration_text,
)


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
            raise ValueError("een trigger heeft precies één van: message, completed, reached")
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
            raise ValueError("een mijlpaal heeft precies één van: after_start, before_end")
        return self


class Extension(Frozen):
    """A verlenging: on a trigger, the end moves to a date from case data, or by a duration (written in
    place, from the profile, or the length decided, from a case-data field of type duration). A duration
    counts from the last day as counted, before the Atw moved it."""

    on: Trigger
    new_end: DateExpr | None = None
    by: DecidedDuration | None = None

    _check = field_validator("by", mode="before")(_check_duration_text)

    @model_validator(mode="after")
    def _exactly_one(self) -> "Extension":
        if (self.new_end is None) == (self.by is None):
            raise ValueError("een verlenging heeft precies één van: new_end, by")
        return self


class Clock(Frozen):
    """A legal term: starts on a trigger, runs for a duration, can be paused, extended and stopped."""

    id: Identifier
    name: str = ""
    duration: DurationSpec
    start_on: list[Trigger] = Field(min_length=1)
    start_if: Condition | None = Field(
        default=None,
        description="a start trigger starts the clock only when this holds (e.g. both anchors are known)",
    )
    start_from: DateExpr | None = Field(
        default=None, description="the start date; default: the date of the starting trigger"
    )
    first_only: bool = Field(
        default=True,
        description="false: a later start trigger restarts a running, paused or expired clock from a recomputed date",
    )
    restart_after_stop: bool = Field(
        default=False,
        description="with first_only false: a start trigger after the clock stopped starts it again (a new application)",
    )
    deadline: bool = Field(
        default=True,
        description="running out is a missed deadline (false for a period such as ontzorgen, which simply ends)",
    )
    atw: bool = Field(
        default=False,
        description="a statutory term (set by law or AMvB): the Algemene termijnenwet moves its end "
                    "(wi2021.md#13, row 16); never for a local norm",
    )
    pause_on: list[Trigger] = Field(default_factory=list)
    resume_on: list[Trigger] = Field(default_factory=list)
    resume_delay: DurationSpec | None = Field(
        default=None, description="the pause lasts this long after the resume trigger (e.g. P2W)"
    )
    stop_on: list[Trigger] = Field(default_factory=list)
    stopped_on: DateExpr | None = Field(
        default=None,
        description="the date that counts for the verdict when a stop trigger stops the clock (e.g. the PIP's "
                    "dagtekening); default: the day it is stopped",
    )
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


# --- the definition ------------------------------------------------------------------------------


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



__all__ = [
    "BoundaryEvent", "BoundaryMessage", "BoundaryTimer", "Branch", "CallActivity", "Catalog", "Clock",
    "ContextItem", "ContextValue", "Cycle", "DataField", "Definition", "Element", "EndEvent", "Escalation",
    "ExclusiveGateway", "Extension", "FieldType", "FormField", "Identifier", "IntermediateMessageEvent",
    "IntermediateTimerEvent", "MessageHandler", "MessageKind", "Milestone", "Notify", "ParallelGateway",
    "ParamRef", "Parameter", "Privacy", "Profile", "Reminder", "Role", "ServiceTask", "SetValue", "StartEvent",
    "Template", "TemplateText", "Timeout", "TimerSpec", "Trigger", "UserTask", "check_parameter_value",
]
