"""Building the engine's own models from values it has already checked, without validating them again.

The interpreter makes several history entries, commands, tokens, tasks and timers per transition, each
from values that are already right: definitions are validated when loaded, event data is coerced
against the declared fields, and dates and moments come from the engine's own calendar. Validating
them again was most of the cost of a transition (issue 13), and pydantic's own `model_construct` is
nearly as slow (it is written for aliases and private attributes we do not use), so `build` fills the
model's fields directly. A field the model does not have or a required field left out is still a
TypeError at once. States and events that come from outside (the case store, callers) are validated
as always.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_makers: dict[type, Callable[..., Any]] = {}


def build(cls: type[M], /, **values: Any) -> M:
    """An instance of `cls` with these (already checked) field values and the defaults of the others."""
    return constructor(cls)(**values)


def constructor(cls: type[M]) -> Callable[..., M]:
    """The function `build` calls for `cls`; hot paths keep it (one call instead of two per model)."""
    maker = _makers.get(cls)
    if maker is None:
        maker = _makers[cls] = _maker(cls)
    return maker


def _maker(cls: type[BaseModel]) -> Callable[..., Any]:
    # One function per model, named after it, with the model's fields as keyword-only parameters, so
    # Python itself refuses an unknown or missing field; it sets what pydantic's model_construct sets.
    if cls.model_config.get("extra") == "allow" or cls.__pydantic_post_init__ or cls.__private_attributes__:
        raise TypeError(f"{cls.__name__}: build() is only for plain models (no extra fields, post-init or private)")
    names = list(cls.model_fields)
    env: dict[str, Any] = {"_cls": cls, "_new": object.__new__, "_set": object.__setattr__, "_names": frozenset(names)}
    params, factories = [], []
    for name, field in cls.model_fields.items():
        if field.is_required():
            params.append(name)
        elif field.default_factory is not None:
            env[f"_factory_{name}"] = field.default_factory
            params.append(f"{name}=_unset")
            factories.append(f"    if {name} is _unset: {name} = _factory_{name}()\n")
        else:
            env[f"_default_{name}"] = field.default
            params.append(f"{name}=_default_{name}")
    env["_unset"] = object()
    source = (
        f"def {cls.__name__}(*, {', '.join(params)}):\n"
        + "".join(factories)
        + "    model = _new(_cls)\n"
        + f"    _set(model, '__dict__', {{{', '.join(f'{n!r}: {n}' for n in names)}}})\n"
        + "    _set(model, '__pydantic_fields_set__', set(_names))\n"
        + "    _set(model, '__pydantic_extra__', None)\n"
        + "    _set(model, '__pydantic_private__', None)\n"
        + "    return model\n"
    )
    exec(source, env)  # noqa: S102 - generated from the model's own field names, nothing from outside
    return env[cls.__name__]
