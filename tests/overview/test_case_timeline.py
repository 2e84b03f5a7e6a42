"""The case timeline: planned and actual dates side by side, from koppeling to nazorg, missed dates marked.

Dates are worked out by hand from wi2021.md and the Tilburg profile: the PIP term runs ten weeks from
the day after the later of DUO's notice and the BRP registration (both 12 March -> last day 21 May,
a Thursday), the housing norm ten weeks from the day after koppeling (2 March -> last day 11 May).
"""

from __future__ import annotations

from datetime import date

import pytest

from app.overview.radar import deadline_radar
from app.overview.timeline import TimelineRow as Row
from app.overview.timeline import case_timeline
from store.errors import CaseNotFound
from tests.overview.conftest import scenario_script

CHECKLIST = {"checklist_voorinburgering": True, "checklist_werk_azc": True, "checklist_opleiding_werkervaring": True}
CASE = "TLB-2026-0200"
PIP = {"leerroute": "b1_route", "map_intensiteit": "standaard", "pvt_intensiteit": "standaard",
       "kinderopvang": "niet_nodig", "vervoer": "niet_nodig"}


def up_to_the_pip(desk, registered: bool = True) -> None:
    """A fast start (snelle start): intake in the AZC, the PIP does not wait for a home; then it stalls.

    `registered`: the person is registered in the gemeente's BRP on the day of DUO's notice (a temporary
    address), so the PIP term runs; without it no PIP term runs yet (wi2021.md#13)."""
    desk.start(CASE, date(2026, 3, 2), klantregisseur="kr-02")
    registration = [(date(2026, 3, 12), CASE, "message", "brp_inschrijving", {})] if registered else []
    desk.play([
        (date(2026, 3, 3), CASE, "complete", "gesprek_azc", {"gesprek_vorm": "azc", "nog_een_gesprek": False}),
        (date(2026, 3, 3), CASE, "complete", "klantprofiel_ontvangen", CHECKLIST),
        (date(2026, 3, 4), CASE, "complete", "driegesprek_plannen", {"driegesprek_datum": date(2026, 3, 10)}),
        (date(2026, 3, 10), CASE, "complete", "driegesprek", {"overdrachtsscenario": "snelle_start"}),
        (date(2026, 3, 12), CASE, "message", "duo_kennisgeving", {}),
        *registration,
        (date(2026, 3, 16), CASE, "complete", "intakegesprek", {"intake_locatie": "azc"}),
        (date(2026, 3, 17), CASE, "complete", "lbt_plannen", {"lbt_datum": date(2026, 3, 24)}),
        (date(2026, 3, 26), CASE, "message", "leerbaarheidstoets", {"b1_haalbaar": True}),
        (date(2026, 4, 20), CASE, "complete", "snuffelcarrousel", {}),
        (date(2026, 4, 22), CASE, "complete", "vervolggesprek", {"nog_een_intakegesprek": False}),
        (date(2026, 4, 24), CASE, "complete", "routeadvies", {"leerroute_advies": "b1_route", "taalniveau": "a1"}),
    ])




def test_a_missed_pip_date_and_a_missed_housing_norm_are_marked(desk, service):
    up_to_the_pip(desk)
    desk.on(date(2026, 6, 1))

    timeline = case_timeline(service, CASE, date(2026, 6, 1))

    assert (timeline.case_ref, timeline.municipality, timeline.phase, timeline.status) == \
        (CASE, "tilburg", "pip", "active")
    assert timeline.rows == [
        Row("Koppeling", None, date(2026, 3, 2), "gedaan"),
        Row("Kennisgeving DUO", None, date(2026, 3, 12), "gedaan"),
        Row("Klantprofiel COA ontvangen", date(2026, 3, 16), date(2026, 3, 3), "op tijd"),
        Row("Gesprek in het AZC", date(2026, 3, 16), date(2026, 3, 3), "op tijd"),
        Row("Driegesprek", date(2026, 3, 10), date(2026, 3, 10), "op tijd"),
        Row("Woning (norm huisvesting)", date(2026, 5, 11), None, "gemist"),
        Row("Verhuizing", None, None, "open"),
        Row("Inschrijving BRP", None, date(2026, 3, 12), "gedaan"),
        Row("Eerste intakegesprek", date(2026, 3, 24), date(2026, 3, 16), "op tijd"),
        Row("Leerbaarheidstoets gepland", date(2026, 3, 30), date(2026, 3, 17), "op tijd"),
        Row("Routeadvies", date(2026, 4, 29), date(2026, 4, 24), "op tijd"),
        Row("PIP vastgesteld", date(2026, 5, 21), None, "gemist"),
        Row("Lessen gestart", None, None, "open"),
        Row("Belastbaarheid beoordeeld", None, None, "open"),
        Row("Start duaal traject", None, None, "open"),
        Row("Aanmelding PVT", None, None, "open"),
        Row("PVT ondertekend", None, None, "open"),
        Row("Aanmelding MAP", None, None, "open"),
        Row("MAP eindgesprek", None, None, "open"),
        Row("Medisch advies (beslistermijn DUO)", None, None, "n.v.t."),
        Row("Termijn: signaal einde schakeltermijn", None, None, "open"),
        Row("Termijn: einde schakeltermijn (18 maanden)", None, None, "open"),
        Row("Termijn: verlenging aanvragen mogelijk (2,5 jaar)", None, None, "open"),
        Row("Termijn: nog zes maanden", None, None, "open"),
        Row("Einde inburgeringstermijn", None, None, "open"),
        Row("Plaatsing", None, None, "open"),
        Row("Contactmoment nazorg", None, None, "open"),
    ]
    radar = [(r.due_on, r.step, r.role, r.overdue) for r in deadline_radar(service, "tilburg", date(2026, 6, 1))]
    assert radar == [(date(2026, 5, 11), "huisvestingsnorm", "coordinator", True),
                     (date(2026, 5, 21), "pip_termijn", "coordinator", True)]


