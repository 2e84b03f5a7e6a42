"""Case data checked against the declared data fields, and normalised to JSON values (dates as ISO text).

Everything that enters case data passes here: the data a case starts with, a task's form, a message's
data and the values `set:` computes. One wrong value refuses the whole event (FormInvalid).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.definitions import DataField, FieldType, UserTask
from engine.durations import parse_duration
from engine.errors import FormInvalid


def coerce(values: dict[str, Any], fields: dict[str, DataField], where: str,
           form: UserTask | None = None) -> dict[str, Any]:
    """Check `values` against the declared `fields` (and the task's `form`, if given) and normalise them.

    Without a form every value needs a declared field; with one, every value must be on the form and
    every required form field present. Raises FormInvalid naming `where` and every problem.
    """
    problems: list[str] = []
    out: dict[str, Any] = {}
    if form is not None:
        on_form = {f.field: f for f in form.form}
        for name in values:
            if name not in on_form:
                problems.append(f"veld '{name}' staat niet op dit formulier")
        for name, f in on_form.items():
            if f.required and values.get(name) is None:
                problems.append(f"verplicht veld '{name}' ontbreekt")
    for name, value in values.items():
        field = fields.get(name)
        if field is None:
            if form is None:
                problems.append(f"onbekend veld '{name}'")
            continue
        if value is None:
            out[name] = None
            continue
        try:
            out[name] = _normalise(field.type, field.values, value)
        except (TypeError, ValueError) as exc:
            problems.append(f"veld '{name}': {exc}")
    if problems:
        raise FormInvalid(f"{where}: " + "; ".join(problems))
    return out


def _normalise(kind: FieldType, allowed: list[str] | None, value: Any) -> Any:
    if kind is FieldType.date:
        if isinstance(value, datetime):
            raise TypeError(f"verwacht een datum zonder tijd, niet {value.isoformat()!r}")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, str):
            try:
                return date.fromisoformat(value).isoformat()
            except ValueError:  # Python's own text is English and says less ("Invalid isoformat string")
                raise ValueError(f"verwacht een datum (JJJJ-MM-DD), niet {value!r}") from None
        raise TypeError(f"verwacht een datum (JJJJ-MM-DD), niet {value!r}")
    if kind is FieldType.bool:
        if not isinstance(value, bool):
            raise TypeError(f"verwacht true of false, niet {value!r}")
        return value
    if kind is FieldType.duration:
        if not isinstance(value, str):
            raise TypeError(f"verwacht een duur zoals P6M of 10 werkdagen, niet {value!r}")
        return parse_duration(value).text  # DurationError (a ValueError) names what is accepted
    if kind is FieldType.int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"verwacht een heel getal, niet {value!r}")
        return value
    if not isinstance(value, str):
        raise TypeError(f"verwacht tekst, niet {value!r}")
    if kind is FieldType.enum and value not in (allowed or []):
        raise ValueError(f"{value!r} is geen keuze; kies uit: {', '.join(allowed or [])}")
    return value
