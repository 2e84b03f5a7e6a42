"""Whole Wi2021 trajectories in virtual time, read like case files (tests/scenarios/*.yaml).

Every expected date is worked out by hand from ../shared/domain/wi2021.md and the municipality
profile, and written out here: a change in a definition that moves a legal date fails a test that
names the rule. A clock's first day is the day after its event D and its last day is D + N on D's day
number (wi2021.md#13, row 17), so "10 weeks from 2 March" ends on 11 May, and "three years from the
day after a dagtekening of 8 May 2026" ends on 8 May 2029; a statutory term (PIP term,
inburgeringstermijn, DUO's decision terms) then runs on past a weekend or holiday (the Algemene
termijnenwet, row 16), a local norm does not. The case files on the Algemene termijnenwet, leap
years and month ends, the PIP term before the registration and rows 1, 9, 10, 14 and 15 are in
tests/test_wi2021_dates.py.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from cli.main import main as regie
from engine.calendar import NL
from engine.errors import MessageNotExpected
from engine.events import MessageReceived
from engine.interpreter import advance
from engine.loader import DEFAULT_DIR
from engine.simulation import ScenarioEvent, SimulationResult, event_moment, load_scenario, simulate
from engine.validator import validate_paths

SCENARIOS = Path(__file__).parent / "scenarios"


@pytest.fixture(scope="module")
def library():
    library, problems = validate_paths([DEFAULT_DIR])
    assert problems == []
    return library


def run(library, name: str, **changes) -> SimulationResult:
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    return simulate(library, scenario.model_copy(update=changes) if changes else scenario)


def local_day(moment: str | datetime) -> str:
    moment = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return moment.astimezone(NL).date().isoformat()


def sent(result: SimulationResult, template: str, role: str | None = None) -> list[tuple[str, str]]:
    """(day, role) of every notification with this template, in order."""
    return [(local_day(n["at"]), n["role"]) for n in result.notifications
            if n["template"] == template and (role is None or n["role"] == role)]


def contexts(result: SimulationResult, template: str, role: str | None = None) -> list[dict]:
    """The context of every notification with this template, without the case reference."""
    return [{k: v for k, v in n["context"].items() if k != "case_ref"} for n in result.notifications
            if n["template"] == template and (role is None or n["role"] == role)]


def when(result: SimulationResult, kind: str, ref: str) -> list[str]:
    """The days on which something happened to a step, clock or message."""
    return [local_day(h.at) for h in result.timeline if h.kind == kind and h.ref == ref]


def clock(result: SimulationResult, clock_id: str) -> dict:
    return next(c for c in result.clocks if c["clock"] == clock_id)


def opened(result: SimulationResult, step: str) -> list[str]:
    """'day due day' for every time a step was opened, e.g. '2026-06-15 due 2026-06-29'."""
    return [f"{local_day(h.at)} {f'due {h.due_on}' if h.due_on else 'no due date'}"
            for h in result.timeline if h.kind == "task_opened" and h.element == step]


# --- an asielstatushouder in Tilburg, from koppeling through nazorg --------------------------------


@pytest.fixture(scope="module")
def tilburg(library) -> SimulationResult:
    return run(library, "asielstatushouder_volledig")


def test_coa_is_reminded_weekly_until_the_klantregisseur_confirms_the_klantprofiel(tilburg):
    # Koppeling on Monday 2 February; the klantprofiel is confirmed on 12 February (P2).
    assert sent(tilburg, "klantprofiel_herinnering") == [("2026-02-09", "coa")]
    assert contexts(tilburg, "klantprofiel_herinnering") == [{"uiterlijk": "2026-02-16"}]
    assert when(tilburg, "task_completed", "klantprofiel_ontvangen") == ["2026-02-12"]


def test_repeated_conversations_in_the_azc_come_before_the_driegesprek(tilburg):
    assert opened(tilburg, "gesprek_azc") == ["2026-02-02 due 2026-02-16", "2026-02-05 due 2026-02-19"]
    # The driegesprek must be planned within six weeks of koppeling; COA hears its date.
    assert opened(tilburg, "driegesprek_plannen") == ["2026-02-17 due 2026-03-16"]
    assert sent(tilburg, "driegesprek_gepland") == [("2026-02-19", "coa")]
    assert contexts(tilburg, "driegesprek_gepland") == [{"driegesprek_datum": "2026-03-03"}]
    # Tilburg's standard scenario was chosen, so the coordinator is not bothered.
    assert sent(tilburg, "scenario_afwijking") == []


def test_housing_norm_runs_ten_weeks_from_koppeling_and_escalates_when_exceeded(tilburg):
    # wi2021.md#0 row 2: a home within 10 weeks of the koppeling on 2 Feb: 2 Feb + 70 days = Monday
    # 13 April (a local norm: no Atw). Warned two weeks ahead (30 March), the coordinator hears on 14
    # April; the home comes on 4 May: late.
    norm = clock(tilburg, "huisvestingsnorm")
    assert (norm["started_on"], norm["end_on"], norm["status"]) == ("2026-02-03", "2026-04-13", "stopped")
    assert [h.verdict for h in tilburg.timeline if h.kind == "clock_stopped" and h.clock == "huisvestingsnorm"] == [
        "late"]
    assert sent(tilburg, "huisvestingsnorm_nadert") == [("2026-03-30", "klantregisseur")]
    assert sent(tilburg, "huisvestingsnorm_overschreden") == [("2026-04-14", "coordinator")]
    assert contexts(tilburg, "huisvestingsnorm_overschreden") == [
        {"koppeling_op": "2026-02-02", "norm_einde": "2026-04-13"}]


def test_the_move_within_two_weeks_after_the_home_is_met_by_the_brp_registration(tilburg):
    # Row 2: the move within 2 weeks after the home (4 May): 4 May + 14 = 18 May. Nobody reports the
    # move itself, but the registration in the gemeente on 11 May follows it: met.
    norm = clock(tilburg, "verhuisnorm")
    assert (norm["started_on"], norm["end_on"], norm["status"]) == ("2026-05-05", "2026-05-18", "stopped")
    assert [(local_day(h.at), h.verdict) for h in tilburg.timeline if h.kind == "clock_stopped"
            and h.clock == "verhuisnorm"] == [("2026-05-11", "on_time")]
    assert sent(tilburg, "verhuisnorm_overschreden") == []


def test_the_koppeling_within_two_weeks_of_the_permit_is_judged_at_once(tilburg):
    # Row 1: permit 22 January 2026; 22 Jan + 14 days = 5 February; koppeling on 2 February: met.
    norm = clock(tilburg, "koppelingsnorm")
    assert (norm["started_on"], norm["end_on"], norm["status"]) == ("2026-01-23", "2026-02-05", "stopped")
    assert [h.verdict for h in tilburg.timeline if h.kind == "clock_stopped" and h.clock == "koppelingsnorm"] == [
        "on_time"]


def test_partners_hear_the_moving_date_when_a_home_is_found(tilburg):
    moving = [(day, role, ctx) for (day, role), ctx in zip(
        sent(tilburg, "verhuisdatum_coa") + sent(tilburg, "verhuisdatum_begeleiding") + sent(tilburg, "verhuisdatum_inkomen"),
        contexts(tilburg, "verhuisdatum_coa") + contexts(tilburg, "verhuisdatum_begeleiding")
        + contexts(tilburg, "verhuisdatum_inkomen"))]
    assert moving == [
        ("2026-05-04", "coa", {"verhuisdatum": "2026-05-11"}),
        ("2026-05-04", "maatschappelijk_begeleider", {"verhuisdatum": "2026-05-11"}),
        ("2026-05-04", "inkomen", {"verhuisdatum": "2026-05-11"}),
    ]


def test_combined_approach_holds_the_intake_in_the_azc_and_the_pip_until_the_move(tilburg):
    assert when(tilburg, "subprocess_started", "brede_intake@2") == ["2026-03-03"]
    assert when(tilburg, "subprocess_completed", "brede_intake@2") == ["2026-04-20"]
    assert when(tilburg, "subprocess_started", "pip@2") == ["2026-05-04"]


def test_no_pip_term_runs_in_the_azc_it_starts_at_the_brp_registration_after_the_move(tilburg):
    # Row 4, §13: DUO's notice on 9 March comes while the person lives in the AZC: no PIP term, no
    # reminders. The registration on 11 May starts it: 11 May + 70 days = Monday 20 July 2026.
    assert [h.detail for h in tilburg.timeline if h.ref == "pip_termijn" and h.kind.startswith("clock_")] == [
        "12-05-2026 t/m 20-07-2026", "op tijd, laatste dag 20-07-2026"]
    assert sent(tilburg, "pip_termijn_herinnering") == [] and sent(tilburg, "pip_termijn_verstreken") == []
    # The PIP step opened on 4 May, before the registration: the klantregisseur hears that the term
    # waits for it, and its last day once the registration is in.
    assert sent(tilburg, "pip_termijn_wacht_op_inschrijving") == [("2026-05-04", "klantregisseur")]
    assert sent(tilburg, "pip_opstellen") == [("2026-05-11", "klantregisseur")]
    assert contexts(tilburg, "pip_opstellen") == [{"pip_uiterlijk": "2026-07-20"}]


def test_ontzorgen_runs_twelve_months_in_tilburg_from_the_start_of_bijstand(tilburg):
    ontzorgen = clock(tilburg, "ontzorgen")
    assert (ontzorgen["started_on"], ontzorgen["end_on"]) == ("2026-05-11", "2027-05-10")
    assert sent(tilburg, "ontzorgen_einde_nadert") == [("2027-04-12", "inkomen")]
    assert sent(tilburg, "ontzorgen_afgelopen") == [("2027-05-11", "inkomen")]


def test_term_runs_three_years_from_the_day_after_the_first_pip(tilburg):
    term = clock(tilburg, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"], term["status"]) == ("2026-06-02", "2029-06-01", "stopped")
    assert sent(tilburg, "termijn_taalaanbieder") == [("2026-06-01", "taalaanbieder")]
    assert sent(tilburg, "schakeltermijn_nadert") == [("2027-10-02", "klantregisseur")]
    assert contexts(tilburg, "schakeltermijn_nadert") == [{"schakelen_uiterlijk": "2027-12-01"}]
    assert when(tilburg, "milestone_reached", "inburgeringstermijn.schakeltermijn_voorbij") == ["2027-12-02"]
    assert when(tilburg, "clock_stopped", "inburgeringstermijn") == ["2028-05-15"]
    assert sent(tilburg, "plicht_voldaan") == [("2028-05-15", "klantregisseur")]


def test_missing_childcare_holds_the_route_and_the_coordinator_sees_it(tilburg):
    assert sent(tilburg, "randvoorwaarde_houdt_stap_vast") == [("2026-06-01", "coordinator")]
    assert contexts(tilburg, "randvoorwaarde_houdt_stap_vast")[0]["kinderopvang"] == "nodig"
    assert opened(tilburg, "regelen") == ["2026-06-01 due 2026-06-29"]
    # The lessons start only when childcare is arranged; their deadline still counts from the PIP.
    assert opened(tilburg, "lessen_starten") == ["2026-06-15 due 2026-06-29"]


def test_dual_start_waits_for_a_recheck_and_the_coordinator_hears_the_target_was_missed(tilburg):
    # Tilburg's target: a dual trajectory three months after the PIP (2 June to 1 September).
    target = clock(tilburg, "duaal_streefdatum")
    assert (target["started_on"], target["end_on"], target["status"]) == ("2026-06-02", "2026-09-01", "stopped")
    assert contexts(tilburg, "herbeoordeling_gepland") == [{"herbeoordeling_op": "2026-09-26"}]
    assert opened(tilburg, "belastbaarheid") == ["2026-06-15 due 2026-07-13", "2026-09-26 due 2026-10-24"]
    assert sent(tilburg, "duaal_streefdatum_nadert") == [("2026-08-04", "klantregisseur")]
    assert sent(tilburg, "duaal_streefdatum_verstreken") == [("2026-09-02", "coordinator")]
    assert sent(tilburg, "duaal_gestart_werkgever") == [("2026-10-20", "werkgever")]
    assert contexts(tilburg, "duaal_gestart_werkgever") == [{"duaal_startdatum": "2026-11-02"}]


def test_pvt_starts_a_month_after_the_pip_and_must_end_two_months_before_the_term(tilburg):
    assert opened(tilburg, "pvt_aanmelden") == ["2026-07-01 due 2026-07-15"]
    assert opened(tilburg, "pvt_afronden") == ["2026-07-08 due 2029-04-01"]
    assert opened(tilburg, "pvt_registreren") == ["2026-11-10 due 2026-11-24"]  # 10 working days


def test_map_waits_for_a2_in_tilburg(tilburg):
    assert opened(tilburg, "map_aanmelden") == ["2027-01-11 due 2027-01-25"]
    assert opened(tilburg, "map_eindgesprek") == ["2027-06-07 due 2027-07-05"]


def test_nazorg_check_ins_follow_the_placement_date(tilburg):
    # First working day 6 September 2027; check-ins after 2 and 6 weeks, 3, 6 and 12 months (P9).
    check_ins = ["2027-09-20", "2027-10-18", "2027-12-06", "2028-03-06", "2028-09-06"]
    assert sent(tilburg, "checkin_werkgever") == [(day, "werkgever") for day in check_ins]
    assert [o.split()[0] for o in opened(tilburg, "checkin")] == check_ins
    # The third check-in (due 13 December, five working days) is overdue: the klantregisseur hears it.
    assert [(local_day(h.at), h.detail) for h in tilburg.timeline if h.kind == "escalated"] == [
        ("2027-12-14", "aan klantregisseur, termijn was 13-12-2027")]


def test_friction_opens_extra_coaching(tilburg):
    assert sent(tilburg, "frictie_gemeld") == [("2027-11-15", "klantregisseur")]
    assert contexts(tilburg, "frictie_gemeld") == [{"uiterlijk": "2027-11-22"}]
    assert opened(tilburg, "extra_coaching") == ["2027-11-15 due 2027-11-22"]


def test_the_case_completes_after_the_last_check_in(tilburg):
    assert tilburg.status == "completed"
    assert when(tilburg, "case_completed", "asielstatushouder@2") == ["2028-09-08"]
    assert tilburg.open_tasks == []


# --- a gezinsmigrant -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gezinsmigrant(library) -> SimulationResult:
    return run(library, "gezinsmigrant")


def test_pip_deadline_runs_from_the_registration_when_it_is_later_and_past_whit_monday(gezinsmigrant):
    # Row 4, §13: DUO's notice on 2 March, registration on 16 March (later): no term until the 16th,
    # then 16 March + 70 days = 25 May 2026, tweede Pinksterdag: the Atw (row 16) moves the last day to
    # Tuesday 26 May. The four-week reminder counts back from it: 28 April.
    assert [h.detail for h in gezinsmigrant.timeline if h.ref == "pip_termijn" and h.kind.startswith("clock_")] == [
        "17-03-2026 t/m 26-05-2026 (geteld tot 25-05-2026; de Atw schuift het einde op)",
        "op tijd, laatste dag 26-05-2026"]
    assert sent(gezinsmigrant, "pip_termijn_herinnering") == [("2026-04-28", "klantregisseur")]
    assert contexts(gezinsmigrant, "pip_opstellen") == [{"pip_uiterlijk": "2026-05-26"}]


def test_a_gezinsmigrant_has_no_coa_phase_and_no_ontzorgen(library, gezinsmigrant):
    assert {n["role"] for n in gezinsmigrant.notifications}.isdisjoint({"coa", "inkomen"})
    assert {c["clock"] for c in gezinsmigrant.clocks} == {"pip_termijn", "inburgeringstermijn", "duaal_streefdatum"}
    assert "warme_overdracht" not in {h.ref for h in gezinsmigrant.timeline if h.kind == "phase_entered"}
    process = library.process("gezinsmigrant", "nederweert")
    with pytest.raises(MessageNotExpected, match="bijstand_toegekend"):
        advance(process, gezinsmigrant.state, MessageReceived(message="bijstand_toegekend"),
                event_moment(date(2027, 12, 31)))


def test_adjusting_the_pip_never_moves_the_term(gezinsmigrant):
    term = clock(gezinsmigrant, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"]) == ("2026-05-09", "2029-05-08")
    assert sent(gezinsmigrant, "pip_bijgesteld_taalaanbieder") == [("2027-12-08", "taalaanbieder")]
    assert contexts(gezinsmigrant, "pip_bijgesteld_taalaanbieder") == [
        {"leerroute": "z_route", "termijn_einde": "2029-05-08", "uiterlijk": "2027-12-22"}]


def test_switching_route_after_eighteen_months_is_flagged_to_the_coordinator(gezinsmigrant):
    assert contexts(gezinsmigrant, "schakeltermijn_nadert") == [{"schakelen_uiterlijk": "2027-11-08"}]
    assert sent(gezinsmigrant, "schakeltermijn_nadert") == [("2027-09-09", "klantregisseur")]
    assert gezinsmigrant.state.data["schakelen_mogelijk"] is False
    assert sent(gezinsmigrant, "schakelen_te_laat") == [("2027-12-08", "coordinator")]


# --- the PIP deadline ------------------------------------------------------------------------------


def test_a_late_pip_is_escalated_to_the_coordinator_the_day_after_the_deadline(library):
    # Registered 16 Feb, notice 2 March: 2 March + 70 days = Monday 11 May 2026.
    result = run(library, "pip_te_laat")
    assert sent(result, "pip_termijn_herinnering") == [("2026-04-13", "klantregisseur"), ("2026-04-27", "klantregisseur")]
    assert sent(result, "pip_termijn_verstreken") == [("2026-05-12", "coordinator")]
    assert contexts(result, "pip_termijn_verstreken") == [{"pip_uiterlijk": "2026-05-11"}]
    # Adopted on 20 May, after the last day: the clock stops with the verdict late.
    assert clock(result, "pip_termijn")["status"] == "stopped"
    assert [h.verdict for h in result.timeline if h.kind == "clock_stopped" and h.clock == "pip_termijn"] == ["late"]
    # Adopted on 20 May: the term counts from its own dagtekening, late or not. 20 May 2029 is
    # Pinksterzondag and the 21st tweede Pinksterdag: the Atw moves the last day to Tuesday 22 May.
    term = clock(result, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"]) == ("2026-05-21", "2029-05-22")


def test_pip_clock_pauses_for_third_party_information_until_two_weeks_after_it_arrives(library):
    result = run(library, "pip_termijn_gepauzeerd")
    # 11 May + 33 days of pause (1 April to 4 May) = Saturday 13 June: the Atw moves it to Monday 15 June.
    assert [(local_day(h.at), h.kind, h.detail) for h in result.timeline if h.ref == "pip_termijn"
            and h.kind.startswith("clock_")] == [
        ("2026-03-02", "clock_started", "03-03-2026 t/m 11-05-2026"),
        ("2026-04-01", "clock_paused", "sinds 01-04-2026"),
        ("2026-04-20", "clock_resume_planned", "op 04-05-2026"),
        ("2026-05-04", "clock_resumed", "33 dagen gepauzeerd, eindigt 15-06-2026"),
        ("2026-06-10", "clock_stopped", "op tijd, laatste dag 15-06-2026"),
    ]
    # No reminder while the clock stood still; both reminders count from the new last day (15 June -
    # 4 weeks = 18 May, - 2 weeks = 1 June).
    assert sent(result, "pip_termijn_herinnering") == [("2026-05-18", "klantregisseur"), ("2026-06-01", "klantregisseur")]
    assert contexts(result, "pip_opstellen") == [{"pip_uiterlijk": "2026-06-15"}]
    assert sent(result, "pip_termijn_verstreken") == []
    # This PIP chose the onderwijsroute: no MAP (wi2021.md#7).
    assert when(result, "subprocess_completed", "map@2") == ["2026-06-10"]
    assert opened(result, "map_aanmelden") == []


# --- medisch advies -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def medisch(library) -> SimulationResult:
    return run(library, "medisch_advies_afgewezen")


def test_medical_wait_warns_the_klantregisseur_with_the_share_of_the_term_consumed(medisch):
    # Requested 6 March 2028; term 9 May 2026 – 8 May 2029 (1096 days). DUO decides within 8 weeks
    # (row 10): 6 March + 56 days = Monday 1 May 2028, a working day; the first warning comes on the
    # first late day, 2 May (57 days, 5 %), then after 6 and 9 months (the gemeente's thresholds).
    warnings = [(day, c["wachtdagen"], c["termijn_verbruikt"], c["termijn_einde"])
                for (day, _), c in zip(sent(medisch, "medisch_advies_wacht"), contexts(medisch, "medisch_advies_wacht"))]
    assert warnings == [
        ("2028-05-02", 57, 5, "2029-05-08"),
        ("2028-09-06", 184, 17, "2029-05-08"),
        ("2028-12-06", 275, 25, "2029-05-08"),
    ]
    term = clock(medisch, "beslistermijn_ontheffing")
    assert (term["started_on"], term["end_on"], term["status"]) == ("2028-03-07", "2028-05-01", "stopped")
    assert {role for _, role in sent(medisch, "medisch_advies_wacht")} == {"klantregisseur"}


def test_extension_request_is_flagged_when_the_term_is_two_and_a_half_years_old(medisch):
    # Waiting over three months since 6 June 2028, but an application only from 9 November 2028.
    assert sent(medisch, "verlenging_aanvraag_mogelijk") == [("2028-11-09", "klantregisseur")]
    assert sent(medisch, "verlengingsvenster_open") == [("2028-11-09", "klantregisseur")]
    assert medisch.state.data["verlenging_aanvraag_mogelijk"] is True


def test_a_rejection_after_eleven_months_resumes_the_route_within_two_weeks(medisch):
    assert sent(medisch, "medisch_advies_uitkomst") == [("2029-02-05", "klantregisseur")]
    assert contexts(medisch, "medisch_advies_uitkomst") == [
        {"wachtdagen": 336, "termijn_verbruikt": 31, "termijn_einde": "2029-05-08", "uiterlijk": "2029-02-19"}]
    assert opened(medisch, "route_hervatten") == ["2029-02-05 due 2029-02-19"]
    assert [h.detail for h in medisch.timeline if h.kind == "task_completed" and h.ref == "route_hervatten"] == [
        "door scenario, op tijd"]
    # No rule pauses the term while the assessment is pending (wi2021.md#1): the end stays.
    assert clock(medisch, "inburgeringstermijn")["end_on"] == "2029-05-08"
    assert medisch.status == "active"


def test_the_medical_outcome_never_leaves_the_case_store(medisch):
    assert medisch.state.data["ontheffing_besluit"] == "afgewezen"
    outside = json.dumps(medisch.notifications) + json.dumps([h.model_dump(mode="json") for h in medisch.timeline])
    assert "afgewezen" not in outside
    assert "ontheffing_besluit" not in outside


def test_full_exemption_ends_the_duty_and_tells_the_providers_without_a_reason(library):
    scenario = load_scenario(SCENARIOS / "medisch_advies_afgewezen.yaml")
    events = scenario.events[:-2] + [ScenarioEvent(on=date(2029, 2, 5), message="medisch_advies_ontvangen",
                                                   data={"ontheffing_besluit": "volledig"})]
    result = simulate(library, scenario.model_copy(update={"events": events}))
    assert sent(result, "traject_beeindigd") == [
        ("2029-02-05", "taalaanbieder"), ("2029-02-05", "map_aanbieder"), ("2029-02-05", "pvt_aanbieder")]
    assert contexts(result, "traject_beeindigd")[0] == {"einddatum": "2029-02-05"}
    assert result.status == "terminated"
    assert when(result, "case_terminated", "gezinsmigrant@2") == ["2029-02-05"]
    assert result.next_due == []


def test_partial_exemption_adjusts_the_pip(library):
    scenario = load_scenario(SCENARIOS / "medisch_advies_afgewezen.yaml")
    events = scenario.events[:-2] + [ScenarioEvent(on=date(2029, 2, 5), message="medisch_advies_ontvangen",
                                                   data={"ontheffing_besluit": "gedeeltelijk"})]
    result = simulate(library, scenario.model_copy(update={"events": events}))
    assert opened(result, "bijstelling_vastleggen") == ["2029-02-05 due 2029-03-05"]
    assert result.status == "active"


# --- verlenging, MAP, lesrooster, uitval ----------------------------------------------------------


def test_duo_extension_moves_the_end_by_the_decided_length_and_rearms_the_six_month_reminder(library):
    result = run(library, "verlenging_toegekend")
    # Row 10: 8 May 2029 + 6 months (P6M decided) = Thursday 8 November 2029.
    term = clock(result, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"], term["extended"]) == ("2026-05-09", "2029-11-08", True)
    # DUO's decision term: applied on 20 November 2028, + 56 days = Monday 15 January 2029; decided
    # that day: met.
    decision = clock(result, "beslistermijn_verlenging")
    assert (decision["started_on"], decision["end_on"], decision["status"]) == ("2028-11-21", "2029-01-15", "stopped")
    assert [h.verdict for h in result.timeline if h.kind == "clock_stopped" and h.clock == "beslistermijn_verlenging"] \
        == ["on_time"]
    assert sent(result, "termijn_verlengd") == [("2029-01-15", "klantregisseur"), ("2029-01-15", "taalaanbieder")]
    assert contexts(result, "termijn_verlengd")[0] == {"termijn_einde": "2029-11-08"}
    six_months = list(zip(sent(result, "termijn_zes_maanden"), contexts(result, "termijn_zes_maanden")))
    assert six_months == [
        (("2028-11-08", "klantregisseur"), {"termijn_einde": "2029-05-08"}),
        (("2029-05-08", "klantregisseur"), {"termijn_einde": "2029-11-08"}),
    ]
    # Not on 9 May 2029 (the old end) but the day after DUO's new last day.
    assert sent(result, "termijn_verlopen") == [("2029-11-09", "coordinator")]


def test_600_lesson_hours_in_the_b1_route_open_the_afschalen_check_and_the_term_stays(library):
    result = run(library, "verlenging_toegekend")
    assert opened(result, "afschalen_beoordelen") == ["2027-10-04 due 2027-11-01"]
    assert opened(result, "bijstelling_vastleggen") == ["2027-10-18 due 2027-11-15"]
    assert sent(result, "pip_bijgesteld_taalaanbieder") == [("2027-10-25", "taalaanbieder")]
    assert contexts(result, "pip_bijgesteld_taalaanbieder") == [
        {"leerroute": "b1_route", "termijn_einde": "2029-05-08", "uiterlijk": "2027-11-08"}]
    # Afschalen is not schakelen: no question to the coordinator, even after 18 months.
    assert sent(result, "schakelen_te_laat") == []


def test_map_enrolment_waits_for_a2(library):
    result = run(library, "map_wacht_op_a2")
    assert sent(result, "taalniveau_behaald") == [("2026-09-14", "klantregisseur"), ("2026-11-16", "klantregisseur")]
    assert opened(result, "map_aanmelden") == ["2026-11-16 due 2026-11-30"]


def test_map_enrols_at_once_where_the_gemeente_sets_no_minimum_level(library):
    result = run(library, "map_wacht_op_a2", profile="nederweert")
    assert opened(result, "map_aanmelden") == ["2026-05-08 due 2026-05-22"]


def test_map_starts_by_the_latest_date_that_fits_the_term_even_without_a2(library):
    scenario = load_scenario(SCENARIOS / "map_wacht_op_a2.yaml")
    events = [e for e in scenario.events if e.data.get("taalniveau") != "a2" and e.complete != "map_aanmelden"]
    result = simulate(library, scenario.model_copy(update={"events": events, "until": date(2028, 11, 30)}))
    # Term ends 8 May 2029; the MAP needs six months: the wait for A2 ends on 8 November 2028.
    assert sent(result, "map_uiterste_start") == [("2028-11-08", "klantregisseur")]
    assert contexts(result, "map_uiterste_start") == [{"termijn_einde": "2029-05-08", "uiterlijk": "2028-11-22"}]
    assert opened(result, "map_aanmelden") == ["2028-11-08 due 2028-11-22"]


def test_lesson_schedule_change_reaches_the_employer_the_same_morning(library):
    result = run(library, "lesrooster_gewijzigd")
    assert sent(result, "duaal_gestart_werkgever") == [("2026-06-15", "werkgever")]
    change = [n for n in result.notifications if n["template"] == "lesrooster_gewijzigd"]
    assert [(datetime.fromisoformat(n["at"]).astimezone(NL).strftime("%Y-%m-%d %H:%M"), n["role"]) for n in change] == [
        ("2026-09-07 09:00", "werkgever")]
    assert contexts(result, "lesrooster_gewijzigd") == [{"lesrooster_ingangsdatum": "2026-09-14"}]
    # Transport was a precondition: the route waited five days and the coordinator could see it.
    assert sent(result, "randvoorwaarde_houdt_stap_vast") == [("2026-05-08", "coordinator")]
    assert contexts(result, "randvoorwaarde_houdt_stap_vast")[0]["vervoer"] == "nodig"
    assert opened(result, "lessen_starten") == ["2026-05-13 due 2026-06-05"]


@pytest.fixture(scope="module")
def uitval(library) -> SimulationResult:
    return run(library, "uitval_signaal")


def test_drop_out_signal_reaches_the_klantregisseur_at_once_in_any_phase(uitval):
    signals = [(datetime.fromisoformat(n["at"]).astimezone(NL).strftime("%Y-%m-%d %H:%M"), n["role"],
                n["context"]["uitval_soort"], n["context"]["reactie_uiterlijk"])
               for n in uitval.notifications if n["template"] == "uitval_signaal"]
    # Nederweert: respond within three working days; 5 May (Bevrijdingsdag) does not count.
    assert signals == [
        ("2026-02-10 09:00", "klantregisseur", "gemiste_afspraak", "2026-02-13"),
        ("2026-05-01 09:00", "klantregisseur", "verzuim", "2026-05-07"),
    ]
    phases = [(local_day(h.at), h.ref) for h in uitval.timeline if h.kind == "phase_entered"]
    assert phases == [("2026-02-02", "warme_overdracht"), ("2026-04-20", "brede_intake")]


def test_start_after_the_move_holds_the_intake_until_the_home_is_found(uitval):
    assert opened(uitval, "intakegesprek") == ["2026-04-20 due 2026-05-04"]
    # Nederweert's regional norm: a home within 12 weeks of the koppeling on 2 Feb: 2 Feb + 84 days =
    # 27 April, Koningsdag, which a local norm does not skip (no Atw); the home came on 20 April: met.
    norm = clock(uitval, "huisvestingsnorm")
    assert (norm["end_on"], norm["status"]) == ("2026-04-27", "stopped")
    # The move within 2 weeks after it: 20 April + 14 = 4 May; moved on 27 April: met.
    move = clock(uitval, "verhuisnorm")
    assert (move["end_on"], move["status"]) == ("2026-05-04", "stopped")
    assert sent(uitval, "huisvestingsnorm_overschreden") == [] and sent(uitval, "verhuisnorm_overschreden") == []


def test_a_scenario_runs_through_the_cli_and_its_json_names_who_is_told_what(capsys):
    assert regie(["simulate", str(SCENARIOS / "uitval_signaal.yaml"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["definition"] == "asielstatushouder@2" and result["profile"] == "nederweert"
    told = [(local_day(n["at"]), n["role"], n["template"]) for n in result["notifications"]
            if n["template"] != "taak_geopend"]
    assert told == [
        ("2026-02-09", "coa", "klantprofiel_herinnering"),
        ("2026-02-10", "klantregisseur", "uitval_signaal"),
        ("2026-02-11", "coa", "driegesprek_gepland"),
        ("2026-04-13", "klantregisseur", "huisvestingsnorm_nadert"),  # 27 April - 2 weeks
        ("2026-04-20", "coa", "verhuisdatum_coa"),
        ("2026-04-20", "maatschappelijk_begeleider", "verhuisdatum_begeleiding"),
        ("2026-04-20", "inkomen", "verhuisdatum_inkomen"),
        ("2026-05-01", "klantregisseur", "uitval_signaal"),
    ]


def test_the_cli_prints_the_timeline_as_text(capsys):
    assert regie(["simulate", str(SCENARIOS / "lesrooster_gewijzigd.yaml")]) == 0
    out = capsys.readouterr().out
    assert "07-09-2026 09:00  bericht gestuurd         werkgever  (lesrooster_gewijzigd)" in out
    assert "    inburgeringstermijn  loopt  09-05-2026 t/m 08-05-2029" in out


# --- privacy over every scenario ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.stem for p in SCENARIOS.glob("*.yaml")))
def test_no_notification_carries_identifying_or_health_data(library, name):
    result = run(library, name)
    fields = dict(library.catalog.data)
    for definition in library.definitions.values():
        fields.update(definition.data)
    for note in result.notifications:
        for key in note["context"]:
            if key in fields:
                assert fields[key].privacy.may_leave_case_store, f"{note['template']} carries {key}"
    secret = {name for name, f in fields.items() if not f.privacy.may_leave_case_store}
    carried = {k for n in result.notifications for k in n["context"]}
    assert carried.isdisjoint(secret)
