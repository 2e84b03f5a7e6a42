"""A case through Prefect: started by a deployment's flow, worked in the inbox, moved on by the sweep.

Each flow run costs about a second, so these walkthroughs are few and each covers a whole story.
"""

from __future__ import annotations

import asyncio

import pytest

from flows.cases import StartTrajectory, start_trajectory
from flows.sweep import fire_due_timers
from tests.prefect.helpers import (
    case_events,
    deliver,
    execute,
    inbox_run,
    poll,
    read_input,
    read_state,
    resume,
    runs_of,
)

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]


def test_a_trajectory_moves_through_the_inbox_and_the_timer_sweep(rt, clock):
    # Monday 2 March: COA links the person to Rotterdam; the start-trajectory deployment's flow runs.
    result = asyncio.run(start_trajectory(StartTrajectory(
        case_ref="RMD-2026-0101", definition="rondleiding", municipality="rotterdam", start_message="koppeling")))
    assert [t.split("-")[0] for t in result["open_tasks"]] == ["klantprofiel"]
    start_run = runs_of("RMD-2026-0101")[0]
    assert start_run.name == "start RMD-2026-0101"
    assert "municipality:rotterdam" in start_run.tags

    # The klantprofiel step waits in the inbox as a Suspended run with a form and a description.
    entry = inbox_run("RMD-2026-0101", "klantprofiel")
    assert entry.name == "RMD-2026-0101 · klantprofiel · uiterlijk 16-03-2026"
    assert entry.state.is_paused() and entry.state.name == "Suspended"
    assert {"inbox", "municipality:rotterdam", "role:klantregisseur"} <= set(entry.tags)
    # The choices are listed by their Dutch labels; the step gets the definition's value.
    assert read_input(entry, "schema")["properties"]["scenario"]["enum"] == \
        ["Snelle start", "Gecombineerd", "Na verhuizing"]
    assert "Uiterlijk | 16-03-2026" in read_input(entry, "description")

    # The server refuses a form that does not fit; the run stays in the inbox.
    refused = resume(entry, {"scenario": "morgen"})
    assert refused.status.value == "REJECT" and "scenario" in refused.details.reason
    assert read_state(entry).is_paused()

    # The operator chooses a fast start and resumes; the runner executes the flow, which completes the step.
    assert resume(entry, {"scenario": "Snelle start"}).status.value == "ACCEPT"
    final = execute(entry)
    assert final.is_completed(), final.message
    case = rt.service.show_case("RMD-2026-0101")
    assert case.version == 2 and case.data["scenario"] == "snelle_start"
    assert [t.step for t in case.open_tasks] == ["taalspoor"]
    assert any(h.actor == "prefect-inbox" and h.kind == "task_completed" for h in case.history)

    # The next step is in the inbox at once.
    nxt = inbox_run("RMD-2026-0101", "taalspoor")
    assert nxt.state.is_paused() and "role:taalaanbieder" in nxt.tags

    # A week and a day later the sweep fires the subprocess's timer.
    clock.advance(days=8)
    report = asyncio.run(fire_due_timers())
    assert report["cases_advanced"] == 1
    assert any(h.kind == "timer_fired" for h in rt.service.show_case("RMD-2026-0101").history)
    assert rt.service.pending_commands() == []

    # Every change was published as a case event, with municipality and phase for automations.
    expected = {"regie.case.case-started", "regie.case.task-opened", "regie.case.task-completed",
                "regie.case.timer-fired"}
    events = poll(lambda: case_events("RMD-2026-0101"), lambda found: expected <= {e["event"] for e in found})
    assert expected <= {e["event"] for e in events}
    opened = next(e for e in events if e["event"] == "regie.case.task-opened")
    assert opened["resource"]["regie.municipality"] == "rotterdam"
    assert {"prefect.resource.id": "regie.municipality.rotterdam", "prefect.resource.role": "municipality",
            "prefect.resource.name": "rotterdam"} in opened["related"]


def test_a_step_completed_elsewhere_leaves_the_inbox_and_a_late_resume_changes_nothing(rt):
    rt.service.start_trajectory(case_ref="RMD-2026-0102", definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", actor="anna")
    rt.service.start_trajectory(case_ref="RMD-2026-0103", definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", actor="anna")
    deliver(rt)
    first, second = inbox_run("RMD-2026-0102", "klantprofiel"), inbox_run("RMD-2026-0103", "klantprofiel")

    # Case 0102: completed with the CLI while its inbox run still waits: the run closes.
    rt.service.complete_step(case_ref="RMD-2026-0102", task="klantprofiel", data={"scenario": "gecombineerd"},
                             actor="anna")
    deliver(rt)
    closed = read_state(first)
    assert closed.is_completed() and closed.name == "Completed elsewhere"

    # Case 0103: an operator resumes the inbox run, but before a runner picks it up someone completes
    # the step another way. The run is left to finish; it finds the step closed and changes nothing.
    assert resume(second, {"scenario": "Snelle start"}).status.value == "ACCEPT"
    rt.service.complete_step(case_ref="RMD-2026-0103", task="klantprofiel", data={"scenario": "gecombineerd"},
                             actor="bram")
    deliver(rt)
    assert read_state(second).is_scheduled()
    version = rt.service.show_case("RMD-2026-0103").version
    final = execute(second)
    assert final.is_completed()
    assert final.result()["outcome"] == "already closed elsewhere"
    case = rt.service.show_case("RMD-2026-0103")
    assert case.version == version and case.data["scenario"] == "gecombineerd"

    # Delivering again creates nothing twice.
    deliver(rt)
    assert len(runs_of("RMD-2026-0102", "inbox")) == 1
