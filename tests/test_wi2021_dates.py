"""Every legal date right (issue 10): case files whose dates are worked out by hand from
../shared/domain/wi2021.md, each check citing the row or section it encodes.

How a date is counted (wi2021.md#13): a term of N weeks, months or years from an event on day D ends on
D + N, on D's day number, or on the last day of that month where the day does not exist (row 17); a
statutory term (PIP term, inburgeringstermijn, DUO's decision terms) that would end on a Saturday,
Sunday or recognised holiday (incl. Goede Vrijdag, 5 May every year, Koningsdag, and the days equated
by royal decree) runs on to the next day that is none of these (the Algemene termijnenwet, row 16);
a local norm or target does not. The hand computation is in the comment next to each expected date.
Weekdays: 2025-11-17 Mon; 2026-01-23 Fri; 2026-04-03 Goede Vrijdag; 2026-05-15 the Friday after
Ascension, equated by decree; 2027-05-05 Wed, 2027-05-06 Ascension, 2027-05-07 decreed; 2028-02-28 Mon;
2027-02-28 Sun; 2029-04-07 Sat; 2031-04-26 Sat (Koningsdag: the 27th is a Sunday); 2031-08-16 Sat.
"""

from __future__ import annotations

from datetime import date

import pytest

from engine.errors import DateBeforeStart, EngineError
from engine.loader import DEFAULT_DIR
from engine.simulation import ScenarioEvent, SimulationResult, load_scenario, simulate
from engine.validator import validate_paths
from tests.test_wi2021_scenarios import SCENARIOS, clock, contexts, local_day, opened, run, sent, when


@pytest.fixture(scope="module")
def library():
    library, problems = validate_paths([DEFAULT_DIR])
    assert problems == []
    return library


def stopped(result: SimulationResult, clock_id: str) -> list[tuple[str, str, str | None]]:
    """(day, last day, verdict) of every time a clock stopped."""
    return [(local_day(h.at), h.due_on.isoformat(), h.verdict) for h in result.timeline
            if h.kind == "clock_stopped" and h.clock == clock_id]


def missed(result: SimulationResult, clock_id: str) -> list[str]:
    return [local_day(h.at) for h in result.timeline if h.kind == "deadline_missed" and h.clock == clock_id]


# --- S1: the PIP term waits for the BRP registration (Tilburg, asielstatushouder) ----------------------


@pytest.fixture(scope="module")
def azc(library) -> SimulationResult:
    return run(library, "pip_termijn_na_inschrijving")


def test_no_pip_term_runs_while_the_person_waits_in_the_azc(azc):
    # Row 4, §13 (item 1): DUO's notice on 1 Dec 2025, but no registration in Tilburg until 23 Jan 2026.
    # The old rule started the term on 2 Dec and would have reported it missed on 10 Feb (1 Dec + 70
    # days = 9 Feb); now nothing runs, nothing is reminded and nothing is missed before the registration.
    assert [h.kind for h in azc.timeline if h.clock == "pip_termijn"][:1] == ["clock_started"]
    assert when(azc, "clock_started", "pip_termijn") == ["2026-01-23"]
    assert [day for day, _ in sent(azc, "pip_termijn_herinnering")] == ["2026-03-10", "2026-03-24"]
    # The PIP step opened on 14 Jan, before the registration: the klantregisseur hears why no term
    # runs yet (uiterlijk: 14 Jan + 2 weeks = 28 Jan), and its last day once the registration is in.
    assert sent(azc, "pip_termijn_wacht_op_inschrijving") == [("2026-01-14", "klantregisseur")]
    assert contexts(azc, "pip_termijn_wacht_op_inschrijving") == [{"uiterlijk": "2026-01-28"}]
    assert sent(azc, "pip_opstellen") == [("2026-01-23", "klantregisseur")]


