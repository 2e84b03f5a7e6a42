"""Definitions as pictures and tables: a Mermaid flowchart per definition, and all of docs/processes.md.

Pure: definitions in, text out. `regie docs` writes the page; a test checks that the checked-in page
matches, so the documentation cannot drift from the definitions. Every timer, deadline and milestone
is listed with the `source:` note that names the rule it encodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.definitions import (
    BoundaryTimer,
    CallActivity,
    Clock,
    Definition,
    EndEvent,
    ExclusiveGateway,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    ParallelGateway,
    ServiceTask,
    StartEvent,
    TimerSpec,
    Trigger,
    UserTask,
)
from engine.expressions import (
    After,
    AllOf,
    AnchorDate,
    AnyOf,
    Before,
    ClockDate,
    Compare,
    EarlierOf,
    FieldDate,
    LaterOf,
    NotOf,
    ParamRef,
    Today,
)
from engine.loader import Library

_OPS = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥", "in": "in", "not_in": "not in",
        "is_set": "is known", "is_not_set": "is not known"}


# --- describing the small languages in words ------------------------------------------------------


def describe_duration(spec: Any, defaults: Mapping[str, Any] | None = None) -> str:
    """`P10W`, or `{param: x}` as the parameter's name with its default: `huisvestingsnorm` (P12W)."""
    if not isinstance(spec, ParamRef):
        return str(spec)
    default = (defaults or {}).get(spec.param)
    return f"`{spec.param}` ({default})" if default is not None else f"`{spec.param}`"


def describe_date(expr: Any, defaults: Mapping[str, Any] | None = None) -> str:
    """A date expression in words: `P1D after later of (date of duo_kennisgeving, …)`."""
    match expr:
        case FieldDate(field=name):
            return f"`{name}`"
        case AnchorDate(anchor=name):
            return f"date of `{name}`"
        case ClockDate(clock=name, at=at):
            return f"{at} of `{name}`"
        case Today():
            return "today"
        case LaterOf(later_of=items):
            return "later of (" + ", ".join(describe_date(i, defaults) for i in items) + ")"
        case EarlierOf(earlier_of=items):
            return "earlier of (" + ", ".join(describe_date(i, defaults) for i in items) + ")"
        case After(after=spec, from_=base):
            return f"{describe_duration(spec, defaults)} after {describe_date(base, defaults)}"
        case Before(before=spec, from_=base):
            return f"{describe_duration(spec, defaults)} before {describe_date(base, defaults)}"
    return repr(expr)


def describe_condition(condition: Any) -> str:
    """A gateway condition in words: `leerroute = b1_route`."""
    match condition:
        case AllOf(all=items):
            return " and ".join(describe_condition(c) for c in items)
        case AnyOf(any=items):
            return " or ".join(describe_condition(c) for c in items)
        case NotOf(not_=inner):
            return f"not ({describe_condition(inner)})"
        case Compare(field=name, op=op, value=value):
            if op.value in ("is_set", "is_not_set"):
                return f"{name} {_OPS[op.value]}"
            shown = f"profile {value.param}" if isinstance(value, ParamRef) else _literal(value)
            return f"{name} {_OPS[op.value]} {shown}"
    return repr(condition)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(_literal(v) for v in value)
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


def _trigger(trigger: Trigger) -> str:
    if trigger.message:
        return f"message `{trigger.message}`"
    if trigger.completed:
        return f"`{trigger.completed}` completed"
    return f"`{trigger.reached}` reached"


