"""Checks over a whole library of definitions; every problem is reported at once.

The models already reject unknown keys, wrong types and bad durations (and durations over ten years).
Here we check what needs the whole picture, element by element and clock by clock: the names they use
(`engine.references`: roles, messages, templates, fields, parameters, clocks; privacy of what
notifications carry), ids, and the profiles' parameters; then the graph (`engine.graph`): every
element reachable and able to reach an end, parallel paths that split and join in balance, no
call-activity cycles.

Two rules are policy for what new cases get, so they bind the latest version of each definition only
(an older version is kept unchanged for the cases that still run on it): every user task with a
deadline says who hears when it passes (`escalations`) or why nobody does (`no_escalation`), and a
statutory clock (`atw: true`) cites the Algemene termijnenwet in its source.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.definitions import (
    BoundaryMessage,
    BoundaryTimer,
    CallActivity,
    Clock,
    EndEvent,
    ExclusiveGateway,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    ServiceTask,
    StartEvent,
    UserTask,
    check_parameter_value,
)
from engine.expressions import ParamRef
from engine.graph import call_cycles, flow_problems, gateway_problems
from engine.loader import Library, Problem, load_library
from engine.process import successors
from engine.references import References
from engine.senders import sender_problems

# Variables every task notification has (see engine.user_tasks.notify_task); other notifications get
# `case_ref` plus their declared context.
TASK_TEMPLATE_VARIABLES = {"case_ref", "step", "step_name", "task_id", "role", "instructions", "due_on"}
TASK_TEMPLATE_DEFAULTS = ("taak_geopend",)
UNKNOWN_ELEMENT = "onbekend element"
"""How a problem names an element that does not exist (the flow checks wait until there is none)."""


def validate_paths(paths: list[Path] | None = None, base: Path | None = None) -> tuple[Library, list[Problem]]:
    """Load and check every definition file under `paths`; return the library and all problems, sorted."""
    library, problems = load_library(paths, base)
    problems.extend(check_library(library))
    return library, sorted(set(problems), key=lambda p: (p.file, p.line or 0, p.element, p.message))


def check_library(library: Library) -> list[Problem]:
    """Every cross-reference and graph problem in a loaded library."""
    problems: list[Problem] = []
    if library.catalog is None and (library.definitions or library.profiles):
        problems.append(Problem("process_definitions", "catalog", "geen catalogus (kind: catalog) gevonden"))
    problems.extend(sender_problems(library))
    params = {name: (d, p) for d in library.definitions.values() for name, p in d.parameters.items()}
    problems.extend(_parameter_conflicts(library))
    for definition in library.definitions.values():
        problems.extend(_DefinitionCheck(library, definition, params).run())
    problems.extend(Problem(library.files[ref], ref, message) for ref, message in call_cycles(library.definitions))
    for profile in library.profiles.values():
        file = library.files[f"profile:{profile.id}"]
        for name, value in profile.parameters.items():
            line = library.line(file, ("parameters", name))
            if name not in params:
                problems.append(Problem(file, profile.id, f"parameter '{name}' is door geen enkele definitie "
                                                          f"gedeclareerd", line))
                continue
            try:
                check_parameter_value(params[name][1].type, value)
            except ValueError as exc:
                problems.append(Problem(file, profile.id, f"parameter '{name}': {exc}", line))
    return problems


def _parameter_conflicts(library: Library) -> list[Problem]:
    """A parameter several definitions declare must mean one thing: the same type and default everywhere
    (a profile sets it once for all of them, and the overview shows one norm)."""
    first: dict[str, Any] = {}
    problems = []
    for definition in library.definitions.values():
        for name, parameter in definition.parameters.items():
            if name not in first:
                first[name] = (definition, parameter)
                continue
            other, declared = first[name]
            if (declared.type, declared.default) != (parameter.type, parameter.default):
                problems.append(Problem(library.files[definition.ref], definition.ref,
                                        f"parameter '{name}' is hier gedeclareerd als {parameter.type} "
                                        f"{parameter.default!r}, maar in {other.ref} als {declared.type} "
                                        f"{declared.default!r}: gebruik één declaratie, of een nieuwe naam voor "
                                        f"een nieuwe betekenis",
                                        library.line(library.files[definition.ref], ("parameters", name))))
    return problems


# A statutory clock's source names the Algemene termijnenwet rule it applies.
ATW_SOURCE = ("wi2021.md#13", "row 16")


class _DefinitionCheck(References):
    """Every check of one definition: ids, data declarations, elements, clocks, handlers and the graph."""

    @property
    def latest(self) -> bool:
        """Whether this is the version new cases get (policy rules bind it; older versions stay as they were)."""
        return self.library.latest(self.d.id).version == self.d.version

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
        for element, message in gateway_problems(self.d):
            self.add(element, message, self.element_path(element))
        if not self.problems_with_references():
            for element, message in flow_problems(self.d):
                self.add(element, message, self.element_path(element))
        return self.problems

    def problems_with_references(self) -> bool:
        return any(UNKNOWN_ELEMENT in p.message for p in self.problems)

    # --- names -----------------------------------------------------------------------------------

    def check_ids(self) -> None:
        seen: dict[str, str] = {}
        for element in self.d.elements:
            ids = [element.id] + [b.id for b in getattr(element, "boundary", [])]
            for item in ids:
                if item in seen:
                    self.add(item, f"dubbel id (ook gebruikt door {seen[item]})", self.element_path(element.id))
                seen[item] = element.id
        for clock in self.d.clocks:
            if clock.id in seen:
                self.add(clock.id, "dubbel id: een termijn en een element hebben hetzelfde id")
            milestone_ids = [m.id for m in clock.milestones]
            for m in {m for m in milestone_ids if milestone_ids.count(m) > 1}:
                self.add(clock.id, f"dubbel id van mijlpaal '{m}'")
        handler_ids = [h.id for h in self.d.message_handlers]
        for h in {h for h in handler_ids if handler_ids.count(h) > 1}:
            self.add(h, "dubbel id van berichtafhandeling")

    def check_data_declarations(self) -> None:
        if not self.catalog:
            return
        for name, field in self.d.data.items():
            shared = self.catalog.data.get(name)
            if shared is not None and (shared.type, shared.privacy, shared.values) != (field.type, field.privacy,
                                                                                        field.values):
                self.add(name, "gegevensveld met een ander type, andere privacy of andere waarden dan in de catalogus",
                         ("data", name))

    # --- elements and clocks ----------------------------------------------------------------------

    def check_element(self, element: Any) -> None:
        path = self.element_path(element.id)
        for target in successors(element):
            if target not in self.elements:
                self.add(element.id, f"{UNKNOWN_ELEMENT} '{target}' in de uitgaande stromen", path)
        if self.catalog and element.phase and self.catalog.phases and element.phase not in self.catalog.phases:
            self.add(element.id, f"onbekende fase '{element.phase}'", path)
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
                    self.add(element.id, "keuzepunt (exclusive_gateway) heeft geen standaardtak (default)", path)
                for branch in element.branches:
                    self.check_condition(element.id, branch.when, path)
            case CallActivity():
                ref = f"{element.process}@{element.version}"
                if ref not in self.library.definitions:
                    self.add(element.id, f"roept onbekende definitie '{ref}' aan", path)
                elif not any(isinstance(e, StartEvent) and e.message is None
                             for e in self.library.definitions[ref].elements):
                    self.add(element.id, f"roept '{ref}' aan, die geen gewone start (zonder bericht) heeft", path)
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
            if declared is not None and not declared.privacy.may_leave_case_store and field.required:
                # The Prefect inbox leaves personal fields off its form (it keeps what is submitted), so it
                # could never complete the step: such a field is optional, entered with `regie case complete`.
                self.add(task.id, f"formulierveld '{field.field}' is {declared.privacy.value}-gegevens: de "
                                  f"Prefect-inbox laat het weg (Prefect bewaart wat een formulier indient), dus "
                                  f"het is optioneel (required: false) en wordt ingevuld met `regie case complete`",
                         path)
            if declared is not None and declared.type.value == "duration":
                self.add(task.id, f"formulierveld '{field.field}' is een duur: het inboxformulier heeft daar "
                                  f"geen invoer voor; laat het bericht met het besluit de duur meebrengen", path)
        if task.deadline is not None and not task.escalations and task.no_escalation is None and self.latest:
            self.add(task.id, "heeft een termijn maar vertelt niemand wanneer die verstrijkt: voeg `escalations` "
                              "toe (wie het hoort) of `no_escalation: <waarom niemand het hoeft te horen>`", path)
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
        if clock.start_if is not None:
            self.check_condition(clock.id, clock.start_if, path)
        if clock.stopped_on is not None:
            self.check_date(clock.id, clock.stopped_on, path)
            if not clock.stop_on:
                self.add(clock.id, "stopped_on zonder stop_on: niets stopt ooit de termijn", path)
        if clock.restart_after_stop and clock.first_only:
            self.add(clock.id, "restart_after_stop vraagt first_only: false", path)
        if clock.atw and not clock.deadline:
            self.add(clock.id, "atw: true bij een periode (deadline: false): de Algemene termijnenwet verschuift "
                               "alleen het einde van een termijn waarbinnen iemand moet handelen", path)
        if clock.atw and self.latest and not any(cite in clock.source for cite in ATW_SOURCE):
            self.add(clock.id, "een wettelijke termijn (atw: true) noemt de Algemene termijnenwet in zijn source "
                               "(wi2021.md#13 of row 16)", path)
        triggers = [*clock.start_on, *clock.pause_on, *clock.resume_on, *clock.stop_on,
                    *(e.on for e in clock.extensions)]
        for trigger in triggers:
            if trigger.message:
                self.check_message(clock.id, trigger.message, path)
            name = trigger.completed or trigger.reached
            if name and name not in self.elements:
                self.add(clock.id, f"trigger noemt {UNKNOWN_ELEMENT} '{name}' (een trigger kijkt alleen in de "
                                   f"eigen definitie)",
                         path)
            if trigger.completed and isinstance(self.elements.get(trigger.completed), (StartEvent, EndEvent)):
                self.add(clock.id, f"'{trigger.completed}' is een gebeurtenis, geen taak: gebruik `reached`", path)
        if clock.pause_on and not clock.resume_on:
            self.add(clock.id, "termijn kan pauzeren maar loopt nooit weer verder (geen resume_on)", path)
        for extension in clock.extensions:
            if extension.new_end is not None:
                self.check_date(clock.id, extension.new_end, path)
            if extension.by is not None:
                self.check_param(clock.id, extension.by, path)
                self.check_duration_field(clock.id, extension.by, path)
        for milestone in clock.milestones:
            self.check_param(milestone.id, milestone.after_start or milestone.before_end, path)
            if milestone.notify is not None:
                self.check_notify(f"{clock.id}.{milestone.id}", milestone.notify, path)
            self.check_set(f"{clock.id}.{milestone.id}", milestone.set or {}, path)
        if clock.expiry is not None:
            self.check_notify(clock.id, clock.expiry, path)
