"""Move a running case to a newer version of its definition, with an explicit mapping of element ids.

A case pins the `id@version` it started on. When a definition changes, new cases get the new version;
a running case moves only when someone decides so and says where each waiting token goes. Anything
that cannot be placed is an error naming it, and the case stays as it was.

A running sub-process moves to the version of it the new process calls when every element its tokens
wait at exists there as the same kind (the mapping renames root-level elements only). Clock states
keep their dates; whether a clock is statutory (the Algemene termijnenwet moves its end) follows the
new definition from then on.
"""

from __future__ import annotations

from datetime import datetime

from engine.calendar import require_aware
from engine.errors import MigrationError
from engine.interpreter import Transition
from engine.process import Process
from engine.state import ROOT_SCOPE, CaseState, HistoryEntry


def migrate(old: Process, new: Process, state: CaseState, now: datetime,
            mapping: dict[str, str] | None = None) -> Transition:
    """The case moved from `old` to `new`; `mapping` renames root-level element ids (old -> new).

    The transition has no commands; what happened is one `migrated` entry for the case history.
    """
    now = require_aware(now)
    mapping = mapping or {}
    if state.definition != old.ref:
        raise MigrationError(f"zaak {state.case_ref} loopt volgens {state.definition}, niet volgens {old.ref}")
    if old.root.id != new.root.id:
        raise MigrationError(f"{old.ref} kan niet overgaan naar een andere definitie ({new.ref})")
    old_elements = old.elements[old.ref]
    new_elements = new.elements[new.ref]
    unknown = sorted(set(mapping) - set(old_elements))
    if unknown:
        raise MigrationError(f"de vertaling (mapping) noemt element(en) die {old.ref} niet heeft: {', '.join(unknown)}")
    problems: list[str] = []

    def place(element_id: str) -> str:
        target = mapping.get(element_id, element_id)
        if target not in new_elements:
            problems.append(f"'{element_id}' heeft geen plaats in {new.ref} (zet het in de vertaling)")
            return target
        if old_elements[element_id].type != new_elements[target].type:
            problems.append(f"'{element_id}' is van soort {old_elements[element_id].type}, maar '{target}' in "
                            f"{new.ref} is van soort {new_elements[target].type}")
        return target

    root_tokens = {t.id for t in state.tokens if t.scope == ROOT_SCOPE}
    tokens = [t.model_copy(update={"element": place(t.element)}) if t.id in root_tokens else t
              for t in state.tokens]
    tasks = [t.model_copy(update={"element": place(t.element)}) if t.token in root_tokens else t
             for t in state.tasks]
    scopes = []
    for scope in state.scopes:
        if scope.id == ROOT_SCOPE:
            scopes.append(scope.model_copy(update={"definition": new.ref}))
        elif scope.definition in new.definitions:
            scopes.append(scope)
        else:
            moved_to = _sub_process_version(scope, state, old, new, problems)
            if moved_to is not None:
                scopes.append(scope.model_copy(update={"definition": moved_to}))
    clocks = {}
    for clock_id, clock in state.clocks.items():
        if clock_id not in new.clocks:
            problems.append(f"termijn '{clock_id}' loopt, maar {new.ref} kent hem niet")
        else:
            clocks[clock_id] = clock.model_copy(update={"atw": new.clocks[clock_id][1].atw})
    joins = {}
    for key, count in state.joins.items():
        scope, element = key.split("/", 1)
        joins[f"{scope}/{place(element) if scope == ROOT_SCOPE else element}"] = count
    if problems:
        raise MigrationError(f"zaak {state.case_ref} kan niet over naar {new.ref}: " + "; ".join(sorted(set(problems))))
    timers = [t for t in state.timers if _timer_still_fits(t, tokens, scopes, new)]
    moved = state.model_copy(update={
        "definition": new.ref, "tokens": tokens, "tasks": tasks, "scopes": scopes, "joins": joins,
        "timers": timers, "clocks": clocks,
    })
    return Transition(moved, [], [HistoryEntry(at=now, kind="migrated", ref=new.ref, detail=f"van {old.ref}")])


def _sub_process_version(scope, state: CaseState, old: Process, new: Process, problems: list[str]) -> str | None:
    """The version of a running sub-process's definition in the new process, if its tokens fit there."""
    name = scope.definition.split("@")[0]
    candidates = [ref for ref in new.definitions if ref.split("@")[0] == name]
    if not candidates:
        problems.append(f"deelproces {scope.definition} loopt, maar hoort niet bij {new.ref}")
        return None
    target = candidates[0]
    for token in (t for t in state.tokens if t.scope == scope.id):
        here = old.elements[scope.definition][token.element]
        there = new.elements[target].get(token.element)
        if there is None or there.type != here.type:
            problems.append(f"deelproces {scope.definition} wacht bij '{token.element}', dat {target} niet heeft "
                            f"als {here.type}")
            return None
    return target


def _timer_still_fits(timer, tokens, scopes, new: Process) -> bool:
    """Drop reminders, escalations and boundary timers the new version no longer has."""
    if timer.token is None:
        return True
    token = next((t for t in tokens if t.id == timer.token), None)
    if token is None:
        return False
    definition = next(s.definition for s in scopes if s.id == token.scope)
    element = new.elements[definition][token.element]
    if timer.kind == "reminder":
        return int(timer.ref) < len(getattr(element, "reminders", []))
    if timer.kind == "escalation":
        return int(timer.ref) < len(getattr(element, "escalations", []))
    if timer.kind == "boundary":
        return any(b.id == timer.ref for b in getattr(element, "boundary", []))
    return True
