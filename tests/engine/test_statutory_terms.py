"""Legal terms as the law counts them: the Algemene termijnenwet at the end of a statutory term, a verdict
that follows the date that counts, a term that waits for both its anchors, a measured term, a new term
for a new application, and an extension by the length DUO decided (wi2021.md#13, rows 4, 10, 16, 17).

Every expected date is worked out by hand in the comment beside it.
"""

from __future__ import annotations

from datetime import date

import pytest

import engine.feestdagen as feestdagen
from tests.engine.casefile import Case, process

TERMS = """
kind: process
id: termijnen
version: 1
name: Termijnen
data:
  pip_dagtekening: {type: date, privacy: process}
clocks:
  - id: pip_termijn
    duration: P10W
    start_on: [{message: duo_kennisgeving}, {message: brp_inschrijving}]
    start_if:
      all:
        - {anchor: duo_kennisgeving, op: is_set}
        - {anchor: brp_inschrijving, op: is_set}
        - {field: pip_dagtekening, op: is_not_set}
    start_from: {after: P1D, from: {later_of: [{anchor: duo_kennisgeving}, {anchor: brp_inschrijving}]}}
    first_only: false
    atw: true
    pause_on: [{message: informatie_derde_gevraagd}]
    resume_on: [{message: informatie_derde_ontvangen}]
    stop_on: [{completed: vaststellen}]
    stopped_on: {field: pip_dagtekening}
    milestones:
      - {id: twee_weken_voor_einde, before_end: P2W, notify: {role: klantregisseur, template: bericht}}
    expiry: {role: coordinator, template: bericht}
    source: "wi2021.md#4; Atw wi2021.md#13"
  - id: inburgeringstermijn
    duration: P3Y
    start_on: [{completed: vaststellen}]
    start_from: {after: P1D, from: {field: pip_dagtekening}}
    atw: true
    extensions:
      - on: {message: verlenging_toegekend}
        by: {field: verlenging_duur}
    source: "wi2021.md#1; Atw wi2021.md#13"
  - id: beslistermijn
    duration: P8W
    start_on: [{message: verlenging_aangevraagd}]
    start_from: {after: P1D, from: {field: verlenging_aangevraagd_op}}
    first_only: false
    restart_after_stop: true
    atw: true
    stop_on: [{message: verlenging_afgewezen}]
    expiry: {role: klantregisseur, template: bericht}
    source: "wi2021.md#0 row 10; Atw wi2021.md#13"
  - id: koppelingsnorm
    duration: P2W
    start_on: [{message: koppeling}, {message: verblijfsvergunning}]
    start_if: {field: verblijfsvergunning_op, op: is_set}
    start_from: {after: P1D, from: {field: verblijfsvergunning_op}}
    stop_on: [{message: koppeling}, {message: verblijfsvergunning}]
    stopped_on: {anchor: koppeling}
    source: "wi2021.md#0 row 1"
elements:
  - {id: start, type: start_event, message: koppeling, next: vaststellen}
  - {id: start_gezin, type: start_event, message: duo_kennisgeving, next: vaststellen}
  - id: vaststellen
    type: user_task
    role: klantregisseur
    instructions: Stel het PIP vast.
    form: [{field: pip_dagtekening}]
    next: wacht
  - {id: wacht, type: intermediate_message_event, message: uitval_signaal, next: einde}
  - {id: einde, type: end_event}
"""


def gezin(day: str = "2026-01-05", **data) -> Case:
    return Case(process(TERMS)).start(day, "duo_kennisgeving", **data)


def asiel(day: str = "2026-01-05", **data) -> Case:
    return Case(process(TERMS)).start(day, "koppeling", **data)


def clock(case: Case, clock_id: str) -> tuple[str, str, str]:
    state = case.state.clocks[clock_id]
    return state.status, state.started_on.isoformat(), state.end_on.isoformat()


# --- the Algemene termijnenwet at the end of a statutory term (row 16) ----------------------------


