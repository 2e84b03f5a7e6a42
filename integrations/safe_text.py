"""Text that may travel to Prefect: case references, codes, identifiers and operator ids.

Prefect keeps flow-run parameters, run inputs, names, tags, logs, events and artifacts in the clear and
shows them to everyone with UI access. So every string Regie lets into Prefect has a shape that a
person's name, a BSN, a V-number or an e-mail address cannot have. The shapes are checked twice: by the
Prefect server itself (as JSON Schema `pattern`s of deployment and inbox forms, so a refused value is
never stored, not even as a parameter) and by the case service before anything is saved.

Case references (`CASE_REF_PATTERN`): `PREFIX-YEAR-PART`, for example `RMD-2026-0042`, `DEMO-2026-0003`
or `TIL-2026-3F9A0C17B2D4E6A8` (made by the COA import from the V-number and a secret key):

- PREFIX is 2 to 5 capital letters (the municipality's or the organisation's code), YEAR four digits,
  PART 4 to 16 capital letters and digits, with at least one digit;
- no run of nine or more digits in PART: a BSN has nine digits and a V-number ten;
- only capital letters, digits and the two hyphens: no spaces, no lowercase letters, no `@` or `.`.

What this recognises honestly: an e-mail address, a BSN, a V-number, and a name as people write it
("Fenna de Vries", "jansen") can never be a reference. What it cannot: five capital letters of a name
in PREFIX (`JAN-2026-0001`) look like any municipality code; keep prefixes to agreed codes.

References that exist already (made before this pattern, e.g. by the COA import with 8 hex digits) stay
valid: `EXISTING_CASE_REF_PATTERN` (no digit required) is what forms accept for an existing case.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, WithJsonSchema

_PART = "[0-9A-Z]{4,16}"
_NO_BSN_OR_V_NUMBER = "(?![0-9A-Z]*[0-9]{9})"
CASE_REF_PATTERN = f"^[A-Z]{{2,5}}-[0-9]{{4}}-(?=[0-9A-Z]*[0-9]){_NO_BSN_OR_V_NUMBER}{_PART}$"
"""A new case reference (see the module docstring)."""
EXISTING_CASE_REF_PATTERN = f"^[A-Z]{{2,5}}-[0-9]{{4}}-{_NO_BSN_OR_V_NUMBER}{_PART}$"
"""A reference as forms accept it for an existing case: also the COA import's older references."""
CASE_REF_EXAMPLE = "RMD-2026-0042"

IDENTIFIER_PATTERN = "^[a-z][a-z0-9_]{0,99}$"
"""Definition, municipality, message, step, role and field names (the definitions' own identifiers)."""
DEFINITION_PATTERN = "^[a-z][a-z0-9_]{0,89}(@[0-9]{1,6})?$"
"""A definition as `id` (newest version) or `id@version`."""
STEP_PATTERN = "^[a-z][a-z0-9_]{0,89}(-[0-9]{1,9})?$"
"""A step (element id) or an open task's id (`klantprofiel-3`)."""
CODE_PATTERN = "^[a-z0-9][a-z0-9_.-]{0,63}$"
"""A value of a process text field: a code such as `kr-017`, a partner id or an ISO date; never prose."""
ACTOR_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
"""Who did something: an operator id or a system name, one word without spaces or `@` (a partner who acted
from a link is `link:<role>:<partner id>`)."""
FILE_NAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
"""A file in the import folder, by name."""
DATE_PATTERN = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
"""A date as a form sends it. Also as a pattern, because the Prefect server does not check `format: date`
(it validates parameters without a format checker): without it any text would pass as a date."""
MAX_WHOLE_NUMBER = 2**53 - 1
"""Largest whole number a form field takes: what the Prefect UI (JavaScript) can show exactly."""


def _fullmatch(pattern: str, text: Any) -> bool:
    # `$` in Python also matches before a final newline: match the whole text instead.
    return isinstance(text, str) and re.fullmatch(pattern.removeprefix("^").removesuffix("$"), text) is not None


def is_case_ref(text: Any) -> bool:
    """Whether `text` is a new case reference (`CASE_REF_PATTERN`)."""
    return _fullmatch(CASE_REF_PATTERN, text)


def is_existing_case_ref(text: Any) -> bool:
    """Whether `text` has the shape forms accept for an existing case (`EXISTING_CASE_REF_PATTERN`)."""
    return _fullmatch(EXISTING_CASE_REF_PATTERN, text)


def matches(pattern: str, text: Any) -> bool:
    """Whether the whole of `text` matches one of this module's patterns."""
    return _fullmatch(pattern, text)


def text_problem(text: str, max_length: int) -> str | None:
    """Why `text` cannot be stored as it is (control characters, broken unicode, too long), or None.

    The reason never repeats the text: it may be personal data.
    """
    if len(text) > max_length:
        return f"langer dan {max_length} tekens"
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            return "geen geldige unicode-tekst"
        if category in ("Cc", "Cf") and char not in "\u200d":  # zero-width joiner: part of some emoji
            return "bevat stuurtekens (zoals een nulbyte of regeleinde)"
    return None


def _checked(pattern: str, what: str):
    def check(value: str) -> str:
        if not _fullmatch(pattern, value):
            raise ValueError(f"{what} heeft niet de vorm {pattern}")
        return value
    return check


def form_text(pattern: str, what: str, description: str = "") -> Any:
    """A string type for a Prefect form: the server refuses what does not match (JSON Schema `pattern`),
    and pydantic checks the same with Python's `re` (the lookaheads are beyond pydantic's own regex)."""
    schema: dict[str, Any] = {"type": "string", "pattern": pattern}
    if description:
        schema["description"] = description
    return Annotated[str, AfterValidator(_checked(pattern, what)), WithJsonSchema(schema)]


NewCaseRef = form_text(CASE_REF_PATTERN, "een zaakreferentie", f"pseudoniem, bijvoorbeeld {CASE_REF_EXAMPLE}")
CaseRef = form_text(EXISTING_CASE_REF_PATTERN, "een zaakreferentie", f"pseudoniem, bijvoorbeeld {CASE_REF_EXAMPLE}")
Identifier = form_text(IDENTIFIER_PATTERN, "een naam uit de definities")
DefinitionRef = form_text(DEFINITION_PATTERN, "een definitie (id of id@versie)")
StepRef = form_text(STEP_PATTERN, "een stap of taak-id")
Code = form_text(CODE_PATTERN, "een code (kleine letters, cijfers, - _ .)")
Actor = form_text(ACTOR_PATTERN, "een medewerkercode (één woord, zonder spaties of @)")
FileName = form_text(FILE_NAME_PATTERN, "een bestandsnaam in de importmap")
FormDate = Annotated[date, WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN})]
"""A date in a Prefect form: the server refuses anything that is not shaped like one."""
