"""User tasks: work for a person in a role, with a due date, reminders before it and escalations after it.

A task opens when a token reaches a user task and closes when it is completed or cancelled. Its due
date is a duration from the day it opens, or a date expression that follows case data and clocks:
such a deadline is re-derived after every event, so a later registration, a pause or an extension
moves it (and its reminders) with it.
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from engine.calendar import day_after, start_of_day
from engine.commands import CloseUserTask, OpenUserTask
from engine.definitions import UserTask
from engine.errors import AmbiguousTask, TaskNotOpen
from engine.expressions import ParamRef
from engine.people_time import day as written
from engine.run import Run
from engine.state import OpenTask, Timer, Token
from engine.trusted import constructor

TASK_TIMERS = ("reminder", "task_deadline", "escalation")
"""Timer kinds that belong to a task's due date."""

# Built without validation (engine.trusted): one of each per task opened or closed.
_task = constructor(OpenTask)
_open = constructor(OpenUserTask)
_close = constructor(CloseUserTask)


def open_task(run: Run, token: Token, element: UserTask) -> OpenTask:
    """Put the task in the inbox, tell its role (unless the step says not to) and schedule its deadline."""
    due_on = deadline(run, element)
    task = _task(id=run.next_id(f"{element.id}-"), token=token.id, scope=token.scope, element=element.id,
                 role=element.role, opened_at=run.now, due_on=due_on)
    run.state.tasks.append(task)
    run.emit(_open(
        key=run.key("open"), case_ref=run.state.case_ref, task_id=task.id, element=element.id,
        name=element.name or element.id, role=element.role, instructions=element.instructions,
        due_on=due_on, phase=run.state.phase, form=run.process.form(element),
    ))
    run.record("task_opened", element.id, f"{element.role}" + (f", uiterlijk {written(due_on)}" if due_on else ""),
               element=element.id, due_on=due_on)
    if element.notify_on_open:
        notify_task(run, task, element, element.role, "taak_geopend", "task opened")
    schedule_deadline(run, task, element)
    return task


def find_task(run: Run, name: str) -> OpenTask:
    """The open task a completion names: by task id, or by step when only one of that step is open."""
    exact = run.state.task(name)
    if exact is not None:
        return exact
    matches = [t for t in run.state.tasks if t.element == name]
    if len(matches) == 1:
        return matches[0]
    open_ids = ", ".join(t.id for t in run.state.tasks) or "geen"
    if not matches:
        raise TaskNotOpen(f"zaak {run.state.case_ref}: stap '{name}' staat niet open (open taken: {open_ids})")
    raise AmbiguousTask(f"zaak {run.state.case_ref}: voor stap '{name}' staan meerdere taken open; noem één "
                        "taak-id: " + ", ".join(t.id for t in matches))


def close_task(run: Run, task: OpenTask, reason: Literal["completed", "cancelled"], actor: str = "system") -> None:
    """Take the task out of the inbox; a completion is judged against its due date."""
    run.state.tasks = [t for t in run.state.tasks if t.id != task.id]
    run.emit(_close(key=run.key("close"), case_ref=run.state.case_ref, task_id=task.id, reason=reason))
    if reason == "cancelled":
        run.record("task_cancelled", task.element, element=task.element, due_on=task.due_on)
        return
    verdict = None
    timing = ""
    if task.due_on is not None:
        verdict = "on_time" if run.today <= task.due_on else "late"
        timing = "op tijd" if verdict == "on_time" else f"te laat (uiterlijk {written(task.due_on)})"
    run.record("task_completed", task.element, ", ".join(x for x in (f"door {actor}", timing) if x),
               element=task.element, due_on=task.due_on, verdict=verdict)


def deadline(run: Run, element: UserTask) -> date | None:
    """A duration counts from today; a date expression may not be known yet (e.g. a clock not started)."""
    if element.deadline is None:
        return None
    if _counts_from_opening(element):
        return run.eval.duration(element.deadline).after(run.today)
    return run.eval.date(element.deadline)