def test_a_statutory_term_that_would_end_on_goede_vrijdag_runs_to_the_tuesday_after_easter():
    # Registered 1 Jan, DUO's notice on Friday 23 Jan 2026: 10 weeks end on 23 Jan + 70 days = Friday
    # 3 April 2026, Goede Vrijdag (Atw art 3 lid 2); Saturday, Sunday and Easter Monday 6 April follow:
    # the last day is Tuesday 7 April, and the coordinator hears on Wednesday 8 April.
    case = gezin("2026-01-23").message("2026-01-23", "brp_inschrijving", occurred_on="2026-01-01")
    assert clock(case, "pip_termijn") == ("running", "2026-01-24", "2026-04-07")
    assert case.kinds("clock_started") == [
        ("2026-01-23", "pip_termijn", "24-01-2026 t/m 07-04-2026 (geteld tot 03-04-2026; de Atw schuift het einde op)")]
    case.until("2026-04-08")
    # The reminder counts back from the moved end: 7 April - 2 weeks = 24 March.
    assert ("2026-03-24", "klantregisseur", "bericht") in case.notified
    assert case.kinds("clock_expired") == [("2026-04-08", "pip_termijn", "laatste dag was 07-04-2026")]


def test_a_statutory_term_ending_on_a_decreed_bridging_day_runs_past_the_weekend():
    # Notice on 6 March 2026 (registered earlier): 6 March + 70 days = Friday 15 May 2026, the Friday
    # after Ascension equated by royal decree: Monday 18 May.
    case = gezin("2026-03-06").message("2026-03-06", "brp_inschrijving", occurred_on="2026-02-20")
    assert clock(case, "pip_termijn") == ("running", "2026-03-07", "2026-05-18")


def test_a_statutory_term_ending_on_5_may_of_a_non_lustrum_year_runs_to_the_next_day():
    # 24 Feb 2026 + 70 days = Tuesday 5 May 2026: Bevrijdingsdag counts every year: Wednesday 6 May.
    case = gezin("2026-02-24").message("2026-02-24", "brp_inschrijving", occurred_on="2026-02-10")
    assert clock(case, "pip_termijn")[2] == "2026-05-06"


def test_the_three_year_term_ending_on_koningsdag_the_26th_runs_to_monday():
    # PIP dated 26 April 2028; the term ends on 26 April 2031, a Saturday and Koningsdag (27 April 2031
    # is a Sunday): Monday 28 April 2031.
    case = gezin("2028-02-21").message("2028-02-21", "brp_inschrijving", occurred_on="2028-02-01")
    case.complete("2028-04-26", "vaststellen", pip_dagtekening="2028-04-26")
    assert clock(case, "inburgeringstermijn") == ("running", "2028-04-27", "2031-04-28")


def test_an_extension_counts_from_the_counted_end_and_the_atw_moves_the_new_end_again():
    # PIP dated 26 April 2028: counted end Saturday 26 April 2031, moved to Monday 28 April. DUO extends
    # by 6 months from the counted end: 26 October 2031, a Sunday: Monday 27 October 2031.
    case = gezin("2028-02-21").message("2028-02-21", "brp_inschrijving", occurred_on="2028-02-01")
    case.complete("2028-04-26", "vaststellen", pip_dagtekening="2028-04-26")
    case.message("2031-01-10", "verlenging_toegekend", verlenging_duur="P6M")
    assert clock(case, "inburgeringstermijn") == ("running", "2028-04-27", "2031-10-27")
    assert case.kinds("clock_extended") == [("2031-01-10", "inburgeringstermijn", "eindigt 27-10-2031")]