# --- the flowchart --------------------------------------------------------------------------------


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def _node(element: Any) -> str:
    name = element.name or element.id
    match element:
        case StartEvent(message=message):
            return f"{element.id}(({_label(f'✉ {message}' if message else 'start')}))"
        case EndEvent(terminate=terminate):
            return f"{element.id}((({_label(('■ ' if terminate else '') + (element.name or 'einde'))})))"
        case UserTask(role=role):
            return f"{element.id}[{_label(f'{name}<br/>({role})')}]"
        case ServiceTask():
            parts = []
            if element.notify is not None:
                parts.append(f"✉ {element.notify.role}: {element.notify.template}")
            if element.set:
                parts.append("set " + ", ".join(element.set))
            return f"{element.id}[/{_label(element.name or '<br/>'.join(parts))}/]"
        case CallActivity(process=process, version=version):
            return f"{element.id}[[{_label(f'{name}<br/>{process}@{version}')}]]"
        case ExclusiveGateway():
            return f"{element.id}{{{_label(element.name or '×')}}}"
        case ParallelGateway():
            return f"{element.id}{{{_label('+')}}}"
        case IntermediateTimerEvent(timer=timer):
            return f"{element.id}([{_label(f'⏱ {name}<br/>{_plain(describe_timer(timer))}')}])"
        case IntermediateMessageEvent(message=message):
            return f"{element.id}([{_label(f'✉ {message}')}])"
    return f"{element.id}[{_label(name)}]"


def _plain(text: str) -> str:
    return text.replace("`", "")


def flowchart(definition: Definition) -> str:
    """A Mermaid flowchart of one definition: its elements, flows, boundary events and timeouts."""
    lines = ["flowchart TD"]
    edges: list[str] = []
    for element in definition.elements:
        lines.append(f"    {_node(element)}")
        match element:
            case ExclusiveGateway(branches=branches, default=default):
                for branch in branches:
                    edges.append(f"    {element.id} -->|{_label(describe_condition(branch.when))}| {branch.next}")
                if default and branches:
                    edges.append(f"    {element.id} -->|{_label('otherwise')}| {default}")
                elif default:
                    edges.append(f"    {element.id} --> {default}")
            case ParallelGateway(next=targets):
                edges.extend(f"    {element.id} --> {target}" for target in targets)
            case EndEvent():
                pass
            case _:
                edges.append(f"    {element.id} --> {element.next}")
        timeout = getattr(element, "timeout", None)
        if timeout is not None:
            edges.append(f"    {element.id} -->|{_label('⏱ ' + _plain(describe_timer(timeout.timer)))}| {timeout.next}")
        for boundary in getattr(element, "boundary", []):
            node = f"{element.id}__{boundary.id}"
            if isinstance(boundary, BoundaryTimer):
                text = f"⏱ {boundary.id}<br/>{_plain(describe_timer(boundary.timer, 'the step opens'))}"
            else:
                text = f"✉ {boundary.message}"
            if boundary.notify is not None:
                text += f"<br/>✉ {boundary.notify.role}: {boundary.notify.template}"
            lines.append(f"    {node}{{{{{_label(text)}}}}}")
            edges.append(f"    {element.id} -.- {node}")
            if boundary.next is not None:
                arrow = "-->" if boundary.interrupting else "-.->"
                edges.append(f"    {node} {arrow} {boundary.next}")
    return "\n".join(lines + edges) + "\n"


# --- the table of deadlines -----------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """One row of a definition's deadline table."""

    what: str
    kind: str
    when: str
    who: str
    source: str


def deadlines(definition: Definition, defaults: Mapping[str, Any] | None = None) -> list[Deadline]:
    """Every clock, milestone, task deadline, timer, boundary timer and timeout, with its source.

    `defaults` (parameter name -> default) lets a duration taken from the profile show its default.
    """
    d = defaults if defaults is not None else {name: p.default for name, p in definition.parameters.items()}
    rows: list[Deadline] = []
    for clock in definition.clocks:
        rows.extend(_clock_rows(clock, d))
    for element in definition.elements:
        if isinstance(element, UserTask) and element.deadline is not None:
            rows.append(Deadline(f"`{element.id}`", "task deadline", _task_when(element, d),
                                 _task_who(element), element.source))
        if isinstance(element, IntermediateTimerEvent):
            rows.append(Deadline(f"`{element.id}`", "timer", describe_timer(element.timer, "it is reached", d),
                                 "", element.source))
        if isinstance(element, IntermediateMessageEvent) and element.timeout is not None:
            timeout = element.timeout
            who = f"{timeout.notify.role} (`{timeout.notify.template}`)" if timeout.notify else ""
            rows.append(Deadline(f"`{element.id}`", "timeout",
                                 f"waits for `{element.message}` until {describe_timer(timeout.timer, 'the wait starts', d)}; "
                                 f"then `{timeout.next}`", who, timeout.source))
        for boundary in getattr(element, "boundary", []):
            if isinstance(boundary, BoundaryTimer):
                who = f"{boundary.notify.role} (`{boundary.notify.template}`)" if boundary.notify else ""
                then = f"; then `{boundary.next}`" if boundary.next else ""
                kind = "boundary timer" + ("" if boundary.interrupting else " (non-interrupting)")
                rows.append(Deadline(f"`{element.id}` · `{boundary.id}`", kind,
                                     describe_timer(boundary.timer, "the step opens", d) + then, who, boundary.source))
    return rows


