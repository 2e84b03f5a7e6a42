"""A definition as a picture: a Mermaid flowchart of its elements, flows, boundary events and timeouts.

Pure: a definition in, Mermaid text out. `engine.diagram` puts one in docs/processes.md per definition.
"""

from __future__ import annotations

from typing import Any

from engine.definitions import (
    BoundaryTimer,
    CallActivity,
    Definition,
    EndEvent,
    ExclusiveGateway,
    IntermediateMessageEvent,
    IntermediateTimerEvent,
    ParallelGateway,
    ServiceTask,
    StartEvent,
    UserTask,
)
from engine.describe import describe_condition, describe_timer


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

