"""Commands (imperative) the engine asks the outside world to carry out.

Each carries an idempotency `key` derived from the case, the element and the occurrence, so delivering
a command twice is harmless. Commands carry process data only: the validator and the interpreter make
sure no identifying or special-category field reaches them.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str
    case_ref: str


class NotifyRole(_Command):
    """Send a message (template + context) to whoever fills a role for this case."""

    type: Literal["notify"] = "notify"
    role: str
    template: str
    context: dict[str, Any] = Field(default_factory=dict)
    reason: str = ""


class FormFieldSpec(BaseModel):
    """A field of a user task's form, as the inbox shows it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    type: str
    required: bool
    label: str = ""
    values: list[str] | None = None
    privacy: str = "process"
    """the field's privacy category: the Prefect inbox shows only fields whose data may leave the case
    store; the others (optional, personal) are entered with `regie case complete`"""


class OpenUserTask(_Command):
    """Put a user task in the operators' inbox."""

    type: Literal["open_user_task"] = "open_user_task"
    task_id: str
    element: str
    name: str
    role: str
    instructions: str
    due_on: date | None = None
    phase: str | None = None
    form: list[FormFieldSpec] = Field(default_factory=list)


class CloseUserTask(_Command):
    """Take a user task out of the inbox: it was completed, or cancelled by the process."""

    type: Literal["close_user_task"] = "close_user_task"
    task_id: str
    reason: Literal["completed", "cancelled"]


class EmitEvent(_Command):
    """Publish a case event (`regie.case.<event>`) for coordinators' automations."""

    type: Literal["emit_event"] = "emit_event"
    event: str
    payload: dict[str, Any] = Field(default_factory=dict)


Command = Annotated[Union[NotifyRole, OpenUserTask, CloseUserTask, EmitEvent], Field(discriminator="type")]
