"""Sub-processes and the end of paths: call activities, end events, and cancelling what a token does.

A call activity runs another definition in a scope of its own; the parent token waits until the last
token of that scope ends. When the root scope ends, the case is completed (or terminated) and its
clocks stop with it.
"""

from __future__ import annotations

import engine.clocks as clockwork
import engine.timers as timers
import engine.user_tasks as user_tasks
from engine.definitions import CallActivity, EndEvent, StartEvent
from engine.run import Run
from engine.state import Scope, Token


def call(run: Run, token: Token, element: CallActivity) -> None:
    """Start the called definition in a new scope; its boundary timers run while it does."""
    ref = f"{element.process}@{element.version}"
    child = run.process.definitions[ref]
    scope = Scope(id=run.next_id("s"), definition=ref, parent_token=token.id)
    run.state.scopes.append(scope)
    run.record("subprocess_started", ref, f"vanuit {element.id}", element=element.id)
    run.enter_phase(child.phase)
    start = next(e for e in child.elements if isinstance(e, StartEvent) and e.message is None)
    timers.schedule_boundaries(run, token, element)
    run.spawn(scope.id, start.id)


def end(run: Run, token: Token, element: EndEvent) -> None:
    """The path ends (a terminating end event ends its whole scope); the last path ends the scope."""
    run.state.tokens = [t for t in run.state.tokens if t.id != token.id]
    if element.terminate:
        for other in [t for t in run.state.tokens if t.scope == token.scope]:
            interrupt(run, other)
            run.state.tokens = [t for t in run.state.tokens if t.id != other.id]
    if not any(t.scope == token.scope for t in run.state.tokens):
        _scope_done(run, token.scope, terminated=element.terminate)


def _scope_done(run: Run, scope_id: str, terminated: bool) -> None:
    scope = run.scope(scope_id)
    run.state.scopes = [s for s in run.state.scopes if s.id != scope_id]
    run.state.joins = {k: v for k, v in run.state.joins.items() if not k.startswith(f"{scope_id}/")}
    if scope.parent_token is None:
        run.state.status = "terminated" if terminated else "completed"
        run.state.timers = []
        clockwork.close_all(run)
        run.record("case_terminated" if terminated else "case_completed", scope.definition)
        return
    parent = run.token(scope.parent_token)
    activity = run.element_of(parent)
    run.record("subprocess_completed", scope.definition, element=activity.id)
    run.cancel_timers(token=parent.id)
    run.move(parent, activity.next)


def interrupt(run: Run, token: Token) -> None:
    """Cancel what a token is doing: its task, its timers, and a running sub-process."""
    run.cancel_timers(token=token.id)
    for task in [t for t in run.state.tasks if t.token == token.id]:
        user_tasks.close_task(run, task, "cancelled")
    for child in [s for s in run.state.scopes if s.parent_token == token.id]:
        for inner in [t for t in run.state.tokens if t.scope == child.id]:
            interrupt(run, inner)
            run.state.tokens = [t for t in run.state.tokens if t.id != inner.id]
        run.state.scopes = [s for s in run.state.scopes if s.id != child.id]
        run.record("subprocess_cancelled", child.definition, element=token.element)