def test_a_new_royal_decree_moves_a_running_term_and_its_expiry_waits_for_the_new_last_day(monkeypatch):
    # Notice 1 Jun 2029 (registered before): 1 June + 70 days = Friday 10 August 2029. No decree covers
    # 2029 yet; suppose one equates 10 August 2029: the term then runs to Monday 13 August.
    case = gezin("2029-06-01").message("2029-06-01", "brp_inschrijving", occurred_on="2029-05-01")
    assert clock(case, "pip_termijn")[2] == "2029-08-10"
    decree = feestdagen.Decree(title="(test)", source="https://example.org", confidence="M", years=(2029,),
                               days=(date(2029, 8, 10),))
    published = feestdagen.decrees()
    monkeypatch.setattr(feestdagen, "decrees", lambda: (*published, decree))
    feestdagen.feestdagen.cache_clear()
    try:
        case.until("2029-08-12")
        assert clock(case, "pip_termijn") == ("running", "2029-06-02", "2029-08-13")
        assert case.kinds("clock_expired") == []
        case.until("2029-08-14")
        assert case.kinds("clock_expired") == [("2029-08-14", "pip_termijn", "laatste dag was 13-08-2029")]
    finally:
        feestdagen.feestdagen.cache_clear()


def test_a_local_norm_gets_no_atw():
    # The koppeling norm (row 1) is not statutory: 2 weeks from a permit of 20 March 2026 end on
    # Friday 3 April 2026, Goede Vrijdag, and stay there.
    case = asiel("2026-04-03", verblijfsvergunning_op="2026-03-20")
    assert clock(case, "koppelingsnorm") == ("stopped", "2026-03-21", "2026-04-03")


# --- the PIP term waits for both anchors (row 4, §13) ---------------------------------------------


def test_no_pip_term_runs_before_the_brp_registration_so_nothing_is_missed_in_the_azc():
    # Koppeling 5 Jan, DUO's notice 12 Jan while in the AZC: no PIP term. Registered in the gemeente on
    # 4 May: 10 weeks from the day after, 5 May to 13 July 2026 (a Monday).
    case = asiel("2026-01-05").message("2026-01-12", "duo_kennisgeving").until("2026-05-03")
    assert "pip_termijn" not in case.state.clocks
    assert case.kinds("deadline_missed") == [] and case.state.tasks[0].due_on is None
    case.message("2026-05-04", "brp_inschrijving")
    assert clock(case, "pip_termijn") == ("running", "2026-05-05", "2026-07-13")


def test_a_registration_before_the_notice_lets_the_notice_start_the_term():
    # Registered 2 Feb (before the case started: allowed), notice 16 Feb: 16 Feb + 70 days = 27 April
    # 2026, Koningsdag (a Monday): Tuesday 28 April.
    case = gezin("2026-02-16").message("2026-02-17", "brp_inschrijving", occurred_on="2026-02-02")
    assert clock(case, "pip_termijn") == ("running", "2026-02-17", "2026-04-28")


def test_a_pip_adopted_before_the_registration_means_no_pip_term_starts_at_the_registration():
    # Snelle start: the PIP is adopted in the AZC on 2 March; the registration on 4 May starts nothing.
    case = asiel("2026-01-05").message("2026-01-12", "duo_kennisgeving")
    case.complete("2026-03-02", "vaststellen", pip_dagtekening="2026-03-02")
    case.message("2026-05-04", "brp_inschrijving").until("2026-09-01")
    assert "pip_termijn" not in case.state.clocks and case.kinds("deadline_missed") == []


# --- the verdict follows the date that counts (item 4) and an ongoing pause (noticed in issue 10) ----


def test_a_pip_recorded_after_its_last_day_but_dated_before_it_is_on_time():
    # Notice and registration 12 Jan: last day 12 Jan + 70 days = 23 March 2026. Nothing recorded: the
    # clock runs out on 24 March. On 30 March the PIP is recorded, dated 20 March: met after all.
    case = gezin("2026-01-12").message("2026-01-12", "brp_inschrijving", occurred_on="2026-01-05")
    case.until("2026-03-29")
    assert case.kinds("deadline_missed") == [("2026-03-24", "pip_termijn", "laatste dag was 23-03-2026")]
    case.complete("2026-03-30", "vaststellen", pip_dagtekening="2026-03-20")
    stopped = case.entries("clock_stopped")[0]
    assert (stopped.clock, stopped.due_on.isoformat(), stopped.verdict) == ("pip_termijn", "2026-03-23", "on_time")
    assert stopped.detail == "op tijd op 20-03-2026, laatste dag 23-03-2026"
    assert case.state.clocks["pip_termijn"].status == "stopped"


