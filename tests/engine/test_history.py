"""The case history as typed facts: which step or clock, the due date as it stood, and the verdict.

Consumers (the coordinators' overview, automations) read these fields; `detail` is words for people.
Each test walks a small case and reads the facts of one group of history kinds.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from engine.calendar import NL
from engine.commands import EmitEvent
from engine.events import TaskCompleted
from engine.interpreter import advance
from engine.state import HistoryEntry, HistoryKind
from tests.engine.casefile import Case, at, process
from tests.engine.test_clocks import PIP, pip_case
from tests.engine.test_elements import BOUNDARY, SIMPLE_TASK, definition

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def facts(entries: list[HistoryEntry]) -> list[tuple]:
    """(Dutch day, ref, element, clock, due_on, verdict) of each entry, dates as ISO text."""
    return [(h.at.astimezone(NL).date().isoformat(), h.ref, h.element, h.clock, h.due_on.isoformat() if h.due_on else None,
             h.verdict) for h in entries]


# --- user tasks ----------------------------------------------------------------------------------


def test_a_task_opened_and_completed_on_time_records_its_step_due_date_and_verdict():
    case = Case(process(SIMPLE_TASK)).start("2026-03-02")
    case.complete("2026-03-10", "gesprek", gesprek_datum="2026-03-09")
    assert facts(case.entries("task_opened")) == [("2026-03-02", "gesprek", "gesprek", None, "2026-03-16", None)]
    assert facts(case.entries("task_completed")) == [
        ("2026-03-10", "gesprek", "gesprek", None, "2026-03-16", "on_time")]
    assert case.entries("task_completed")[0].detail == "door operator, op tijd"


def test_a_task_completed_after_its_due_date_is_late_after_a_reminder_a_miss_and_two_escalations():
    case = Case(process(SIMPLE_TASK)).start("2026-03-02").until("2026-03-30")
    case.complete("2026-03-31", "gesprek", gesprek_datum="2026-03-31")
    assert facts(case.entries("reminder_sent")) == [("2026-03-13", "gesprek", "gesprek", None, "2026-03-16", None)]
    assert facts(case.entries("deadline_missed")) == [
        ("2026-03-17", "gesprek", "gesprek", None, "2026-03-16", "missed")]
    assert facts(case.entries("escalated")) == [
        ("2026-03-17", "gesprek", "gesprek", None, "2026-03-16", None),
        ("2026-03-24", "gesprek", "gesprek", None, "2026-03-16", None),
    ]
    assert facts(case.entries("task_completed")) == [
        ("2026-03-31", "gesprek", "gesprek", None, "2026-03-16", "late")]


def test_a_task_without_a_due_date_is_completed_without_a_verdict():
    text = definition("""
  - {id: start, type: start_event, next: bellen}
  - {id: bellen, type: user_task, role: klantregisseur, instructions: Bel de COA., next: einde}
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-03-02").complete("2026-05-01", "bellen")
    assert facts(case.entries("task_completed")) == [("2026-05-01", "bellen", "bellen", None, None, None)]


def test_a_deadline_that_follows_the_pip_clock_records_each_new_due_date():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").message("2026-02-02", "brp_inschrijving")
    assert facts(case.entries("deadline_changed")) == [
        ("2026-01-12", "vaststellen", "vaststellen", None, "2026-03-23", None),
        ("2026-02-02", "vaststellen", "vaststellen", None, "2026-04-13", None),
    ]


def test_a_task_cancelled_by_a_boundary_timer_names_the_step_the_timer_sits_on():
    case = Case(process(BOUNDARY)).start("2026-01-05").until("2026-03-01")
    assert facts(case.entries("task_cancelled")) == [("2026-02-16", "profiel", "profiel", None, None, None)]
    fired = [(h.ref, h.element) for h in case.entries("timer_fired")]
    assert fired == [("coa_herinneren", "profiel"), ("coa_herinneren", "profiel"), ("te_lang", "profiel")]


def test_a_message_that_does_not_come_in_time_records_the_waiting_element():
    text = definition("""
  - {id: start, type: start_event, next: wacht}
  - id: wacht
    type: intermediate_message_event
    message: huisvesting
    timeout: {timer: {duration: P12W}, next: einde}
    next: einde
  - {id: einde, type: end_event}
""")
    case = Case(process(text)).start("2026-01-05").until("2026-06-01")
    assert facts(case.entries("message_timeout")) == [("2026-03-30", "wacht", "wacht", None, None, None)]


# --- legal clocks --------------------------------------------------------------------------------


