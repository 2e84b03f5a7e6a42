"""The AVG deployments on a real Prefect test server: the export goes to a file, never into Prefect, and
after the erasure nothing of the person is left in the case store, in Prefect (flow runs, parameters,
task runs, logs, events, artifacts) or in the logs of this process."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest

from app.privacy.person import access_log
from flows.privacy import erase_expired, export_person
from tests.prefect.helpers import deliver, poll
from tests.prefect.test_privacy import everything_prefect_stores
from tests.store.test_person_rights import everything_stored

NAME = "Fenna Privé-Testpersoon"
BSN = "999993653"
CASE = "RMD-2026-0778"


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_export_to_a_file_and_erasure_by_retention_leave_nothing_of_the_person_anywhere(rt, clock, caplog):
    caplog.set_level(logging.DEBUG)
    service = rt.service
    service.start_trajectory(case_ref=CASE, definition="rondleiding", municipality="rotterdam",
                             start_message="koppeling", personal={"naam": NAME, "bsn": BSN},
                             data={"naam": NAME}, actor="anna")
    service.complete_step(case_ref=CASE, task="klantprofiel", data={"scenario": "snelle_start"}, actor="anna")
    service.complete_step(case_ref=CASE, task="taalspoor", data={"intake_afgerond": True}, actor="anna")
    for _ in range(5):
        clock.advance(days=10)
        service.fire_due_timers()
    deliver(rt)
    assert service.show_case(CASE).status == "completed"

    paths = export_person(case_ref=CASE, operator="anna")

    exported = json.loads(Path(paths["json"]).read_text(encoding="utf-8"))
    assert exported["persoonsgegevens"] == {"naam": NAME, "bsn": BSN}
    assert f"- naam: {NAME}" in Path(paths["tekst"]).read_text(encoding="utf-8")
    for path in paths.values():
        assert Path(path).parent == rt.settings.data_dir / "inzage"
        assert stat.S_IMODE(Path(path).stat().st_mode) == 0o600

    clock.advance(days=7 * 366)  # past the default retention period of P7Y after closing
    assert erase_expired() == {"verlopen": 1, "gewist": 1, "overgeslagen": 0}

    assert [s for s in (NAME, "Testpersoon", BSN) if s in everything_stored(service.engine)] == []
    assert [(a.operator, a.action) for a in access_log(service, CASE)] == [("anna", "export"), ("bewaartermijn", "erase")]
    # Prefect saw the runs (so the search is not of an empty server) and nothing of the person.
    expected = (f"inzage {CASE}", "bewaartermijn", "aantal", "1 zaak/zaken gewist (alleen aantallen)")
    stored = poll(everything_prefect_stores, lambda text: all(e in text for e in expected))
    for text in expected:
        assert text in stored
    assert NAME not in stored and "Testpersoon" not in stored and BSN not in stored
    [run] = [r for r in json.loads(stored) if r.get("name") == f"inzage {CASE}" and "parameters" in r]
    assert run["parameters"] == {"case_ref": CASE, "operator": "anna"}
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "bewaartermijn: 1 verlopen, 1 gewist" in logged
    assert NAME not in logged and BSN not in logged
