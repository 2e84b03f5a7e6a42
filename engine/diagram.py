"""docs/processes.md from the definitions: per definition a diagram and a table of its deadlines.

Pure: definitions in, text out. `regie docs` writes the page; a test checks that the checked-in page
matches, so the documentation cannot drift from the definitions. Every timer, deadline and milestone
is listed with the `source:` note that names the rule it encodes. The flowchart is drawn by
`engine.flowchart` and the words come from `engine.describe`; both are importable from here too.
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
    FieldDuration,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    StartEvent,
    UserTask,
)
from engine.describe import (
    describe_condition,
    describe_date,
    describe_duration,
    describe_timer,
    describe_trigger,
)
from engine.expressions import ParamRef
from engine.flowchart import flowchart
from engine.loader import Library


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
    restarts = "" if clock.first_only else (" (a later trigger restarts it, also after it stopped)"
                                           if clock.restart_after_stop else " (a later trigger restarts it)")
    parts = [f"{describe_duration(clock.duration, d)} from {start}, started by "
             + " or ".join(describe_trigger(t) for t in clock.start_on) + restarts]
    if clock.start_if is not None:
        parts.append(f"only when {describe_condition(clock.start_if)}")
    if clock.atw:
        parts.append("statutory: the Algemene termijnenwet moves a last day on a weekend or holiday")
    if clock.pause_on:
        delay = f" + {describe_duration(clock.resume_delay, d)}" if clock.resume_delay else ""
        parts.append("paused by " + " or ".join(describe_trigger(t) for t in clock.pause_on)
                     + " until " + " or ".join(describe_trigger(t) for t in clock.resume_on) + delay)
    if clock.stop_on:
        judged = f", judged on {describe_date(clock.stopped_on, d)}" if clock.stopped_on else ""
        parts.append("stopped by " + " or ".join(describe_trigger(t) for t in clock.stop_on) + judged)
    for extension in clock.extensions:
        if extension.new_end is not None:
            to = describe_date(extension.new_end, d)
        elif isinstance(extension.by, FieldDuration):
            to = f"+ the length in `{extension.by.field}`"
        else:
            to = f"+{describe_duration(extension.by, d)}"
        parts.append(f"extended by {describe_trigger(extension.on)} to {to}")
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
    if task.no_escalation is not None:
        who += f"; no escalation: {task.no_escalation}"
    return who


# --- the page -------------------------------------------------------------------------------------


def _yaml(value: Any) -> str:
    """A parameter value as it is written in YAML (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


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
        out += [f"| `{name}` | {p.type} | `{_yaml(p.default)}` | {_cell(p.source)} |"
                for name, p in definition.parameters.items()]
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
    current = {name: p.default for d in _order(library) for name, p in d.parameters.items()}
    # Parameters only older versions declare still apply to the cases that run on those versions.
    older = {name: (p.default, d.ref) for d in library.definitions.values() for name, p in d.parameters.items()
             if name not in current}
    order = list(current) + sorted(older)
    names = sorted({name for p in profiles for name in p.parameters}, key=order.index)
    out = ["## Municipality profiles", "",
           "Parameters the example profiles set; every other parameter keeps the default above.", "",
           "| Parameter | Default | " + " | ".join(f"{p.name} (`{p.id}`)" for p in profiles) + " |",
           "|---|---|" + "---|" * len(profiles)]
    for name in names:
        values = " | ".join(f"`{_yaml(p.parameters[name])}`" if name in p.parameters else "–" for p in profiles)
        label = f"`{name}`" if name in current else f"`{name}` (only {older[name][1]}, for cases still on it)"
        default = current[name] if name in current else older[name][0]
        out.append(f"| {label} | `{_yaml(default)}` | {values} |")
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
           "describe_duration", "describe_timer", "describe_trigger", "flowchart", "processes_doc",
           "profiles_section"]
