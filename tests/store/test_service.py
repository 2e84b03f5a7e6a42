"""A case walked through the service layer, on real SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from engine.errors import FormInvalid, MessageNotExpected, TaskNotOpen
from engine.events import MessageReceived
from store.errors import CaseConflict, CaseExists, CaseNotFound, UnknownDefinition
from tests.store.conftest import FakeClock, count, rows, start

REF = "RMD-2026-0001"


def _snapshot(engine: sa.Engine) -> dict[str, object]:
    """Everything a change could touch, straight from the database."""
    return {
        "case": rows(engine, "SELECT version, status, next_due_at, updated_at FROM cases"),
        "state": rows(engine, "SELECT state FROM cases"),
        "history": count(engine, "case_history"),
        "outbox": count(engine, "outbox"),
        "tasks": rows(engine, "SELECT task_id, missed FROM open_tasks ORDER BY task_id"),
    }


def test_a_case_walks_from_koppeling_to_its_end(service: CaseService, clock: FakeClock, engine: sa.Engine):
    case = start(service)
    assert (case.version, case.status, case.definition) == (1, "active", "rondleiding@1")
    assert [(t.step, t.role, t.due_on) for t in case.open_tasks] == [
        ("klantprofiel", "klantregisseur", date(2026, 3, 16))]
    assert case.next_due_at == datetime(2026, 3, 8, 23, 0, tzinfo=UTC)  # first weekly nudge to the COA

    clock.now = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    case = service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "gecombineerd"},
                                 actor="klantregisseur-anna", expected_version=1)
    assert (case.version, case.open_tasks) == (2, [])
    assert [d.kind for d in case.next_due] == ["message_timeout"]  # waiting for housing, within the norm

    clock.now = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    case = service.deliver_message(case_ref=REF, message="huisvesting", data={"verhuisdatum": "2026-03-25"},
                                   actor="coa-import")
    assert [(t.step, t.role) for t in case.open_tasks] == [("taalspoor", "taalaanbieder")]
    case = service.complete_step(case_ref=REF, task="taalspoor", data={"intake_afgerond": True},
                                 actor="taalschool-piet")
    assert case.version == 4

    clock.now = datetime(2026, 3, 28, 8, 0, tzinfo=UTC)
    assert service.fire_due_timers().cases_advanced == 1  # the sub-process's week of waiting is over
    clock.now = datetime(2026, 4, 10, 8, 0, tzinfo=UTC)
    assert service.fire_due_timers().cases_advanced == 1  # five working days later the case ends

    case = service.show_case(REF, history=100)
    assert (case.version, case.status, case.next_due_at, case.open_tasks) == (6, "completed", None, [])
    assert case.data["termijn_einde"] == "2029-03-27"
    assert [(h.version, h.actor, h.kind) for h in case.history if h.kind in ("task_completed", "case_completed")] \
        == [(2, "klantregisseur-anna", "task_completed"), (4, "taalschool-piet", "task_completed"),
            (6, "system", "case_completed")]
    assert rows(engine, "SELECT DISTINCT version FROM case_history ORDER BY version") == [(v,) for v in range(1, 7)]
    assert count(engine, "open_tasks") == 0
    keys = [r.key for r in rows(engine, "SELECT key FROM outbox")]
    assert len(keys) == len(set(keys)) > 0


def test_starting_a_case_again_returns_it_unchanged(service: CaseService, engine: sa.Engine):
    first = start(service)
    before = _snapshot(engine)

    again = start(service)
    pinned = service.start_trajectory(case_ref=REF, definition="rondleiding@1", municipality="rotterdam",
                                      start_message="koppeling", actor="someone-else")

    assert again == first == pinned
    assert _snapshot(engine) == before


def test_starting_a_case_with_another_definition_or_municipality_is_refused(service: CaseService,
                                                                            engine: sa.Engine):
    start(service)
    before = _snapshot(engine)

    with pytest.raises(CaseExists, match="loopt al volgens rondleiding@1 voor rotterdam"):
        service.start_trajectory(case_ref=REF, definition="korte_wacht", municipality="rotterdam", actor="op")
    with pytest.raises(CaseExists, match="ze kan niet ook rondleiding voor schiedam starten"):
        service.start_trajectory(case_ref=REF, definition="rondleiding", municipality="schiedam",
                                 start_message="koppeling", actor="op")
    assert _snapshot(engine) == before


def test_a_start_the_engine_refuses_writes_nothing(service: CaseService, engine: sa.Engine):
    with pytest.raises(MessageNotExpected, match="heeft geen start met bericht 'huisvesting'"):
        service.start_trajectory(case_ref=REF, definition="rondleiding", municipality="rotterdam",
                                 start_message="huisvesting", actor="op")
    with pytest.raises(UnknownDefinition, match="onbekende definitie 'verzonnen'"):
        service.start_trajectory(case_ref=REF, definition="verzonnen", municipality="rotterdam", actor="op")

    assert [count(engine, t) for t in ("cases", "case_history", "outbox", "open_tasks", "case_personal")] \
        == [0, 0, 0, 0, 0]


def test_bad_form_data_leaves_case_history_and_outbox_as_they_were(service: CaseService, engine: sa.Engine):
    start(service)
    before = _snapshot(engine)

    with pytest.raises(FormInvalid, match="veld 'scenario': 'onbekend' is geen keuze; kies uit: snelle_start"):
        service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "onbekend"}, actor="op")
    with pytest.raises(FormInvalid, match="verplicht veld 'scenario' ontbreekt"):
        service.complete_step(case_ref=REF, task="klantprofiel", data={}, actor="op")

    assert _snapshot(engine) == before


def test_a_step_that_is_not_open_or_a_case_that_does_not_exist_changes_nothing(service: CaseService,
                                                                               engine: sa.Engine):
    start(service)
    before = _snapshot(engine)

    with pytest.raises(TaskNotOpen, match="stap 'taalspoor' staat niet open"):
        service.complete_step(case_ref=REF, task="taalspoor", data={"intake_afgerond": True}, actor="op")
    with pytest.raises(MessageNotExpected, match="niets in de zaak wacht nu op bericht 'huisvesting'"):
        service.deliver_message(case_ref=REF, message="huisvesting", actor="op")
    with pytest.raises(CaseNotFound, match="^er is geen zaak RMD-2026-9999$"):
        service.complete_step(case_ref="RMD-2026-9999", task="klantprofiel", actor="op")

    assert _snapshot(engine) == before


def test_an_operator_who_saw_an_older_version_gets_a_conflict(service: CaseService, engine: sa.Engine):
    start(service)
    service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "gecombineerd"}, actor="anna",
                          expected_version=1)
    before = _snapshot(engine)

    with pytest.raises(CaseConflict, match="intussen door iemand anders gewijzigd: de zaak is nu bij versie 2.*"
                                           "ging uit van versie 1"):
        service.deliver_message(case_ref=REF, message="huisvesting", actor="piet", expected_version=1)

    assert _snapshot(engine) == before


def test_lists_filter_on_municipality_status_and_role(service: CaseService, clock: FakeClock):
    start(service, "RMD-2026-0001")
    start(service, "RMD-2026-0002")
    service.start_trajectory(case_ref="SCH-2026-0001", definition="korte_wacht", municipality="schiedam",
                             actor="op")
    service.complete_step(case_ref="RMD-2026-0002", task="klantprofiel", data={"scenario": "gecombineerd"},
                          actor="op")

    assert [c.case_ref for c in service.list_cases(municipality="rotterdam")] == ["RMD-2026-0001", "RMD-2026-0002"]
    assert [(c.case_ref, c.open_tasks) for c in service.list_cases(status="active")] == [
        ("RMD-2026-0001", 1), ("RMD-2026-0002", 0), ("SCH-2026-0001", 0)]
    assert [c.case_ref for c in service.list_cases(limit=1, offset=1)] == ["RMD-2026-0002"]
    inbox = service.open_tasks(role="klantregisseur")
    assert [(t.case_ref, t.step, t.name, t.case_version) for t in inbox] == [
        ("RMD-2026-0001", "klantprofiel", "Klantprofiel ontvangen", 1)]
    assert [f.name for f in inbox[0].form] == ["scenario", "gesprek_datum"]
    assert service.open_tasks(municipality="schiedam") == []

    clock.now = datetime(2026, 3, 17, 8, 0, tzinfo=UTC)  # the deadline of 16 March has passed
    service.fire_due_timers()
    assert [t.missed for t in service.open_tasks(case_ref="RMD-2026-0001")] == [True]
    assert [c.missed_tasks for c in service.list_cases(municipality="rotterdam")] == [1, 0]


def test_a_clock_reading_without_a_time_zone_is_refused(engine: sa.Engine, library):
    service = CaseService(engine, library, clock=lambda: datetime(2026, 3, 2, 9, 0))

    with pytest.raises(ValueError, match="timezone-aware"):
        start(service)
    assert count(engine, "cases") == 0


def test_a_note_adds_to_the_history_without_changing_the_case(service, clock):
    service.start_trajectory(case_ref="RMD-2026-0900", definition="rondleiding", municipality="proefstad",
                             start_message="koppeling", actor="kr-01")
    before = service.show_case("RMD-2026-0900")
    service.record_note("RMD-2026-0900", kind="notification_unroutable", ref="werkgever",
                        detail="geen ontvanger voor rol werkgever")
    after = service.show_case("RMD-2026-0900")
    assert after.version == before.version
    assert after.history[-1].kind == "notification_unroutable" and after.history[-1].version == before.version
    with pytest.raises(CaseNotFound):
        service.record_note("RMD-2026-0999", kind="x")


@pytest.mark.parametrize("lines", [20, 3])
def test_the_view_a_change_returns_is_what_the_store_shows_after_it(service: CaseService, clock: FakeClock,
                                                                    lines: int):
    """The view is built from the new state in the change's own transaction, not read back after the
    commit: it must still be exactly what a fresh look at the case shows."""
    start(service)
    clock.now = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
    made = service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "gecombineerd"},
                                 actor="klantregisseur-anna", expected_version=1)
    assert made == service.show_case(REF)
    clock.now = datetime(2026, 3, 20, 8, 0, tzinfo=UTC)
    made = service.change_case(REF, MessageReceived(message="huisvesting", data={"verhuisdatum": "2026-03-25"},
                                                    actor="coa-import"), history=lines)
    assert made == service.show_case(REF, history=lines)
    assert len(made.history) == min(lines, len(service.show_case(REF, history=100).history)) and made.open_tasks
