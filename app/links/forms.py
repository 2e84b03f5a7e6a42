"""What the partner page shows and reads: the step's typed form as plain fields, in Dutch.

The form is the same as the inbox form: the step's `FormFieldSpec`s, checked by the same pydantic model
(`integrations.inbox.form_model`). A page posts text; here it becomes typed values (a date, a whole
number, yes or no, one of a list), and whatever does not fit becomes a Dutch message next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pydantic

from engine.commands import FormFieldSpec
from engine.people_time import choice

MAX_TEXT = 1000
"""Longest text a field takes; the page says so (maxlength) and the check refuses more."""
YES, NO = "true", "false"
_DUTCH_DATE = re.compile(r"^(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>\d{4})$")


@dataclass(frozen=True)
class Choice:
    """One value of a list (or yes/no), with the words the page shows for it."""

    value: str
    label: str


@dataclass(frozen=True)
class FieldView:
    """One labelled field of a form, with what the partner entered and what is wrong with it."""

    name: str
    label: str
    type: Literal["text", "int", "bool", "date", "enum"]
    required: bool
    choices: tuple[Choice, ...] = ()
    value: str = ""
    error: str = ""


def field_views(specs: Sequence[FormFieldSpec], entered: Mapping[str, str] | None = None,
                errors: Mapping[str, str] | None = None) -> tuple[FieldView, ...]:
    """The fields of a form, filled with what was entered (after a refused post) and its errors."""
    entered, errors = entered or {}, errors or {}
    views = []
    for spec in specs:
        if spec.type == "bool":
            choices = (Choice(YES, "Ja"), Choice(NO, "Nee"))
        elif spec.type == "enum":
            choices = tuple(Choice(v, choice(v)) for v in spec.values or ())
        else:
            choices = ()
        views.append(FieldView(name=spec.name, label=spec.label or words(spec.name),
                               type=spec.type,  # type: ignore[arg-type] - FormFieldSpec.type is one of these
                               required=spec.required, choices=choices, value=entered.get(spec.name, ""),
                               error=errors.get(spec.name, "")))
    return tuple(views)


def words(identifier: str) -> str:
    """An identifier as words (`gemiste_afspraak` -> `gemiste afspraak`)."""
    return identifier.replace("_", " ")


def read_form(specs: Sequence[FormFieldSpec], posted: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
    """(typed data, {}) when the posted fields fit the form, else ({}, Dutch error per field name).

    Only the form's own fields are read; empty optional fields are left out, so they never erase case
    data (as the inbox does).
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        text = posted.get(spec.name, "").strip()
        if not text:
            continue
        if spec.type == "text" and len(text) > MAX_TEXT:
            errors[spec.name] = f"Gebruik hoogstens {MAX_TEXT} tekens."
            continue
        if spec.type == "date" and (m := _DUTCH_DATE.match(text)):
            text = f"{m['y']}-{int(m['m']):02d}-{int(m['d']):02d}"
        values[spec.name] = text
    # Imported here: integrations.inbox brings Prefect, whose settings are read once at import, and the
    # CLI sets them (PREFECT_API_URL) after importing the service layer.
    from integrations.inbox import form_model

    try:
        typed = form_model(specs).model_validate(values)
    except pydantic.ValidationError as exc:
        kinds = {spec.name: spec.type for spec in specs}
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else ""
            errors.setdefault(name, _dutch(error["type"], kinds.get(name, "text")))
    if errors:
        return {}, errors
    return typed.model_dump(mode="json", exclude_none=True), {}


def _dutch(error: str, kind: str) -> str:
    if error == "missing":
        return {"bool": "Kies ja of nee.", "enum": "Kies een van de mogelijkheden.",
                "date": "Vul een datum in."}.get(kind, "Vul dit veld in.")
    if error.startswith("date"):
        return "Vul een bestaande datum in, bijvoorbeeld 16-03-2026."
    if error.startswith("int"):
        return "Vul een heel getal in, bijvoorbeeld 12."
    if error.startswith("bool"):
        return "Kies ja of nee."
    if error in ("literal_error", "enum"):
        return "Kies een van de mogelijkheden."
    return "Deze waarde klopt niet."
