"""Legal clocks: start, restart on a later anchor, opschorting, verlenging, milestones and expiry."""

from __future__ import annotations

import pytest

from engine.errors import DataMissing, MessageNotExpected
from tests.engine.casefile import Case, process

PIP = """
kind: process
id: pip_proef
version: 1
name: PIP-termijn
data:
  pip_dagtekening: {type: date, privacy: process}
clocks:
  - id: pip_termijn
    duration: P10W
    start_on: [{message: duo_kennisgeving}, {message: brp_inschrijving}]
    start_from: {after: P1D, from: {later_of: [{anchor: duo_kennisgeving}, {anchor: brp_inschrijving}]}}
    first_only: false
    pause_on: [{message: informatie_derde_gevraagd}]
    resume_on: [{message: informatie_derde_ontvangen}]
    resume_delay: P2W
    stop_on: [{completed: vaststellen}]
    milestones:
      - {id: twee_weken_voor_einde, before_end: P2W, notify: {role: klantregisseur, template: bericht}}
    expiry: {role: coordinator, template: bericht}
    source: "wi2021.md#4"
  - id: inburgeringstermijn
    duration: P3Y
    start_on: [{completed: vaststellen}]
    start_from: {after: P1D, from: {field: pip_dagtekening}}
    extensions:
      - on: {message: verlenging_toegekend}
        new_end: {field: nieuwe_einddatum_termijn}
    milestones:
      - {id: schakelen, after_start: P18M, notify: {role: klantregisseur, template: bericht}}
      - {id: verlenging_mogelijk, after_start: P30M, notify: {role: klantregisseur, template: bericht}}
      - {id: zes_maanden_voor_einde, before_end: P6M, notify: {role: klantregisseur, template: bericht}}
    expiry: {role: coordinator, template: bericht}
    source: "wi2021.md#1"
elements:
  - {id: start, type: start_event, next: vaststellen}
  - id: vaststellen
    type: user_task
    role: klantregisseur
    instructions: Stel het PIP vast.
    form: [{field: pip_dagtekening}]
    deadline: {clock: pip_termijn}
    no_escalation: "de klok pip_termijn vertelt de coördinator dat de termijn verstreken is"
    next: wacht
  - {id: wacht, type: intermediate_message_event, message: uitval_signaal, next: einde}
  - {id: einde, type: end_event}
"""


def pip_case() -> Case:
    return Case(process(PIP)).start("2026-01-05")


def test_the_pip_clock_runs_ten_weeks_from_the_day_after_the_duo_notice():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    clock = case.state.clocks["pip_termijn"]
    assert (clock.started_on.isoformat(), clock.end_on.isoformat()) == ("2026-01-13", "2026-03-23")


def test_the_pip_deadline_moves_when_registration_is_later():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").message("2026-02-02", "brp_inschrijving")
    clock = case.state.clocks["pip_termijn"]
    assert clock.end_on.isoformat() == "2026-04-13"
    assert case.kinds("clock_restarted") == [("2026-02-02", "pip_termijn", "03-02-2026 t/m 13-04-2026")]


def test_an_earlier_registration_does_not_move_the_deadline():
    case = pip_case().message("2026-01-20", "brp_inschrijving", occurred_on="2026-01-02")
    case.message("2026-01-21", "duo_kennisgeving", occurred_on="2026-01-12")
    assert case.state.clocks["pip_termijn"].end_on.isoformat() == "2026-03-23"


def test_waiting_for_third_party_information_pauses_the_pip_clock_until_two_weeks_after_it_arrives():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.message("2026-02-02", "informatie_derde_gevraagd")
    assert case.state.clocks["pip_termijn"].status == "paused"
    assert not [t for t in case.state.timers if t.clock == "pip_termijn" and t.kind != "clock_resume"]
    case.message("2026-02-20", "informatie_derde_ontvangen").until("2026-03-05")
    assert case.state.clocks["pip_termijn"].status == "paused"
    case.until("2026-03-06")
    clock = case.state.clocks["pip_termijn"]
    # Paused from 2 February until 6 March (two weeks after 20 February): 32 days added to 23 March.
    assert clock.status == "running" and clock.paused_days == 32
    assert clock.end_on.isoformat() == "2026-04-24"
    assert case.kinds("clock_resumed") == [("2026-03-06", "pip_termijn", "32 dagen gepauzeerd, eindigt 24-04-2026")]


def test_a_missed_pip_deadline_warns_first_and_then_tells_the_coordinator():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").until("2026-04-01")
    assert ("2026-03-09", "klantregisseur", "bericht") in case.notified
    assert case.kinds("clock_expired") == [("2026-03-24", "pip_termijn", "laatste dag was 23-03-2026")]
    assert ("2026-03-24", "coordinator", "bericht") in case.notified
    assert case.state.tasks[0].missed


