"""Typed errors: each says what did not fit and where, so an operator or analyst can act on it.

An engine error always means the case state is unchanged: `advance` works on a copy.
"""

from __future__ import annotations


class EngineError(Exception):
    """An event that does not fit the case; the state is unchanged."""


class UnknownElement(EngineError):
    """The event names an element the case's definition does not have."""


class TaskNotOpen(EngineError):
    """The event completes a task that is not open (never opened, already completed, or cancelled)."""


class AmbiguousTask(EngineError):
    """Several open tasks match the name; the event must use the task id."""


class FormInvalid(EngineError):
    """Form or message data that fails validation: unknown field, wrong type, missing required field."""


class MessageNotExpected(EngineError):
    """A message that no waiting element, boundary event, clock or handler of the case listens for."""


class TimerNotPending(EngineError):
    """A timer that is not (or no longer) scheduled, e.g. it fired already or its task was completed."""


class TimerNotDue(EngineError):
    """A timer fired before its due time."""


class CaseNotActive(EngineError):
    """The case has ended (completed or terminated) and takes no further events."""


class CaseAlreadyStarted(EngineError):
    """A start event for a case that already runs."""


class DateBeforeStart(FormInvalid):
    """A date before the case started where that cannot be: a PIP dated before the koppeling, a message that
    happened before the case began, an event handled at a moment before the start."""


class DateInFuture(FormInvalid):
    """A life event dated after today: it has not happened yet (a typing error such as 2062 for 2026)."""


class DataMissing(EngineError):
    """A date or value the process needs is not in the case data yet."""


class PrivacyViolation(EngineError):
    """Identifying or special-category data would leave the case store (a notification, an event)."""


class MigrationError(EngineError):
    """A running case cannot move to the new definition version with the given mapping."""


class DateOutOfRange(EngineError):
    """A date that cannot be computed: a duration or date that runs past the last day the calendar knows.

    The message names the date, the duration and (once the interpreter adds it) the case and the
    element or clock that needed it.
    """


class DefinitionError(Exception):
    """One or more problems in definition files; `problems` lists each as `file: element: what`."""

    def __init__(self, problems: list["object"]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))