def test_a_pip_clock_that_starts_and_is_met_records_its_last_day_and_on_time():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02")
    assert facts(case.entries("clock_started")) == [
        ("2026-01-12", "pip_termijn", None, "pip_termijn", "2026-03-23", None),
        ("2026-03-02", "inburgeringstermijn", None, "inburgeringstermijn", "2029-03-02", None),
    ]
    assert facts(case.entries("clock_stopped")) == [
        ("2026-03-02", "pip_termijn", None, "pip_termijn", "2026-03-23", "on_time")]


def test_a_pip_adopted_after_the_last_day_but_before_the_sweep_stops_the_clock_late():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").until("2026-03-23")
    # The expiry is due at midnight, but the sweep has not run yet when the PIP is adopted at nine.
    step = advance(case.process, case.state, TaskCompleted(task="vaststellen", data={"pip_dagtekening": "2026-03-24"}),
                   at("2026-03-24"))
    stopped = [h for h in step.happened if h.kind == "clock_stopped"]
    assert facts(stopped) == [("2026-03-24", "pip_termijn", None, "pip_termijn", "2026-03-23", "late")]


def test_a_term_that_stops_because_the_case_closed_has_no_verdict():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02").message("2026-06-01", "uitval_signaal")
    assert case.state.status == "completed"
    stopped = [h for h in case.entries("clock_stopped") if h.clock == "inburgeringstermijn"]
    assert facts(stopped) == [("2026-06-01", "inburgeringstermijn", None, "inburgeringstermijn", "2029-03-02", None)]
    assert stopped[0].detail == "zaak gesloten, laatste dag 02-03-2029"


def test_a_pip_clock_that_runs_out_is_expired_and_missed_and_its_task_is_missed_too():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").until("2026-04-01")
    assert facts(case.entries("milestone_reached")) == [
        ("2026-03-09", "pip_termijn.twee_weken_voor_einde", "twee_weken_voor_einde", "pip_termijn", "2026-03-23",
         None)]
    assert facts(case.entries("clock_expired")) == [
        ("2026-03-24", "pip_termijn", None, "pip_termijn", "2026-03-23", "missed")]
    assert facts(case.entries("deadline_missed")) == [
        ("2026-03-24", "pip_termijn", None, "pip_termijn", "2026-03-23", "missed"),
        ("2026-03-24", "vaststellen", "vaststellen", None, "2026-03-23", "missed"),
    ]


def test_a_paused_clock_records_its_last_day_as_it_stands_at_each_step():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").message("2026-02-02", "informatie_derde_gevraagd")
    case.message("2026-02-20", "informatie_derde_ontvangen").until("2026-03-06")
    pause = case.entries("clock_paused") + case.entries("clock_resume_planned") + case.entries("clock_resumed")
    assert [(h.kind, h.clock, h.due_on.isoformat()) for h in pause] == [
        ("clock_paused", "pip_termijn", "2026-03-23"),           # the pause has just begun
        ("clock_resume_planned", "pip_termijn", "2026-04-10"),   # 18 days into the pause
        ("clock_resumed", "pip_termijn", "2026-04-24"),          # 32 days paused in all
    ]


def test_a_restarted_and_an_extended_clock_record_their_new_last_day():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").message("2026-02-02", "brp_inschrijving")
    assert [(h.clock, h.due_on.isoformat()) for h in case.entries("clock_restarted")] == [
        ("pip_termijn", "2026-04-13")]
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02")
    case.message("2028-10-01", "verlenging_toegekend", nieuwe_einddatum_termijn="2029-09-02")
    assert [(h.clock, h.due_on.isoformat()) for h in case.entries("clock_extended")] == [
        ("inburgeringstermijn", "2029-09-02")]


# --- the event payload and the vocabulary --------------------------------------------------------


def test_the_case_event_of_a_history_entry_carries_its_typed_fields_as_json():
    case = Case(process(SIMPLE_TASK)).start("2026-03-02").complete("2026-03-10", "gesprek", gesprek_datum="2026-03-09")
    completed = [c for c in case.commands if isinstance(c, EmitEvent) and c.event == "task-completed"]
    assert [c.payload for c in completed] == [{
        "ref": "gesprek", "detail": "door operator, op tijd", "phase": None,
        "element": "gesprek", "due_on": "2026-03-16", "verdict": "on_time",
    }]


def test_every_kind_the_engine_records_is_a_history_kind():
    recorded = set()
    for path in ENGINE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record":
                recorded |= {c.value for c in ast.walk(node.args[0]) if isinstance(c, ast.Constant)}
    assert recorded and recorded <= set(get_args(HistoryKind))
    assert {"clock_stopped", "deadline_missed", "milestone_reached", "task_completed"} <= recorded


def test_a_started_pip_case_survives_a_json_round_trip_of_its_history():
    case = Case(process(PIP)).start("2026-01-05").message("2026-01-12", "duo_kennisgeving")
    for entry in case.history:
        assert HistoryEntry.model_validate_json(entry.model_dump_json()) == entry
