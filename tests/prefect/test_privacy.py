"""No personal data in Prefect: a whole scenario runs, then everything Prefect stores is searched.

The person's name and BSN are entered with the case (as `regie case start --personal` does) and stay in
the case store. The search covers flow runs (names, parameters, tags, states), task runs, inbox
inputs (form, description, submitted values), logs, events, artifacts, deployments and variables.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from flows.cases import CompleteStep, complete_step
from flows.sweep import fire_due_timers
from tasks.cases import PrivateDataRefused, refuse_private_data
from tests.prefect.helpers import all_events, deliver, execute, inbox_run, poll, resume

NAME = "Fenna Privé-Testpersoon"
BSN = "999993653"
CASE = "RMD-2026-0777"


def everything_prefect_stores() -> str:
    """Every object the Prefect API gives out, as one JSON text."""
    from prefect.client.orchestration import get_client

    found: list = []
    with get_client(sync_client=True) as client:
        for path in ("/flow_runs/filter", "/task_runs/filter", "/logs/filter", "/artifacts/filter",
                     "/deployments/filter", "/variables/filter", "/flows/filter"):
            offset = 0
            while True:
                body = {"limit": 200, "offset": offset}
                page = client.request("POST", path, json=body).json()  # type: ignore[arg-type]
                found.extend(page)
                if len(page) < 200:
                    break
                offset += 200
        for run in [r for r in found if "flow_id" in r and "deployment_id" in r and "state_type" in r]:
            path = f"/flow_runs/{run['id']}/input/filter"
            found.extend(client.request("POST", path, json={"prefix": "", "limit": 100}).json())  # type: ignore
    found.extend(all_events())
    return json.dumps(found, ensure_ascii=False)


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_a_persons_name_and_bsn_never_reach_prefect(rt, clock):
    rt.service.start_trajectory(case_ref=CASE, definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", personal={"naam": NAME, "bsn": BSN}, actor="anna")
    deliver(rt)
    assert resume(inbox_run(CASE, "klantprofiel"), {"scenario": "Gecombineerd"}).status.value == "ACCEPT"
    assert execute(inbox_run(CASE, "klantprofiel")).is_completed()
    clock.advance(weeks=13)  # the housing norm passes: the sweep escalates and writes its artifact
    asyncio.run(fire_due_timers())
    with pytest.raises(Exception, match="stap 'klantprofiel' staat niet open"):
        asyncio.run(complete_step(CompleteStep(case_ref=CASE, step="klantprofiel")))
    assert rt.service.personal_data(CASE) == {"naam": NAME, "bsn": BSN}

    # The search sees the scenario (so it is not searching an empty server); logs and events are
    # stored a moment after the runs end.
    expected = (f"regie.case.{CASE}", f"{CASE} · klantprofiel", f"complete {CASE} klantprofiel", "timer-sweep",
                "gecombineerd", f"case {CASE}: step klantprofiel-", "**Wat u moet doen:**")
    stored = poll(everything_prefect_stores, lambda text: all(e in text for e in expected))
    for text in expected:
        assert text in stored
    # ... and nothing of the person.
    assert NAME not in stored and "Testpersoon" not in stored
    assert BSN not in stored


def test_a_deployment_refuses_identifying_data_in_its_parameters():
    from engine.definitions import DataField

    fields = {"scenario": DataField(type="text", privacy="process"),
              "naam": DataField(type="text", privacy="identifying"),
              "ontheffing_besluit": DataField(type="text", privacy="special")}
    refuse_private_data({"scenario": "x"}, fields, "start van zaak RMD-1")
    with pytest.raises(PrivateDataRefused, match="^start van zaak RMD-1: veld\\(en\\) naam, onbekend_veld, "
                                                 "ontheffing_besluit mogen niet via Prefect"):
        refuse_private_data({"naam": NAME, "ontheffing_besluit": "x", "onbekend_veld": 1, "scenario": "x"}, fields,
                            "start van zaak RMD-1")
