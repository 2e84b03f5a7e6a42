"""Graph and reference checks over a whole library of definitions; every problem is reported at once.

The models already reject unknown keys, wrong types and bad durations. Here we check what needs the
whole picture: references between elements, definitions, the catalogue and the profiles; that every
element is reachable and can reach an end; that parallel paths split and join in balance; and that
no notification can carry identifying or special-category data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.definitions import (
    BoundaryMessage,
    BoundaryTimer,
    CallActivity,
    Clock,
    ContextValue,
    Definition,
    EndEvent,
    ExclusiveGateway,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    Notify,
    ParallelGateway,
    ServiceTask,
    StartEvent,
    TimerSpec,
    UserTask,
    check_parameter_value,
)
from engine.durations import parse_duration
from engine.expressions import (
    After,
    AllOf,
    AnchorDate,
    AnyOf,
    Before,
    ClockDate,
    ClockMeasure,
    Compare,
    DaysSince,
    EarlierOf,
    FieldDate,
    LaterOf,
    NotOf,
    ParamRef,
    TermShare,
)
from engine.loader import Library, Problem, load_library
from engine.process import successors

# Variables every task notification has (see interpreter.notify_task); other notifications get
# `case_ref` plus their declared context.
TASK_TEMPLATE_VARIABLES = {"case_ref", "step", "step_name", "task_id", "role", "instructions", "due_on"}
TASK_TEMPLATE_DEFAULTS = ("taak_geopend",)
NEVER_NOTIFIED = "inburgeraar"  # GLOSSARY.md: the person is never notified by this system directly
_VARIABLE = re.compile(r"{{\s*([a-zA-Z_][a-zA-Z0-9_]*)")


def validate_paths(paths: list[Path] | None = None, base: Path | None = None) -> tuple[Library, list[Problem]]:
    """Load and check every definition file under `paths`; return the library and all problems, sorted."""
    library, problems = load_library(paths, base)
    problems.extend(check_library(library))
    return library, sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.element, p.message))


def check_library(library: Library) -> list[Problem]:
    """Every cross-reference and graph problem in a loaded library."""
    problems: list[Problem] = []
    if library.catalog is None and (library.definitions or library.profiles):
        problems.append(Problem("process_definitions", "catalog", "no catalogue (kind: catalog) found"))
    params = {name: (d, p) for d in library.definitions.values() for name, p in d.parameters.items()}
    for definition in library.definitions.values():
        problems.extend(_DefinitionCheck(library, definition, params).run())
    problems.extend(_call_cycles(library))
    for profile in library.profiles.values():
        file = library.files[f"profile:{profile.id}"]
        for name, value in profile.parameters.items():
            line = library.line(file, ("parameters", name))
            if name not in params:
                problems.append(Problem(file, profile.id, f"parameter '{name}' is not declared by any definition", line))
                continue
            try:
                check_parameter_value(params[name][1].type, value)
            except ValueError as exc:
                problems.append(Problem(file, profile.id, f"parameter '{name}': {exc}", line))
    return problems


class _DefinitionCheck:
    def __init__(self, library: Library, definition: Definition, params: dict[str, Any]):
        self.library = library
        self.d = definition
        self.file = library.files[definition.ref]
        self.params = params
        self.catalog = library.catalog
        self.fields = dict(self.catalog.data) if self.catalog else {}
        for other in library.definitions.values():
            self.fields.update(other.data)
        self.problems: list[Problem] = []
        self.elements = {e.id: e for e in definition.elements}
        self.clocks = {c.id for c in definition.clocks} | {
            c.id for other in library.definitions.values() for c in other.clocks
        }

    def add(self, element: str, message: str, path: tuple = ()) -> None:
        self.problems.append(Problem(self.file, element, message, self.library.line(self.file, path)))

    def element_path(self, element_id: str) -> tuple:
        for i, e in enumerate(self.d.elements):
            if e.id == element_id:
                return ("elements", i)
        return ()

    def run(self) -> list[Problem]:
        self.check_ids()
        self.check_data_declarations()
        for element in self.d.elements:
            self.check_element(element)
        for i, clock in enumerate(self.d.clocks):
            self.check_clock(clock, ("clocks", i))
        for i, handler in enumerate(self.d.message_handlers):
            path = ("message_handlers", i)
            self.check_message(handler.id, handler.message, path)
            for notify in handler.notify:
                self.check_notify(handler.id, notify, path)
            self.check_set(handler.id, handler.set or {}, path)
        if not self.problems_with_references():
            self.check_graph()
        return self.problems

    def problems_with_references(self) -> bool:
        return any("unknown element" in p.message for p in self.problems)

    # --- names -----------------------------------------------------------------------------------

    def check_ids(self) -> None:
        seen: dict[str, str] = {}
        for element in self.d.elements:
            ids = [element.id] + [b.id for b in getattr(element, "boundary", [])]
            for item in ids:
                if item in seen:
                    self.add(item, f"duplicate id (also used by {seen[item]})", self.element_path(element.id))
                seen[item] = element.id
        for clock in self.d.clocks:
            if clock.id in seen:
                self.add(clock.id, "duplicate id: a clock and an element share it")
            milestone_ids = [m.id for m in clock.milestones]
            for m in {m for m in milestone_ids if milestone_ids.count(m) > 1}:
                self.add(clock.id, f"duplicate milestone id '{m}'")
        handler_ids = [h.id for h in self.d.message_handlers]
        for h in {h for h in handler_ids if handler_ids.count(h) > 1}:
            self.add(h, "duplicate message handler id")

    def check_data_declarations(self) -> None:
        if not self.catalog:
            return
        for name, field in self.d.data.items():
            shared = self.catalog.data.get(name)
            if shared is not None and (shared.type, shared.privacy, shared.values) != (field.type, field.privacy,
                                                                                        field.values):
                self.add(name, "data field declared with another type, privacy or values than in the catalogue",
                         ("data", name))

    def check_role(self, element: str, role: str, path: tuple) -> None:
        if self.catalog and role not in self.catalog.roles:
            self.add(element, f"unknown role '{role}' (known: {', '.join(sorted(self.catalog.roles))})", path)
        if role == NEVER_NOTIFIED:
            self.add(element, f"the {role} is never addressed by Regie directly; give the work to a partner role", path)

    def check_template(self, element: str, template: str, path: tuple, available: set[str]) -> None:
        if not self.catalog:
            return
        found = self.catalog.templates.get(template)
        if found is None:
            self.add(element, f"unknown template '{template}'", path)
            return
        used = set(_VARIABLE.findall(found.subject + found.body))
        missing = sorted(used - available)
        if missing:
            self.add(element, f"template '{template}' uses {', '.join(missing)}, which this notification "
                              f"does not provide", path)

    def check_message(self, element: str, message: str, path: tuple) -> None:
        if self.catalog and message not in self.catalog.messages:
            self.add(element, f"unknown message '{message}'", path)

    def check_field(self, element: str, name: str, path: tuple) -> None:
        if name not in self.fields:
            self.add(element, f"unknown data field '{name}'", path)

    def check_param(self, element: str, spec: Any, path: tuple, kind: str = "duration") -> None:
        if isinstance(spec, ParamRef):
            if spec.param not in self.params:
                self.add(element, f"unknown parameter '{spec.param}'", path)
            elif self.params[spec.param][1].type != kind:
                self.add(element, f"parameter '{spec.param}' is a {self.params[spec.param][1].type}, not a {kind}",
                         path)

    def check_date(self, element: str, expr: Any, path: tuple) -> None:
        match expr:
            case FieldDate(field=name):
                self.check_field(element, name, path)
                if name in self.fields and self.fields[name].type.value != "date":
                    self.add(element, f"field '{name}' is not a date", path)
            case AnchorDate(anchor=name):
                self.check_message(element, name, path)
            case ClockDate(clock=name):
                if name not in self.clocks:
                    self.add(element, f"unknown clock '{name}'", path)
            case LaterOf(later_of=items) | EarlierOf(earlier_of=items):
                for item in items:
                    self.check_date(element, item, path)
            case After(after=spec, from_=base) | Before(before=spec, from_=base):
                self.check_param(element, spec, path)
                self.check_date(element, base, path)

    def check_condition(self, element: str, condition: Any, path: tuple) -> None:
        match condition:
            case AllOf(all=items) | AnyOf(any=items):
                for item in items:
                    self.check_condition(element, item, path)
            case NotOf(not_=inner):
                self.check_condition(element, inner, path)
            case Compare(param=param) if param is not None:
                if param not in self.params:
                    self.add(element, f"unknown parameter '{param}'", path)
            case Compare(field=name, value=value):
                self.check_field(element, name, path)
                field = self.fields.get(name)
                if isinstance(value, ParamRef) and value.param not in self.params:
                    self.add(element, f"unknown parameter '{value.param}'", path)
                elif field is not None and field.values and value is not None and not isinstance(value, ParamRef):
                    for v in value if isinstance(value, list) else [value]:
                        if v not in field.values:
                            self.add(element, f"'{v}' is not a value of field '{name}'", path)

    def check_notify(self, element: str, notify: Notify, path: tuple) -> None:
        self.check_role(element, notify.role, path)
        available = {"case_ref"}
        for item in notify.context:
            if isinstance(item, ContextValue):
                available.add(item.name)
                value = item.value
                if isinstance(value, ClockMeasure):
                    if value.clock not in self.clocks:
                        self.add(element, f"unknown clock '{value.clock}'", path)
                elif isinstance(value, DaysSince):
                    self.check_date(element, value.days_since, path)
                elif isinstance(value, TermShare):
                    if value.share_of not in self.clocks:
                        self.add(element, f"unknown clock '{value.share_of}'", path)
                    self.check_date(element, value.since, path)
                else:
                    self.check_date(element, value, path)
                continue
            available.add(item)
            field = self.fields.get(item)
            if field is None:
                self.add(element, f"notification context names unknown data field '{item}'", path)
            elif not field.privacy.may_leave_case_store:
                self.add(element, f"notification context may not carry '{item}': it is {field.privacy.value} "
                                  f"data and must stay in the case store", path)
        self.check_template(element, notify.template, path, available)

    def check_set(self, element: str, values: dict[str, Any], path: tuple) -> None:
        for name, value in values.items():
            self.check_field(element, name, path)
            field = self.fields.get(name)
            if isinstance(value, (bool, int, str)):
                if field is not None and field.values and value not in field.values:
                    self.add(element, f"'{value}' is not a value of field '{name}'", path)
            elif isinstance(value, ParamRef):
                if value.param not in self.params:
                    self.add(element, f"unknown parameter '{value.param}'", path)
            else:
                self.check_date(element, value, path)

    def check_timer(self, element: str, timer: TimerSpec, path: tuple) -> None:
        if timer.duration is not None:
            self.check_param(element, timer.duration, path)
        if timer.date is not None:
            self.check_date(element, timer.date, path)
        if timer.cycle is not None:
            self.check_param(element, timer.cycle.every, path)
            if timer.cycle.start is not None:
                self.check_date(element, timer.cycle.start, path)
            if isinstance(timer.cycle.every, str) and parse_duration(timer.cycle.every).is_zero:
                self.add(element, "a cycle needs a duration longer than zero", path)

    # --- elements --------------------------------------------------------------------------------

    def check_element(self, element: Any) -> None:
        path = self.element_path(element.id)
        for target in successors(element):
            if target not in self.elements:
                self.add(element.id, f"unknown element '{target}' in its outgoing flows", path)
        if self.catalog and element.phase and self.catalog.phases and element.phase not in self.catalog.phases:
            self.add(element.id, f"unknown phase '{element.phase}'", path)
        match element:
            case StartEvent(message=message) if message:
                self.check_message(element.id, message, path)
            case UserTask():
                self.check_user_task(element, path)
            case ServiceTask():
                if element.notify is not None:
                    self.check_notify(element.id, element.notify, path)
                self.check_set(element.id, element.set or {}, path)
            case IntermediateTimerEvent():
                self.check_timer(element.id, element.timer, path)
            case IntermediateMessageEvent():
                self.check_message(element.id, element.message, path)
                if element.timeout is not None:
                    self.check_timer(element.id, element.timeout.timer, path)
                    if element.timeout.notify:
                        self.check_notify(element.id, element.timeout.notify, path)
            case ExclusiveGateway():
                if element.default is None:
                    self.add(element.id, "exclusive gateway has no default flow", path)
                for branch in element.branches:
                    self.check_condition(element.id, branch.when, path)
            case ParallelGateway():
                incoming = self.incoming().get(element.id, 0)
                if incoming <= 1 and len(element.next) <= 1:
                    self.add(element.id, "parallel gateway neither splits nor joins", path)
                if incoming > 1 and len(element.next) > 1:
                    self.add(element.id, "parallel gateway both joins and splits; use two gateways", path)
            case CallActivity():
                ref = f"{element.process}@{element.version}"
                if ref not in self.library.definitions:
                    self.add(element.id, f"calls unknown definition '{ref}'", path)
                elif not any(isinstance(e, StartEvent) and e.message is None
                             for e in self.library.definitions[ref].elements):
                    self.add(element.id, f"calls '{ref}', which has no plain start event", path)
        for boundary in getattr(element, "boundary", []):
            if isinstance(boundary, BoundaryTimer):
                self.check_timer(boundary.id, boundary.timer, path)
            elif isinstance(boundary, BoundaryMessage):
                self.check_message(boundary.id, boundary.message, path)
            if boundary.notify is not None:
                self.check_notify(boundary.id, boundary.notify, path)

    def check_user_task(self, task: UserTask, path: tuple) -> None:
        self.check_role(task.id, task.role, path)
        task_vars = TASK_TEMPLATE_VARIABLES
        if task.notify_on_open:
            for template in TASK_TEMPLATE_DEFAULTS:
                self.check_template(task.id, template, path, task_vars)
        for field in task.form:
            self.check_field(task.id, field.field, path)
            declared = self.fields.get(field.field)
            if declared is not None and not declared.privacy.may_leave_case_store:
                self.add(task.id, f"form field '{field.field}' is {declared.privacy.value} data: forms are shown "
                                  f"and kept in the Prefect UI; record it in the case store instead", path)
        if task.deadline is not None:
            if isinstance(task.deadline, (str, ParamRef)):
                self.check_param(task.id, task.deadline, path)
            else:
                self.check_date(task.id, task.deadline, path)
        for reminder in task.reminders:
            self.check_param(task.id, reminder.before, path)
            if reminder.to is not None:
                self.check_role(task.id, reminder.to, path)
            self.check_template(task.id, reminder.template, path, task_vars)
        for escalation in task.escalations:
            self.check_param(task.id, escalation.after, path)
            self.check_role(task.id, escalation.to, path)
            self.check_template(task.id, escalation.template, path, task_vars)

    def check_clock(self, clock: Clock, path: tuple) -> None:
        self.check_param(clock.id, clock.duration, path)
        if clock.resume_delay is not None:
            self.check_param(clock.id, clock.resume_delay, path)
        if clock.start_from is not None:
            self.check_date(clock.id, clock.start_from, path)
        triggers = [*clock.start_on, *clock.pause_on, *clock.resume_on, *clock.stop_on,
                    *(e.on for e in clock.extensions)]
        for trigger in triggers:
            if trigger.message:
                self.check_message(clock.id, trigger.message, path)
            name = trigger.completed or trigger.reached
            if name and name not in self.elements:
                self.add(clock.id, f"trigger names unknown element '{name}' (triggers see their own definition)",
                         path)
            if trigger.completed and isinstance(self.elements.get(trigger.completed), (StartEvent, EndEvent)):
                self.add(clock.id, f"'{trigger.completed}' is an event, not a task: use `reached`", path)
        if clock.pause_on and not clock.resume_on:
            self.add(clock.id, "clock can be paused but never resumed", path)
        for extension in clock.extensions:
            if extension.new_end is not None:
                self.check_date(clock.id, extension.new_end, path)
            if extension.by is not None:
                self.check_param(clock.id, extension.by, path)
        for milestone in clock.milestones:
            self.check_param(milestone.id, milestone.after_start or milestone.before_end, path)
            if milestone.notify is not None:
                self.check_notify(f"{clock.id}.{milestone.id}", milestone.notify, path)
            self.check_set(f"{clock.id}.{milestone.id}", milestone.set or {}, path)
        if clock.expiry is not None:
            self.check_notify(clock.id, clock.expiry, path)

    # --- graph -----------------------------------------------------------------------------------

    def incoming(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for element in self.d.elements:
            for target in successors(element):
                counts[target] = counts.get(target, 0) + 1
        return counts

    def check_graph(self) -> None:
        starts = [e for e in self.d.elements if isinstance(e, StartEvent)]
        if not starts:
            self.add(self.d.id, "no start event")
            return
        plain = [s.id for s in starts if s.message is None]
        if len(plain) > 1:
            self.add(self.d.id, f"more than one plain start event: {', '.join(plain)}")
        if not any(isinstance(e, EndEvent) for e in self.d.elements):
            self.add(self.d.id, "no end event")
        reachable = self.walk([s.id for s in starts], forward=True)
        for element in self.d.elements:
            if element.id not in reachable:
                self.add(element.id, "unreachable from any start event", self.element_path(element.id))
        ends = [e.id for e in self.d.elements if isinstance(e, EndEvent)]
        can_end = self.walk(ends, forward=False)
        for element in self.d.elements:
            if element.id in reachable and element.id not in can_end:
                self.add(element.id, "dead end: no path from here reaches an end event", self.element_path(element.id))
        self.check_parallel_balance()

    def walk(self, roots: list[str], forward: bool) -> set[str]:
        edges: dict[str, list[str]] = {}
        for element in self.d.elements:
            for target in successors(element):
                if forward:
                    edges.setdefault(element.id, []).append(target)
                else:
                    edges.setdefault(target, []).append(element.id)
        seen: set[str] = set()
        stack = list(roots)
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(edges.get(node, []))
        return seen

    def check_parallel_balance(self) -> None:
        """Each parallel split's branches must all meet at one join with exactly that many incoming flows.

        A branch that ends, or meets another join first, would leave the join waiting for ever; a join
        fed by an exclusive choice (fewer tokens than flows) deadlocks the same way.
        """
        incoming = self.incoming()
        joins = {e.id for e in self.d.elements if isinstance(e, ParallelGateway) and incoming.get(e.id, 0) > 1}
        matched: dict[str, str] = {}
        for element in self.d.elements:
            if not isinstance(element, ParallelGateway) or len(element.next) < 2:
                continue
            found = set()
            for branch in element.next:
                found |= self.first_joins(branch, joins, set())
            path = self.element_path(element.id)
            if len(found) != 1 or None in found:
                what = ", ".join(sorted("an end event" if j is None else f"join '{j}'" for j in found))
                self.add(element.id, f"unbalanced parallel split: its branches reach {what}, not one join", path)
                continue
            join = found.pop()
            if incoming[join] != len(element.next):
                self.add(element.id, f"unbalanced parallel split: {len(element.next)} branches but join "
                                     f"'{join}' has {incoming[join]} incoming flows", path)
            matched[join] = element.id
        for join in sorted(joins - set(matched)):
            self.add(join, "parallel join without a matching parallel split (it would wait for ever)",
                     self.element_path(join))

    def first_joins(self, start: str, joins: set[str], seen: set[str]) -> set[str | None]:
        """The parallel joins first met on every path from `start` (None for an end event)."""
        if start in seen:
            return set()
        seen = seen | {start}
        element = self.elements[start]
        if start in joins:
            return {start}
        if isinstance(element, EndEvent):
            return {None}
        if isinstance(element, ParallelGateway) and len(element.next) > 1:
            inner: set[str | None] = set()
            for branch in element.next:
                inner |= self.first_joins(branch, joins, seen)
            if len(inner) == 1 and None not in inner:
                nested = next(iter(inner))
                result: set[str | None] = set()
                for target in self.elements[nested].next:
                    result |= self.first_joins(target, joins, seen | {nested})
                return result
            return inner
        result = set()
        for target in _main_successors(element):
            result |= self.first_joins(target, joins, seen)
        return result


def _main_successors(element: Any) -> list[str]:
    """Where the token itself can go: a non-interrupting boundary event starts a side path on a token
    of its own (which ends at an end event), so it does not count for split/join balance."""
    side = {b.next for b in getattr(element, "boundary", []) if not b.interrupting and b.next}
    main = [t for t in successors(element) if t not in side]
    return main if main else successors(element)


def _call_cycles(library: Library) -> list[Problem]:
    problems = []
    calls = {
        ref: [f"{e.process}@{e.version}" for e in d.elements if isinstance(e, CallActivity)]
        for ref, d in library.definitions.items()
    }

    def cycle_from(ref: str, path: list[str]) -> list[str] | None:
        for callee in calls.get(ref, []):
            if callee == path[0]:
                return path + [callee]
            if callee not in path and callee in calls:
                found = cycle_from(callee, path + [callee])
                if found:
                    return found
        return None

    for ref in sorted(calls):
        cycle = cycle_from(ref, [ref])
        if cycle:
            problems.append(Problem(library.files[ref], ref, "call-activity cycle: " + " -> ".join(cycle)))
    return problems
