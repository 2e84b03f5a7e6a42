"""What the case service takes from people before anything is saved: every entry point (the CLI, the
Prefect deployments, the inbox, the COA import) passes here, so a bad value is refused in one line, in
Dutch, and nothing is written.

- A new case reference follows `integrations.safe_text.CASE_REF_PATTERN` (never a BSN, V-number,
  e-mail address or name); an existing one is looked up as it is, if it could be a stored reference.
- Municipalities, definitions, profiles and messages must be known; the refusal lists the known ones.
- Case data: declared fields only (the engine checks their types); text without control characters or
  broken unicode and of bounded length; a *process* text field takes a code (`kr-017`), never prose,
  because free text is personal unless declared otherwise; whole numbers within what the UI can show.
- Personal data (`--personal`): named by identifiers, short text, nothing that cannot be stored.

A refusal never repeats a value that might be personal: it names the field and what is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from app.errors import InputRefused
from engine.catalog import DataField, FieldType
from integrations import safe_text
from integrations.safe_text import (
    Actor,
    CaseRef,
    Code,
    DefinitionRef,
    FileName,
    FormDate,
    Identifier,
    NewCaseRef,
    StepRef,
)

MAX_WHOLE_NUMBER = safe_text.MAX_WHOLE_NUMBER
FORM_TYPES = (Actor, CaseRef, Code, DefinitionRef, FileName, FormDate, Identifier, NewCaseRef, StepRef)
"""The string types of Prefect forms (`integrations.safe_text`), for the flows' parameters."""

MAX_REF = 64
"""Longest case reference the store keeps (`store.models.REF`)."""
MAX_TEXT = 2000
"""Longest text value of a case-data field."""
MAX_PERSONAL_TEXT = 500
"""Longest value of personal data (a name, an address)."""
MAX_FIELDS = 100
"""Most fields one change may carry."""
MAX_LIST = 10_000
"""Largest page of a list."""


def shown(value: Any, limit: int = 40) -> str:
    """A value as a refusal may repeat it (only for names that are not personal): quoted, escaped, short."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return f"'{text[:limit]}…'" if len(text) > limit else f"'{text}'"


def check_new_case_ref(case_ref: Any) -> str:
    """A reference for a new case: the documented pattern, so it can never be personal data."""
    if not safe_text.is_case_ref(case_ref):
        raise InputRefused(
            "een zaakreferentie heeft de vorm CODE-JAAR-DEEL, bijvoorbeeld "
            f"{safe_text.CASE_REF_EXAMPLE}: 2 tot 5 hoofdletters, een jaartal, 4 tot 16 hoofdletters of cijfers "
            "met minstens één cijfer en nooit 9 of meer cijfers achter elkaar (een BSN of V-nummer is geen "
            "zaakreferentie)")
    return case_ref


def check_case_ref(case_ref: Any) -> str:
    """A reference to look up: refused only when no case could have it (too long, spaces, control characters)."""
    if not (isinstance(case_ref, str) and 0 < len(case_ref) <= MAX_REF and case_ref.isascii()
            and case_ref.isprintable() and " " not in case_ref):
        raise InputRefused(f"{shown(case_ref)} is geen zaakreferentie (bijvoorbeeld {safe_text.CASE_REF_EXAMPLE})")
    return case_ref


def check_actor(actor: Any) -> str:
    """Who does something: one word (an operator id), recorded in the case history."""
    if not safe_text.matches(safe_text.ACTOR_PATTERN, actor):
        raise InputRefused("wie het doet (--actor) is een medewerkercode: één woord van letters, cijfers, - _ . of :, "
                           "hoogstens 100 tekens")
    return actor


def check_known(value: Any, known: Collection[str], what: str) -> str:
    """A name that must be one of `known` (a municipality, a message, a phase); the refusal lists them."""
    if not isinstance(value, str) or value not in known:
        listed = ", ".join(sorted(known)) or "geen"
        raise InputRefused(f"onbekende {what} {shown(value)} (bekend: {listed})")
    return value


def check_limit(limit: Any) -> int | None:
    """A page size: none, or a whole number from 0 to MAX_LIST."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= MAX_LIST:
        raise InputRefused(f"--limit is een heel getal van 0 tot en met {MAX_LIST}")
    return limit


def check_version(version: Any) -> int | None:
    """The version an operator saw: none, or a whole number from 1."""
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 2**31 - 1:
        raise InputRefused("de verwachte versie is een heel getal vanaf 1")
    return version


def check_date(value: Any, what: str) -> date | None:
    """A calendar date (not a moment) between the years 1900 and 2199, or none."""
    if value is None:
        return None
    if isinstance(value, datetime) or not isinstance(value, date) or not 1900 <= value.year <= 2199:
        raise InputRefused(f"{what} is een datum (JJJJ-MM-DD) tussen 1900 en 2199")
    return value


def check_data(values: Any, fields: Mapping[str, DataField], where: str) -> dict[str, Any]:
    """Case data as a change may carry it; the engine then checks each value against its field's type."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InputRefused(f"{where}: de gegevens zijn veld=waarde-paren")
    if len(values) > MAX_FIELDS:
        raise InputRefused(f"{where}: meer dan {MAX_FIELDS} velden")
    problems = []
    for name, value in values.items():
        if not safe_text.matches(safe_text.IDENTIFIER_PATTERN, name):
            problems.append(f"{shown(name)} is geen veldnaam")
            continue
        reason = _value_problem(value, fields.get(name))
        if reason:
            problems.append(f"veld '{name}': {reason}")
    if problems:
        raise InputRefused(f"{where}: " + "; ".join(problems))
    return dict(values)


def _value_problem(value: Any, field: DataField | None) -> str | None:
    if value is None or isinstance(value, (bool, date)):
        return None
    if isinstance(value, int):
        return None if abs(value) <= safe_text.MAX_WHOLE_NUMBER else "getal te groot"
    if not isinstance(value, str):
        return "een waarde is tekst, een heel getal, een datum, true of false"
    problem = safe_text.text_problem(value, MAX_TEXT)
    if problem:
        return problem
    if field is not None and field.type is FieldType.text and field.privacy.may_leave_case_store \
            and not safe_text.matches(safe_text.CODE_PATTERN, value):
        # Prose is personal unless declared otherwise; a process text field holds a code, which is what
        # may appear in artifacts and messages.
        return ("procesgegeven: een code van kleine letters, cijfers, - _ of . (zoals kr-017), geen vrije tekst; "
                "vrije tekst hoort in een veld voor persoonsgegevens")
    return None


def check_personal(values: Any) -> dict[str, Any] | None:
    """Personal data for the case store: identifiers as keys, short text or numbers as values."""
    if not values:
        return None
    if not isinstance(values, Mapping) or len(values) > MAX_FIELDS:
        raise InputRefused(f"persoonsgegevens zijn hoogstens {MAX_FIELDS} veld=waarde-paren")
    for name, value in values.items():
        if not safe_text.matches(safe_text.IDENTIFIER_PATTERN, name):
            raise InputRefused(f"persoonsgegevens: {shown(name)} is geen veldnaam")
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            if abs(value) > safe_text.MAX_WHOLE_NUMBER:
                raise InputRefused(f"persoonsgegevens, veld '{name}': getal te groot")
            continue
        if not isinstance(value, str):
            raise InputRefused(f"persoonsgegevens, veld '{name}': een waarde is tekst of een heel getal")
        problem = safe_text.text_problem(value, MAX_PERSONAL_TEXT)
        if problem:
            raise InputRefused(f"persoonsgegevens, veld '{name}': {problem}")
    return dict(values)