def test_a_pip_dated_after_its_last_day_is_late_whenever_it_was_recorded():
    case = gezin("2026-01-12").message("2026-01-12", "brp_inschrijving", occurred_on="2026-01-05")
    case.complete("2026-03-30", "vaststellen", pip_dagtekening="2026-03-27")
    stopped = case.entries("clock_stopped")[0]
    assert (stopped.due_on.isoformat(), stopped.verdict, stopped.detail) == (
        "2026-03-23", "late", "te laat op 27-03-2026, laatste dag 23-03-2026")


def test_a_clock_stopped_while_paused_is_judged_against_the_last_day_with_the_pause_so_far():
    # Last day 23 March 2026; paused on 2 Feb for third-party information and still paused when the PIP
    # is adopted on 1 April, dated 1 April: 58 days of pause move the last day to 20 May: met.
    case = gezin("2026-01-12").message("2026-01-12", "brp_inschrijving", occurred_on="2026-01-05")
    case.message("2026-02-02", "informatie_derde_gevraagd")
    case.complete("2026-04-01", "vaststellen", pip_dagtekening="2026-04-01")
    stopped = case.entries("clock_stopped")[0]
    assert (stopped.due_on.isoformat(), stopped.verdict) == ("2026-05-20", "on_time")
    assert clock(case, "pip_termijn") == ("stopped", "2026-01-13", "2026-05-20")


# --- a measured term and a new term for a new application ------------------------------------------


def test_a_term_started_and_stopped_by_the_same_event_is_judged_at_once():
    # Permit 2 March 2026, koppeling 20 March: two weeks end on 16 March, so the koppeling is late.
    late = asiel("2026-03-20", verblijfsvergunning_op="2026-03-02")
    assert late.entries("clock_stopped")[0].verdict == "late"
    # Permit 9 March, koppeling 20 March: within two weeks (last day 23 March).
    met = asiel("2026-03-20", verblijfsvergunning_op="2026-03-09")
    assert (met.entries("clock_stopped")[0].verdict, clock(met, "koppelingsnorm")[2]) == ("on_time", "2026-03-23")
    # Without a known permit date there is nothing to judge.
    assert "koppelingsnorm" not in asiel("2026-03-20").state.clocks


def test_a_permit_date_that_arrives_after_the_koppeling_is_judged_when_it_arrives():
    case = asiel("2026-03-20").message("2026-03-25", "verblijfsvergunning", verblijfsvergunning_op="2026-03-02")
    assert case.entries("clock_stopped")[0].verdict == "late" and case.kinds("deadline_missed") == []


def test_a_new_application_starts_the_decision_term_again_after_the_first_was_decided():
    # Application 2 March 2026: 8 weeks end on 2 March + 56 days = 27 April, Koningsdag: Tuesday 28 April.
    case = gezin("2026-01-05").message("2026-03-02", "verlenging_aangevraagd", verlenging_aangevraagd_op="2026-03-02")
    assert clock(case, "beslistermijn") == ("running", "2026-03-03", "2026-04-28")
    case.message("2026-04-20", "verlenging_afgewezen")
    assert case.state.clocks["beslistermijn"].status == "stopped"
    # A new application on 1 June: 1 June + 56 days = 27 July 2026.
    case.message("2026-06-01", "verlenging_aangevraagd", verlenging_aangevraagd_op="2026-06-01")
    assert clock(case, "beslistermijn") == ("running", "2026-06-02", "2026-07-27")
    assert [d for d, *_ in case.kinds("clock_restarted")] == ["2026-06-01"]


@pytest.mark.parametrize("bad", ["P6", "zes maanden", "P11Y"])
def test_a_decided_length_that_is_not_a_sane_duration_is_refused(bad):
    from engine.errors import FormInvalid

    case = gezin("2026-01-05").message("2026-01-05", "brp_inschrijving", occurred_on="2026-01-02")
    case.complete("2026-02-02", "vaststellen", pip_dagtekening="2026-02-02")
    with pytest.raises(FormInvalid, match="verlenging_duur"):
        case.message("2028-10-01", "verlenging_toegekend", verlenging_duur=bad)
