"""An event that does not fit raises a typed error that says why, and the case stays exactly as it was."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.errors import (
    AmbiguousTask,
    CaseAlreadyStarted,
    CaseNotActive,
    FormInvalid,
    MessageNotExpected,
    PrivacyViolation,
    TaskNotOpen,
    TimerNotDue,
    TimerNotPending,
)
from engine.events import MessageReceived, Started, TaskCompleted, TimerFired
from engine.interpreter import advance
from tests.engine.casefile import Case, at, library, process
from tests.engine.test_elements import GATEWAYS, SIMPLE_TASK, definition


def unchanged_after(case: Case, event, now, error, match):
    before = case.state.model_dump_json()
    with pytest.raises(error, match=match):
        advance(case.process, case.state, event, now)
    assert case.state.model_dump_json() == before


@pytest.fixture
def open_case() -> Case:
    return Case(process(SIMPLE_TASK)).start("2026-03-02")


def test_completing_a_step_that_is_not_open_names_the_open_ones(open_case):
    unchanged_after(open_case, TaskCompleted(task="driegesprek"), at("2026-03-03"), TaskNotOpen,
                    r"^zaak \S+: stap 'driegesprek' staat niet open \(open taken: gesprek-\d+\)$")


def test_form_data_of_the_wrong_type_is_refused_with_every_problem(open_case):
    event = TaskCompleted(task="gesprek", data={"gesprek_datum": "9 maart", "naam": "x"})
    unchanged_after(open_case, event, at("2026-03-03"), FormInvalid,
                    r"stap 'gesprek': veld 'naam' staat niet op dit formulier; .*veld 'gesprek_datum': verwacht een "
                    r"datum \(JJJJ-MM-DD\), niet '9 maart'")


def test_a_required_form_field_must_be_filled(open_case):
    unchanged_after(open_case, TaskCompleted(task="gesprek", data={"notitie": "ok"}), at("2026-03-03"),
                    FormInvalid, "stap 'gesprek': verplicht veld 'gesprek_datum' ontbreekt")


def test_an_enum_value_outside_the_list_is_refused():
    case = Case(process(GATEWAYS))
    unchanged_after(case, Started(data={"scenario": "morgen"}), at("2026-01-05"), FormInvalid,
                    "veld 'scenario': 'morgen' is geen keuze; kies uit: snelle_start, gecombineerd, na_verhuizing")


def test_a_message_nobody_waits_for_is_refused(open_case):
    unchanged_after(open_case, MessageReceived(message="huisvesting"), at("2026-03-03"), MessageNotExpected,
                    "niets in de zaak wacht nu op bericht 'huisvesting'")


def test_an_unknown_message_is_refused(open_case):
    unchanged_after(open_case, MessageReceived(message="sleutel"), at("2026-03-03"), MessageNotExpected,
                    "onbekend bericht 'sleutel'")


def test_a_message_may_only_carry_its_declared_fields(open_case):
    unchanged_after(open_case, MessageReceived(message="uitval_signaal", data={"bsn": "123456782"}),
                    at("2026-03-03"), Exception, r"bericht 'uitval_signaal' heeft geen veld\(en\) bsn \(wel: ")


def test_a_timer_fires_only_when_due_and_only_once(open_case):
    timer = open_case.state.timers[0]
    unchanged_after(open_case, TimerFired(timer=timer.id), at("2026-03-03"), TimerNotDue,
                    rf"wachttijd '{timer.id}' is pas voorbij op \d\d-\d\d-\d{{4}} \d\d:\d\d \(Amsterdam\), niet op "
                    r"03-03-2026 ")
    fired = advance(open_case.process, open_case.state, TimerFired(timer=timer.id), timer.due_at)
    with pytest.raises(TimerNotPending, match=f"wachttijd '{timer.id}' staat niet \\(meer\\) gepland"):
        advance(open_case.process, fired.state, TimerFired(timer=timer.id), timer.due_at)


def test_a_case_starts_once(open_case):
    unchanged_after(open_case, Started(), at("2026-03-03"), CaseAlreadyStarted, r"^zaak \S+ is al gestart$")


def test_a_finished_case_takes_no_more_events(open_case):
    open_case.complete("2026-03-03", "gesprek", gesprek_datum="2026-03-03")
    unchanged_after(open_case, MessageReceived(message="uitval_signaal"), at("2026-03-04"), CaseNotActive,
                    "is afgerond: er kan niets meer in gebeuren")


def test_two_open_tasks_of_one_step_must_be_named_by_task_id():
    # Two parallel paths merge into one step without a join, so that step opens twice.
    lib = library(definition("""
  - {id: start, type: start_event, next: split}
  - {id: split, type: parallel_gateway, next: [a, b]}
  - {id: a, type: exclusive_gateway, default: gesprek}
  - {id: b, type: exclusive_gateway, default: gesprek}
  - {id: gesprek, type: user_task, role: klantregisseur, instructions: Praat., next: einde}
  - {id: einde, type: end_event}
"""))
    case = Case(lib.process("proef@1")).start("2026-01-05")
    assert [t.element for t in case.state.tasks] == ["gesprek", "gesprek"]
    unchanged_after(case, TaskCompleted(task="gesprek"), at("2026-01-06"), AmbiguousTask,
                    "voor stap 'gesprek' staan meerdere taken open; noem één taak-id: gesprek-")
    case.complete("2026-01-06", case.state.tasks[0].id)
    assert len(case.state.tasks) == 1


def test_a_notification_that_would_carry_personal_data_is_refused_at_run_time():
    # The validator refuses this definition; the interpreter refuses it too, as a second line of defence.
    lib = library(definition("""
  - {id: start, type: start_event, next: meld}
  - {id: meld, type: service_task, notify: {role: coa, template: bericht, context: [naam]}, next: einde}
  - {id: einde, type: end_event}
"""))
    case = Case(lib.process("proef@1"))
    unchanged_after(case, Started(data={"naam": "Test Persoon"}), at("2026-01-05"), PrivacyViolation,
                    "te sturen bericht 'bericht' mag veld 'naam' niet bevatten \\(privacy identifying\\)")


def test_time_without_a_timezone_is_refused(open_case):
    with pytest.raises(ValueError, match="timezone-aware"):
        advance(open_case.process, open_case.state, TaskCompleted(task="gesprek"), datetime(2026, 3, 3, 9))
