"""Reference and privacy checks: every name a definition uses must exist, and no personal data may travel.

Roles, messages, templates (and the variables they use), data fields, profile parameters and clocks
are looked up in the catalogue and the whole library; a notification may carry only process data, and
never to the inburgeraar directly. `engine.validator` runs these checks over every element and clock.
"""

from __future__ import annotations

import re
from typing import Any

from engine.definitions import ContextValue, Definition, Notify, TimerSpec
from engine.durations import parse_duration
from engine.expressions import (
    After,
    AllOf,
    AnchorDate,
    AnyOf,
    Before,
    Choose,
    ClockDate,
    ClockMeasure,
    Compare,
    DaysSince,
    EarlierOf,
    FieldDate,
    FieldDuration,
    LaterOf,
    NotOf,
    ParamRef,
    TermShare,
)
from engine.loader import Library, Problem

NEVER_NOTIFIED = "inburgeraar"  # GLOSSARY.md: the person is never notified by this system directly
_VARIABLE = re.compile(r"{{\s*([a-zA-Z_][a-zA-Z0-9_]*)")


class References:
    """The problems of one definition, with the checks of the names it uses against the library."""

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
        """Report a problem at an element; `path` is the YAML key path that gives the line."""
        self.problems.append(Problem(self.file, element, message, self.library.line(self.file, path)))

    def element_path(self, element_id: str) -> tuple:
        """The YAML key path of an element of this definition (empty when there is none)."""
        for i, e in enumerate(self.d.elements):
            if e.id == element_id:
                return ("elements", i)
        return ()

    def check_role(self, element: str, role: str, path: tuple) -> None:
        """A role exists in the catalogue, and is not the inburgeraar (who is never addressed directly)."""
        if self.catalog and role not in self.catalog.roles:
            self.add(element, f"onbekende rol '{role}' (bekend: {', '.join(sorted(self.catalog.roles))})", path)
        if role == NEVER_NOTIFIED:
            self.add(element, f"Regie spreekt de {role} nooit rechtstreeks aan; geef het werk aan een partnerrol", path)

    def check_template(self, element: str, template: str, path: tuple, available: set[str]) -> None:
        """A template exists and uses only the variables this notification provides."""
        if not self.catalog:
            return
        found = self.catalog.templates.get(template)
        if found is None:
            self.add(element, f"onbekend berichtsjabloon '{template}'", path)
            return
        used = set(_VARIABLE.findall(found.subject + found.body))
        missing = sorted(used - available)
        if missing:
            self.add(element, f"berichtsjabloon '{template}' gebruikt {', '.join(missing)}, maar dit bericht "
                              f"geeft dat niet mee", path)

    def check_message(self, element: str, message: str, path: tuple) -> None:
        """A message (life event) exists in the catalogue."""
        if self.catalog and message not in self.catalog.messages:
            self.add(element, f"onbekend bericht '{message}'", path)

    def check_field(self, element: str, name: str, path: tuple) -> None:
        """A data field is declared by the catalogue or a definition."""
        if name not in self.fields:
            self.add(element, f"onbekend gegevensveld '{name}'", path)

    def check_param(self, element: str, spec: Any, path: tuple, kind: str = "duration") -> None:
        """A profile parameter exists and is of the kind needed (a duration, by default)."""
        if isinstance(spec, ParamRef):
            if spec.param not in self.params:
                self.add(element, f"onbekende parameter '{spec.param}'", path)
            elif self.params[spec.param][1].type != kind:
                self.add(element, f"parameter '{spec.param}' is van type {self.params[spec.param][1].type}, "
                                  f"niet {kind}", path)

    def check_date(self, element: str, expr: Any, path: tuple) -> None:
        """Every field, message, clock and parameter a date expression names exists (a field is a date)."""
        match expr:
            case FieldDate(field=name):
                self.check_field(element, name, path)
                if name in self.fields and self.fields[name].type.value != "date":
                    self.add(element, f"veld '{name}' is geen datum", path)
            case AnchorDate(anchor=name):
                self.check_message(element, name, path)
            case ClockDate(clock=name):
                if name not in self.clocks:
                    self.add(element, f"onbekende termijn '{name}'", path)
            case LaterOf(later_of=items) | EarlierOf(earlier_of=items):
                for item in items:
                    self.check_date(element, item, path)
            case After(after=spec, from_=base) | Before(before=spec, from_=base):
                self.check_param(element, spec, path)
                self.check_date(element, base, path)
            case Choose(if_=condition, then=then, else_=otherwise):
                self.check_condition(element, condition, path)
                self.check_date(element, then, path)
                self.check_date(element, otherwise, path)

    def check_duration_field(self, element: str, spec: Any, path: tuple) -> None:
        """A duration taken from case data names a declared field of type duration."""
        if isinstance(spec, FieldDuration):
            self.check_field(element, spec.field, path)
            if spec.field in self.fields and self.fields[spec.field].type.value != "duration":
                self.add(element, f"veld '{spec.field}' is geen duur", path)

    def check_condition(self, element: str, condition: Any, path: tuple) -> None:
        """Every field, parameter and enum value a gateway condition names exists."""
        match condition:
            case AllOf(all=items) | AnyOf(any=items):
                for item in items:
                    self.check_condition(element, item, path)
            case NotOf(not_=inner):
                self.check_condition(element, inner, path)
            case Compare(param=param) if param is not None:
                if param not in self.params:
                    self.add(element, f"onbekende parameter '{param}'", path)
            case Compare(anchor=anchor) if anchor is not None:
                self.check_message(element, anchor, path)
            case Compare(field=name, value=value):
                self.check_field(element, name, path)
                field = self.fields.get(name)
                if isinstance(value, ParamRef) and value.param not in self.params:
                    self.add(element, f"onbekende parameter '{value.param}'", path)
                elif field is not None and field.values and value is not None and not isinstance(value, ParamRef):
                    for v in value if isinstance(value, list) else [value]:
                        if v not in field.values:
                            self.add(element, f"'{v}' is geen waarde van veld '{name}'", path)

    def check_notify(self, element: str, notify: Notify, path: tuple) -> None:
        """A notification's role, template and context exist; its context carries only process data."""
        self.check_role(element, notify.role, path)
        available = {"case_ref"}
        for item in notify.context:
            if isinstance(item, ContextValue):
                available.add(item.name)
                value = item.value
                if isinstance(value, ClockMeasure):
                    if value.clock not in self.clocks:
                        self.add(element, f"onbekende termijn '{value.clock}'", path)
                elif isinstance(value, DaysSince):
                    self.check_date(element, value.days_since, path)
                elif isinstance(value, TermShare):
                    if value.share_of not in self.clocks:
                        self.add(element, f"onbekende termijn '{value.share_of}'", path)
                    self.check_date(element, value.since, path)
                else:
                    self.check_date(element, value, path)
                continue
            available.add(item)
            field = self.fields.get(item)
            if field is None:
                self.add(element, f"de context van het bericht noemt onbekend gegevensveld '{item}'", path)
            elif not field.privacy.may_leave_case_store:
                self.add(element, f"de context van het bericht mag '{item}' niet bevatten: dat zijn "
                                  f"{field.privacy.value}-gegevens, die in de zaakopslag blijven", path)
        self.check_template(element, notify.template, path, available)

    def check_set(self, element: str, values: dict[str, Any], path: tuple) -> None:
        """What `set:` stores fits the field: a known value, an existing parameter, or a valid date."""
        for name, value in values.items():
            self.check_field(element, name, path)
            field = self.fields.get(name)
            if isinstance(value, (bool, int, str)):
                if field is not None and field.values and value not in field.values:
                    self.add(element, f"'{value}' is geen waarde van veld '{name}'", path)
            elif isinstance(value, ParamRef):
                if value.param not in self.params:
                    self.add(element, f"onbekende parameter '{value.param}'", path)
            else:
                self.check_date(element, value, path)

    def check_timer(self, element: str, timer: TimerSpec, path: tuple) -> None:
        """A timer's parameters and dates exist, and a cycle is longer than zero."""
        if timer.duration is not None:
            self.check_param(element, timer.duration, path)
        if timer.date is not None:
            self.check_date(element, timer.date, path)
        if timer.cycle is not None:
            self.check_param(element, timer.cycle.every, path)
            if timer.cycle.start is not None:
                self.check_date(element, timer.cycle.start, path)
            if isinstance(timer.cycle.every, str) and parse_duration(timer.cycle.every).is_zero:
                self.add(element, "een herhaling (cycle) heeft een duur langer dan nul nodig", path)

    # --- elements --------------------------------------------------------------------------------
