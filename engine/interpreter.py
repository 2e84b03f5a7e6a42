"""The interpreter: `advance(process, state, event, now) -> Transition(state, commands, happened)`.

Pure and deterministic: the same inputs give the same outputs, nothing is sent, saved or read from the
clock. It works on a copy of the state (`engine.run.Run`), so an event that does not fit raises a typed
error and the caller's state is untouched.

Tokens mark where the case is. Entering an element either waits (user task, timer, message, call
activity) or moves on at once (start, service task, gateways); a FIFO queue of tokens to enter keeps
the order of side effects deterministic. This module takes the events and enters the elements; user
tasks and their deadlines (`engine.user_tasks`), element timers (`engine.timers`), gateways
(`engine.gateways`), sub-processes and end events (`engine.subprocesses`) and legal clocks
(`engine.clocks`) have modules of their own, all working on the same `Run`. (A little over 300 lines:
this is the one dispatch of every event kind and every element kind; splitting it would scatter it.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import engine.clocks as clockwork
import engine.gateways as gateways
import engine.subprocesses as subprocesses
import engine.timers as timers
import engine.user_tasks as user_tasks
from engine.calendar import require_aware
from engine.commands import Command
from engine.definitions import (
    BoundaryMessage,
    CallActivity,
    EndEvent,
    ExclusiveGateway,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    MessageHandler,
    ParallelGateway,
    ServiceTask,
    StartEvent,
    UserTask,
)
from engine.errors import (
    CaseAlreadyStarted,
    CaseNotActive,
    DateBeforeStart,
    DateOutOfRange,
    EngineError,
    FormInvalid,
    MessageNotExpected,
    TimerNotDue,
    TimerNotPending,
    UnknownElement,
)
from engine.events import Event, MessageReceived, Started, TaskCompleted, TimerFired
from engine.people_time import day as written
from engine.people_time import moment, status
from engine.process import Process
from engine.run import Run
from engine.state import ROOT_SCOPE, CaseState, HistoryEntry, Scope, Token


@dataclass(frozen=True)
class Transition:
    """The outcome of one event: the new state, the commands to carry out, and what happened (for the
    case history, which the case store keeps append-only)."""

    state: CaseState
    commands: list[Command]
    happened: list[HistoryEntry]


def advance(process: Process, state: CaseState, event: Event, now: datetime) -> Transition:
    """Apply one event to a case at `now` and return the new state with the commands it causes."""
    now = require_aware(now)
    if state.definition not in process.definitions:
        raise UnknownElement(f"zaak {state.case_ref} loopt volgens {state.definition}, maar dit proces is "
                             f"{process.ref}")
    run = Run(process, state, now)
    try:
        with run.dates_for("een datum"):
            _handle(run, event)
    except OverflowError:  # a date computed outside the calendar's helpers: still a typed error
        raise DateOutOfRange(f"zaak {state.case_ref}: een datum valt buiten de kalender en kon niet worden berekend") \
            from None
    return Transition(run.finish(), run.commands, run.happened)


def fire_due_timers(process: Process, state: CaseState, now: datetime, limit: int = 1000) -> Transition:
    """Fire every timer due at `now`, earliest first, each at its own due time (so dates stay exact).

    Timers created while firing are fired too when they are also due. `limit` guards against a
    definition that keeps scheduling timers in the past.
    """
    now = require_aware(now)
    commands: list[Command] = []
    happened: list[HistoryEntry] = []
    for _ in range(limit):
        due = state.due_timers(now) if state.status == "active" else []
        if not due:
            return Transition(state, commands, happened)
        timer = due[0]
        step = advance(process, state, TimerFired(timer=timer.id), max(timer.due_at, timer.created_at))
        state = step.state
        commands.extend(step.commands)
        happened.extend(step.happened)
    raise EngineError(f"zaak {state.case_ref}: meer dan {limit} wachttijden tegelijk voorbij; heeft een herhaling "
                      "(cycle) een duur van nul?")


# --- events --------------------------------------------------------------------------------------


def _handle(run: Run, event: Event) -> None:
    if isinstance(event, Started):
        _start(run, event)
    elif run.state.status != "active":
        raise CaseNotActive(f"zaak {run.state.case_ref} is {status(run.state.status)}: er kan niets meer in "
                            "gebeuren")
    elif (start := run.state.start_day()) is not None and run.today < start:
        raise DateBeforeStart(f"zaak {run.state.case_ref}: een gebeurtenis op {written(run.today)} ligt vóór de "
                              f"start van de zaak op {written(start)}")
    elif isinstance(event, TaskCompleted):
        _complete_task(run, event)
    elif isinstance(event, MessageReceived):
        _receive(run, event)
    elif isinstance(event, TimerFired):
        _fire(run, event)
    else:
        raise EngineError(f"onbekende soort gebeurtenis {type(event).__name__}")
    _drain(run)
    if run.state.status == "active":
        user_tasks.refresh_deadlines(run)


def _start(run: Run, event: Started) -> None:
    if run.state.status != "new":
        raise CaseAlreadyStarted(f"zaak {run.state.case_ref} is al gestart")
    root = run.process.root
    starts = [e for e in root.elements if isinstance(e, StartEvent) and e.message == event.message]
    if not starts:
        how = f"met bericht '{event.message}'" if event.message else "zonder bericht"
        raise MessageNotExpected(f"{root.ref} heeft geen start {how}")
    on = run.occurred_on(event.occurred_on, f"start van {root.ref}")
    run.state.started_on = on
    run.state.data.update(run.coerce(event.data, f"start van {root.ref}"))
    run.state.status = "active"
    run.state.scopes.append(Scope(id=ROOT_SCOPE, definition=root.ref))
    if event.message:
        run.state.anchors.setdefault(event.message, on)
    run.record("case_started", root.ref, f"via {event.message}" if event.message else "")
    if event.message:
        clockwork.on_trigger(run, "message", event.message, on)
        _run_handlers(run, [h for h in run.process.handlers if h.message == event.message])
    run.enter_phase(root.phase)
    run.spawn(ROOT_SCOPE, starts[0].id)


def _complete_task(run: Run, event: TaskCompleted) -> None:
    task = user_tasks.find_task(run, event.task)
    definition = run.scope(task.scope).definition
    element: UserTask = run.process.element(definition, task.element)
    run.state.data.update(run.coerce(event.data, f"stap '{element.id}'", form=element))
    user_tasks.close_task(run, task, "completed", actor=event.actor)
    clockwork.on_trigger(run, "completed", element.id, run.today, definition=definition)
    token = run.token(task.token)
    run.cancel_timers(token=token.id)
    run.move(token, element.next)


def _receive(run: Run, event: MessageReceived) -> None:
    name = event.message
    catalog = run.process.catalog
    if catalog is not None and name not in catalog.messages:
        raise MessageNotExpected(f"zaak {run.state.case_ref}: onbekend bericht '{name}'")
    if catalog is not None and event.data:
        allowed = set(catalog.messages[name].data)
        extra = sorted(set(event.data) - allowed)
        if extra:
            raise FormInvalid(f"zaak {run.state.case_ref}: bericht '{name}' heeft geen veld(en) {', '.join(extra)}"
                              f" (wel: {', '.join(sorted(allowed)) or 'geen'})")
    on = run.occurred_on(event.occurred_on, f"bericht '{name}'", message=name)
    data = run.coerce(event.data, f"bericht '{name}'")
    waiting = [t for t in run.state.tokens
               if isinstance(e := run.element_of(t), IntermediateMessageEvent) and e.message == name]
    boundaries = [(t, b) for t in run.state.tokens for b in getattr(run.element_of(t), "boundary", [])
                  if isinstance(b, BoundaryMessage) and b.message == name and _is_active(run, t)]
    handlers = [h for h in run.process.handlers if h.message == name]
    listening_clocks = clockwork.listeners(run, name)
    if not (waiting or boundaries or handlers or listening_clocks):
        raise MessageNotExpected(f"zaak {run.state.case_ref}: niets in de zaak wacht nu op bericht '{name}'")
    run.state.anchors.setdefault(name, on)
    run.state.data.update(data)
    run.record("message_received", name, f"op {written(on)}" if on != run.today else "")
    clockwork.on_trigger(run, "message", name, on)
    _run_handlers(run, handlers)
    for token, boundary in boundaries:
        _boundary_fired(run, token, boundary)
    for token in waiting:
        element = run.element_of(token)
        run.cancel_timers(token=token.id)
        run.move(token, element.next)


def _run_handlers(run: Run, handlers: list[MessageHandler]) -> None:
    for handler in handlers:
        if handler.set:
            run.set_data(handler.set, f"berichtafhandeling '{handler.id}'")
        for notify in handler.notify:
            run.notify(notify, reason=f"message {handler.message}")


def _is_active(run: Run, token: Token) -> bool:
    """A task or call activity that is still running (boundary events listen only then)."""
    return isinstance(run.element_of(token), (UserTask, CallActivity))


def _fire(run: Run, event: TimerFired) -> None:
    timer = next((t for t in run.state.timers if t.id == event.timer), None)
    if timer is None:
        raise TimerNotPending(f"zaak {run.state.case_ref}: wachttijd '{event.timer}' staat niet (meer) gepland")
    if timer.due_at > run.now:
        raise TimerNotDue(f"zaak {run.state.case_ref}: wachttijd '{timer.id}' is pas voorbij op {moment(timer.due_at)}"
                          f", niet op {moment(run.now)}")
    run.state.timers = [t for t in run.state.timers if t.id != timer.id]
    if timer.clock is not None:
        with run.dates_for(f"termijn '{timer.clock}'"):
            clockwork.fire(run, timer)
        return
    token = run.token(timer.token)
    element = run.element_of(token)
    with run.dates_for(f"element '{element.id}'"):
        _fire_element_timer(run, timer, token, element)


def _fire_element_timer(run: Run, timer: Any, token: Token, element: Any) -> None:
    match timer.kind:
        case "reminder" | "task_deadline" | "escalation":
            user_tasks.fire(run, timer, token, element)
        case "timer_event":
            run.record("timer_fired", element.id, element=element.id)
            run.move(token, element.next)
        case "message_timeout":
            run.record("message_timeout", element.id, f"geen {element.message}", element=element.id)
            if element.timeout.notify:
                run.notify(element.timeout.notify, reason=f"timeout {element.id}")
            run.move(token, element.timeout.next)
        case "boundary":
            boundary = next(b for b in element.boundary if b.id == timer.ref)
            run.record("timer_fired", boundary.id, f"bij {element.id}", element=element.id)
            if boundary.timer.cycle is not None and not boundary.interrupting:
                timers.schedule_cycle(run, boundary.timer.cycle, token, boundary.id, timer.occurrence + 1)
            _boundary_fired(run, token, boundary)


def _boundary_fired(run: Run, token: Token, boundary: Any) -> None:
    if boundary.notify is not None:
        run.notify(boundary.notify, reason=f"boundary {boundary.id}")
    if boundary.interrupting:
        subprocesses.interrupt(run, token)
        run.move(token, boundary.next)
    elif boundary.next is not None:
        run.spawn(token.scope, boundary.next)


# --- entering elements ---------------------------------------------------------------------------


def _drain(run: Run) -> None:
    while run.queue:
        token = run.token(run.queue.popleft())
        if token is not None:
            _enter(run, token)


def _enter(run: Run, token: Token) -> None:
    definition = run.scope(token.scope).definition
    try:
        element = run.process.element(definition, token.element)
    except KeyError:
        raise UnknownElement(f"{definition} heeft geen element '{token.element}'") from None
    run.enter_phase(element.phase)
    clockwork.on_trigger(run, "reached", element.id, run.today, definition=definition)
    with run.dates_for(f"element '{element.id}'"):
        _enter_element(run, token, definition, element)


def _enter_element(run: Run, token: Token, definition: str, element: Any) -> None:
    match element:
        case StartEvent():
            run.move(token, element.next)
        case EndEvent():
            subprocesses.end(run, token, element)
        case UserTask():
            user_tasks.open_task(run, token, element)
            timers.schedule_boundaries(run, token, element)
        case ServiceTask():
            _service(run, token, element)
        case IntermediateTimerEvent():
            due = timers.timer_due(run, element.timer, f"wachttijd '{element.id}'")
            run.schedule("timer_event", due, token=token.id)
        case IntermediateMessageEvent():
            if element.timeout is not None:
                due = timers.timer_due(run, element.timeout.timer, f"wachttijd op bericht bij '{element.id}'")
                run.schedule("message_timeout", due, token=token.id)
        case ExclusiveGateway():
            run.move(token, gateways.choose(run, element))
        case ParallelGateway():
            gateways.parallel(run, token, definition, element)
        case CallActivity():
            subprocesses.call(run, token, element)


def _service(run: Run, token: Token, element: ServiceTask) -> None:
    if element.set:
        run.set_data(element.set, f"step '{element.id}'")
    if element.notify is not None:
        run.notify(element.notify, reason=f"step {element.id}")
    run.move(token, element.next)
