"""Events (past tense) that move a case: it started, a task was completed, a message arrived, a timer fired."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    actor: str = Field(default="system", description="who caused it (operator id or 'system')")


class Started(_Event):
    """The trajectory started, by a plain start or by a life event such as `koppeling`."""

    type: Literal["started"] = "started"
    message: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)
    occurred_on: date | None = None


class TaskCompleted(_Event):
    """A person completed a user task (by element id, or by task id when several are open)."""

    type: Literal["task_completed"] = "task_completed"
    task: str
    data: dict[str, Any] = Field(default_factory=dict)


class MessageReceived(_Event):
    """A life event or signal reached the case (e.g. `huisvesting`), with optional data."""

    type: Literal["message_received"] = "message_received"
    message: str
    data: dict[str, Any] = Field(default_factory=dict)
    occurred_on: date | None = None


class TimerFired(_Event):
    """A scheduled timer came due."""

    type: Literal["timer_fired"] = "timer_fired"
    timer: str


Event = Annotated[Union[Started, TaskCompleted, MessageReceived, TimerFired], Field(discriminator="type")]
