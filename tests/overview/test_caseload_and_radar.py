"""Caseload per municipality and per klantregisseur, and the deadline radar, for cases in their first weeks.

Three Tilburg cases and one in Nederweert, all linked by the COA (`koppeling`) and left at different
points of the warm handover, looked at on Wednesday 18 March 2026. Every deadline is worked out by hand:
a task's deadline of two weeks from Monday 2 March is 16 March; the housing norm (a home within 10
weeks, wi2021.md row 2) of a koppeling on 5 January ends on 16 March.
"""

from __future__ import annotations

from datetime import date

from app.overview.caseload import CaseloadRow, caseload
from app.overview.radar import RadarRow, deadline_radar
from app.overview.runs import changed_cases, municipalities

TODAY = date(2026, 3, 18)
CHECKLIST = {"checklist_voorinburgering": True, "checklist_werk_azc": True, "checklist_opleiding_werkervaring": True}


def four_cases(desk) -> None:
    monday = date(2026, 3, 2)
    desk.start("TLB-2026-0101", monday, klantregisseur="kr-01")
    desk.start("TLB-2026-0102", monday, klantregisseur="kr-01", occurred_on=date(2026, 1, 5))
    desk.start("TLB-2026-0103", monday)  # nobody assigned yet
    desk.start("NDW-2026-0001", monday, municipality="nederweert", klantregisseur="kr-09")
    desk.play([
        # 0102: one conversation, then the driegesprek must be planned: due six weeks after koppeling (16 Feb).
        (date(2026, 3, 3), "TLB-2026-0102", "complete", "gesprek_azc", {"gesprek_vorm": "azc", "nog_een_gesprek": False}),
        # 0103: the whole warm handover, then the brede intake starts (first conversation due 20 March).
        (date(2026, 3, 3), "TLB-2026-0103", "complete", "gesprek_azc", {"gesprek_vorm": "online", "nog_een_gesprek": False}),
        (date(2026, 3, 3), "TLB-2026-0103", "complete", "klantprofiel_ontvangen", CHECKLIST),
        (date(2026, 3, 4), "TLB-2026-0103", "complete", "driegesprek_plannen", {"driegesprek_datum": date(2026, 3, 6)}),
        (date(2026, 3, 6), "TLB-2026-0103", "complete", "driegesprek", {"overdrachtsscenario": "gecombineerde_aanpak"}),
    ])
    desk.on(TODAY)


def test_caseload_counts_open_cases_by_phase_and_overdue_tasks_per_klantregisseur(desk, service):
    four_cases(desk)

    load = caseload(service, "tilburg", TODAY, phase_order=list(service.library.catalog.phases))

    assert load.phases == ["warme_overdracht", "brede_intake"]
    # 0101: gesprek_azc and klantprofiel (both due 16 March); 0102: klantprofiel (16 March) and
    # driegesprek_plannen (16 Feb); 0103: intakegesprek (20 March, not yet due).
    assert load.total == CaseloadRow(group="tilburg", cases=3, by_phase={"warme_overdracht": 2, "brede_intake": 1},
                                     open_tasks=5, overdue_tasks=4)
    assert load.by_klantregisseur == [
        CaseloadRow(group="kr-01", cases=2, by_phase={"warme_overdracht": 2}, open_tasks=4, overdue_tasks=4),
        CaseloadRow(group="niet toegewezen", cases=1, by_phase={"brede_intake": 1}, open_tasks=1, overdue_tasks=0),
    ]
    other = caseload(service, "nederweert", TODAY)
    assert other.total.cases == 1 and other.by_klantregisseur[0].group == "kr-09"


def test_deadline_radar_lists_overdue_and_coming_deadlines_in_date_order(desk, service):
    four_cases(desk)

    radar = deadline_radar(service, "tilburg", TODAY)

    assert radar == [
        RadarRow(date(2026, 2, 16), True, "taak", "TLB-2026-0102", "driegesprek_plannen", "Driegesprek plannen",
                 "klantregisseur"),
        RadarRow(date(2026, 3, 16), True, "taak", "TLB-2026-0101", "gesprek_azc",
                 "Gesprek met de statushouder in het AZC", "klantregisseur"),
        RadarRow(date(2026, 3, 16), True, "taak", "TLB-2026-0101", "klantprofiel_ontvangen",
                 "Klantprofiel van het COA ontvangen", "klantregisseur"),
        RadarRow(date(2026, 3, 16), True, "taak", "TLB-2026-0102", "klantprofiel_ontvangen",
                 "Klantprofiel van het COA ontvangen", "klantregisseur"),
        # The housing norm of the koppeling on 5 January (5 Jan + 70 days = 16 March) ran out: the
        # coordinator was told.
        RadarRow(date(2026, 3, 16), True, "termijn", "TLB-2026-0102", "huisvestingsnorm",
                 "Norm voor een woning na koppeling", "coordinator"),
        RadarRow(date(2026, 3, 20), False, "taak", "TLB-2026-0103", "intakegesprek", "Eerste intakegesprek",
                 "klantregisseur"),
    ]
    # A shorter horizon keeps what is overdue and drops what is not yet close.
    assert [r.due_on for r in deadline_radar(service, "tilburg", TODAY, days=1)] == \
        [date(2026, 2, 16), date(2026, 3, 16), date(2026, 3, 16), date(2026, 3, 16), date(2026, 3, 16)]


def test_a_clock_that_ran_out_stays_on_the_radar_until_what_stops_it_happens(desk, service):
    four_cases(desk)
    desk.on(date(2026, 4, 1))  # the norm's last day was 16 March: it ran out at the start of 17 March

    late = [r for r in deadline_radar(service, "tilburg", date(2026, 4, 1)) if r.kind == "termijn"]
    assert late == [RadarRow(date(2026, 3, 16), True, "termijn", "TLB-2026-0102", "huisvestingsnorm",
                             "Norm voor een woning na koppeling", "coordinator")]

    # The home comes: the housing norm is settled, and the move is due within two weeks (16 April).
    desk.message("TLB-2026-0102", "huisvesting", date(2026, 4, 2), verhuisdatum=date(2026, 4, 9))
    assert [(r.step, r.due_on) for r in deadline_radar(service, "tilburg", date(2026, 4, 2)) if r.kind == "termijn"] \
        == [("verhuisnorm", date(2026, 4, 16))]
    desk.message("TLB-2026-0102", "verhuizing", date(2026, 4, 9))
    assert [r for r in deadline_radar(service, "tilburg", date(2026, 4, 9)) if r.kind == "termijn"] == []


def test_municipalities_and_changed_cases_come_from_the_store(desk, service, clock):
    four_cases(desk)
    assert municipalities(service) == ["nederweert", "tilburg"]
    assert changed_cases(service, None) == ["NDW-2026-0001", "TLB-2026-0101", "TLB-2026-0102",
                                                            "TLB-2026-0103"]
    mark = clock.now
    desk.complete("TLB-2026-0101", "gesprek_azc", TODAY, gesprek_vorm="azc", nog_een_gesprek=True)
    assert changed_cases(service, mark) == ["TLB-2026-0101"]