def test_no_pip_date_is_planned_or_missed_while_the_person_waits_in_the_azc(desk, service):
    # Row 4, §13: DUO's notice came on 12 March, but no registration in the gemeente yet: no PIP term.
    up_to_the_pip(desk, registered=False)
    desk.on(date(2026, 6, 1))
    rows = {r.what: r for r in case_timeline(service, CASE, date(2026, 6, 1)).rows}
    assert rows["PIP vastgesteld"] == Row("PIP vastgesteld", None, None, "open")
    assert [r.step for r in deadline_radar(service, "tilburg", date(2026, 6, 1))] == ["huisvestingsnorm"]


def test_a_late_pip_and_a_late_home_show_as_late_once_they_happen(desk, service):
    up_to_the_pip(desk)
    desk.message(CASE, "huisvesting", date(2026, 6, 2), verhuisdatum=date(2026, 6, 8))
    desk.complete(CASE, "pip_vaststellen", date(2026, 6, 3), pip_dagtekening=date(2026, 6, 3), **PIP)

    rows = {r.what: r for r in case_timeline(service, CASE, date(2026, 6, 3)).rows}

    assert rows["Woning (norm huisvesting)"] == Row("Woning (norm huisvesting)", date(2026, 5, 11), date(2026, 6, 2),
                                                    "te laat")
    # The move is due within two weeks of the home: 2 June + 14 = 16 June; not reported yet.
    assert rows["Verhuizing"] == Row("Verhuizing", date(2026, 6, 16), None, "open")
    assert rows["PIP vastgesteld"] == Row("PIP vastgesteld", date(2026, 5, 21), date(2026, 6, 3), "te laat")
    # The term runs from the day after the dagtekening: its milestones are now planned.
    assert rows["Termijn: einde schakeltermijn (18 maanden)"] == \
        Row("Termijn: einde schakeltermijn (18 maanden)", date(2027, 12, 4), None, "open")
    # 3 June 2026 + 3 years = Sunday 3 June 2029: the Atw moves the last day to Monday 4 June.
    assert rows["Einde inburgeringstermijn"] == Row("Einde inburgeringstermijn", date(2029, 6, 4), None, "open")
    assert [r.step for r in deadline_radar(service, "tilburg", date(2026, 6, 3)) if r.kind == "termijn"] == [
        "verhuisnorm"]


