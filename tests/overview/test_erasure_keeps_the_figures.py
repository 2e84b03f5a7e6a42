"""Erasing people's personal data changes no figure: the KPIs, the caseload and the deadline radar of a
municipality and the timelines of its cases are the same before and after (the Tilburg cases of test_kpis.py, plus one with personal data)."""

from __future__ import annotations

from datetime import date

from app.overview.caseload import caseload
from app.overview.kpis import kpis
from app.overview.radar import deadline_radar
from app.overview.timeline import case_timeline
from app.privacy.person import erase_person
from tests.overview.test_kpis import TODAY, five_cases
from tests.store.conftest import rows

TILBURG = ("TLB-2026-0042", "TLB-2026-0002", "TLB-2026-0003", "TLB-2026-0004", "TLB-2026-0099")


def figures(service) -> tuple:
    return (kpis(service, "tilburg", TODAY), caseload(service, "tilburg", TODAY),
            deadline_radar(service, "tilburg", TODAY), [case_timeline(service, ref, TODAY) for ref in TILBURG])


def test_erasing_every_person_keeps_every_figure_and_timeline(desk, service, engine):
    desk.start("TLB-2026-0099", date(2026, 2, 2), klantregisseur="kr-01",
               personal={"naam": "Amina Yusuf", "bsn": "123456782"})
    five_cases(desk)
    before = figures(service)
    # 0002's medical outcome is special data; it goes, its dates (process data) stay.
    assert rows(engine, "SELECT COUNT(*) FROM cases WHERE CAST(state AS TEXT) LIKE '%ontheffing_besluit%'")[0][0] == 1

    for ref in TILBURG:
        erase_person(service, ref, operator="anna", reason="test van het wissen", running_too=True)

    assert rows(engine, "SELECT COUNT(*) FROM cases WHERE CAST(state AS TEXT) LIKE '%ontheffing_besluit%'")[0][0] == 0
    assert rows(engine, "SELECT COUNT(*) FROM case_personal")[0][0] == 0
    assert figures(service) == before
