"""Reading what a scenario left in Prefect, and doing what a runner does with a resumed inbox run."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
from prefect.client.schemas.objects import FlowRun
from prefect.flow_engine import run_flow_async

from app.bootstrap import Runtime
from app.delivery import deliver_pending
from flows.user_task import user_task
from integrations import inbox
from tests.serverproc import poll  # noqa: F401  (the shared bounded wait, used by these tests)


def runs_of(case_ref: str, *tags: str) -> list[FlowRun]:
    """Every flow run tagged with this case (and the given tags), oldest first."""
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[f"case:{case_ref}", *tags])))
    return sorted(runs, key=lambda r: r.created)


def inbox_run(case_ref: str, step: str) -> FlowRun:
    """The one inbox run of a case's step."""
    runs = runs_of(case_ref, "inbox", f"step:{step}")
    assert len(runs) == 1, [r.name for r in runs]
    return runs[0]


def read_input(run: FlowRun, which: str) -> Any:
    with get_client(sync_client=True) as client:
        return json.loads(client.read_flow_run_input(run.id, inbox.KEYSET[which]))


def resume(run: FlowRun, form: dict[str, Any]) -> Any:
    """What the UI's Resume button does: the server checks the form, stores it and schedules the run."""
    with get_client(sync_client=True) as client:
        return client.resume_flow_run(run.id, run_input=form)


def execute(run: FlowRun) -> Any:
    """What a runner does with a scheduled inbox run, in this process: run the flow; its final state."""
    with get_client(sync_client=True) as client:
        run = client.read_flow_run(run.id)
    return asyncio.run(run_flow_async(user_task, flow_run=run, parameters=run.parameters, return_type="state"))


def deliver(rt: Runtime) -> Any:
    """Drain the outbox outside any flow (as the CLI does)."""
    return asyncio.run(deliver_pending(rt.service, rt.notifier))


def read_state(run: FlowRun) -> Any:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(run.id).state


def all_events() -> list[dict[str, Any]]:
    """Every event the server has stored (all pages), as JSON."""
    events: list[dict[str, Any]] = []
    with get_client(sync_client=True) as client:
        page = client.request("POST", "/events/filter", json={"limit": 50}).json()  # type: ignore[arg-type]
        while True:
            events.extend(page["events"])
            if not page.get("next_page"):
                return events
            page = client._client.get(page["next_page"]).json()


def case_events(case_ref: str) -> list[dict[str, Any]]:
    """The `regie.case.*` events about one case, oldest first."""
    found = [e for e in all_events() if e["resource"]["prefect.resource.id"] == f"regie.case.{case_ref}"]
    return sorted(found, key=lambda e: e["occurred"])