def _counts_from_opening(element: UserTask) -> bool:
    # A duration (written in place or a profile parameter) counts from the day the task opens.
    return isinstance(element.deadline, (str, ParamRef))


def schedule_deadline(run: Run, task: OpenTask, element: UserTask) -> None:
    """Reminders before the due date, the moment it is missed, and escalations after it."""
    if task.due_on is None:
        return
    for i, reminder in enumerate(element.reminders):
        when = start_of_day(run.eval.duration(reminder.before).before(task.due_on))
        if when > run.now:
            run.schedule("reminder", when, token=task.token, ref=str(i))
    missed = start_of_day(day_after(task.due_on))
    run.schedule("task_deadline", missed, token=task.token)
    for i, escalation in enumerate(element.escalations):
        when = start_of_day(run.eval.duration(escalation.after).after(day_after(task.due_on)))
        run.schedule("escalation", when, token=task.token, ref=str(i))


def refresh_deadlines(run: Run) -> None:
    """Deadlines that follow case data or a clock move when it moves (a later registration, a pause,
    an extension): re-derive them after every event and reschedule their reminders."""
    for task in list(run.state.tasks):
        element = run.process.element(run.scope(task.scope).definition, task.element)
        if element.deadline is None or _counts_from_opening(element):
            continue
        with run.dates_for(f"stap '{task.element}'"):
            _refresh(run, task, element)


def _refresh(run: Run, task: OpenTask, element: UserTask) -> None:
    due_on = run.eval.date(element.deadline)
    if due_on == task.due_on:
        return
    run.state.timers = [t for t in run.state.timers if not (t.token == task.token and t.kind in TASK_TIMERS)]
    missed = task.missed and due_on is not None and due_on < run.today
    moved = task.model_copy(update={"due_on": due_on, "missed": missed})
    run.state.tasks = [moved if t.id == task.id else t for t in run.state.tasks]
    run.record("deadline_changed", task.element, f"uiterlijk {written(due_on)}" if due_on else "geen termijn",
               element=task.element, due_on=due_on)
    schedule_deadline(run, moved, element)


def fire(run: Run, timer: Timer, token: Token, element: UserTask) -> None:
    """A task's timer came due: a reminder, the deadline passing, or an escalation."""
    task = task_of(run, token)
    match timer.kind:
        case "reminder":
            reminder = element.reminders[int(timer.ref)]
            to = reminder.to or element.role
            run.record("reminder_sent", element.id, f"aan {to}, uiterlijk {written(task.due_on)}",
                       element=element.id, due_on=task.due_on)
            notify_task(run, task, element, to, reminder.template, "reminder")
        case "task_deadline":
            run.state.tasks = [t.model_copy(update={"missed": True}) if t.id == task.id else t
                               for t in run.state.tasks]
            run.record("deadline_missed", element.id, f"{element.role}, uiterlijk {written(task.due_on)}",
                       element=element.id, due_on=task.due_on, verdict="missed")
        case "escalation":
            escalation = element.escalations[int(timer.ref)]
            run.record("escalated", element.id, f"aan {escalation.to}, termijn was {written(task.due_on)}",
                       element=element.id, due_on=task.due_on)
            notify_task(run, task, element, escalation.to, escalation.template, "escalation")


def task_of(run: Run, token: Token) -> OpenTask:
    """The open task a token waits on."""
    return next(t for t in run.state.tasks if t.token == token.id)


def notify_task(run: Run, task: OpenTask, element: UserTask, role: str, template: str, reason: str) -> None:
    """Tell a role about a task: what to do, for which case, by when (the task variables of every template)."""
    context = {
        "case_ref": run.state.case_ref, "step": element.id, "step_name": element.name or element.id,
        "task_id": task.id, "role": element.role, "instructions": element.instructions,
        "due_on": task.due_on.isoformat() if task.due_on else None,
    }
    run.tell(role, template, context, reason)
