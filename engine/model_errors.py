"""Pydantic's complaints about a YAML file, said the way a definition author reads the file.

Pydantic reports a missing key as "Field required" at a location the YAML does not have (and with the
union tag it picked, `elements.1.user_task.role`), one error per key. An author needs the key named,
the element it belongs to, and every problem at once. `explain` turns one pydantic error into the
YAML key path it is about and one Dutch sentence that names the field.
"""

from __future__ import annotations

from typing import Any

_KINDS = {
    "string_type": "moet tekst zijn",
    "int_type": "moet een geheel getal zijn",
    "int_parsing": "moet een geheel getal zijn",
    "int_from_float": "moet een geheel getal zijn",
    "float_type": "moet een getal zijn",
    "float_parsing": "moet een getal zijn",
    "bool_type": "moet true of false zijn",
    "bool_parsing": "moet true of false zijn",
    "list_type": "moet een lijst zijn (regels met '- ')",
    "tuple_type": "moet een lijst zijn (regels met '- ')",
    "set_type": "moet een lijst zijn (regels met '- ')",
    "dict_type": "moet sleutels met waarden hebben (naam: waarde)",
    "model_type": "moet sleutels met waarden hebben (naam: waarde)",
    "model_attributes_type": "moet sleutels met waarden hebben (naam: waarde)",
    "date_type": "moet een datum zijn (jjjj-mm-dd)",
    "date_parsing": "moet een datum zijn (jjjj-mm-dd)",
    "date_from_datetime_parsing": "moet een datum zijn (jjjj-mm-dd)",
    "string_too_short": "mag niet leeg zijn",
    "too_short": "mag niet leeg zijn",
}
_BOUNDS = {
    "string_too_long": "mag hoogstens {max_length} tekens lang zijn",
    "too_long": "mag hoogstens {max_length} items hebben",
    "string_pattern_mismatch": "heeft niet de vorm {pattern}",
    "greater_than": "moet groter zijn dan {gt}",
    "greater_than_equal": "moet minstens {ge} zijn",
    "less_than": "moet kleiner zijn dan {lt}",
    "less_than_equal": "mag hoogstens {le} zijn",
}
"""Pydantic's limits, with the limit from the error's context."""


def explain(error: dict[str, Any], data: Any) -> tuple[tuple, str]:
    """Where in the YAML an error is (the key's path; for a missing or unknown key: the mapping that holds
    it, as the sentence names the key) and a sentence, e.g. `(("elements", 1), "veld 'role' ontbreekt")`."""
    kind = error["type"]
    loc = tuple(error["loc"])
    path = yaml_path(data, loc)
    if kind == "missing" and loc:
        return path[:-1], f"veld '{loc[-1]}' ontbreekt"
    if kind == "extra_forbidden" and loc:
        return path[:-1], f"onbekend veld '{loc[-1]}' (tikfout, of hoort het bij een ander element?)"
    if kind == "union_tag_not_found":
        key = str(error.get("ctx", {}).get("discriminator", "type")).strip("'")
        return path, f"veld '{key}' ontbreekt"
    if kind == "union_tag_invalid":
        ctx = error.get("ctx", {})
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return path, f"type '{ctx.get('tag')}' bestaat niet; kies uit: {expected}"
    if kind in ("literal_error", "enum"):
        return path, f"'{_short(error.get('input'))}' kan hier niet; kies uit: {_choices(error)}"
    if kind in _KINDS:
        return path, f"{_KINDS[kind]}, niet '{_short(error.get('input'))}'"
    if kind in _BOUNDS:
        return path, f"{_BOUNDS[kind].format(**error.get('ctx', {}))}, niet '{_short(error.get('input'))}'"
    # Our own validators (bad duration, unknown field reference, ...) already say what is wrong.
    return path, error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")


def yaml_path(data: Any, loc: tuple) -> tuple:
    """The keys of `loc` that the YAML has, so it matches the file again: pydantic's union tags
    (`user_task` in `elements.1.user_task.role`) are dropped; the last part is kept even when the YAML
    lacks it (a missing key is the point of the error)."""
    path: list = []
    node = data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            node = node[part]
            path.append(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            path.append(part)
        elif i == len(loc) - 1 and isinstance(node, dict) and not isinstance(part, int):
            path.append(part)
    return tuple(path)


def _choices(error: dict[str, Any]) -> str:
    """Pydantic's `'a', 'b' or 'c'` as `a, b of c`."""
    return str(error.get("ctx", {}).get("expected", "")).replace("'", "").replace(" or ", " of ")


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def rule(error: dict[str, Any]) -> str:
    """The rule an error breaks, in Dutch and without the value that broke it (for settings, whose values
    may be secrets): `mag hoogstens 65535 zijn`."""
    kind = error["type"]
    if kind == "missing":
        return "ontbreekt"
    if kind in ("literal_error", "enum"):
        return f"kies uit: {_choices(error)}"
    if kind in _KINDS:
        return _KINDS[kind]
    if kind in _BOUNDS:
        return _BOUNDS[kind].format(**error.get("ctx", {}))
    return error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