def _clock_rows(clock: Clock, d: Mapping[str, Any]) -> list[Deadline]:
    start = describe_date(clock.start_from, d) if clock.start_from else "the day of the trigger"
    parts = [f"{describe_duration(clock.duration, d)} from {start}, started by "
             + " or ".join(_trigger(t) for t in clock.start_on)
             + ("" if clock.first_only else " (a later trigger restarts it)")]
    if clock.pause_on:
        delay = f" + {describe_duration(clock.resume_delay, d)}" if clock.resume_delay else ""
        parts.append("paused by " + " or ".join(_trigger(t) for t in clock.pause_on)
                     + " until " + " or ".join(_trigger(t) for t in clock.resume_on) + delay)
    if clock.stop_on:
        parts.append("stopped by " + " or ".join(_trigger(t) for t in clock.stop_on))
    for extension in clock.extensions:
        to = describe_date(extension.new_end, d) if extension.new_end else f"+{describe_duration(extension.by, d)}"
        parts.append(f"extended by {_trigger(extension.on)} to {to}")
    who = f"expiry: {clock.expiry.role} (`{clock.expiry.template}`)" if clock.expiry else ""
    rows = [Deadline(f"`{clock.id}`", "clock", "; ".join(parts), who, clock.source)]
    for milestone in clock.milestones:
        if milestone.after_start is not None:
            when = f"{describe_duration(milestone.after_start, d)} after the start of `{clock.id}`"
        else:
            when = f"{describe_duration(milestone.before_end, d)} before the end of `{clock.id}`"
        if milestone.set:
            when += "; sets " + ", ".join(f"`{k}`" for k in milestone.set)
        notify = milestone.notify
        rows.append(Deadline(f"`{clock.id}` · `{milestone.id}`", "milestone", when,
                             f"{notify.role} (`{notify.template}`)" if notify else "", milestone.source))
    return rows


def _task_when(task: UserTask, d: Mapping[str, Any]) -> str:
    if isinstance(task.deadline, (str, ParamRef)):
        when = f"{describe_duration(task.deadline, d)} after the step opens"
    else:
        when = f"on {describe_date(task.deadline, d)}"
    if task.reminders:
        when += "; reminders " + ", ".join(describe_duration(r.before, d) for r in task.reminders) + " before"
    return when


def _task_who(task: UserTask) -> str:
    who = task.role
    for escalation in task.escalations:
        after = "" if isinstance(escalation.after, str) and escalation.after == "P0D" \
            else f" {describe_duration(escalation.after)} later"
        who += f"; escalation to {escalation.to}{after}"
    return who


# --- the page -------------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ") if text not in (None, "") else "–"


def _order(library: Library) -> list[Definition]:
    """Root definitions (started by a life event) first, then each sub-process after its first caller."""
    latest = {}
    for definition in library.definitions.values():
        if definition.id not in latest or definition.version > latest[definition.id].version:
            latest[definition.id] = definition
    roots = sorted((d for d in latest.values() if any(isinstance(e, StartEvent) and e.message for e in d.elements)),
                   key=lambda d: d.id)
    ordered: list[Definition] = list(roots)

    def visit(definition: Definition) -> None:
        for element in definition.elements:
            if isinstance(element, CallActivity):
                callee = library.definitions.get(f"{element.process}@{element.version}")
                if callee is not None and callee not in ordered:
                    ordered.append(callee)
                    visit(callee)

    for root in roots:
        visit(root)
    rest = sorted((d for d in latest.values() if d not in ordered), key=lambda d: d.id)
    return ordered + rest