def test_the_whole_line_of_a_tilburg_case_from_koppeling_to_the_last_check_in(desk, service):
    """tests/scenarios/asielstatushouder_volledig.yaml, played through the case store."""
    case = "TLB-2026-0042"
    desk.start(case, date(2026, 2, 2), klantregisseur="kr-01")
    desk.play(scenario_script("asielstatushouder_volledig", case))
    desk.on(date(2028, 9, 30))

    timeline = case_timeline(service, case, date(2028, 9, 30))

    assert timeline.status == "completed"
    assert [(r.what, r.planned, r.actual, r.status) for r in timeline.rows] == [
        # Started without the permit date: no koppeling norm to judge (row 1).
        ("Koppeling", None, date(2026, 2, 2), "gedaan"),
        ("Kennisgeving DUO", None, date(2026, 3, 9), "gedaan"),
        ("Klantprofiel COA ontvangen", date(2026, 2, 16), date(2026, 2, 12), "op tijd"),
        ("Gesprek in het AZC (1)", date(2026, 2, 16), date(2026, 2, 5), "op tijd"),
        ("Gesprek in het AZC (2)", date(2026, 2, 19), date(2026, 2, 17), "op tijd"),
        ("Driegesprek", date(2026, 3, 3), date(2026, 3, 3), "op tijd"),
        # The home came three weeks after the 10-week norm (13 April); the move, shown by the BRP
        # registration on 11 May, within two weeks after it (18 May).
        ("Woning (norm huisvesting)", date(2026, 4, 13), date(2026, 5, 4), "te laat"),
        ("Verhuizing", date(2026, 5, 18), date(2026, 5, 11), "op tijd"),
        ("Inschrijving BRP", None, date(2026, 5, 11), "gedaan"),
        ("Eerste intakegesprek", date(2026, 3, 17), date(2026, 3, 10), "op tijd"),
        ("Leerbaarheidstoets gepland", date(2026, 3, 24), date(2026, 3, 12), "op tijd"),
        ("Routeadvies", date(2026, 4, 22), date(2026, 4, 20), "op tijd"),
        # No PIP term while in the AZC; the BRP registration on 11 May started it: ten weeks from 12 May.
        ("PIP vastgesteld", date(2026, 7, 20), date(2026, 6, 1), "op tijd"),
        ("Kinderopvang of vervoer geregeld", date(2026, 6, 29), date(2026, 6, 15), "op tijd"),
        ("Lessen gestart", date(2026, 6, 29), date(2026, 6, 22), "op tijd"),
        ("Belastbaarheid beoordeeld (1)", date(2026, 7, 13), date(2026, 6, 26), "op tijd"),
        ("Belastbaarheid beoordeeld (2)", date(2026, 10, 24), date(2026, 10, 1), "op tijd"),
        # Tilburg's target: dual start within 3 months of the PIP (1 September); it started 2 November.
        ("Start duaal traject", date(2026, 9, 1), date(2026, 11, 2), "te laat"),
        ("Aanmelding PVT", date(2026, 7, 15), date(2026, 7, 8), "op tijd"),
        ("PVT ondertekend", date(2029, 4, 1), date(2026, 11, 10), "op tijd"),
        ("Aanmelding MAP", date(2027, 1, 25), date(2027, 1, 18), "op tijd"),
        ("MAP eindgesprek", date(2027, 7, 5), date(2027, 6, 21), "op tijd"),
        ("Medisch advies (beslistermijn DUO)", None, None, "n.v.t."),
        ("Termijn: signaal einde schakeltermijn", date(2027, 10, 2), date(2027, 10, 2), "gedaan"),
        ("Termijn: einde schakeltermijn (18 maanden)", date(2027, 12, 2), date(2027, 12, 2), "gedaan"),
        ("Termijn: verlenging aanvragen mogelijk (2,5 jaar)", None, None, "n.v.t."),
        ("Termijn: nog zes maanden", None, None, "n.v.t."),
        ("Einde inburgeringstermijn", date(2029, 6, 1), date(2028, 5, 15), "op tijd"),
        ("Plaatsing", None, date(2027, 9, 6), "gedaan"),
        ("Contactmoment nazorg (1)", date(2027, 9, 27), date(2027, 9, 23), "op tijd"),
        ("Contactmoment nazorg (2)", date(2027, 10, 25), date(2027, 10, 21), "op tijd"),
        ("Contactmoment nazorg (3)", date(2027, 12, 13), date(2027, 12, 15), "te laat"),
        ("Contactmoment nazorg (4)", date(2028, 3, 13), date(2028, 3, 8), "op tijd"),
        ("Contactmoment nazorg (5)", date(2028, 9, 13), date(2028, 9, 8), "op tijd"),
        ("Extra coaching", date(2027, 11, 22), date(2027, 11, 19), "op tijd"),
    ]


def test_the_koppeling_is_judged_against_the_permit_date_when_coa_gives_it(desk, service):
    # Row 1: permit 12 February 2026 + 14 days = 26 February; COA linked on 2 March: late.
    desk.start(CASE, date(2026, 3, 2), verblijfsvergunning_op=date(2026, 2, 12))
    rows = {r.what: r for r in case_timeline(service, CASE, date(2026, 3, 2)).rows}
    assert rows["Koppeling"] == Row("Koppeling", date(2026, 2, 26), date(2026, 3, 2), "te laat")


def test_a_timeline_of_an_unknown_case_is_refused(service):
    with pytest.raises(CaseNotFound, match="TLB-0000"):
        case_timeline(service, "TLB-0000", date(2026, 3, 2))


def test_a_family_migrant_starts_at_duos_notice_and_has_no_handover_or_housing_rows(service, clock):
    service.start_trajectory(case_ref="TLB-2026-0400", definition="gezinsmigrant", municipality="tilburg",
                             start_message="duo_kennisgeving", actor="duo-import")

    rows = {r.what: r for r in case_timeline(service, "TLB-2026-0400", date(2026, 2, 2)).rows}

    assert rows["Kennisgeving DUO"] == Row("Kennisgeving DUO", None, date(2026, 2, 2), "gedaan")
    for what in ("Koppeling", "Klantprofiel COA ontvangen", "Driegesprek", "Woning (norm huisvesting)", "Verhuizing"):
        assert rows[what].status == "n.v.t.", what
    # DUO's notice of Monday 2 February, but no BRP registration known yet: no PIP term runs.
    assert rows["PIP vastgesteld"] == Row("PIP vastgesteld", None, None, "open")
    service.deliver_message(case_ref="TLB-2026-0400", message="brp_inschrijving", occurred_on=date(2026, 1, 19),
                            actor="brp")
    rows = {r.what: r for r in case_timeline(service, "TLB-2026-0400", date(2026, 2, 2)).rows}
    # Registered on 19 January (before the notice): ten weeks from the notice, last day 13 April.
    assert rows["PIP vastgesteld"] == Row("PIP vastgesteld", date(2026, 4, 13), None, "open")
    assert rows["Eerste intakegesprek"] == Row("Eerste intakegesprek", date(2026, 2, 16), None, "open")