def test_adopting_the_pip_stops_its_clock_and_starts_the_three_year_term():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02")
    pip = case.state.clocks["pip_termijn"]
    term = case.state.clocks["inburgeringstermijn"]
    assert pip.status == "stopped"
    assert case.kinds("clock_stopped") == [("2026-03-02", "pip_termijn", "op tijd, laatste dag 23-03-2026")]
    assert (term.started_on.isoformat(), term.end_on.isoformat()) == ("2026-03-03", "2029-03-02")


def test_the_term_milestones_fall_at_18_months_30_months_and_six_months_before_the_end():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02").until("2029-03-10")
    assert [(d, r) for d, r, _ in case.kinds("milestone_reached")] == [
        ("2027-09-03", "inburgeringstermijn.schakelen"),
        ("2028-09-02", "inburgeringstermijn.zes_maanden_voor_einde"),
        ("2028-09-03", "inburgeringstermijn.verlenging_mogelijk"),
    ]
    assert case.kinds("clock_expired") == [("2029-03-03", "inburgeringstermijn", "laatste dag was 02-03-2029")]


def test_an_extension_by_duo_moves_the_end_and_the_milestones_before_it():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02").until("2028-10-01")
    case.message("2028-10-01", "verlenging_toegekend", nieuwe_einddatum_termijn="2029-09-02").until("2029-12-31")
    term = case.state.clocks["inburgeringstermijn"]
    assert term.extended and term.end_on.isoformat() == "2029-09-02"
    reached = [(d, r) for d, r, _ in case.kinds("milestone_reached") if r.endswith("zes_maanden_voor_einde")]
    assert reached == [("2028-09-02", "inburgeringstermijn.zes_maanden_voor_einde"),
                       ("2029-03-02", "inburgeringstermijn.zes_maanden_voor_einde")]
    assert case.kinds("clock_expired")[-1] == ("2029-09-03", "inburgeringstermijn", "laatste dag was 02-09-2029")


def test_an_extension_after_expiry_revives_the_term():
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02").until("2029-03-10")
    assert case.state.clocks["inburgeringstermijn"].status == "expired"
    case.message("2029-03-20", "verlenging_toegekend", nieuwe_einddatum_termijn="2029-09-02")
    assert case.state.clocks["inburgeringstermijn"].status == "running"


def test_a_message_for_a_clock_that_already_started_once_is_not_expected():
    text = PIP.replace("first_only: false", "first_only: true")
    case = Case(process(text)).start("2026-01-05").message("2026-01-12", "duo_kennisgeving")
    with pytest.raises(MessageNotExpected, match="niets in de zaak wacht nu op bericht 'duo_kennisgeving'"):
        case.message("2026-01-13", "duo_kennisgeving")


def test_a_clock_whose_start_date_is_unknown_refuses_the_event_and_changes_nothing():
    case = pip_case()
    before = case.state
    with pytest.raises(DataMissing, match="start van termijn 'inburgeringstermijn': de datum .* is nog niet bekend"):
        # The form's date is required, so leave the field out of the definition's start rule instead:
        from engine.events import TaskCompleted
        from engine.interpreter import advance
        from tests.engine.casefile import at

        broken = process(PIP.replace("{field: pip_dagtekening}}", "{field: nieuwe_einddatum_termijn}}"))
        advance(broken, before, TaskCompleted(task="vaststellen", data={"pip_dagtekening": "2026-03-02"}),
                at("2026-03-02"))
    assert case.state is before and case.state.clocks == {}


def test_a_task_deadline_that_follows_a_clock_moves_with_it():
    case = pip_case()
    assert case.state.tasks[0].due_on is None
    case.message("2026-01-12", "duo_kennisgeving")
    assert case.state.tasks[0].due_on.isoformat() == "2026-03-23"
    case.message("2026-02-02", "brp_inschrijving")
    assert case.state.tasks[0].due_on.isoformat() == "2026-04-13"
    assert [t.due_at.date().isoformat() for t in case.state.timers if t.kind == "task_deadline"] == ["2026-04-13"]
    assert [(d, r, x) for d, r, x in case.kinds("deadline_changed")] == [
        ("2026-01-12", "vaststellen", "uiterlijk 23-03-2026"), ("2026-02-02", "vaststellen", "uiterlijk 13-04-2026")]


def test_a_task_overdue_by_its_clock_is_no_longer_missed_when_the_term_is_extended():
    text = PIP.replace("  - {id: wacht, type: intermediate_message_event, message: uitval_signaal, next: einde}",
                       "  - id: wacht\n    type: user_task\n    role: klantregisseur\n    instructions: Rond af.\n"
                       "    deadline: {clock: inburgeringstermijn}\n    escalations: [{to: coordinator}]\n    next: einde")
    case = Case(process(text)).start("2026-01-05").message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02").until("2029-03-10")
    assert case.state.tasks[0].missed and case.state.tasks[0].due_on.isoformat() == "2029-03-02"
    case.message("2029-03-20", "verlenging_toegekend", nieuwe_einddatum_termijn="2029-09-02")
    assert not case.state.tasks[0].missed and case.state.tasks[0].due_on.isoformat() == "2029-09-02"