def definition_section(definition: Definition, defaults: Mapping[str, Any] | None = None) -> str:
    """One definition's part of the page: description, diagram, deadlines, parameters, handlers."""
    out = [f"## {definition.name} (`{definition.ref}`)", ""]
    if definition.description:
        out += [definition.description, ""]
    out += ["```mermaid", flowchart(definition).rstrip("\n"), "```", ""]
    rows = deadlines(definition, defaults)
    if rows:
        out += ["| What | Kind | When | Who is told | Source |", "|---|---|---|---|---|"]
        out += [f"| {_cell(r.what)} | {r.kind} | {_cell(r.when)} | {_cell(r.who)} | {_cell(r.source)} |" for r in rows]
        out.append("")
    if definition.parameters:
        out += ["Parameters (a municipality profile may set them):", "",
                "| Parameter | Type | Default | Source |", "|---|---|---|---|"]
        out += [f"| `{name}` | {p.type} | `{p.default}` | {_cell(p.source)} |" for name, p in definition.parameters.items()]
        out.append("")
    if definition.message_handlers:
        out += ["Whenever a message arrives while the case runs:", ""]
        for handler in definition.message_handlers:
            told = ", ".join(f"{n.role} (`{n.template}`)" for n in handler.notify) or "nobody"
            sets = "; sets " + ", ".join(f"`{k}`" for k in handler.set) if handler.set else ""
            out.append(f"- `{handler.message}`: tell {told}{sets}")
        out.append("")
    return "\n".join(out)


def profiles_section(library: Library) -> str:
    """The parameters each municipality profile sets, beside the definitions' defaults."""
    profiles = sorted(library.profiles.values(), key=lambda p: p.id)
    if not profiles:
        return ""
    defaults = {name: p.default for d in _order(library) for name, p in d.parameters.items()}
    names = sorted({name for p in profiles for name in p.parameters}, key=list(defaults).index)
    out = ["## Municipality profiles", "",
           "Parameters the example profiles set; every other parameter keeps the default above.", "",
           "| Parameter | Default | " + " | ".join(f"{p.name} (`{p.id}`)" for p in profiles) + " |",
           "|---|---|" + "---|" * len(profiles)]
    for name in names:
        values = " | ".join(f"`{p.parameters[name]}`" if name in p.parameters else "–" for p in profiles)
        out.append(f"| `{name}` | `{defaults[name]}` | {values} |")
    out.append("")
    return "\n".join(out)


def processes_doc(library: Library) -> str:
    """The whole of docs/processes.md for a library of definitions and profiles."""
    ordered = _order(library)
    out = [
        "# Process definitions",
        "",
        "<!-- Generated by `regie docs` from process_definitions/. Do not edit by hand: change the",
        "     definitions and run `regie docs`; `regie docs --check` and the tests fail when this is stale. -->",
        "",
        "Each definition below has a diagram (✉ a message or notification, ⏱ a timer, dotted lines: boundary",
        "events that do not interrupt the step) and a table of its deadlines, timers and milestones with the",
        "rule each one encodes (sections of `wi2021.md`, requirements P1–P15 of the practice README).",
        "",
    ]
    out += [f"- [{d.name}](#{_anchor(d)})" for d in ordered]
    out.append("")
    defaults = {name: p.default for d in ordered for name, p in d.parameters.items()}
    for definition in ordered:
        out.append(definition_section(definition, defaults))
    section = profiles_section(library)
    if section:
        out.append(section)
    return "\n".join(out).rstrip("\n") + "\n"


def _anchor(definition: Definition) -> str:
    # GitHub's heading anchors: lower case, spaces to dashes, most punctuation dropped.
    text = f"{definition.name} ({definition.ref})".lower()
    kept = "".join(c for c in text if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


__all__ = ["Deadline", "deadlines", "definition_section", "describe_condition", "describe_date",
           "describe_duration", "describe_timer", "flowchart", "processes_doc", "profiles_section"]
