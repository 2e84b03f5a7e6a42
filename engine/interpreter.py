"""The interpreter: `advance(process, state, event, now) -> Transition(state, commands, happened)`.

Pure and deterministic: the same inputs give the same outputs, nothing is sent, saved or read from the
clock. It works on a copy of the state, so an event that does not fit raises a typed error and the
caller's state is untouched.

Tokens mark where the case is. Entering an element either waits (user task, timer, message, call
activity) or moves on at once (start, service task, gateways); a FIFO queue of tokens to enter keeps
the order of side effects deterministic.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from engine import clocks as clockwork
from engine.calendar import local_date, require_aware, start_of_day
from engine.commands import CloseUserTask, Command, EmitEvent, NotifyRole, OpenUserTask
from engine.definitions import (
    BoundaryMessage,
    BoundaryTimer,
    CallActivity,
    ContextValue,
    Cycle,
    EndEvent,
    ExclusiveGateway,
    FieldType,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    Notify,
    ParallelGateway,
    ServiceTask,
    StartEvent,
    TimerSpec,
    UserTask,
)
from engine.durations import Duration
from engine.errors import (
    AmbiguousTask,
    CaseAlreadyStarted,
    CaseNotActive,
    EngineError,
    FormInvalid,
    MessageNotExpected,
    PrivacyViolation,
    TaskNotOpen,
    TimerNotDue,
    TimerNotPending,
    UnknownElement,
)
from engine.evaluate import Scope as Eval
from engine.events import MessageReceived, Started, TaskCompleted, TimerFired
from engine.process import Process
from engine.state import ROOT_SCOPE, CaseState, HistoryEntry, OpenTask, Scope, Timer, Token


@dataclass(frozen=True)
class Transition:
    """The outcome of one event: the new state, the commands to carry out, and what happened (for the
    case history, which the case store keeps append-only)."""

    state: CaseState
    commands: list[Command]
    happened: list[HistoryEntry]


def advance(process: Process, state: CaseState, event: Any, now: datetime) -> Transition:
    """Apply one event to a case at `now` and return the new state with the commands it causes."""
    now = require_aware(now)
    if state.definition not in process.definitions:
        raise UnknownElement(f"case {state.case_ref} runs {state.definition}, but this process is {process.ref}")
    run = _Run(process, state, now)
    run.handle(event)
    return Transition(run.state, run.commands, run.happened)


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
    raise EngineError(f"case {state.case_ref}: more than {limit} timers due at once; is a cycle zero-length?")


class _Run:
    """One application of one event: a working copy of the state plus the commands it produces."""

    def __init__(self, process: Process, state: CaseState, now: datetime):
        self.process = process
        self.now = now
        self.today = local_date(now)
        self.state = state.model_copy(
            update={
                "data": dict(state.data),
                "anchors": dict(state.anchors),
                "scopes": list(state.scopes),
                "tokens": list(state.tokens),
                "tasks": list(state.tasks),
                "timers": list(state.timers),
                "clocks": dict(state.clocks),
                "joins": dict(state.joins),
            }
        )
        self.commands: list[Command] = []
        self.happened: list[HistoryEntry] = []
        self.queue: deque[str] = deque()
        # The occurrence counter lives here during the run (pydantic attribute writes are slow) and
        # is written back once in `handle`.
        self.seq = state.seq
        self.eval = Eval(self.state, process.params, process.data_fields, self.today)

    # --- bookkeeping -----------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        """A fresh id, deterministic for the same event history."""
        self.seq += 1
        return f"{prefix}{self.seq}"

    def key(self, what: str) -> str:
        """An idempotency key: case, occurrence number, what."""
        self.seq += 1
        return f"{self.state.case_ref}:{self.seq}:{what}"

    def record(self, kind: str, ref: str, detail: str = "", at: datetime | None = None) -> None:
        """Add to the case history and publish it as a case event."""
        self.happened.append(HistoryEntry(at=at or self.now, kind=kind, ref=ref, detail=detail))
        payload = {"ref": ref, "detail": detail, "phase": self.state.phase}
        self.emit(EmitEvent(key=self.key(kind), case_ref=self.state.case_ref, event=kind.replace("_", "-"),
                            payload=payload))

    def emit(self, command: Command) -> None:
        self.commands.append(command)

    def schedule(self, kind: str, due: datetime, **fields: Any) -> Timer:
        """Add a timer; a moment already past fires at the next sweep, never before it was created."""
        timer = Timer(id=self.next_id("t"), kind=kind, due_at=max(due, self.now), created_at=self.now, **fields)
        self.state.timers.append(timer)
        return timer

    def cancel_timers(self, *, token: str | None = None, clock: str | None = None) -> None:
        self.state.timers = [
            t for t in self.state.timers
            if not ((token is not None and t.token == token) or (clock is not None and t.clock == clock))
        ]

    def scope(self, scope_id: str) -> Scope:
        return next(s for s in self.state.scopes if s.id == scope_id)

    def token(self, token_id: str) -> Token | None:
        return next((t for t in self.state.tokens if t.id == token_id), None)

    def element_of(self, token: Token) -> Any:
        return self.process.element(self.scope(token.scope).definition, token.element)

    def place(self, token: Token) -> None:
        """Put (or move) a token on its element and queue it to be entered."""
        self.state.tokens = [t for t in self.state.tokens if t.id != token.id] + [token]
        self.queue.append(token.id)

    def move(self, token: Token, target: str) -> None:
        self.place(token.model_copy(update={"element": target, "arrived_at": self.now}))

    def spawn(self, scope: str, target: str) -> None:
        self.place(Token(id=self.next_id("k"), scope=scope, element=target, arrived_at=self.now))

    def drain(self) -> None:
        while self.queue:
            token = self.token(self.queue.popleft())
            if token is not None:
                self.enter(token)

    # --- events ----------------------------------------------------------------------------------

    def handle(self, event: Any) -> None:
        if isinstance(event, Started):
            self.start(event)
        elif self.state.status != "active":
            raise CaseNotActive(f"case {self.state.case_ref} is {self.state.status}; it takes no further events")
        elif isinstance(event, TaskCompleted):
            self.complete_task(event)
        elif isinstance(event, MessageReceived):
            self.receive(event)
        elif isinstance(event, TimerFired):
            self.fire(event)
        else:
            raise EngineError(f"unknown event {event!r}")
        self.drain()
        if self.state.status == "active":
            self.refresh_deadlines()
        self.state.seq = self.seq

    def start(self, event: Started) -> None:
        if self.state.status != "new":
            raise CaseAlreadyStarted(f"case {self.state.case_ref} was already started")
        root = self.process.root
        starts = [e for e in root.elements if isinstance(e, StartEvent) and e.message == event.message]
        if not starts:
            how = f"by message '{event.message}'" if event.message else "without a message"
            raise MessageNotExpected(f"{root.ref} has no start event that starts {how}")
        self.state.data.update(self.coerce(event.data, f"start of {root.ref}"))
        self.state.status = "active"
        self.state.scopes.append(Scope(id=ROOT_SCOPE, definition=root.ref))
        on = event.occurred_on or self.today
        if event.message:
            self.state.anchors.setdefault(event.message, on)
        self.record("case_started", root.ref, f"by {event.message}" if event.message else "")
        if event.message:
            clockwork.on_trigger(self, "message", event.message, on)
            self.run_handlers([h for h in self.process.handlers if h.message == event.message])
        self.enter_phase(root.phase)
        self.spawn(ROOT_SCOPE, starts[0].id)

    def complete_task(self, event: TaskCompleted) -> None:
        task = self.find_task(event.task)
        element: UserTask = self.process.element(self.scope(task.scope).definition, task.element)
        self.state.data.update(self.coerce(event.data, f"step '{element.id}'", form=element))
        self.close_task(task, "completed", actor=event.actor)
        definition = self.scope(task.scope).definition
        clockwork.on_trigger(self, "completed", element.id, self.today, definition=definition)
        token = self.token(task.token)
        self.cancel_timers(token=token.id)
        self.move(token, element.next)

    def find_task(self, name: str) -> OpenTask:
        exact = self.state.task(name)
        if exact is not None:
            return exact
        matches = [t for t in self.state.tasks if t.element == name]
        if len(matches) == 1:
            return matches[0]
        open_ids = ", ".join(t.id for t in self.state.tasks) or "none"
        if not matches:
            raise TaskNotOpen(f"case {self.state.case_ref}: step '{name}' is not open (open tasks: {open_ids})")
        raise AmbiguousTask(f"case {self.state.case_ref}: several tasks for step '{name}' are open; use one of: "
                            + ", ".join(t.id for t in matches))

    def close_task(self, task: OpenTask, reason: str, actor: str = "system") -> None:
        self.state.tasks = [t for t in self.state.tasks if t.id != task.id]
        self.emit(CloseUserTask(key=self.key("close"), case_ref=self.state.case_ref, task_id=task.id, reason=reason))
        if reason == "completed":
            timing = ""
            if task.due_on is not None:
                timing = "on time" if self.today <= task.due_on else f"late (due {task.due_on})"
            self.record("task_completed", task.element, " ".join(x for x in (f"by {actor}", timing) if x))
        else:
            self.record("task_cancelled", task.element)

    def receive(self, event: MessageReceived) -> None:
        name = event.message
        catalog = self.process.catalog
        if catalog is not None and name not in catalog.messages:
            raise MessageNotExpected(f"case {self.state.case_ref}: unknown message '{name}'")
        if catalog is not None and event.data:
            allowed = set(catalog.messages[name].data)
            extra = sorted(set(event.data) - allowed)
            if extra:
                raise FormInvalid(f"message '{name}' does not carry field(s) {', '.join(extra)}"
                                  f" (it may carry: {', '.join(sorted(allowed)) or 'none'})")
        on = event.occurred_on or self.today
        data = self.coerce(event.data, f"message '{name}'")
        waiting = [t for t in self.state.tokens
                   if isinstance(e := self.element_of(t), IntermediateMessageEvent) and e.message == name]
        boundaries = [(t, b) for t in self.state.tokens for b in getattr(self.element_of(t), "boundary", [])
                      if isinstance(b, BoundaryMessage) and b.message == name and self.is_active(t)]
        handlers = [h for h in self.process.handlers if h.message == name]
        listening_clocks = clockwork.listeners(self, name)
        if not (waiting or boundaries or handlers or listening_clocks):
            raise MessageNotExpected(f"case {self.state.case_ref}: nothing waits for message '{name}' now")
        self.state.anchors.setdefault(name, on)
        self.state.data.update(data)
        self.record("message_received", name, f"on {on}" if on != self.today else "")
        clockwork.on_trigger(self, "message", name, on)
        self.run_handlers(handlers)
        for token, boundary in boundaries:
            self.boundary_fired(token, boundary)
        for token in waiting:
            element = self.element_of(token)
            self.cancel_timers(token=token.id)
            self.move(token, element.next)

    def run_handlers(self, handlers: list[Any]) -> None:
        for handler in handlers:
            if handler.set:
                self.set_data(handler.set, f"handler '{handler.id}'")
            for notify in handler.notify:
                self.notify(notify, reason=f"message {handler.message}")

    def is_active(self, token: Token) -> bool:
        """A task or call activity that is still running (boundary events listen only then)."""
        return isinstance(self.element_of(token), (UserTask, CallActivity))

    def fire(self, event: TimerFired) -> None:
        timer = next((t for t in self.state.timers if t.id == event.timer), None)
        if timer is None:
            raise TimerNotPending(f"case {self.state.case_ref}: timer '{event.timer}' is not scheduled")
        if timer.due_at > self.now:
            raise TimerNotDue(f"case {self.state.case_ref}: timer '{timer.id}' is due at {timer.due_at.isoformat()}"
                              f", not at {self.now.isoformat()}")
        self.state.timers = [t for t in self.state.timers if t.id != timer.id]
        if timer.clock is not None:
            clockwork.fire(self, timer)
            return
        token = self.token(timer.token)
        element = self.element_of(token)
        match timer.kind:
            case "reminder":
                reminder = element.reminders[int(timer.ref)]
                task = self.task_of(token)
                self.record("reminder_sent", element.id, f"to {reminder.to or element.role}, due {task.due_on}")
                self.notify_task(task, element, reminder.to or element.role, reminder.template, "reminder")
            case "task_deadline":
                task = self.task_of(token)
                self.state.tasks = [t.model_copy(update={"missed": True}) if t.id == task.id else t
                                    for t in self.state.tasks]
                self.record("deadline_missed", element.id, f"{element.role}, due {task.due_on}")
            case "escalation":
                escalation = element.escalations[int(timer.ref)]
                task = self.task_of(token)
                self.record("escalated", element.id, f"to {escalation.to}, was due {task.due_on}")
                self.notify_task(task, element, escalation.to, escalation.template, "escalation")
            case "timer_event":
                self.record("timer_fired", element.id)
                self.move(token, element.next)
            case "message_timeout":
                self.record("message_timeout", element.id, f"no {element.message}")
                if element.timeout.notify:
                    self.notify(element.timeout.notify, reason=f"timeout {element.id}")
                self.move(token, element.timeout.next)
            case "boundary":
                boundary = next(b for b in element.boundary if b.id == timer.ref)
                self.record("timer_fired", boundary.id, f"on {element.id}")
                if boundary.timer.cycle is not None and not boundary.interrupting:
                    self.schedule_cycle(boundary.timer.cycle, token, boundary.id, timer.occurrence + 1)
                self.boundary_fired(token, boundary)

    def task_of(self, token: Token) -> OpenTask:
        return next(t for t in self.state.tasks if t.token == token.id)

    def boundary_fired(self, token: Token, boundary: Any) -> None:
        if boundary.notify is not None:
            self.notify(boundary.notify, reason=f"boundary {boundary.id}")
        if boundary.interrupting:
            self.interrupt(token)
            self.move(token, boundary.next)
        elif boundary.next is not None:
            self.spawn(token.scope, boundary.next)

    # --- entering elements -----------------------------------------------------------------------

    def enter(self, token: Token) -> None:
        definition = self.scope(token.scope).definition
        try:
            element = self.process.element(definition, token.element)
        except KeyError:
            raise UnknownElement(f"{definition} has no element '{token.element}'") from None
        self.enter_phase(element.phase)
        clockwork.on_trigger(self, "reached", element.id, self.today, definition=definition)
        match element:
            case StartEvent():
                self.move(token, element.next)
            case EndEvent():
                self.end(token, element)
            case UserTask():
                self.open_task(token, element)
            case ServiceTask():
                self.service(token, element)
            case IntermediateTimerEvent():
                due = self.timer_due(element.timer, f"timer '{element.id}'")
                self.schedule("timer_event", due, token=token.id)
            case IntermediateMessageEvent():
                if element.timeout is not None:
                    due = self.timer_due(element.timeout.timer, f"timeout of '{element.id}'")
                    self.schedule("message_timeout", due, token=token.id)
            case ExclusiveGateway():
                self.move(token, self.choose(element))
            case ParallelGateway():
                self.parallel(token, definition, element)
            case CallActivity():
                self.call(token, element)

    def enter_phase(self, phase: str | None) -> None:
        """Elements (and a definition as a whole) may name the phase the case is in from there on."""
        if phase and phase != self.state.phase:
            self.state.phase = phase
            self.record("phase_entered", phase)

    def end(self, token: Token, element: EndEvent) -> None:
        self.state.tokens = [t for t in self.state.tokens if t.id != token.id]
        if element.terminate:
            for other in [t for t in self.state.tokens if t.scope == token.scope]:
                self.interrupt(other)
                self.state.tokens = [t for t in self.state.tokens if t.id != other.id]
        if not any(t.scope == token.scope for t in self.state.tokens):
            self.scope_done(token.scope, terminated=element.terminate)

    def scope_done(self, scope_id: str, terminated: bool) -> None:
        scope = self.scope(scope_id)
        self.state.scopes = [s for s in self.state.scopes if s.id != scope_id]
        self.state.joins = {k: v for k, v in self.state.joins.items() if not k.startswith(f"{scope_id}/")}
        if scope.parent_token is None:
            self.state.status = "terminated" if terminated else "completed"
            self.state.timers = []
            clockwork.close_all(self)
            self.record("case_" + self.state.status, scope.definition)
            return
        parent = self.token(scope.parent_token)
        self.record("subprocess_completed", scope.definition)
        self.cancel_timers(token=parent.id)
        self.move(parent, self.element_of(parent).next)

    def interrupt(self, token: Token) -> None:
        """Cancel what a token is doing: its task, its timers, and a running sub-process."""
        self.cancel_timers(token=token.id)
        for task in [t for t in self.state.tasks if t.token == token.id]:
            self.close_task(task, "cancelled")
        for child in [s for s in self.state.scopes if s.parent_token == token.id]:
            for inner in [t for t in self.state.tokens if t.scope == child.id]:
                self.interrupt(inner)
                self.state.tokens = [t for t in self.state.tokens if t.id != inner.id]
            self.state.scopes = [s for s in self.state.scopes if s.id != child.id]
            self.record("subprocess_cancelled", child.definition)

    def open_task(self, token: Token, element: UserTask) -> None:
        due_on = self.deadline(element)
        task = OpenTask(id=self.next_id(f"{element.id}-"), token=token.id, scope=token.scope,
                        element=element.id, role=element.role, opened_at=self.now, due_on=due_on)
        self.state.tasks.append(task)
        self.emit(OpenUserTask(
            key=self.key("open"), case_ref=self.state.case_ref, task_id=task.id, element=element.id,
            name=element.name or element.id, role=element.role, instructions=element.instructions,
            due_on=due_on, phase=self.state.phase, form=self.process.form(element),
        ))
        self.record("task_opened", element.id, f"{element.role}" + (f", due {due_on}" if due_on else ""))
        if element.notify_on_open:
            self.notify_task(task, element, element.role, "taak_geopend", "task opened")
        self.schedule_deadline(task, element)
        self.schedule_boundaries(token, element)

    def schedule_deadline(self, task: OpenTask, element: UserTask) -> None:
        """Reminders before the due date, the moment it is missed, and escalations after it."""
        if task.due_on is None:
            return
        for i, reminder in enumerate(element.reminders):
            when = start_of_day(self.eval.duration(reminder.before).before(task.due_on))
            if when > self.now:
                self.schedule("reminder", when, token=task.token, ref=str(i))
        missed = start_of_day(task.due_on + timedelta(days=1))
        self.schedule("task_deadline", missed, token=task.token)
        for i, escalation in enumerate(element.escalations):
            when = start_of_day(self.eval.duration(escalation.after).after(task.due_on + timedelta(days=1)))
            self.schedule("escalation", when, token=task.token, ref=str(i))

    def deadline(self, element: UserTask) -> date | None:
        """A duration counts from today; a date expression may not be known yet (e.g. a clock not started)."""
        if element.deadline is None:
            return None
        if isinstance(element.deadline, str) or hasattr(element.deadline, "param"):
            return self.eval.duration(element.deadline).after(self.today)
        return self.eval.date(element.deadline)

    def refresh_deadlines(self) -> None:
        """Deadlines that follow case data or a clock move when it moves (a later registration, a pause,
        an extension): re-derive them after every event and reschedule their reminders."""
        for task in list(self.state.tasks):
            element = self.process.element(self.scope(task.scope).definition, task.element)
            if element.deadline is None or isinstance(element.deadline, str) or hasattr(element.deadline, "param"):
                continue
            due_on = self.eval.date(element.deadline)
            if due_on == task.due_on:
                continue
            self.state.timers = [t for t in self.state.timers if not (
                t.token == task.token and t.kind in ("reminder", "task_deadline", "escalation"))]
            missed = task.missed and due_on is not None and due_on < self.today
            moved = task.model_copy(update={"due_on": due_on, "missed": missed})
            self.state.tasks = [moved if t.id == task.id else t for t in self.state.tasks]
            self.record("deadline_changed", task.element, f"due {due_on}" if due_on else "no due date")
            self.schedule_deadline(moved, element)

    def schedule_boundaries(self, token: Token, element: Any) -> None:
        for boundary in element.boundary:
            if isinstance(boundary, BoundaryTimer):
                if boundary.timer.cycle is not None:
                    self.schedule_cycle(boundary.timer.cycle, token, boundary.id, 1)
                else:
                    due = self.timer_due(boundary.timer, f"boundary timer '{boundary.id}'")
                    self.schedule("boundary", due, token=token.id, ref=boundary.id)

    def schedule_cycle(self, cycle: Cycle, token: Token, ref: str, occurrence: int) -> None:
        if cycle.times is not None and occurrence > cycle.times:
            return
        base = self.eval.required_date(cycle.start, f"cycle of '{ref}'") if cycle.start else token.arrived_at
        base_day = base if isinstance(base, date) and not isinstance(base, datetime) else local_date(base)
        due = start_of_day(_nth(self.eval.duration(cycle.every), base_day, occurrence))
        self.schedule("boundary", due, token=token.id, ref=ref, occurrence=occurrence)

    def timer_due(self, spec: TimerSpec, what: str) -> datetime:
        if spec.duration is not None:
            duration = self.eval.duration(spec.duration)
            return self.now if duration.is_zero else start_of_day(duration.after(self.today))
        if spec.date is not None:
            return start_of_day(self.eval.required_date(spec.date, what))
        # An intermediate event with a cycle waits for the next occurrence of the cycle after today.
        cycle = spec.cycle
        base = self.eval.required_date(cycle.start, what) if cycle.start else self.today
        every = self.eval.duration(cycle.every)
        n = 1
        while (day := _nth(every, base, n)) <= self.today:
            n += 1
        return start_of_day(day)

    def service(self, token: Token, element: ServiceTask) -> None:
        if element.set:
            self.set_data(element.set, f"step '{element.id}'")
        if element.notify is not None:
            self.notify(element.notify, reason=f"step {element.id}")
        self.move(token, element.next)

    def choose(self, gateway: ExclusiveGateway) -> str:
        for branch in gateway.branches:
            if self.eval.holds(branch.when):
                return branch.next
        if gateway.default is None:
            raise EngineError(f"gateway '{gateway.id}': no branch holds and there is no default")
        return gateway.default

    def parallel(self, token: Token, definition: str, gateway: ParallelGateway) -> None:
        if self.process.is_join(definition, gateway):
            key = f"{token.scope}/{gateway.id}"
            arrived = self.state.joins.get(key, 0) + 1
            needed = self.process.incoming[definition][gateway.id]
            if arrived < needed:
                self.state.joins[key] = arrived
                self.state.tokens = [t for t in self.state.tokens if t.id != token.id]
                return
            self.state.joins.pop(key, None)
        first, *rest = gateway.next
        for target in rest:
            self.spawn(token.scope, target)
        self.move(token, first)

    def call(self, token: Token, element: CallActivity) -> None:
        ref = f"{element.process}@{element.version}"
        child = self.process.definitions[ref]
        scope = Scope(id=self.next_id("s"), definition=ref, parent_token=token.id)
        self.state.scopes.append(scope)
        self.record("subprocess_started", ref, f"from {element.id}")
        self.enter_phase(child.phase)
        start = next(e for e in child.elements if isinstance(e, StartEvent) and e.message is None)
        self.schedule_boundaries(token, element)
        self.spawn(scope.id, start.id)

    # --- data and notifications ------------------------------------------------------------------

    def set_data(self, values: dict[str, Any], where: str) -> None:
        """Store literals, profile parameters or computed dates in case data (service tasks, handlers,
        milestones), checked against the declared fields like any other data."""
        computed = {name: self.eval.value(value, f"{where} sets '{name}'") for name, value in values.items()}
        self.state.data.update(self.coerce(computed, where))

    def coerce(self, values: dict[str, Any], where: str, form: UserTask | None = None) -> dict[str, Any]:
        """Check data against the declared fields and normalise it to JSON values (dates as ISO text)."""
        fields = self.process.data_fields
        problems: list[str] = []
        out: dict[str, Any] = {}
        if form is not None:
            on_form = {f.field: f for f in form.form}
            for name in values:
                if name not in on_form:
                    problems.append(f"field '{name}' is not on this form")
            for name, f in on_form.items():
                if f.required and values.get(name) is None:
                    problems.append(f"required field '{name}' is missing")
        for name, value in values.items():
            field = fields.get(name)
            if field is None:
                if form is None:
                    problems.append(f"unknown field '{name}'")
                continue
            if value is None:
                out[name] = None
                continue
            try:
                out[name] = _normalise(field.type, field.values, value)
            except (TypeError, ValueError) as exc:
                problems.append(f"field '{name}': {exc}")
        if problems:
            raise FormInvalid(f"case {self.state.case_ref}, {where}: " + "; ".join(problems))
        return out

    def notify(self, notify: Notify, reason: str) -> None:
        context: dict[str, Any] = {"case_ref": self.state.case_ref}
        for item in notify.context:
            if isinstance(item, ContextValue):
                context[item.name] = self.eval.context_value(item)
                continue
            field = self.process.data_fields.get(item)
            if field is None or not field.privacy.may_leave_case_store:
                category = field.privacy.value if field else "undeclared"
                raise PrivacyViolation(f"notification '{notify.template}' may not carry field '{item}' ({category})")
            context[item] = self.state.data.get(item)
        self.emit(NotifyRole(key=self.key("notify"), case_ref=self.state.case_ref, role=notify.role,
                             template=notify.template, context=context, reason=reason))
        self.record("notified", notify.role, notify.template)

    def notify_task(self, task: OpenTask, element: UserTask, role: str, template: str, reason: str) -> None:
        context = {
            "case_ref": self.state.case_ref, "step": element.id, "step_name": element.name or element.id,
            "task_id": task.id, "role": element.role, "instructions": element.instructions,
            "due_on": task.due_on.isoformat() if task.due_on else None,
        }
        self.emit(NotifyRole(key=self.key("notify"), case_ref=self.state.case_ref, role=role,
                             template=template, context=context, reason=reason))
        self.record("notified", role, template)


def _nth(every: Duration, base: date, n: int) -> date:
    """The n-th occurrence of a cycle after its base date."""
    scaled = Duration(years=every.years * n, months=every.months * n, days=every.days * n,
                      werkdagen=every.werkdagen * n)
    return scaled.after(base)


def _normalise(kind: FieldType, allowed: list[str] | None, value: Any) -> Any:
    if kind is FieldType.date:
        if isinstance(value, datetime):
            raise TypeError(f"expected a date, got a date and time {value!r}")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            return date.fromisoformat(value).isoformat()
        raise TypeError(f"expected a date (YYYY-MM-DD), got {value!r}")
    if kind is FieldType.bool:
        if not isinstance(value, bool):
            raise TypeError(f"expected true or false, got {value!r}")
        return value
    if kind is FieldType.int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected a whole number, got {value!r}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {value!r}")
    if kind is FieldType.enum and value not in (allowed or []):
        raise ValueError(f"{value!r} is not one of {', '.join(allowed or [])}")
    return value
