"""The partner page as data: what a link shows (process data only) and the forms it offers.

A page shows the case reference, the step, what to do and by when, and how long the link works;
never personal data, and no case data either: the partner only sees the empty form of their step and
of the signals their role may send. The portal renders it as HTML; tests read it directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

from app.links.forms import FieldView, field_views, read_form, words
from app.views import TaskView
from engine.calendar import long_date
from engine.commands import FormFieldSpec
from engine.definitions import Catalog

STEP = "stap"
"""The action id of completing the link's step (a signal's action id is its message)."""


@dataclass(frozen=True)
class Action:
    """One thing the partner can do on the page: complete the step, or send one signal."""

    id: str
    kind: Literal["step", "signal"]
    title: str
    explanation: str
    button: str
    specs: tuple[FormFieldSpec, ...]
    fields: tuple[FieldView, ...]

    def read(self, posted: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """(typed data, {}) or ({}, Dutch errors per field)."""
        return read_form(self.specs, posted)


@dataclass(frozen=True)
class LinkPage:
    """What a valid link shows."""

    case_ref: str
    role: str
    title: str
    instructions: str
    due: str | None
    """the deadline in words (`16 maart 2026`), if the step has one"""
    overdue: bool
    valid_until: str
    actions: tuple[Action, ...]
    failed: str | None = None
    """the action whose post was refused, so the page can say so at that form"""

    @property
    def step(self) -> Action | None:
        """Completing the step, when the link is for one."""
        return next((a for a in self.actions if a.kind == "step"), None)

    @property
    def signals(self) -> tuple[Action, ...]:
        """The signals the partner may send from here."""
        return tuple(a for a in self.actions if a.kind == "signal")

    def with_errors(self, action: str, posted: Mapping[str, str], errors: Mapping[str, str]) -> "LinkPage":
        """The same page with what was entered in `action`'s form and what is wrong with it."""
        actions = tuple(replace(a, fields=field_views(a.specs, posted, errors)) if a.id == action else a
                        for a in self.actions)
        return replace(self, actions=actions, failed=action)


def signal_title(message: str) -> str:
    """A signal's name on the page: its catalogue name in words (`Frictie gemeld`)."""
    return words(message).capitalize()


def signal_specs(catalog: Catalog, message: str) -> tuple[FormFieldSpec, ...]:
    """The form of a signal: each data field the catalogue lets it carry, all of them asked for."""
    specs = []
    for name in catalog.messages[message].data:
        field = catalog.data[name]  # checked at load: partners' messages carry catalogue process data only
        label = field.description.rstrip(".") or name
        specs.append(FormFieldSpec(name=name, type=field.type.value, required=True, label=label,
                                   values=field.values))
    return tuple(specs)


def build_page(*, case_ref: str, role: str, task: TaskView | None,
               signals: Sequence[tuple[str, str, Sequence[FormFieldSpec]]], valid_until: str, today: date) -> LinkPage:
    """The page of a link: its step (if any) and the signals on offer, as `(message, description, form)`."""
    actions = []
    if task is not None:
        actions.append(Action(id=STEP, kind="step", title=task.name, explanation="", button="Stap afronden",
                              specs=tuple(task.form), fields=field_views(task.form)))
    for message, description, specs in signals:
        actions.append(Action(id=message, kind="signal", title=signal_title(message), explanation=description,
                              button="Melding versturen",
                              specs=tuple(specs), fields=field_views(specs)))
    if task is not None:
        title, instructions = task.name, task.instructions
        due = long_date(task.due_on) if task.due_on else None
        overdue = task.due_on is not None and task.due_on < today
    else:
        title = actions[0].title if actions else "Melding"
        instructions, due, overdue = "", None, False
    return LinkPage(case_ref=case_ref, role=role, title=title, instructions=instructions, due=due, overdue=overdue,
                    valid_until=valid_until, actions=tuple(actions))
