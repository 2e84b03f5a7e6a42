"""The shared catalogue (roles, messages, templates, shared data fields, phases) and municipality profiles.

A `catalog` file is the vocabulary every process definition speaks; a `profile` file is one
municipality's local policy: values for the parameters definitions declare, and its partners. Data
fields and parameters are described here too, because the catalogue and the definitions declare them
alike.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from engine.expressions import Frozen, Identifier, Scalar, _check_duration_text


class Privacy(str, Enum):
    """Privacy category of a data field (GLOSSARY.md); decides where a value may travel."""

    case_reference = "case_reference"
    """the pseudonymous case reference: may appear anywhere"""
    process = "process"
    """step, deadline, role, leerroute, phase: may appear in notifications and the Prefect UI"""
    identifying = "identifying"
    """name, BSN, address, date of birth: stays in the case store"""
    special = "special"
    """special category (AVG art. 9: health, medical outcome): stays in the case store, never in messages"""

    @property
    def may_leave_case_store(self) -> bool:
        """Whether a value of this category may appear in notifications, Prefect parameters or events."""
        return self in (Privacy.case_reference, Privacy.process)


class FieldType(str, Enum):
    """Types of case-data and form fields."""

    date = "date"
    """a calendar date, stored as ISO text (2026-03-02)"""
    bool = "bool"
    """yes or no"""
    enum = "enum"
    """one of a fixed list of values"""
    int = "int"
    """a whole number"""
    text = "text"
    """free text"""
    duration = "duration"
    """a duration as ISO 8601 or working days (P6M, P16W, 10 werkdagen), e.g. the length DUO decided"""


BeforeStart = Literal["refuse", "warn", "allow"]
"""What happens to a date before the case started: refused (the default), accepted with a recorded
warning, or accepted (a date that always precedes the case, such as the residence permit)."""


class DataField(Frozen):
    """A case-data field: its type and privacy category.

    Free text is personal unless declared otherwise: a `text` field without `privacy:` is identifying.
    A text field declared `process` holds a code (`kr-017`, a partner id), never prose; the case service
    refuses prose there, since process data appears in the Prefect UI, artifacts and messages.
    """

    type: FieldType
    privacy: Privacy
    values: list[str] | None = None
    description: str = ""
    before_start: BeforeStart = Field(default="refuse", description="a date field's value before the case started")

    @model_validator(mode="before")
    @classmethod
    def _free_text_is_personal(cls, data: Any) -> Any:
        if isinstance(data, dict) and "privacy" not in data and data.get("type") == FieldType.text.value:
            return {**data, "privacy": Privacy.identifying.value}
        return data

    @model_validator(mode="after")
    def _enum_values(self) -> "DataField":
        if self.type is FieldType.enum and not self.values:
            raise ValueError("een enum-veld heeft een niet-lege lijst waarden (values) nodig")
        if self.type is not FieldType.enum and self.values is not None:
            raise ValueError("alleen enum-velden hebben een lijst waarden (values)")
        if self.type is not FieldType.date and self.before_start != "refuse":
            raise ValueError("alleen datumvelden hebben before_start")
        return self


class Parameter(Frozen):
    """A value the municipality profile may set; the default is the fact sheet's value."""

    type: Literal["duration", "int", "bool", "text"]
    default: Scalar
    source: str = Field(description="the rule it encodes: a wi2021.md section or a P-number")
    description: str = ""

    @model_validator(mode="after")
    def _default_fits(self) -> "Parameter":
        check_parameter_value(self.type, self.default)
        return self


_PYTHON_TYPES = {str: "tekst", int: "een heel getal", bool: "true of false"}


def check_parameter_value(kind: str, value: Any) -> None:
    """Raise ValueError when `value` does not fit a parameter of type `kind`."""
    expected = {"duration": str, "int": int, "bool": bool, "text": str}[kind]
    if not isinstance(value, expected) or (kind == "int" and isinstance(value, bool)):
        raise ValueError(f"een {kind}-parameter vraagt {_PYTHON_TYPES[expected]}, niet {value!r}")
    if kind == "duration":
        _check_duration_text(value)


class Role(Frozen):
    """A partner role (GLOSSARY.md)."""

    description: str


class MessageKind(Frozen):
    """A life event or signal that can reach a case (GLOSSARY.md)."""

    description: str
    data: list[Identifier] = Field(default_factory=list, description="case-data fields it may carry")
    before_start: BeforeStart = Field(
        default="refuse", description="a message that happened (`occurred_on`) before the case started"
    )
    senders: list[Identifier] = Field(
        default_factory=list,
        description="partner roles that may send it themselves, from the partner page (a link), while the "
                    "case listens for it; none: only operators and systems deliver it",
    )


class TemplateText(Frozen):
    """A subject and a body with `{{ variable }}` placeholders, in one language."""

    subject: str
    body: str


class Template(Frozen):
    """A message template: subject and body in plain Dutch with `{{ variable }}` placeholders.

    `en` is the English variant for partners who prefer English; it may use only the variables the
    Dutch text uses, so a notification that fills the Dutch text fills the English one too.
    """

    subject: str
    body: str
    description: str = ""
    en: TemplateText | None = None


class Catalog(Frozen):
    """The shared vocabulary of all definitions: roles, messages, templates, shared data fields, phases."""

    kind: Literal["catalog"]
    roles: dict[Identifier, Role]
    messages: dict[Identifier, MessageKind]
    templates: dict[Identifier, Template]
    phases: dict[Identifier, str] = Field(default_factory=dict)
    data: dict[Identifier, DataField] = Field(default_factory=dict)


class PartnerLinks(Frozen):
    """How long the links in partner messages work (the partner page; app/links)."""

    lifetime: str | None = Field(
        default=None,
        description="a duration such as P14D, P3W or 10 werkdagen: a link works through the last day of it "
                    "(Dutch time); none: Regie's setting REGIE_LINK_LIFETIME (default P14D)",
    )

    _check = field_validator("lifetime", mode="before")(_check_duration_text)


class Profile(Frozen):
    """A municipality's local policy: parameter values (norms, intervals, targets) and partners."""

    kind: Literal["profile"]
    id: Identifier
    name: str
    region: str = ""
    parameters: dict[Identifier, Scalar] = Field(default_factory=dict)
    partners: dict[Identifier, Any] = Field(default_factory=dict)
    partner_links: PartnerLinks = Field(default_factory=PartnerLinks)
