"""Quarantine, not a halt: a case the sweep cannot advance is set aside with its reason, the coordinator is
told once, every other due case goes on in the same sweep, and `retry` takes it back after a fix."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from app.cases import CaseService
from app.overview.caseload import caseload
from app.overview.radar import deadline_radar
from app.overview.runs import changed_cases
from app.sweep import Stuck, SweepFailed, setting_aside
from engine.calendar import local_date
from engine.state import CaseState
from integrations.messages import MessageRenderer
from store.overview_reads import case_docs
from store.errors import CaseStuck, NotStuck
from store.writes import cases, outbox
from tests.reliability.conftest import AFTER_NUDGE, seed_cases
from tests.store.conftest import FakeClock, count, rows



def refs(n: int) -> list[str]:
    return [f"RMD-2026-{i:04d}" for i in range(1, n + 1)]


def change_state(engine: sa.Engine, ref: str, change) -> None:
    with engine.begin() as conn:
        state = conn.execute(sa.select(cases.c.state).where(cases.c.case_ref == ref)).scalar_one()
        conn.execute(sa.update(cases).where(cases.c.case_ref == ref).values(state=change(state)))


def break_state(engine: sa.Engine, ref: str) -> None:
    """Give a case a state this version of Regie cannot read (as if written by another version)."""
    change_state(engine, ref, lambda state: {**state, "tokens": "van een andere versie"})


def coordinator_notices(engine: sa.Engine, ref: str) -> list[dict]:
    with engine.connect() as conn:
        return [r.payload for r in conn.execute(sa.select(outbox.c.payload).where(
            outbox.c.case_ref == ref, outbox.c.type == "notify")) if r.payload["template"] == "zaak_vastgelopen"]


def test_a_poison_case_among_1000_due_is_set_aside_and_the_other_999_advance_in_one_sweep(
        service: CaseService, engine: sa.Engine, library, clock: FakeClock):
    seed_cases(engine, library, refs(1000))
    break_state(engine, "RMD-2026-0500")
    clock.now = AFTER_NUDGE

    report = service.fire_due_timers(batch_size=100)
    second = service.fire_due_timers(batch_size=100)

    assert (report.cases_advanced, report.batches) == (999, 10)
    assert [(f.case_ref, f.error) for f in report.failed] == [
        ("RMD-2026-0500", "de opgeslagen toestand van de zaak is niet leesbaar (gemaakt door een andere versie van "
                          "Regie?) (ValidationError)")]
    assert (second.cases_advanced, second.failed) == (0, [])  # not claimed again: it waits for a retry
    assert count(engine, "case_history", kind="timer_fired", ref="coa_herinneren") == 999
    assert rows(engine, "SELECT status, version, next_due_at IS NULL, stuck_reason IS NOT NULL FROM cases "
                        "WHERE case_ref = 'RMD-2026-0500'") == [("stuck", 1, True, True)]
    [note] = service.show_case("RMD-2026-0500").history
    assert (note.kind, note.actor) == ("case_stuck", "system")
    assert note.detail.startswith("zaak apart gezet: de opgeslagen toestand van de zaak is niet leesbaar")
    assert note.detail.endswith("opnieuw proberen na herstel: regie case retry RMD-2026-0500")
    [told] = coordinator_notices(engine, "RMD-2026-0500")
    assert (told["role"], told["context"]["sinds"]) == ("coordinator", "09-03-2026 09:00 (Amsterdam)")
    with pytest.raises(SweepFailed, match=r"^1 zaak/zaken konden niet verder en zijn opzijgezet \(status vastgelopen"):
        report.raise_for_failures()


def test_whatever_one_case_raises_it_is_set_aside_with_the_step_that_failed(service, engine, library, clock):
    seed_cases(engine, library, refs(6))
    break_state(engine, "RMD-2026-0002")
    with engine.begin() as conn:  # a definition that is no longer in the library
        conn.execute(sa.text("UPDATE cases SET definition = 'opgeheven@1' WHERE case_ref = 'RMD-2026-0004'"))
    # A state that reads but that the engine cannot work with: an untyped error from deep in the interpreter.
    change_state(engine, "RMD-2026-0006", lambda state: {**state, "tokens": []})
    clock.now = AFTER_NUDGE

    report = service.fire_due_timers(batch_size=4)

    assert report.cases_advanced == 3
    assert {f.case_ref: f.error.rsplit(" (", 1)[1] for f in report.failed} == {
        "RMD-2026-0002": "ValidationError)", "RMD-2026-0004": "UnknownDefinition)", "RMD-2026-0006": "AttributeError)"}
    assert {c.case_ref: c.stuck_reason.split(" (")[0] for c in service.stuck_cases()} == {
        "RMD-2026-0002": "de opgeslagen toestand van de zaak is niet leesbaar",
        "RMD-2026-0004": "de procesdefinitie of het gemeenteprofiel van de zaak ontbreekt of werkt niet",
        "RMD-2026-0006": "het verwerken van de termijnen en herinneringen gaf een fout"}
    assert rows(engine, "SELECT COUNT(*) FROM cases WHERE status = 'stuck'") == [(3,)]


def test_a_row_the_database_refuses_is_set_aside_and_the_rest_of_its_batch_is_saved(service, engine, library,
                                                                                    clock):
    seed_cases(engine, library, refs(5))
    with engine.begin() as conn:  # the database refuses the new state of one case (a constraint)
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("""
                CREATE FUNCTION refuse_0003() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF NEW.case_ref = 'RMD-2026-0003' AND NEW.state IS DISTINCT FROM OLD.state THEN
                    RAISE EXCEPTION 'refused' USING ERRCODE = 'check_violation'; END IF; RETURN NEW; END $$""")
            conn.exec_driver_sql("CREATE TRIGGER refuse_0003 BEFORE UPDATE ON cases FOR EACH ROW "
                                 "EXECUTE FUNCTION refuse_0003()")
        else:
            conn.exec_driver_sql("CREATE TRIGGER refuse_0003 BEFORE UPDATE OF state ON cases "
                                 "WHEN NEW.case_ref = 'RMD-2026-0003' BEGIN SELECT RAISE(ABORT, 'refused'); END")
    clock.now = AFTER_NUDGE

    report = service.fire_due_timers(batch_size=5)

    assert report.cases_advanced == 4
    assert [(f.case_ref, f.error) for f in report.failed] == [
        ("RMD-2026-0003", "de database weigerde de nieuwe toestand van de zaak (IntegrityError)")]
    assert rows(engine, "SELECT case_ref, version, status FROM cases ORDER BY case_ref") == [
        ("RMD-2026-0001", 2, "active"), ("RMD-2026-0002", 2, "active"), ("RMD-2026-0003", 1, "stuck"),
        ("RMD-2026-0004", 2, "active"), ("RMD-2026-0005", 2, "active")]
    assert count(engine, "case_history", case_ref="RMD-2026-0003", kind="timer_fired") == 0
    assert len(coordinator_notices(engine, "RMD-2026-0003")) == 1


def test_a_stuck_case_is_taken_back_by_a_retry_after_the_fix_and_stays_stuck_until_then(service, engine, library,
                                                                                      clock):
    seed_cases(engine, library, refs(2))
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET definition = 'opgeheven@1' WHERE case_ref = 'RMD-2026-0001'"))
    clock.now = AFTER_NUDGE
    service.fire_due_timers()

    with pytest.raises(CaseStuck, match="onbekende definitie 'opgeheven@1'.*regie case retry RMD-2026-0001") as early:
        service.retry("RMD-2026-0001", actor="beheer")  # before the fix: still stuck, and nothing changed
    with pytest.raises(CaseStuck, match="^zaak RMD-2026-0001 is vastgelopen: de procesdefinitie"):
        service.complete_step(case_ref="RMD-2026-0001", task="klantprofiel", actor="anna")
    with engine.begin() as conn:  # the fix: the definition is back
        conn.execute(sa.text("UPDATE cases SET definition = 'rondleiding@1' WHERE case_ref = 'RMD-2026-0001'"))
    # An operator works on the case meanwhile; it stays stuck (and out of the sweep) until the retry.
    service.deliver_message(case_ref="RMD-2026-0001", message="duo_kennisgeving", actor="anna")
    assert service.show_case("RMD-2026-0001").status == "stuck"
    clock.advance(hours=1)
    assert service.fire_due_timers().cases_advanced == 0

    view = service.retry("RMD-2026-0001", actor="beheer")

    assert "UnknownDefinition" in str(early.value)
    assert (view.status, view.version, view.stuck_since, view.stuck_reason) == ("active", 3, None, None)
    assert [(h.event, h.kind, h.actor) for h in view.history if h.version == 3][:1] == [
        ("retried", "timer_fired", "beheer")]
    assert view.next_due_at is not None and view.next_due_at > clock.now
    with pytest.raises(NotStuck, match="zaak RMD-2026-0001 is niet vastgelopen"):
        service.retry("RMD-2026-0001", actor="beheer")
    assert len(coordinator_notices(engine, "RMD-2026-0001")) == 1


def test_the_coordinators_overview_goes_on_past_a_stuck_case_whose_state_does_not_read(service, engine, library,
                                                                                       clock):
    seed_cases(engine, library, refs(3))
    break_state(engine, "RMD-2026-0002")
    clock.now = AFTER_NUDGE
    service.fire_due_timers()
    today = local_date(clock.now)

    assert changed_cases(service, None) == ["RMD-2026-0001", "RMD-2026-0003"]  # no timeline to publish for it
    assert caseload(service, "testdorp", today).total.cases == 2
    # What the KPIs read: every case's clocks, but not those of a state that does not read.
    assert [d.case_ref for d in case_docs(engine, "testdorp")] == ["RMD-2026-0001", "RMD-2026-0003"]
    assert [(r.case_ref, r.problem) for r in deadline_radar(service, "testdorp", today) if r.problem] == [
        ("RMD-2026-0002", "vastgelopen")]
    assert service.show_case("RMD-2026-0002").stuck_reason.startswith("de opgeslagen toestand")


def test_the_coordinators_notice_about_a_stuck_case_passes_the_privacy_guard_and_says_what_to_do(library):
    try:
        CaseState.model_validate({"case_ref": "RMD-2026-0007", "definition": "x@1", "tokens": "kapot"})
    except ValidationError as exc:
        cause = exc
    aside = setting_aside("RMD-2026-0007", 4, Stuck("state", cause), AFTER_NUDGE)
    assert aside.notice is not None

    message = MessageRenderer(library.catalog).render(aside.notice.template, aside.notice.context, "nl",
                                                      "RMD-2026-0007")

    assert message.subject == "Zaak RMD-2026-0007 is vastgelopen en staat apart"
    assert "niet verwerken: de opgeslagen toestand van de zaak is niet leesbaar" in message.body
    assert "sinds 09-03-2026 09:00 (Amsterdam) apart" in message.body and "regie case retry RMD-2026-0007" in message.body
    assert "kapot" not in message.body and "kapot" not in aside.reason  # the input value stays out
    assert aside.notice.key == "RMD-2026-0007:4:vastgelopen"
