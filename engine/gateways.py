"""Gateways: an exclusive gateway chooses one path, a parallel gateway splits into paths or joins them.

A join counts the tokens that arrived per scope (`state.joins`) and lets one token on when the last
incoming flow has delivered its token.
"""

from __future__ import annotations

from engine.definitions import ExclusiveGateway, ParallelGateway
from engine.errors import EngineError
from engine.run import Run
from engine.state import Token


def choose(run: Run, gateway: ExclusiveGateway) -> str:
    """Where the case goes: the first branch whose condition holds, else the default."""
    for branch in gateway.branches:
        if run.eval.holds(branch.when):
            return branch.next
    if gateway.default is None:
        raise EngineError(f"keuzepunt '{gateway.id}': geen enkele tak geldt en er is geen standaardtak (default)")
    return gateway.default


def parallel(run: Run, token: Token, definition: str, gateway: ParallelGateway) -> None:
    """Split the token into one per outgoing flow, or (a join) wait until every incoming flow has arrived."""
    if run.process.is_join(definition, gateway):
        key = f"{token.scope}/{gateway.id}"
        arrived = run.state.joins.get(key, 0) + 1
        needed = run.process.incoming[definition][gateway.id]
        if arrived < needed:
            run.state.joins[key] = arrived
            run.state.tokens = [t for t in run.state.tokens if t.id != token.id]
            return
        run.state.joins.pop(key, None)
    first, *rest = gateway.next
    for target in rest:
        run.spawn(token.scope, target)
    run.move(token, first)
