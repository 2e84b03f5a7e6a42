"""End to end through a real Prefect test server: publish-overview writes keyed artifacts that the
Prefect API gives back by key, with case references and never the person's name or BSN.

One test (the server costs seconds): a Tilburg case with personal data in the case store, three runs
of publish-overview. The first publishes every timeline, the second (nothing changed) none, the third
only the case that changed. Flows run in this process against a runtime on a fresh SQLite file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from engine.loader import DEFAULT_DIR
from tests.overview.conftest import FakeClock, nine

NAME = "Fenna Privé-Testpersoon"
BSN = "999993653"
CASE = "TLB-2026-0300"


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness():
        yield


@pytest.fixture
def rt(tmp_path: Path):
    from app.bootstrap import bootstrap, use
    from app.settings import get_settings

    settings = get_settings(data_dir=tmp_path / "data", definitions_dir=DEFAULT_DIR, database_url="")
    runtime = bootstrap(settings, clock=FakeClock(nine(date(2026, 3, 2))))
    with use(runtime):
        yield runtime
    runtime.service.engine.dispose()


def artifact(key: str):
    """The newest version of an artifact, read back from the Prefect API by key."""
    from prefect.artifacts import Artifact

    found = Artifact.get(key)
    assert found is not None, f"no artifact {key}"
    return found


def every_artifact() -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return json.dumps([a.model_dump(mode="json") for a in client.read_artifacts()], ensure_ascii=False)


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_api")
def test_publish_overview_publishes_keyed_artifacts_without_personal_data(rt):
    from flows.overview import publish_case_timeline_flow, publish_overview

    clock, service = rt.service.clock, rt.service
    service.start_trajectory(case_ref=CASE, definition="asielstatushouder", municipality="tilburg",
                             start_message="koppeling", data={"klantregisseur_id": "kr-07"},
                             personal={"naam": NAME, "bsn": BSN}, actor="coa-import")
    clock.advance(days=7)  # Monday 9 March: the home is there, the move is today
    service.deliver_message(case_ref=CASE, message="huisvesting", data={"verhuisdatum": date(2026, 3, 9)},
                            actor="kr-07")
    clock.advance(minutes=1)

    first = asyncio.run(publish_overview())

    assert first == {"today": "2026-03-09", "municipalities": 1, "timelines": 1}
    caseload = artifact("caseload-tilburg")
    assert caseload.type == "markdown" and "| kr-07 | 1 | 1 | 2 | 0 |" in caseload.data
    from tasks.artifacts import ui_url

    UI = ui_url()
    assert UI.startswith("http://127.0.0.1:")
    radar = artifact("deadline-radar-tilburg")
    assert radar.type == "markdown"
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in radar.data.splitlines()
            if line.startswith("| 2026")]
    # Both first tasks fall due on 16 March, within the 14 days; so does the move, due within two weeks
    # of the home (9 March + 14 = 23 March) and not reported yet (wi2021.md row 2).
    assert [(r[4], r[5], r[0], r[7]) for r in rows] == [
        (f"[{CASE}]({UI}/artifacts/key/case-tlb-2026-0300)", "gesprek_azc", "2026-03-16", "klantregisseur"),
        (f"[{CASE}]({UI}/artifacts/key/case-tlb-2026-0300)", "klantprofiel_ontvangen", "2026-03-16", "klantregisseur"),
        (f"[{CASE}]({UI}/artifacts/key/case-tlb-2026-0300)", "verhuisnorm", "2026-03-23", "coordinator")]
    kpi = artifact("kpi-tilburg")
    assert "| Weken van koppeling tot woning | 1,0 weken (mediaan) |" in kpi.data
    housing = artifact("kpi-tilburg-huisvesting")
    assert housing.type == "progress" and housing.data == 100.0
    assert artifact("kpi-tilburg-driegesprek").data == 0.0  # moved without a driegesprek
    timeline = artifact("case-tlb-2026-0300")
    assert f"### Tijdlijn zaak {CASE}" in timeline.data
    # A home within 10 weeks of the koppeling on 2 March: 2 March + 70 days = 11 May.
    assert "| Woning (norm huisvesting) | 11-05-2026 | 09-03-2026 | ✅ op tijd |" in timeline.data

    clock.advance(minutes=15)
    assert asyncio.run(publish_overview())["timelines"] == 0  # nothing changed since the first run

    clock.advance(minutes=1)
    service.complete_step(case_ref=CASE, task="gesprek_azc", data={"gesprek_vorm": "azc", "nog_een_gesprek": True},
                          actor="kr-07")
    clock.advance(minutes=15)
    assert asyncio.run(publish_overview())["timelines"] == 1
    assert "| Gesprek in het AZC (1) | 16-03-2026 | 09-03-2026 | ✅ op tijd |" in artifact("case-tlb-2026-0300").data

    # After a change elsewhere (a step completed through the inbox), one case's timeline alone.
    assert asyncio.run(publish_case_timeline_flow(CASE)) == "case-tlb-2026-0300"

    stored = every_artifact()
    assert CASE in stored and "kr-07" in stored
    assert NAME not in stored and "Testpersoon" not in stored and BSN not in stored
    assert service.personal_data(CASE) == {"naam": NAME, "bsn": BSN}
