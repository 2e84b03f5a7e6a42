"""The small declarative vocabulary definitions use for dates, values and conditions (never `eval`).

A date expression names where a date comes from (a case-data field, the first arrival of a message, a
clock, today) and how to shift it (`after`, `before`, `later_of`, `earlier_of`). A condition compares
case data with a literal. Both are plain frozen models, so the validator can check every name they use.
(About 300 lines: dates and conditions refer to each other, `{if, then, else}` dates take a condition,
and the validator and `engine.describe` match on these models; one vocabulary, one module.)
"""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from engine.durations import Duration, DurationError, parse_duration


class Frozen(BaseModel):
    """Base of every definition model: immutable and strict about unknown keys."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", description="snake_case identifier")]
"""The name of an element, clock, role, message, field or parameter (GLOSSARY.md style: snake_case)."""


# --- durations -----------------------------------------------------------------------------------


class ParamRef(Frozen):
    """A value taken from the municipality profile (or the definition's default for it)."""

    param: str


def _check_duration_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parse_duration(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
    return value


DurationText = Annotated[str, Field(description="ISO 8601 (P10W, P3Y, P18M) or 'N werkdagen'")]
DurationSpec = Union[DurationText, ParamRef]
"""A duration written in place (`P10W`) or taken from the profile (`{param: huisvestingsnorm}`)."""


class FieldDuration(Frozen):
    """A duration stored in a case-data field of type `duration` (e.g. the length DUO decided)."""

    field: str


DecidedDuration = Union[DurationText, ParamRef, FieldDuration]
"""Where a duration may also come from case data: an extension `by` the length DUO decided."""


# --- conditions ----------------------------------------------------------------------------------


class Op(str, Enum):
    """Comparison operators for gateway conditions."""

    eq = "eq"
    """equal to the value"""
    ne = "ne"
    """not equal to the value"""
    lt = "lt"
    """less than (numbers, dates)"""
    le = "le"
    """less than or equal"""
    gt = "gt"
    """greater than"""
    ge = "ge"
    """greater than or equal"""
    in_ = "in"
    """one of a list of values"""
    not_in = "not_in"
    """none of a list of values"""
    is_set = "is_set"
    """the field has a value"""
    is_not_set = "is_not_set"
    """the field has no value yet"""


Scalar = Union[bool, int, str]


class Compare(Frozen):
    """Compare a case-data field (`field`), a profile parameter (`param`) or the date a message first reached
    the case (`anchor`) with a literal or a parameter; `is_set` / `is_not_set` ask whether it is known."""

    field: str | None = None
    param: str | None = None
    anchor: str | None = None
    op: Op = Op.eq
    value: Scalar | list[Scalar] | ParamRef | None = None

    @model_validator(mode="after")
    def _subject(self) -> "Compare":
        if sum(x is not None for x in (self.field, self.param, self.anchor)) != 1:
            raise ValueError("een vergelijking heeft precies één van: field, param, anchor")
        return self


class AllOf(Frozen):
    """True when every condition holds."""

    all: list["Condition"] = Field(min_length=1)


class AnyOf(Frozen):
    """True when at least one condition holds."""

    any: list["Condition"] = Field(min_length=1)


class NotOf(Frozen):
    """True when the condition does not hold."""

    not_: "Condition" = Field(alias="not")


def _condition_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("field", "param", "anchor", "all", "any", "not"):
            if key in value:
                return key
        return None
    tag = {Compare: "field", AllOf: "all", AnyOf: "any", NotOf: "not"}.get(type(value))
    return tag


Condition = Annotated[
    Union[
        Annotated[Compare, Tag("field")],
        Annotated[Compare, Tag("param")],
        Annotated[Compare, Tag("anchor")],
        Annotated[AllOf, Tag("all")],
        Annotated[AnyOf, Tag("any")],
        Annotated[NotOf, Tag("not")],
    ],
    Discriminator(
        _condition_tag,
        custom_error_type="condition",
        custom_error_message="a condition needs one of: field, param or anchor (with op and value), all, any, not",
    ),
]

for _model in (AllOf, AnyOf, NotOf):
    _model.model_rebuild()


# --- date expressions ----------------------------------------------------------------------------


class FieldDate(Frozen):
    """The date stored in a case-data field."""

    field: str


class AnchorDate(Frozen):
    """The date on which a message (life event such as `koppeling`) first reached the case."""

    anchor: str


class ClockDate(Frozen):
    """The start or current end of a legal clock."""

    clock: str
    at: Literal["start", "end"] = "end"


class Today(Frozen):
    """The date of the event being handled (virtual time in simulations)."""

    today: Literal[True] = True


class LaterOf(Frozen):
    """The latest of several dates; dates not yet known are skipped, and none known means unknown."""

    later_of: list["DateExpr"] = Field(min_length=1)


class EarlierOf(Frozen):
    """The earliest of several dates; dates not yet known are skipped."""

    earlier_of: list["DateExpr"] = Field(min_length=1)


class After(Frozen):
    """A date a duration after another (`{after: P10W, from: {field: brp_inschrijving}}`)."""

    after: DurationSpec
    from_: "DateExpr" = Field(alias="from")

    _check = field_validator("after", mode="before")(_check_duration_text)


class Before(Frozen):
    """A date a duration before another."""

    before: DurationSpec
    from_: "DateExpr" = Field(alias="from")

    _check = field_validator("before", mode="before")(_check_duration_text)


class Choose(Frozen):
    """One of two dates, by a condition: `{if: {field: regime, op: eq, value: wi2013}, then: ..., else: ...}`."""

    if_: Condition = Field(alias="if")
    then: "DateExpr"
    else_: "DateExpr" = Field(alias="else")


_DATE_KEYS = {
    "if": "if",
    "field": "field",
    "anchor": "anchor",
    "clock": "clock",
    "today": "today",
    "later_of": "later_of",
    "earlier_of": "earlier_of",
    "after": "after",
    "before": "before",
}


def _date_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        keys = [k for k in _DATE_KEYS if k in value]
        return keys[0] if keys else None
    for key, model in (
        ("if", Choose), ("field", FieldDate), ("anchor", AnchorDate), ("clock", ClockDate), ("today", Today),
        ("later_of", LaterOf), ("earlier_of", EarlierOf), ("after", After), ("before", Before),
    ):
        if isinstance(value, model):
            return key
    return None


DateExpr = Annotated[
    Union[
        Annotated[FieldDate, Tag("field")],
        Annotated[AnchorDate, Tag("anchor")],
        Annotated[ClockDate, Tag("clock")],
        Annotated[Today, Tag("today")],
        Annotated[LaterOf, Tag("later_of")],
        Annotated[EarlierOf, Tag("earlier_of")],
        Annotated[After, Tag("after")],
        Annotated[Before, Tag("before")],
        Annotated[Choose, Tag("if")],
    ],
    Discriminator(
        _date_tag,
        custom_error_type="date_expression",
        custom_error_message="a date expression needs one of: " + ", ".join(_DATE_KEYS),
    ),
]

for _model in (LaterOf, EarlierOf, After, Before, Choose):
    _model.model_rebuild()


# --- values for notifications and `set` ----------------------------------------------------------


class ClockMeasure(Frozen):
    """A number about a legal clock, for notifications: e.g. how much of the term a wait consumed."""

    clock: str
    measure: Literal["elapsed_percent", "elapsed_days", "remaining_days"]


class DaysSince(Frozen):
    """Whole days from a date to today (e.g. how long a medical assessment has been waiting)."""

    days_since: DateExpr


class TermShare(Frozen):
    """Which share (percent) of a legal clock's length has passed since a date: how much of the
    three-year term a wait (e.g. for a medical assessment) has consumed."""

    share_of: str = Field(description="clock id")
    since: DateExpr


def parse_duration_spec(spec: DurationSpec, params: dict[str, Any]) -> Duration:
    """Resolve a duration written in place or taken from the profile parameters (case-data durations
    are resolved by `engine.evaluate.Scope.duration`, which sees the case)."""
    if isinstance(spec, ParamRef):
        return parse_duration(params[spec.param])
    if isinstance(spec, FieldDuration):
        raise TypeError(f"the duration in field '{spec.field}' needs the case: use Scope.duration")
    return parse_duration(spec)


def to_date(value: Any) -> date | None:
    """Case data keeps dates as ISO text so the state round-trips through JSON; read one back."""
    if value is None:
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)