def test_a_later_anchor_restarts_a_pip_clock_that_had_already_run_out():
    # Registered in October, DUO's notice only in February: the clock started at the registration ran
    # out, and the later notice starts the ten weeks again from the day after it.
    case = pip_case().message("2026-01-05", "brp_inschrijving", occurred_on="2025-10-01").until("2026-01-31")
    assert case.state.clocks["pip_termijn"].status == "expired"
    case.message("2026-02-02", "duo_kennisgeving")
    clock = case.state.clocks["pip_termijn"]
    assert (clock.status, clock.started_on.isoformat(), clock.end_on.isoformat()) == (
        "running", "2026-02-03", "2026-04-13")


def test_a_paused_clock_shows_an_end_that_moves_with_the_pause():
    case = pip_case().message("2026-01-12", "duo_kennisgeving").message("2026-02-02", "informatie_derde_gevraagd")
    assert case.state.tasks[0].due_on.isoformat() == "2026-03-23"
    case.message("2026-02-20", "informatie_derde_ontvangen")
    # 18 days into the pause the end shows 18 days later; the resume is planned for 6 March.
    assert case.state.tasks[0].due_on.isoformat() == "2026-04-10"


def test_a_period_that_ends_is_not_a_missed_deadline():
    text = PIP.replace("    source: \"wi2021.md#4\"", "    deadline: false\n    source: \"wi2021.md#4\"")
    case = Case(process(text)).start("2026-01-05").message("2026-01-12", "duo_kennisgeving").until("2026-04-01")
    assert case.kinds("clock_expired") == [("2026-03-24", "pip_termijn", "laatste dag was 23-03-2026")]
    assert case.kinds("deadline_missed") == [("2026-03-24", "vaststellen", "klantregisseur, uiterlijk 23-03-2026")]


# --- counting (wi2021.md#13, row 17) --------------------------------------------------------------


def term_after_pip(dagtekening: str) -> Case:
    case = pip_case().message("2026-01-12", "duo_kennisgeving")
    return case.complete(dagtekening, "vaststellen", pip_dagtekening=dagtekening)


def test_a_pip_dated_28_february_of_a_leap_year_gives_a_term_to_28_february_three_years_on():
    # Day after the dagtekening: 29 Feb 2028; last day D + 3 years = 28 Feb 2031 (not 27 Feb, which
    # start + 3 years - 1 day would give after clamping 29 Feb 2031).
    term = term_after_pip("2028-02-28").state.clocks["inburgeringstermijn"]
    assert (term.started_on.isoformat(), term.end_on.isoformat()) == ("2028-02-29", "2031-02-28")


def test_a_pip_dated_29_february_ends_its_term_on_the_last_day_of_february():
    # 29 Feb 2031 does not exist: the term ends on the last day of that month, 28 Feb 2031.
    term = term_after_pip("2028-02-29").state.clocks["inburgeringstermijn"]
    assert (term.started_on.isoformat(), term.end_on.isoformat()) == ("2028-03-01", "2031-02-28")


def test_a_milestone_after_the_start_falls_the_day_after_a_term_of_that_length_from_the_event():
    # Dagtekening 30 Aug 2026: 18 months end on 30 Feb 2028, which does not exist, so on 29 Feb 2028
    # (a leap year); the schakelen milestone is the day after: 1 March 2028.
    case = term_after_pip("2026-08-30").until("2028-03-01")
    assert [(d, r) for d, r, _ in case.kinds("milestone_reached") if r.startswith("inburgeringstermijn")] == [
        ("2028-03-01", "inburgeringstermijn.schakelen")]


MONTH_PERIOD = """
kind: process
id: maandtermijn
version: 1
name: Maandtermijn
data:
  begindatum: {type: date, privacy: process}
clocks:
  - id: periode
    duration: P6M
    start_on: [{reached: start}]
    start_from: {after: P1D, from: {field: begindatum}}
    deadline: false
    source: "wi2021.md#13"
elements:
  - {id: start, type: start_event, next: wacht}
  - {id: wacht, type: intermediate_message_event, message: uitval_signaal, next: einde}
  - {id: einde, type: end_event}
"""


@pytest.mark.parametrize(("event_day", "last"), [
    ("2026-08-31", "2027-02-28"),  # a month term from 31 August ends on the last day of February
    ("2026-08-30", "2027-02-28"),  # 30 February does not exist either
    ("2027-08-31", "2028-02-29"),  # in a leap year: 29 February
    ("2026-03-02", "2026-09-02"),
])
def test_a_six_month_term_counted_from_an_event_ends_on_the_same_day_number_or_the_month_end(event_day, last):
    case = Case(process(MONTH_PERIOD)).start(event_day, begindatum=event_day)
    assert case.state.clocks["periode"].end_on.isoformat() == last
