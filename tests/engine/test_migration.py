"""Moving a running case to a newer definition version, tested on a state frozen from the old version.

tests/fixtures/migration/rondleiding_v1_state.json was written once by rondleiding@1 and is never
regenerated: it stands for a case that has been in the store for months.
"""

from __future__ import annotations

import pytest

from engine.errors import MigrationError
from engine.events import TaskCompleted
from engine.interpreter import advance, fire_due_timers
from engine.migration import migrate
from engine.state import CaseState
from engine.validator import validate_paths
from tests.engine.casefile import ROOT, at

FIXTURES = ROOT / "tests" / "fixtures"
LIBRARY, PROBLEMS = validate_paths([ROOT / "process_definitions" / "catalog.yaml", FIXTURES / "definitions",
                                    FIXTURES / "migration"])
OLD = LIBRARY.process("rondleiding@1")
NEW = LIBRARY.process("rondleiding@2")


@pytest.fixture
def frozen() -> CaseState:
    return CaseState.model_validate_json((FIXTURES / "migration" / "rondleiding_v1_state.json").read_text())


def test_the_frozen_old_state_still_loads_and_runs_on_its_own_version(frozen):
    assert PROBLEMS == []
    assert frozen.definition == "rondleiding@1"
    # Written in state format 1, with the history embedded; it reads as the current format.
    assert '"history"' in (FIXTURES / "migration" / "rondleiding_v1_state.json").read_text()
    assert frozen.state_format == 2 and "history" not in frozen.model_dump()
    step = advance(OLD, frozen, TaskCompleted(task="klantprofiel", data={"scenario": "snelle_start"}),
                   at("2026-01-14"))
    assert {t.element for t in step.state.tasks} == {"taalspoor"}


def test_a_running_case_moves_to_the_new_version_with_a_mapping_and_continues(frozen):
    step = migrate(OLD, NEW, frozen, at("2026-01-14"), mapping={"klantprofiel": "klantprofiel_ontvangen"})
    moved = step.state
    assert moved.definition == "rondleiding@2"
    assert [t.element for t in moved.tasks] == ["klantprofiel_ontvangen"]
    assert {t.kind for t in moved.timers} == {t.kind for t in frozen.timers}
    assert [(h.kind, h.detail) for h in step.happened] == [("migrated", "van rondleiding@1")]
    assert CaseState.model_validate_json(moved.model_dump_json()) == moved

    late = fire_due_timers(NEW, moved, at("2026-01-21"))
    assert [h.kind for h in late.happened if h.kind in ("reminder_sent", "deadline_missed")] == [
        "reminder_sent", "deadline_missed"]
    done = advance(NEW, late.state, TaskCompleted(task="klantprofiel_ontvangen", data={"scenario": "snelle_start"}),
                   at("2026-01-21"))
    assert {t.element for t in done.state.tasks} == {"taalspoor"}


def test_a_migration_that_leaves_a_token_without_a_place_is_refused_and_changes_nothing(frozen):
    before = frozen.model_dump_json()
    with pytest.raises(MigrationError,
                       match=r"'klantprofiel' heeft geen plaats in rondleiding@2 \(zet het in de vertaling\)"):
        migrate(OLD, NEW, frozen, at("2026-01-14"))
    assert frozen.model_dump_json() == before


def test_a_mapping_onto_an_element_of_another_kind_is_refused(frozen):
    with pytest.raises(MigrationError, match="'klantprofiel' is van soort user_task, maar 'keuze' in rondleiding@2 is van soort exclusive_gateway"):
        migrate(OLD, NEW, frozen, at("2026-01-14"), mapping={"klantprofiel": "keuze"})


def test_a_mapping_must_name_elements_of_the_old_version(frozen):
    with pytest.raises(MigrationError,
                       match="de vertaling \\(mapping\\) noemt element\\(en\\) die rondleiding@1 niet heeft: bestaat_niet"):
        migrate(OLD, NEW, frozen, at("2026-01-14"), mapping={"bestaat_niet": "keuze"})


def test_a_running_sub_process_moves_to_the_called_version_only_when_its_tokens_fit():
    from tests.engine.casefile import Case, library
    from tests.engine.test_elements import CALLER, SUB

    sub_v2 = SUB.replace("version: 1", "version: 2")
    caller_v2 = CALLER.replace("version: 1", "version: 2", 1).replace("    process: deel\n    version: 1",
                                                                        "    process: deel\n    version: 2")
    lib = library(CALLER, SUB, caller_v2, sub_v2)
    old, new = lib.process("proef@1"), lib.process("proef@2")
    case = Case(old).start("2026-01-05")
    moved = migrate(old, new, case.state, at("2026-01-06")).state
    assert sorted(s.definition for s in moved.scopes) == ["deel@2", "proef@2"]

    gone = library(CALLER, SUB, caller_v2, sub_v2.replace("id: taak", "id: andere_taak").replace("next: taak",
                                                                                                 "next: andere_taak"))
    with pytest.raises(MigrationError, match="deelproces deel@1 wacht bij 'taak', dat deel@2 niet heeft als user_task"
):
        migrate(gone.process("proef@1"), gone.process("proef@2"), case.state, at("2026-01-06"))