def test_ten_weeks_ending_on_goede_vrijdag_run_past_easter_monday(azc):
    # Row 4 + row 17: registered Friday 23 Jan 2026: 23 Jan + 70 days = Friday 3 April, Goede Vrijdag.
    # Row 16 (Atw art 3 lid 2): Goede Vrijdag, Saturday, Sunday and tweede Paasdag (6 April) are not
    # working days: the last day is Tuesday 7 April.
    pip = clock(azc, "pip_termijn")
    assert (pip["started_on"], pip["end_on"]) == ("2026-01-24", "2026-04-07")
    # Reminders count back from the moved last day: 7 April - 4 weeks = 10 March, - 2 weeks = 24 March.
    assert contexts(azc, "pip_termijn_herinnering") == [{"pip_uiterlijk": "2026-04-07"}] * 2
    # Nothing recorded by the end of 7 April: the coordinator hears on 8 April.
    assert missed(azc, "pip_termijn") == ["2026-04-08"]
    assert sent(azc, "pip_termijn_verstreken") == [("2026-04-08", "coordinator")]


def test_a_pip_recorded_after_its_last_day_but_dated_on_it_is_on_time(azc):
    # Item 4: recorded on 9 April, dated 7 April (the last day): the verdict follows the dagtekening.
    assert stopped(azc, "pip_termijn") == [("2026-04-09", "2026-04-07", "on_time")]
    assert [h.detail for h in azc.timeline if h.kind == "clock_stopped" and h.clock == "pip_termijn"] == [
        "op tijd op 07-04-2026, laatste dag 07-04-2026"]


