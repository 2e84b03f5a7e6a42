"""Two operators complete the same step at once: one wins, the other gets a conflict, nothing is half-written."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from engine.events import TaskCompleted
from store.errors import CaseConflict
from tests.store.conftest import FakeClock, count, rows, start

REF = "RMD-2026-0001"


def test_the_second_of_two_changes_based_on_the_same_version_is_refused(engine: sa.Engine, library,
                                                                        clock: FakeClock):
    anna = CaseService(engine, library, clock)
    piet = CaseService(engine, library, clock)
    start(anna)
    history, outbox = count(engine, "case_history"), count(engine, "outbox")

    # Both load version 1 and let the engine complete the step; neither has saved yet.
    first = anna.prepare_change(REF, TaskCompleted(task="klantprofiel", data={"scenario": "snelle_start"},
                                                   actor="anna"))
    second = piet.prepare_change(REF, TaskCompleted(task="klantprofiel", data={"scenario": "gecombineerd"},
                                                    actor="piet"))
    anna.commit_change(first)

    with pytest.raises(CaseConflict, match="de zaak is nu bij versie 2, en deze wijziging ging uit van versie 1"):
        piet.commit_change(second)

    case = anna.show_case(REF)
    assert (case.version, case.data["scenario"]) == (2, "snelle_start")
    assert count(engine, "case_history") == history + len(first.transition.happened)
    assert count(engine, "case_history", actor="piet") == 0
    assert count(engine, "outbox") == outbox + len(first.transition.commands)
    assert {r.key for r in rows(engine, "SELECT key FROM outbox")}.isdisjoint(
        {c.key for c in second.transition.commands} - {c.key for c in first.transition.commands})


def test_two_operators_at_the_same_moment_in_two_threads(engine: sa.Engine, library):
    """Both saw version 1 and press Submit together: the case row is locked for the first, the second
    then finds version 2 and is refused, whichever of them the database lets in first."""
    start(CaseService(engine, library, FakeClock()))
    together = threading.Barrier(2, timeout=10)

    def complete(operator: str, scenario: str):
        service = CaseService(engine, library, FakeClock())
        together.wait()
        try:
            return service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": scenario},
                                         actor=operator, expected_version=1)
        except CaseConflict as conflict:
            return conflict

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(complete, ["anna", "piet"], ["snelle_start", "gecombineerd"]))

    conflicts = [o for o in outcomes if isinstance(o, CaseConflict)]
    winners = [o for o in outcomes if not isinstance(o, CaseConflict)]
    assert len(conflicts) == len(winners) == 1
    winner = "anna" if winners[0].data["scenario"] == "snelle_start" else "piet"
    loser = "piet" if winner == "anna" else "anna"
    assert (conflicts[0].based_on, conflicts[0].current) == (1, 2)
    assert count(engine, "case_history", actor=winner, kind="task_completed") == 1
    assert count(engine, "case_history", actor=loser) == 0
    assert rows(engine, "SELECT version FROM cases") == [(2,)]
