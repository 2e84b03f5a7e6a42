"""The bookkeeping of one event applied to one case: a working copy of the state and what it produces.

A `Run` is what the interpreter (`engine.interpreter`), the user tasks (`engine.user_tasks`), the
element timers (`engine.timers`) and the legal clocks (`engine.clocks`) all work on: the state being
changed, the moment it happens, fresh ids and idempotency keys, the commands for the outside world and
the history entries. It knows nothing of what elements mean; that stays in the interpreter.
"""

from __future__ import annotations

from collections import deque
from datetime import date, datetime
from typing import Any

from engine.calendar import local_date
from engine.case_data import coerce
from engine.commands import Command, EmitEvent, NotifyRole
from engine.definitions import ContextValue, FieldType, Notify, UserTask
from engine.errors import DateBeforeStart, DateInFuture, DateOutOfRange, PrivacyViolation
from engine.evaluate import Scope as Eval
from engine.people_time import day
from engine.process import Process
from engine.state import CaseState, HistoryEntry, HistoryKind, Scope, Timer, TimerKind, Token, Verdict
from engine.trusted import constructor

# Built without validation (engine.trusted): several of these are made per transition.
_state = constructor(CaseState)
_entry = constructor(HistoryEntry)
_event = constructor(EmitEvent)
_notify = constructor(NotifyRole)
_timer = constructor(Timer)
_token = constructor(Token)


