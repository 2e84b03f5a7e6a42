"""Building the engine's own models from values it has already checked, without validating them again.

The interpreter makes several history entries, commands, tokens, tasks and timers per transition, each
from values that are already right: definitions are validated when loaded, event data is coerced
against the declared fields, and dates and moments come from the engine's own calendar. Validating
them again was most of the cost of a transition (issue 13), and pydantic's own `model_construct` is
nearly as slow, so `build` fills the model's fields directly. It still fails loudly on a field the
model does not have or a required field left out, which validation would have caught first.
States and events that come from outside (the case store, callers) are validated as always.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_REQUIRED = object()
_FACTORY = object()
_plans: dict[type, tuple[dict[str, Any], frozenset[str], tuple[tuple[str, Any], ...]]] = {}


def _plan(cls: type[BaseModel]) -> tuple[dict[str, Any], frozenset[str], tuple[tuple[str, Any], ...]]:
    template: dict[str, Any] = {}
    factories = []
    for name, field in cls.model_fields.items():
        if field.is_required():
            template[name] = _REQUIRED
        elif field.default_factory is not None:
            template[name] = _FACTORY
            factories.append((name, field.default_factory))
        else:
            template[name] = field.default
    plan = (template, frozenset(n for n, v in template.items() if v is _REQUIRED), tuple(factories))
    _plans[cls] = plan
    return plan


def build(cls: type[M], **values: Any) -> M:
    """An instance of `cls` with these (already checked) field values and the defaults of the others."""
    template, required, factories = _plans.get(cls) or _plan(cls)
    fields = dict(template)
    fields.update(values)
    if len(fields) != len(template) or not required <= values.keys():
        unknown = sorted(set(values) - set(template))
        missing = sorted(required - values.keys())
        raise TypeError(f"{cls.__name__}: unknown field(s) {unknown}, missing field(s) {missing}")
    for name, factory in factories:
        if fields[name] is _FACTORY:
            fields[name] = factory()
    model = cls.__new__(cls)
    object.__setattr__(model, "__dict__", fields)
    object.__setattr__(model, "__pydantic_fields_set__", set(values))
    object.__setattr__(model, "__pydantic_extra__", None)
    object.__setattr__(model, "__pydantic_private__", None)
    return model
