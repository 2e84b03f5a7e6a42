"""Definitions in words: durations, date expressions, conditions, timers and clock triggers.

One description serves two readers: the generated docs/processes.md (`style="markdown"`: names in
code font, the page shows the definitions beside them) and error messages (`style="text"`: plain
text that says what kind of thing each name is, because an operator reads it without the definition).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from engine.definitions import TimerSpec, Trigger
from engine.expressions import (
    After,
    AllOf,
    AnchorDate,
    AnyOf,
    Before,
    Choose,
    ClockDate,
    Compare,
    EarlierOf,
    FieldDate,
    LaterOf,
    NotOf,
    ParamRef,
    Today,
)

Style = Literal["markdown", "text"]
"""Who reads a description: the docs page (markdown) or an operator reading an error (text)."""

# How each style names a thing a date expression refers to: a field, a message's arrival, a clock, a parameter.
_NAMES: dict[str, dict[str, str]] = {
    "markdown": {"field": "`{}`", "anchor": "date of `{}`", "clock": "{at} of `{}`", "param": "`{}`"},
    "text": {"field": "veld '{}'", "anchor": "datum van bericht '{}'", "clock": "{at} van termijn '{}'",
             "param": "parameter '{}'"},
}
# The words around the names: the docs are English, an operator reads an error in Dutch.
_WORDS: dict[str, dict[str, str]] = {
    "markdown": {"today": "today", "later": "later of", "earlier": "earlier of", "after": "after",
                 "before": "before", "if": "if", "else": "else", "and": "and", "or": "or", "not": "not",
                 "profile": "profile", "date of": "date of", "yes": "yes", "no": "no", "start": "start",
                 "end": "end"},
    "text": {"today": "vandaag", "later": "de laatste van", "earlier": "de eerste van", "after": "na",
             "before": "vóór", "if": "als", "else": "anders", "and": "en", "or": "of", "not": "niet",
             "profile": "profiel", "date of": "datum van", "yes": "ja", "no": "nee", "start": "start",
             "end": "einde"},
}
_OPS = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in", "not_in": "not in",
        "is_set": "is known", "is_not_set": "is not known"}
_OPS_TEXT = _OPS | {"not_in": "niet in", "is_set": "is bekend", "is_not_set": "is niet bekend"}


def describe_duration(spec: Any, defaults: Mapping[str, Any] | None = None, style: Style = "markdown") -> str:
    """`P10W`, or `{param: x}` as the parameter's name with its default: `huisvestingsnorm` (P12W)."""
    if not isinstance(spec, ParamRef):
        return str(spec)
    name = _NAMES[style]["param"].format(spec.param)
    default = (defaults or {}).get(spec.param)
    return f"{name} ({default})" if default is not None else name


def describe_date(expr: Any, defaults: Mapping[str, Any] | None = None, style: Style = "markdown") -> str:
    """A date expression in words, e.g. P1D after later of (date of `duo_kennisgeving`, …)."""
    names, w = _NAMES[style], _WORDS[style]
    match expr:
        case FieldDate(field=name):
            return names["field"].format(name)
        case AnchorDate(anchor=name):
            return names["anchor"].format(name)
        case ClockDate(clock=name, at=at):
            return names["clock"].format(name, at=w.get(str(at), at))
        case Today():
            return w["today"]
        case LaterOf(later_of=items):
            return f"{w['later']} (" + ", ".join(describe_date(i, defaults, style) for i in items) + ")"
        case EarlierOf(earlier_of=items):
            return f"{w['earlier']} (" + ", ".join(describe_date(i, defaults, style) for i in items) + ")"
        case After(after=spec, from_=base):
            return f"{describe_duration(spec, defaults, style)} {w['after']} {describe_date(base, defaults, style)}"
        case Before(before=spec, from_=base):
            return f"{describe_duration(spec, defaults, style)} {w['before']} {describe_date(base, defaults, style)}"
        case Choose(if_=condition, then=then, else_=otherwise):
            return (f"{describe_date(then, defaults, style)} {w['if']} {describe_condition(condition, style)}, "
                    f"{w['else']} {describe_date(otherwise, defaults, style)}")
    return repr(expr)


def describe_condition(condition: Any, style: Style = "markdown") -> str:
    """A gateway condition in words: `leerroute = b1_route`."""
    w, ops = _WORDS[style], (_OPS if style == "markdown" else _OPS_TEXT)
    match condition:
        case AllOf(all=items):
            return f" {w['and']} ".join(describe_condition(c, style) for c in items)
        case AnyOf(any=items):
            return f" {w['or']} ".join(describe_condition(c, style) for c in items)
        case NotOf(not_=inner):
            return f"{w['not']} ({describe_condition(inner, style)})"
        case Compare(field=field, param=param, anchor=anchor, op=op, value=value):
            name = field or (f"{w['profile']} {param}" if param else f"{w['date of']} {anchor}")
            if op.value in ("is_set", "is_not_set"):
                return f"{name} {ops[op.value]}"
            shown = f"{w['profile']} {value.param}" if isinstance(value, ParamRef) else _literal(value, w)
            return f"{name} {ops[op.value]} {shown}"
    return repr(condition)


def _literal(value: Any, words: Mapping[str, str] = _WORDS["markdown"]) -> str:
    if isinstance(value, bool):
        return words["yes"] if value else words["no"]
    if isinstance(value, list):
        return ", ".join(_literal(v, words) for v in value)
    return str(value)


def describe_timer(timer: TimerSpec, started: str = "the wait starts",
                   defaults: Mapping[str, Any] | None = None) -> str:
    """When a timer fires, in words."""
    if timer.duration is not None:
        return f"{describe_duration(timer.duration, defaults)} after {started}"
    if timer.date is not None:
        return f"on {describe_date(timer.date, defaults)}"
    cycle = timer.cycle
    times = f", at most {cycle.times} times" if cycle.times else ""
    base = f" from {describe_date(cycle.start, defaults)}" if cycle.start else f" after {started}"
    return f"every {describe_duration(cycle.every, defaults)}{base}{times}"


def describe_trigger(trigger: Trigger) -> str:
    """What starts, pauses, resumes, stops or extends a clock, in words (markdown)."""
    if trigger.message:
        return f"message `{trigger.message}`"
    if trigger.completed:
        return f"`{trigger.completed}` completed"
    return f"`{trigger.reached}` reached"
