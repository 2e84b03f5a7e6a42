"""The overview reads what happened from the history's typed facts (due date, verdict), never from its
wording: with the `detail` of every history line replaced by "x", every KPI, every timeline row and
every radar line stays exactly the same.

`case_history` is append-only: a trigger in the database refuses every UPDATE. This test lifts that
guard on its own throwaway database for the one UPDATE that wipes the wording, inside the same
transaction, and puts it back before the transaction commits (as migration 0003 does for its backfill).
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from app.overview.kpis import kpis
from app.overview.radar import deadline_radar
from app.overview.runs import changed_cases, municipalities
from app.overview.timeline import case_timeline
from tests.overview.test_case_timeline import CASE as LATE_CASE
from tests.overview.test_case_timeline import PIP, up_to_the_pip
from tests.overview.test_kpis import TODAY as KPI_DAY
from tests.overview.test_kpis import five_cases


def the_kpi_cases(desk) -> date:
    """The KPI test's five cases (0042 plays the timeline test's whole line), looked at on 1 March 2029."""
    five_cases(desk)
    return KPI_DAY


def the_late_pip_case(desk) -> date:
    """The timeline test's case whose home and PIP came after their dates, looked at on 3 June 2026."""
    up_to_the_pip(desk)
    desk.message(LATE_CASE, "huisvesting", date(2026, 6, 2), verhuisdatum=date(2026, 6, 8))
    desk.complete(LATE_CASE, "pip_vaststellen", date(2026, 6, 3), pip_dagtekening=date(2026, 6, 3), **PIP)
    return date(2026, 6, 3)


def the_overview(service, today: date) -> dict[str, Any]:
    """Every KPI and radar line of every municipality, and the timeline rows of every case."""
    places = municipalities(service)
    return {"kpis": {m: kpis(service, m, today) for m in places},
            "radar": {m: deadline_radar(service, m, today) for m in places},
            "timelines": {ref: case_timeline(service, ref, today).rows for ref in changed_cases(service, None)}}


def wipe_the_wording(engine: sa.Engine) -> int:
    """Set every history line's `detail` to "x" with the append-only guard lifted for that one UPDATE."""
    update = "UPDATE case_history SET detail = 'x'"
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ALTER TABLE case_history DISABLE TRIGGER case_history_append_only")
            wiped = conn.exec_driver_sql(update).rowcount
            conn.exec_driver_sql("ALTER TABLE case_history ENABLE TRIGGER case_history_append_only")
        else:
            guard = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger' "
                                         "AND name = 'case_history_no_update'").scalar_one()
            conn.exec_driver_sql("DROP TRIGGER case_history_no_update")
            wiped = conn.exec_driver_sql(update).rowcount
            conn.exec_driver_sql(guard)
    return wiped


def details(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.exec_driver_sql("SELECT detail FROM case_history").scalars())


@pytest.mark.parametrize("build", [the_kpi_cases, the_late_pip_case])
def test_the_overview_is_the_same_when_every_history_line_says_only_x(desk, service, engine, build):
    today = build(desk)
    before = the_overview(service, today)
    statuses = {row.status for rows in before["timelines"].values() for row in rows}
    assert {"op tijd", "te laat"} <= statuses  # judged by the verdicts, which the wording also spelled out
    lines = details(engine)
    assert any(detail != "x" for detail in lines)

    assert wipe_the_wording(engine) == len(lines)

    assert set(details(engine)) == {"x"}
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), engine.begin() as conn:  # the guard is back
        conn.exec_driver_sql("UPDATE case_history SET detail = 'y'")
    after = the_overview(service, today)
    for municipality, found in before["kpis"].items():
        assert [(k.key, k.value, k.met_norm, k.cases, k.detail, k.trend) for k in after["kpis"][municipality]] == \
            [(k.key, k.value, k.met_norm, k.cases, k.detail, k.trend) for k in found], municipality
    assert after == before