class Run:
    """One application of one event: a working copy of the state plus the commands and history it produces.

    The copy is shallow (the state's parts are immutable and replaced, never changed), so the caller's
    state is untouched when an event does not fit and a typed error is raised half-way.
    """

    def __init__(self, process: Process, state: CaseState, now: datetime):
        self.process = process
        self.now = now
        self.today = local_date(now)
        self.state = _state(**{
            **state.__dict__,
            "data": dict(state.data),
            "anchors": dict(state.anchors),
            "scopes": list(state.scopes),
            "tokens": list(state.tokens),
            "tasks": list(state.tasks),
            "timers": list(state.timers),
            "clocks": dict(state.clocks),
            "joins": dict(state.joins),
        })
        self.commands: list[Command] = []
        self.happened: list[HistoryEntry] = []
        self.queue: deque[str] = deque()
        # The occurrence counter lives here during the run (pydantic attribute writes are slow) and
        # is written back once by `finish`.
        self.seq = state.seq
        self.eval = Eval(self.state, process.params, process.data_fields, self.today)

    def finish(self) -> CaseState:
        """The new state, with the occurrence counter written back."""
        self.state.seq = self.seq
        return self.state

    # --- ids, commands and history ---------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        """A fresh id, deterministic for the same event history."""
        self.seq += 1
        return f"{prefix}{self.seq}"

    def key(self, what: str) -> str:
        """An idempotency key: case, occurrence number, what."""
        self.seq += 1
        return f"{self.state.case_ref}:{self.seq}:{what}"

    def record(self, kind: HistoryKind, ref: str, detail: str = "", *, element: str | None = None,
               clock: str | None = None, due_on: date | None = None, verdict: Verdict | None = None,
               publish: bool = True) -> None:
        """Add to the case history and publish it as a case event (the payload carries the typed fields),
        unless `publish` is False."""
        entry = _entry(at=self.now, kind=kind, ref=ref, detail=detail, element=element, clock=clock,
                       due_on=due_on, verdict=verdict)
        self.happened.append(entry)
        if not publish:
            # The occurrence number is used all the same, so ids and idempotency keys stay as they were.
            self.seq += 1
            return
        payload = {"ref": ref, "detail": detail, "phase": self.state.phase, **entry.facts()}
        self.emit(_event(key=self.key(kind), case_ref=self.state.case_ref, event=kind.replace("_", "-"),
                        payload=payload))

    def enter_phase(self, phase: str | None) -> None:
        """Elements (and a definition as a whole) may name the phase the case is in from there on."""
        if phase and phase != self.state.phase:
            self.state.phase = phase
            self.record("phase_entered", phase)

    def emit(self, command: Command) -> None:
        """Ask the outside world to do something once this event is committed."""
        self.commands.append(command)

    # --- timers ----------------------------------------------------------------------------------

    def schedule(self, kind: TimerKind, due: datetime, **fields: Any) -> Timer:
        """Add a timer; a moment already past fires at the next sweep, never before it was created."""
        timer = _timer(id=self.next_id("t"), kind=kind, due_at=max(due, self.now), created_at=self.now,
                      **fields)
        self.state.timers.append(timer)
        return timer

    def cancel_timers(self, *, token: str | None = None, clock: str | None = None) -> None:
        """Drop the timers of a token (its element is left) or of a clock (it is rescheduled or ends)."""
        self.state.timers = [
            t for t in self.state.timers
            if not ((token is not None and t.token == token) or (clock is not None and t.clock == clock))
        ]

    # --- tokens ----------------------------------------------------------------------------------

    def scope(self, scope_id: str) -> Scope:
        """A running (sub-)process of the case."""
        return next(s for s in self.state.scopes if s.id == scope_id)

    def token(self, token_id: str) -> Token | None:
        """A token of the case, if it still exists."""
        return next((t for t in self.state.tokens if t.id == token_id), None)

    def element_of(self, token: Token) -> Any:
        """The element a token is at."""
        return self.process.element(self.scope(token.scope).definition, token.element)

    def place(self, token: Token) -> None:
        """Put (or move) a token on its element and queue it to be entered."""
        self.state.tokens = [t for t in self.state.tokens if t.id != token.id] + [token]
        self.queue.append(token.id)

    def move(self, token: Token, target: str) -> None:
        """Move a token along a flow to `target`."""
        self.place(_token(id=token.id, scope=token.scope, element=target, arrived_at=self.now))

    def spawn(self, scope: str, target: str) -> None:
        """Start a new path in a scope at `target`."""
        self.place(_token(id=self.next_id("k"), scope=scope, element=target, arrived_at=self.now))

    # --- data and notifications ------------------------------------------------------------------

    def coerce(self, values: dict[str, Any], where: str, form: UserTask | None = None) -> dict[str, Any]:
        """Case data checked against the declared fields (and a task's form), as JSON values.

        A date before the case started is refused (DateBeforeStart) unless its field allows it, with a
        recorded warning (`before_start: warn`) or without (`allow`)."""
        found = coerce(values, self.process.data_fields, f"zaak {self.state.case_ref}, {where}", form)
        start = self.state.start_day()
        for name, value in found.items():
            field = self.process.data_fields.get(name)
            if start is None or value is None or field is None or field.type is not FieldType.date:
                continue
            if date.fromisoformat(value) < start:
                self.before_start(field.before_start, name, where, start,
                                  said=f"veld '{name}' is {day(date.fromisoformat(value))}")
        return found

    def occurred_on(self, occurred_on: date | None, what: str, message: str | None = None) -> date:
        """When a life event happened: its own date, or today; never after today (DateInFuture), and before
        the case started only where the catalogue allows it for the message (`before_start`)."""
        if occurred_on is not None and occurred_on > self.today:
            raise DateInFuture(f"zaak {self.state.case_ref}, {what}: dat gebeurde op {day(occurred_on)}, na vandaag "
                               f"({day(self.today)}); wat nog niet is gebeurd, kan niet worden vastgelegd")
        on = occurred_on or self.today
        start = self.state.start_day()
        if message is not None and start is not None and on < start:
            catalog = self.process.catalog
            rule = catalog.messages[message].before_start if catalog is not None else "refuse"
            self.before_start(rule, message, what, start, said=f"bericht '{message}' op {day(on)}")
        return on

    def before_start(self, rule: str, ref: str, where: str, start: date, *, said: str) -> None:
        """A date before the case's start (`said`: which date, in the team's words): refused, or accepted
        with a warning in the history, or accepted."""
        if rule == "refuse":
            raise DateBeforeStart(f"zaak {self.state.case_ref}, {where}: {said}, vóór de start van de zaak op "
                                  f"{day(start)}")
        if rule == "warn":
            self.record("warning", ref, f"{said}, vóór de start van de zaak op {day(start)}")

    def dates_for(self, what: str) -> _DatesFor:
        """Name the case and the element or clock (`what`) in a date that cannot be computed."""
        return _DatesFor(self.state.case_ref, what)

    def set_data(self, values: dict[str, Any], where: str) -> None:
        """Store literals, profile parameters or computed dates in case data (service tasks, handlers,
        milestones), checked against the declared fields like any other data."""
        with self.dates_for(where):
            computed = {name: self.eval.value(value, f"{where} zet '{name}'") for name, value in values.items()}
        self.state.data.update(self.coerce(computed, where))

    def notify(self, notify: Notify, reason: str) -> None:
        """Tell a role something; only process data may travel with it (PrivacyViolation otherwise)."""
        context: dict[str, Any] = {"case_ref": self.state.case_ref}
        for item in notify.context:
            if isinstance(item, ContextValue):
                with self.dates_for(f"te sturen bericht '{notify.template}'"):
                    context[item.name] = self.eval.context_value(item)
                continue
            field = self.process.data_fields.get(item)
            if field is None or not field.privacy.may_leave_case_store:
                category = f"privacy {field.privacy.value}" if field else "niet gedeclareerd"
                raise PrivacyViolation(f"te sturen bericht '{notify.template}' mag veld '{item}' niet bevatten "
                                       f"({category})")
            context[item] = self.state.data.get(item)
        self.tell(notify.role, notify.template, context, reason)

    def tell(self, role: str, template: str, context: dict[str, Any], reason: str) -> None:
        """Send a message to a role and note it in the history."""
        self.emit(_notify(key=self.key("notify"), case_ref=self.state.case_ref, role=role,
                          template=template, context=context, reason=reason))
        # In the history, not as a Prefect event of its own: a notice always follows a happening that
        # is published (a reminder, an escalation, a timer, a task opened), and the notice itself is
        # recorded where it is delivered. It halves the events a sweep publishes per case (issue 13).
        self.record("notified", role, template, publish=False)


class _DatesFor:
    """`Run.dates_for`: a plain context manager, not a generator one, as it wraps every element entered."""

    __slots__ = ("case_ref", "what")

    def __init__(self, case_ref: str, what: str):
        self.case_ref = case_ref
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, DateOutOfRange) and not getattr(exc, "located", False):
            located = DateOutOfRange(f"zaak {self.case_ref}, {self.what}: {exc}")
            located.located = True
            raise located from None
