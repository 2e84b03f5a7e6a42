"""Evaluate date expressions, conditions and computed values against one case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from engine.definitions import ContextValue, DataField, FieldType
from engine.describe import describe_date
from engine.durations import Duration, parse_duration
from engine.errors import DataMissing
from engine.expressions import (
    After,
    AllOf,
    AnchorDate,
    AnyOf,
    Before,
    Choose,
    ClockDate,
    ClockMeasure,
    Compare,
    DaysSince,
    EarlierOf,
    FieldDate,
    FieldDuration,
    LaterOf,
    NotOf,
    Op,
    ParamRef,
    TermShare,
    Today,
    parse_duration_spec,
    to_date,
)
from engine.state import CaseState


@dataclass(frozen=True)
class Scope:
    """What an expression can see: the case, the profile parameters and today's date."""

    state: CaseState
    params: dict[str, Any]
    data_fields: dict[str, DataField]
    today: date

    def duration(self, spec: Any) -> Duration:
        """A duration written in place, taken from the profile, or stored in a case-data field."""
        if isinstance(spec, FieldDuration):
            value = self.state.data.get(spec.field)
            if value is None:
                raise DataMissing(f"de duur in veld '{spec.field}' is nog niet bekend")
            return parse_duration(value)
        return parse_duration_spec(spec, self.params)

    def date(self, expr: Any) -> date | None:
        """The date an expression names, or None while the data it needs is not known yet."""
        match expr:
            case FieldDate(field=name):
                return to_date(self.state.data.get(name))
            case AnchorDate(anchor=name):
                return self.state.anchors.get(name)
            case ClockDate(clock=name, at=at):
                clock = self.state.clocks.get(name)
                if clock is None:
                    return None
                return clock.started_on if at == "start" else clock.last_day_on(self.today)
            case Today():
                return self.today
            case LaterOf(later_of=items):
                known = [d for d in (self.date(i) for i in items) if d is not None]
                return max(known) if known else None
            case EarlierOf(earlier_of=items):
                known = [d for d in (self.date(i) for i in items) if d is not None]
                return min(known) if known else None
            case After(after=spec, from_=base):
                start = self.date(base)
                return None if start is None else self.duration(spec).after(start)
            case Before(before=spec, from_=base):
                end = self.date(base)
                return None if end is None else self.duration(spec).before(end)
            case Choose(if_=condition, then=then, else_=otherwise):
                return self.date(then if self.holds(condition) else otherwise)
        raise TypeError(f"not a date expression: {expr!r}")

    def required_date(self, expr: Any, what: str) -> date:
        """Like `date`, but a missing date is an error that names what needed it."""
        value = self.date(expr)
        if value is None:
            raise DataMissing(f"{what}: de datum {describe_date(expr, self.params, style='text')} is nog niet bekend")
        return value

    def holds(self, condition: Any) -> bool:
        """Whether a gateway condition holds for the case data."""
        match condition:
            case AllOf(all=items):
                return all(self.holds(c) for c in items)
            case AnyOf(any=items):
                return any(self.holds(c) for c in items)
            case NotOf(not_=inner):
                return not self.holds(inner)
            case Compare():
                return self._compare(condition)
        raise TypeError(f"not a condition: {condition!r}")

    def _compare(self, c: Compare) -> bool:
        if c.anchor is not None:
            actual = self.state.anchors.get(c.anchor)
        else:
            actual = self.params.get(c.param) if c.param is not None else self.state.data.get(c.field)
        if c.op is Op.is_set:
            return actual is not None
        if c.op is Op.is_not_set:
            return actual is None
        expected = self.params[c.value.param] if isinstance(c.value, ParamRef) else c.value
        field = self.data_fields.get(c.field) if c.field is not None else None
        if c.anchor is not None or (field is not None and field.type is FieldType.date):
            actual = to_date(actual)
            expected = [to_date(v) for v in expected] if isinstance(expected, list) else to_date(expected)
        if actual is None:
            return c.op is Op.ne or c.op is Op.not_in
        match c.op:
            case Op.eq:
                return actual == expected
            case Op.ne:
                return actual != expected
            case Op.in_:
                return actual in expected
            case Op.not_in:
                return actual not in expected
            case Op.lt:
                return actual < expected
            case Op.le:
                return actual <= expected
            case Op.gt:
                return actual > expected
            case Op.ge:
                return actual >= expected
        raise TypeError(f"unknown operator {c.op}")

    def value(self, value: Any, what: str) -> Any:
        """A value to store in case data: a literal, a profile parameter, or a date (as ISO text)."""
        if isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, ParamRef):
            return self.params[value.param]
        return self.required_date(value, what).isoformat()

    def context_value(self, item: ContextValue) -> Any:
        """A computed notification value (a date as ISO text, or a number)."""
        value = item.value
        if isinstance(value, ClockMeasure):
            clock = self.state.clocks.get(value.clock)
            if clock is None:
                return None
            elapsed = (min(self.today, clock.end_on) - clock.started_on).days
            total = (clock.end_on - clock.started_on).days + 1
            if value.measure == "elapsed_days":
                return max(elapsed, 0)
            if value.measure == "remaining_days":
                return max((clock.end_on - self.today).days, 0)
            return round(100 * max(elapsed, 0) / total) if total > 0 else 100
        if isinstance(value, TermShare):
            clock = self.state.clocks.get(value.share_of)
            since = self.date(value.since)
            if clock is None or since is None:
                return None
            total = (clock.end_on - clock.started_on).days + 1
            return round(100 * max((self.today - max(since, clock.started_on)).days, 0) / total)
        if isinstance(value, DaysSince):
            since = self.date(value.days_since)
            return None if since is None else (self.today - since).days
        found = self.date(value)
        return None if found is None else found.isoformat()
