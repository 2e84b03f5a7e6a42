"""A process as a case runs it: the root definition, the sub-processes it calls, the catalogue and a profile.

Built once (by `engine.loader`) and shared by every case of that definition; it holds the indexes the
interpreter needs so that advancing a case does no searching through lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.commands import FormFieldSpec
from engine.definitions import (
    Catalog,
    Clock,
    DataField,
    Definition,
    MessageHandler,
    ParallelGateway,
    Profile,
)


@dataclass(frozen=True)
class Process:
    """Everything needed to advance cases of one root definition for one municipality."""

    root: Definition
    definitions: dict[str, Definition]
    catalog: Catalog | None = None
    profile: Profile | None = None
    elements: dict[str, dict[str, Any]] = field(init=False, repr=False)
    incoming: dict[str, dict[str, int]] = field(init=False, repr=False)
    clocks: dict[str, tuple[Definition, Clock]] = field(init=False, repr=False)
    handlers: list[MessageHandler] = field(init=False, repr=False)
    data_fields: dict[str, DataField] = field(init=False, repr=False)
    params: dict[str, Any] = field(init=False, repr=False)
    _forms: dict[int, list[FormFieldSpec]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        elements = {ref: {e.id: e for e in d.elements} for ref, d in self.definitions.items()}
        incoming: dict[str, dict[str, int]] = {}
        for ref, d in self.definitions.items():
            counts: dict[str, int] = {}
            for element in d.elements:
                for target in successors(element):
                    counts[target] = counts.get(target, 0) + 1
            incoming[ref] = counts
        clocks = {c.id: (d, c) for d in self.definitions.values() for c in d.clocks}
        handlers = [h for d in self.definitions.values() for h in d.message_handlers]
        data_fields = dict(self.catalog.data) if self.catalog else {}
        params: dict[str, Any] = {}
        for d in self.definitions.values():
            data_fields.update(d.data)
            params.update({name: p.default for name, p in d.parameters.items()})
        if self.profile:
            params.update({k: v for k, v in self.profile.parameters.items() if k in params})
        for name, value in (
            ("elements", elements), ("incoming", incoming), ("clocks", clocks), ("handlers", handlers),
            ("data_fields", data_fields), ("params", params), ("_forms", {}),
        ):
            object.__setattr__(self, name, value)

    @property
    def ref(self) -> str:
        """The root definition's `id@version`."""
        return self.root.ref

    def element(self, definition_ref: str, element_id: str) -> Any:
        """The element of a definition in this process."""
        return self.elements[definition_ref][element_id]

    def form(self, task: Any) -> list[FormFieldSpec]:
        """A user task's form as the inbox shows it: each field with its declared type and values."""
        # Built once per step (every task that opens asks for it); the specs are frozen, the list is a copy.
        cached = self._forms.get(id(task))
        if cached is None:
            cached = self._forms[id(task)] = self._build_form(task)
        return list(cached)

    def _build_form(self, task: Any) -> list[FormFieldSpec]:
        specs = []
        for item in task.form:
            data = self.data_fields[item.field]
            specs.append(FormFieldSpec(name=item.field, type=data.type.value, required=item.required,
                                       label=item.label or item.field, values=data.values,
                                       privacy=data.privacy.value))
        return specs

    def is_join(self, definition_ref: str, element: Any) -> bool:
        """A parallel gateway with several incoming flows waits for all of them."""
        return isinstance(element, ParallelGateway) and self.incoming[definition_ref].get(element.id, 0) > 1


def successors(element: Any) -> list[str]:
    """Every element id this element can pass a token to (flows, branches, boundary events, timeouts)."""
    targets: list[str] = []
    nxt = getattr(element, "next", None)
    if isinstance(nxt, str):
        targets.append(nxt)
    elif isinstance(nxt, list):
        targets.extend(nxt)
    for branch in getattr(element, "branches", []) or []:
        targets.append(branch.next)
    if getattr(element, "default", None):
        targets.append(element.default)
    for boundary in getattr(element, "boundary", []) or []:
        if boundary.next:
            targets.append(boundary.next)
    timeout = getattr(element, "timeout", None)
    if timeout is not None:
        targets.append(timeout.next)
    return targets