def test_the_three_year_term_from_a_pip_of_7_april_2026_ends_on_monday_9_april_2029(azc):
    # Row 5 + row 17: dagtekening 7 April 2026 + 3 years = Saturday 7 April 2029; row 16: Monday 9 April.
    term = clock(azc, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"]) == ("2026-04-08", "2029-04-09")
    # Tilburg's dual target (local, no Atw): 7 April + 3 months = Tuesday 7 July 2026.
    assert clock(azc, "duaal_streefdatum")["end_on"] == "2026-07-07"


def test_the_koppeling_on_the_last_day_of_its_two_weeks_is_on_time(azc):
    # Row 1: permit Monday 3 Nov 2025 + 14 days = Monday 17 Nov; COA linked that day: met.
    norm = clock(azc, "koppelingsnorm")
    assert (norm["started_on"], norm["end_on"]) == ("2025-11-04", "2025-11-17")
    assert stopped(azc, "koppelingsnorm") == [("2025-11-17", "2025-11-17", "on_time")]


def test_the_home_within_its_norm_and_the_late_move_are_both_seen(azc):
    # Row 2 (item 5): a home within 10 weeks of the koppeling: 17 Nov 2025 + 70 days = Monday 26 Jan
    # 2026; the keys on 2 Jan: met.
    assert stopped(azc, "huisvestingsnorm") == [("2026-01-02", "2026-01-26", "on_time")]
    # The move within 2 weeks after it: 2 Jan + 14 = Friday 16 Jan (a local norm: 2 Jan being a decreed
    # day does not matter). No move by then: the coordinator hears on 17 Jan; the move on 23 Jan is late.
    move = clock(azc, "verhuisnorm")
    assert (move["started_on"], move["end_on"]) == ("2026-01-03", "2026-01-16")
    assert sent(azc, "verhuisnorm_overschreden") == [("2026-01-17", "coordinator")]
    assert contexts(azc, "verhuisnorm_overschreden") == [{"woning_op": "2026-01-02", "norm_einde": "2026-01-16"}]
    assert stopped(azc, "verhuisnorm") == [("2026-01-23", "2026-01-16", "late")]


def test_a_pip_dated_before_the_koppeling_is_refused_with_a_named_error(library):
    # Item 7: a PIP cannot precede the koppeling (17 Nov 2025): the event is refused, naming the field.
    scenario = load_scenario(SCENARIOS / "pip_termijn_na_inschrijving.yaml")
    events = scenario.events[:-1] + [scenario.events[-1].model_copy(
        update={"data": {**scenario.events[-1].data, "pip_dagtekening": date(2025, 11, 10)}})]
    with pytest.raises(DateBeforeStart, match="veld 'pip_dagtekening' is 10-11-2025, vóór de start van de zaak op "
                                              "17-11-2025"):
        try:
            simulate(library, scenario.model_copy(update={"events": events}))
        except EngineError as exc:
            raise exc.__cause__ from None


def test_duos_notice_dated_before_the_koppeling_is_accepted_with_a_warning(library):
    # Item 7: practice allows DUO's letter to precede the koppeling; it is recorded with a warning.
    scenario = load_scenario(SCENARIOS / "pip_termijn_na_inschrijving.yaml")
    events = [e.model_copy(update={"occurred_on": date(2025, 11, 12)}) if e.message == "duo_kennisgeving" else e
              for e in scenario.events]
    result = simulate(library, scenario.model_copy(update={"events": events}))
    assert [(local_day(h.at), h.ref) for h in result.timeline if h.kind == "warning"] == [
        ("2025-12-01", "duo_kennisgeving")]
    # The PIP term still counts from the later anchor, the registration: unchanged.
    assert clock(result, "pip_termijn")["end_on"] == "2026-04-07"


# --- S2: a decreed bridging day, 5 May, Ascension; DUO's term and its first warning (Nederweert) -------


@pytest.fixture(scope="module")
def feestdagen(library) -> SimulationResult:
    return run(library, "termijnen_rond_feestdagen")


def test_ten_weeks_ending_on_a_decreed_bridging_day_run_to_monday(feestdagen):
    # Row 4 + 17: notice Friday 6 March 2026 (registered 20 Feb): 6 March + 70 days = Friday 15 May,
    # the day after Ascension equated with a holiday by royal decree (engine/gelijkgestelde_dagen.yaml);
    # row 16: Monday 18 May. The PIP dated 18 May is on time (it would be late without the decree).
    pip = clock(feestdagen, "pip_termijn")
    assert (pip["started_on"], pip["end_on"]) == ("2026-03-07", "2026-05-18")
    assert stopped(feestdagen, "pip_termijn") == [("2026-05-18", "2026-05-18", "on_time")]
    assert contexts(feestdagen, "pip_opstellen") == [{"pip_uiterlijk": "2026-05-18"}]
    # 18 May - 4 weeks = 20 April; - 2 weeks = 4 May.
    assert [day for day, _ in sent(feestdagen, "pip_termijn_herinnering")] == ["2026-04-20", "2026-05-04"]


def test_duos_eight_weeks_over_5_may_ascension_and_a_decreed_friday(feestdagen):
    # Row 10: requested Wednesday 10 March 2027: 10 March + 56 days = Wednesday 5 May 2027, Bevrijdingsdag
    # (a holiday every year for the Atw); Thursday 6 May is Ascension, Friday 7 May is equated by decree,
    # then the weekend: DUO's last day is Monday 10 May 2027.
    term = clock(feestdagen, "beslistermijn_ontheffing")
    assert (term["started_on"], term["end_on"]) == ("2027-03-11", "2027-05-10")


def test_the_first_medical_warning_comes_on_the_first_late_day(feestdagen):
    # Item 6: not on DUO's last day but the day after it, 11 May 2027: 62 days after the request; the term
    # runs 19 May 2026 - 18 May 2029 (1096 days): 62 / 1096 = 5.7 %, shown as 6.
    assert sent(feestdagen, "medisch_advies_wacht") == [("2027-05-11", "klantregisseur")]
    assert contexts(feestdagen, "medisch_advies_wacht") == [
        {"wachtdagen": 62, "termijn_verbruikt": 6, "termijn_einde": "2029-05-18", "uiterlijk": "2027-05-25"}]
    assert stopped(feestdagen, "beslistermijn_ontheffing") == [("2027-06-15", "2027-05-10", "late")]


def test_nederweerts_dual_target_of_six_months_is_a_local_norm(feestdagen):
    # PIP 18 May 2026 + 6 months = Wednesday 18 November 2026 (Nederweert keeps the default target).
    assert clock(feestdagen, "duaal_streefdatum")["end_on"] == "2026-11-18"
    # The term: 18 May 2026 + 3 years = Friday 18 May 2029 (no decree for 2029 yet; a normal Friday).
    assert clock(feestdagen, "inburgeringstermijn")["end_on"] == "2029-05-18"


# --- S3: Koningsdag on the 26th, the extension by the decided length, row 9, row 15 (Tilburg) --------


@pytest.fixture(scope="module")
def koningsdag(library) -> SimulationResult:
    return run(library, "termijn_tot_koningsdag")


def test_the_term_ending_on_koningsdag_the_26th_runs_to_monday(koningsdag):
    # Row 5 + 17: PIP dated 26 April 2028 + 3 years = Saturday 26 April 2031: Koningsdag, celebrated on
    # the 26th because 27 April 2031 is a Sunday (Atw art 3 lid 1); row 16: Monday 28 April 2031.
    started = [h.detail for h in koningsdag.timeline if h.kind == "clock_started" and h.clock == "inburgeringstermijn"]
    assert started == ["27-04-2028 t/m 28-04-2031 (geteld tot 26-04-2031; de Atw schuift het einde op)"]


def test_the_milestones_of_the_term_follow_the_row_17_count(koningsdag):
    # Schakelen (row 6): 26 April 2028 + 16 months = 26 Aug 2029: signal the day after, 27 Aug 2029;
    # 26 April 2028 + 18 months = 26 Oct 2029: schakelen is over from 27 Oct 2029. Extension window
    # (row 8): 26 April 2028 + 30 months = 26 Oct 2030: open from 27 Oct 2030. Six months before the
    # end (28 April 2031): 28 Oct 2030.
    assert when(koningsdag, "milestone_reached", "inburgeringstermijn.schakelen_signaal") == ["2029-08-27"]
    assert contexts(koningsdag, "schakeltermijn_nadert") == [{"schakelen_uiterlijk": "2029-10-26"}]
    assert when(koningsdag, "milestone_reached", "inburgeringstermijn.schakeltermijn_voorbij") == ["2029-10-27"]
    assert when(koningsdag, "milestone_reached", "inburgeringstermijn.verlengingsvenster") == ["2030-10-27"]
    assert when(koningsdag, "milestone_reached", "inburgeringstermijn.zes_maanden_voor_einde")[0] == "2030-10-28"


def test_duo_decides_the_application_within_eight_weeks(koningsdag):
    # Row 10: applied Monday 28 Oct 2030: 28 Oct + 56 days = Monday 23 Dec 2030. Decided 20 Dec: met.
    term = clock(koningsdag, "beslistermijn_verlenging")
    assert (term["started_on"], term["end_on"]) == ("2030-10-29", "2030-12-23")
    assert stopped(koningsdag, "beslistermijn_verlenging") == [("2030-12-20", "2030-12-23", "on_time")]


def test_the_term_moves_by_the_decided_length_from_its_counted_end(koningsdag):
    # Row 10: 16 weeks from the last day as counted (26 April 2031) = Saturday 16 August 2031; row 16:
    # Monday 18 August. The PVT and MAP deadlines (two months before the end) follow: 18 June 2031.
    extended = [(local_day(h.at), h.due_on.isoformat()) for h in koningsdag.timeline
                if h.kind == "clock_extended" and h.clock == "inburgeringstermijn"]
    assert extended[0] == ("2030-12-20", "2031-08-18")
    assert contexts(koningsdag, "termijn_verlengd")[0] == {"termijn_einde": "2031-08-18"}
    changed = [(local_day(h.at), h.element, h.due_on.isoformat()) for h in koningsdag.timeline
               if h.kind == "deadline_changed"]
    assert ("2030-12-20", "pvt_afronden", "2031-06-18") in changed


def test_the_automatic_extension_adds_six_months(koningsdag):
    # Row 9: DUO's automatic six months, from the counted end 16 August 2031: Monday 16 February 2032.
    term = clock(koningsdag, "inburgeringstermijn")
    assert (term["end_on"], term["extended"]) == ("2032-02-16", True)
    assert sent(koningsdag, "termijn_verlengd") == [("2030-12-20", "klantregisseur"), ("2030-12-20", "taalaanbieder"),
                                                   ("2031-03-03", "klantregisseur"), ("2031-03-03", "taalaanbieder")]


def test_exam_results_that_do_not_come_in_time_are_flagged(koningsdag):
    # Row 15: reading exam 15 March 2029 + 8 weeks = 10 May: flagged on 11 May; speaking exam 20 March +
    # 16 weeks (A2 speaking and writing, L) = 10 July: flagged on 11 July. Each message names the day
    # the result was due (the day before it is sent).
    assert sent(koningsdag, "examenuitslag_uitgebleven") == [("2029-05-11", "klantregisseur"),
                                                             ("2029-07-11", "klantregisseur")]
    assert [c["uitslag_uiterlijk"] for c in contexts(koningsdag, "examenuitslag_uitgebleven")] == [
        "2029-05-10", "2029-07-10"]


def test_a_result_in_time_ends_the_wait_without_a_signal(library):
    scenario = load_scenario(SCENARIOS / "termijn_tot_koningsdag.yaml")
    events = [e for e in scenario.events if e.on < date(2029, 3, 21)] + [
        ScenarioEvent(on=date(2029, 4, 20), message="examenuitslag")]
    result = simulate(library, scenario.model_copy(update={"events": events, "until": date(2029, 8, 31)}))
    assert sent(result, "examenuitslag_uitgebleven") == []


# --- S4: leap years and month ends (Nederweert) ----------------------------------------------------


@pytest.fixture(scope="module")
def maandeinde(library) -> SimulationResult:
    return run(library, "schrikkeljaar_en_maandeinde")


def test_a_six_month_target_from_31_august_ends_on_the_last_day_of_february(maandeinde):
    # Row 17 (item 2): PIP dated 31 August 2026 + 6 months = "31 February 2027", which does not exist:
    # the last day of February, Sunday 28 February 2027. A local target: no Atw, it stays on the Sunday.
    target = clock(maandeinde, "duaal_streefdatum")
    assert (target["started_on"], target["end_on"]) == ("2026-09-01", "2027-02-28")
    assert sent(maandeinde, "duaal_streefdatum_verstreken") == [("2027-03-01", "coordinator")]


def test_eighteen_months_from_31_august_2026_end_on_29_february_2028(maandeinde):
    # Row 6 + 17: 31 August 2026 + 18 months = 29 February 2028 (a leap year); schakelen is over from
    # 1 March 2028; 16 months = 31 December 2027: signal on 1 January 2028.
    assert contexts(maandeinde, "schakeltermijn_nadert") == [{"schakelen_uiterlijk": "2028-02-29"}]
    assert when(maandeinde, "milestone_reached", "inburgeringstermijn.schakelen_signaal") == ["2028-01-01"]
    assert when(maandeinde, "milestone_reached", "inburgeringstermijn.schakeltermijn_voorbij") == ["2028-03-01"]


def test_thirty_months_and_six_months_before_the_end_land_on_the_end_of_february(maandeinde):
    # Row 5: 31 Aug 2026 + 3 years = Friday 31 August 2029. 30 months = 28 Feb 2029 (no 31 February):
    # the extension window opens on 1 March 2029; six months before 31 August 2029 is 28 February 2029.
    assert clock(maandeinde, "inburgeringstermijn")["end_on"] == "2029-08-31"
    assert when(maandeinde, "milestone_reached", "inburgeringstermijn.verlengingsvenster") == ["2029-03-01"]
    assert when(maandeinde, "milestone_reached", "inburgeringstermijn.zes_maanden_voor_einde") == ["2029-02-28"]


def test_a_pip_dated_28_february_of_a_leap_year_gives_a_term_to_28_february_2031(library):
    # Item 2, row 17: dagtekening 28 Feb 2028 + 3 years = Friday 28 February 2031 (not 27 February).
    scenario = load_scenario(SCENARIOS / "schrikkeljaar_en_maandeinde.yaml")
    shift = date(2028, 2, 28) - date(2026, 8, 31)
    events = []
    for e in scenario.events:
        data = {k: (v + shift if isinstance(v, date) else v) for k, v in e.data.items()}
        events.append(e.model_copy(update={"on": e.on + shift, "data": data,
                                           "occurred_on": e.occurred_on + shift if e.occurred_on else None}))
    result = simulate(library, scenario.model_copy(update={
        "start": scenario.start + shift, "events": events, "until": date(2028, 4, 30)}))
    term = clock(result, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"]) == ("2028-02-29", "2031-02-28")
    # Nederweert's dual target: 28 Feb 2028 + 6 months = Monday 28 August 2028.
    assert clock(result, "duaal_streefdatum")["end_on"] == "2028-08-28"


# --- S5: no response to the calls for the brede intake (row 14) -------------------------------------


@pytest.fixture(scope="module")
def geen_reactie(library) -> SimulationResult:
    return run(library, "brede_intake_geen_reactie")


def test_no_response_brings_a_warning_two_fines_and_a_pip_without_input(geen_reactie):
    # Row 14: the first call unanswered (reported 9 March): warning and second call, sent 11 March
    # (due 9 March + 1 week = 16 March). Two weeks for a response: 11 March + 14 = 25 March, nothing:
    # the first fine (€250) and a third call (due 25 March + 1 week = 1 April), sent 30 March. Two weeks:
    # 13 April, nothing: the second fine (€250, due 20 April) and the PIP without input.
    assert opened(geen_reactie, "waarschuwing_sturen") == ["2026-03-09 due 2026-03-16"]
    assert when(geen_reactie, "message_timeout", "wacht_op_reactie_2") == ["2026-03-25"]
    assert opened(geen_reactie, "boete_1_opleggen") == ["2026-03-25 due 2026-04-01"]
    assert when(geen_reactie, "message_timeout", "wacht_op_reactie_3") == ["2026-04-13"]
    assert opened(geen_reactie, "boete_2_opleggen") == ["2026-04-13 due 2026-04-20"]
    assert [(day, c["boete_bedrag"], c["uiterlijk"]) for (day, _), c in zip(
        sent(geen_reactie, "boete_brede_intake"), contexts(geen_reactie, "boete_brede_intake"))] == [
        ("2026-03-25", 250, "2026-04-01"), ("2026-04-13", 250, "2026-04-20")]
    # The PIP without input: by the earlier of two weeks (17 April + 14 = 1 May) and the PIP term's
    # last day (2 March + 70 days = 11 May).
    assert sent(geen_reactie, "pip_zonder_inbreng") == [("2026-04-17", "klantregisseur")]
    assert contexts(geen_reactie, "pip_zonder_inbreng") == [{"uiterlijk": "2026-05-01"}]
    assert geen_reactie.state.data["pip_zonder_inbreng"] is True
    assert stopped(geen_reactie, "pip_termijn") == [("2026-05-08", "2026-05-11", "on_time")]


def test_a_response_to_the_second_call_brings_the_case_back_to_the_intake(library):
    scenario = load_scenario(SCENARIOS / "brede_intake_geen_reactie.yaml")
    events = scenario.events[:3] + [ScenarioEvent(on=date(2026, 3, 20), message="reactie_op_oproep")]
    result = simulate(library, scenario.model_copy(update={"events": events, "until": date(2026, 4, 30)}))
    # The intake conversation opens again on 20 March, due two weeks later (3 April); no fines.
    assert opened(result, "intakegesprek") == ["2026-03-02 due 2026-03-16", "2026-03-20 due 2026-04-03"]
    assert sent(result, "boete_brede_intake") == []


def test_tilburg_fines_no_asielstatushouder_but_sends_the_calls(library):
    # Tilburg's profile: boete_asielstatushouder false (wi2021.md#1, rulings of 2025). Warning sent on
    # 13 March; no response by 13 + 14 = 27 March: a third call without a fine (due 3 April), sent
    # 30 March; none by 13 April: the PIP without input, by 13 April + 2 weeks = 27 April (no PIP term
    # runs yet: the person is not registered in Tilburg).
    result = run(library, "brede_intake_geen_reactie_tilburg")
    assert sent(result, "boete_brede_intake") == []
    assert opened(result, "oproep_3_sturen") == ["2026-03-27 due 2026-04-03"]
    assert sent(result, "pip_zonder_inbreng") == [("2026-04-13", "klantregisseur")]
    assert contexts(result, "pip_zonder_inbreng") == [{"uiterlijk": "2026-04-27"}]
    assert "pip_termijn" not in {c["clock"] for c in result.clocks}


# --- the Wi2013 regime (§1) -------------------------------------------------------------------------


def test_under_wi2013_the_term_runs_from_duos_letter_and_the_pvt_within_a_year_of_registration(library):
    # §1: Wi2013 cohorts: the three years from DUO's letter of 2 March 2026: + 3 years = Friday 2 March
    # 2029; the PVT within one year of the BRP registration (16 Feb 2026): 16 February 2027 (wi2021.md#6).
    scenario = load_scenario(SCENARIOS / "verlenging_toegekend.yaml")
    scenario = scenario.model_copy(update={"events": [e for e in scenario.events if e.on.year == 2026],
                                           "until": date(2026, 12, 31)})
    result = simulate(library, scenario.model_copy(update={"data": {"regime": "wi2013"}}))
    term = clock(result, "inburgeringstermijn")
    assert (term["started_on"], term["end_on"]) == ("2026-03-03", "2029-03-02")
    assert opened(result, "pvt_afronden") == ["2026-05-11 due 2027-02-16"]
    # The same case under Wi2021: from the day after the PIP (8 May 2026) to 8 May 2029.
    wi2021 = simulate(library, scenario)
    assert clock(wi2021, "inburgeringstermijn")["end_on"] == "2029-05-08"
    assert opened(wi2021, "pvt_afronden") == ["2026-05-11 due 2029-03-08"]


# --- cases that started on version 1 ----------------------------------------------------------------


def test_a_case_on_version_1_keeps_its_old_rules(library):
    # Version 1 is kept for running cases: its PIP term starts at DUO's notice without a registration
    # (2 March + 70 days = 11 May) and no Atw moves the term's end: 20 May 2029 stays, a Sunday.
    scenario = load_scenario(SCENARIOS / "pip_te_laat.yaml")
    old = scenario.model_copy(update={"definition": "gezinsmigrant@1",
                                      "events": [e for e in scenario.events if e.message != "brp_inschrijving"]})
    result = simulate(library, old)
    assert result.definition == "gezinsmigrant@1"
    assert (clock(result, "pip_termijn")["started_on"], clock(result, "pip_termijn")["end_on"]) == (
        "2026-03-03", "2026-05-11")
    assert clock(result, "inburgeringstermijn")["end_on"] == "2029-05-20"


def test_a_running_version_1_case_moves_to_version_2_and_its_term_gets_the_atw(library):
    from engine.interpreter import fire_due_timers
    from engine.migration import migrate
    from engine.simulation import event_moment

    scenario = load_scenario(SCENARIOS / "pip_te_laat.yaml")
    result = simulate(library, scenario.model_copy(update={"definition": "gezinsmigrant@1"}))
    old, new = library.process("gezinsmigrant@1"), library.process("gezinsmigrant@2")
    moved = migrate(old, new, result.state, event_moment(date(2026, 6, 1))).state
    # Every running sub-process moves to the version the new process calls.
    assert moved.definition == "gezinsmigrant@2"
    assert {s.definition for s in moved.scopes} <= set(new.definitions)
    # The term's end as counted stays 20 May 2029 (a Sunday, then tweede Pinksterdag): the Atw now
    # makes it Tuesday 22 May, and the expiry timer set for 21 May waits for the new last day.
    assert moved.clocks["inburgeringstermijn"].end_on == date(2029, 5, 22)
    fired = fire_due_timers(new, moved, event_moment(date(2029, 5, 24)))
    assert [(local_day(h.at), h.due_on.isoformat()) for h in fired.happened
            if h.kind == "clock_expired" and h.clock == "inburgeringstermijn"] == [("2029-05-23", "2029-05-22")]
