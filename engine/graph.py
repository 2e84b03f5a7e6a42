"""Graph checks on the sequence flows of a definition, and on call activities between definitions.

Every element must be reachable from a start event and able to reach an end event; parallel paths
must split and join in balance (otherwise a join waits for ever); and no definition may call itself
through its call activities. Each check returns (element or definition, what is wrong) pairs; the
validator adds the file and line.
"""

from __future__ import annotations

from typing import Any

from engine.definitions import CallActivity, Definition, EndEvent, ParallelGateway, StartEvent
from engine.process import successors

Found = list[tuple[str, str]]
"""Problems as (element id, what is wrong)."""


def incoming_flows(definition: Definition) -> dict[str, int]:
    """How many flows lead into each element."""
    counts: dict[str, int] = {}
    for element in definition.elements:
        for target in successors(element):
            counts[target] = counts.get(target, 0) + 1
    return counts


def gateway_problems(definition: Definition) -> Found:
    """Parallel gateways that neither split nor join, or do both at once."""
    incoming = incoming_flows(definition)
    found: Found = []
    for element in definition.elements:
        if isinstance(element, ParallelGateway):
            flows_in = incoming.get(element.id, 0)
            if flows_in <= 1 and len(element.next) <= 1:
                found.append((element.id, "parallel_gateway splitst niet en voegt niet samen"))
            if flows_in > 1 and len(element.next) > 1:
                found.append((element.id, "parallel_gateway voegt samen én splitst; gebruik er twee"))
    return found


def flow_problems(definition: Definition) -> Found:
    """Start and end events, reachability, dead ends and parallel balance (needs valid references)."""
    starts = [e for e in definition.elements if isinstance(e, StartEvent)]
    if not starts:
        return [(definition.id, "geen start (start_event)")]
    found: Found = []
    plain = [s.id for s in starts if s.message is None]
    if len(plain) > 1:
        found.append((definition.id, f"meer dan één gewone start (zonder bericht): {', '.join(plain)}"))
    if not any(isinstance(e, EndEvent) for e in definition.elements):
        found.append((definition.id, "geen einde (end_event)"))
    reachable = _walk(definition, [s.id for s in starts], forward=True)
    found += [(e.id, "onbereikbaar vanaf elke start") for e in definition.elements if e.id not in reachable]
    can_end = _walk(definition, [e.id for e in definition.elements if isinstance(e, EndEvent)], forward=False)
    found += [(e.id, "doodlopend: geen pad van hier bereikt een einde (end_event)") for e in definition.elements
              if e.id in reachable and e.id not in can_end]
    return found + _parallel_balance(definition)


def _walk(definition: Definition, roots: list[str], forward: bool) -> set[str]:
    edges: dict[str, list[str]] = {}
    for element in definition.elements:
        for target in successors(element):
            if forward:
                edges.setdefault(element.id, []).append(target)
            else:
                edges.setdefault(target, []).append(element.id)
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        stack.extend(edges.get(node, []))
    return seen


def _parallel_balance(definition: Definition) -> Found:
    """Each parallel split's branches must all meet at one join with exactly that many incoming flows.

    A branch that ends, or meets another join first, would leave the join waiting for ever; a join
    fed by an exclusive choice (fewer tokens than flows) deadlocks the same way.
    """
    elements = {e.id: e for e in definition.elements}
    incoming = incoming_flows(definition)
    joins = {e.id for e in definition.elements if isinstance(e, ParallelGateway) and incoming.get(e.id, 0) > 1}
    found: Found = []
    matched: dict[str, str] = {}
    for element in definition.elements:
        if not isinstance(element, ParallelGateway) or len(element.next) < 2:
            continue
        reached: set[str | None] = set()
        for branch in element.next:
            reached |= _first_joins(elements, branch, joins, set())
        if len(reached) != 1 or None in reached:
            what = ", ".join(sorted("een einde" if j is None else f"samenvoeging '{j}'" for j in reached))
            found.append((element.id, f"ongelijke parallelle splitsing: de takken bereiken {what}, niet één "
                                      f"samenvoeging"))
            continue
        join = reached.pop()
        if incoming[join] != len(element.next):
            found.append((element.id, f"ongelijke parallelle splitsing: {len(element.next)} takken, maar "
                                      f"samenvoeging '{join}' heeft {incoming[join]} inkomende stromen"))
        matched[join] = element.id
    for join in sorted(joins - set(matched)):
        found.append((join, "parallelle samenvoeging zonder bijbehorende splitsing (die zou eeuwig wachten)"))
    return found


def _first_joins(elements: dict[str, Any], start: str, joins: set[str], seen: set[str]) -> set[str | None]:
    """The parallel joins first met on every path from `start` (None for an end event)."""
    if start in seen:
        return set()
    seen = seen | {start}
    element = elements[start]
    if start in joins:
        return {start}
    if isinstance(element, EndEvent):
        return {None}
    if isinstance(element, ParallelGateway) and len(element.next) > 1:
        inner: set[str | None] = set()
        for branch in element.next:
            inner |= _first_joins(elements, branch, joins, seen)
        if len(inner) == 1 and None not in inner:
            nested = next(iter(inner))
            result: set[str | None] = set()
            for target in elements[nested].next:
                result |= _first_joins(elements, target, joins, seen | {nested})
            return result
        return inner
    result = set()
    for target in _main_successors(element):
        result |= _first_joins(elements, target, joins, seen)
    return result


def _main_successors(element: Any) -> list[str]:
    """Where the token itself can go: a non-interrupting boundary event starts a side path on a token
    of its own (which ends at an end event), so it does not count for split/join balance."""
    side = {b.next for b in getattr(element, "boundary", []) if not b.interrupting and b.next}
    main = [t for t in successors(element) if t not in side]
    return main if main else successors(element)


def call_cycles(definitions: dict[str, Definition]) -> Found:
    """Definitions that call themselves through call activities, as (definition ref, the cycle)."""
    calls = {
        ref: [f"{e.process}@{e.version}" for e in d.elements if isinstance(e, CallActivity)]
        for ref, d in definitions.items()
    }

    def cycle_from(ref: str, path: list[str]) -> list[str] | None:
        for callee in calls.get(ref, []):
            if callee == path[0]:
                return path + [callee]
            if callee not in path and callee in calls:
                found = cycle_from(callee, path + [callee])
                if found:
                    return found
        return None

    found: Found = []
    for ref in sorted(calls):
        cycle = cycle_from(ref, [ref])
        if cycle:
            found.append((ref, "kringloop van call_activity's: " + " -> ".join(cycle)))
    return found
