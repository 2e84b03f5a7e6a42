"""The inbox keeper against a real Prefect server: deadline tags, tasks given back, Submit completed at once."""

from __future__ import annotations

import asyncio

import pytest
from prefect.client.orchestration import get_client
from prefect.states import Cancelled, Completed

from app.inbox_keeper import RETURNED, check_inbox, complete_resumed
from integrations import inbox
from integrations.prefect_channels import PrefectChannels
from store import outbox as outbox_store
from tests.prefect.helpers import deliver, inbox_run, read_state, resume, runs_of

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("prefect_server")]


def check(rt):
    async def go():
        async with get_client() as client:
            channels = PrefectChannels(client, lambda: inbox.today_in_nl(rt.service.now()))
            return await check_inbox(rt.service, channels, channels.today())
    return asyncio.run(go())


def listen(rt):
    async def go():
        async with get_client() as client:
            return await complete_resumed(rt.service, client)
    return asyncio.run(go())


def start(rt, case_ref):
    rt.service.start_trajectory(case_ref=case_ref, definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", actor="anna")
    deliver(rt)
    return inbox_run(case_ref, "klantprofiel")


def task_id(run):
    return run.parameters["task"]["task_id"]


def set_state(run, state, force=False):
    with get_client(sync_client=True) as client:
        return client.set_flow_run_state(run.id, state, force=force)


def waiting_runs(case_ref):
    return [r for r in runs_of(case_ref, "inbox") if r.state.is_paused()]


def returned_lines(rt, case_ref):
    return [h for h in rt.service.show_case(case_ref, history=50).history if h.kind == RETURNED]


def test_the_deadline_tags_follow_the_calendar(rt, clock):
    run = start(rt, "RMD-2026-0701")  # Monday 2 March, due Monday 16 March
    assert not {"te-laat", "deze-week"} & set(run.tags)
    # The Prefect test server is shared by the session: the first check settles runs that earlier
    # tests left behind (their cases are not in this store), so the counts below are this case's.
    check(rt)
    assert not {"te-laat", "deze-week"} & set(inbox_run("RMD-2026-0701", "klantprofiel").tags)
    clock.advance(days=7)  # Monday 9 March: due next week, nothing changes
    assert check(rt).retagged == 0
    clock.advance(days=7)  # Monday 16 March: due today
    assert check(rt).retagged == 1
    assert "deze-week" in inbox_run("RMD-2026-0701", "klantprofiel").tags
    clock.advance(days=1)
    assert check(rt).retagged == 1
    tags = inbox_run("RMD-2026-0701", "klantprofiel").tags
    assert "te-laat" in tags and "deze-week" not in tags and "case:RMD-2026-0701" in tags
    assert check(rt).retagged == 0  # already current


def test_cancelling_an_inbox_run_gives_the_task_back_once_and_says_so(rt):
    run = start(rt, "RMD-2026-0702")
    # What the red Cancel button does: propose Cancelling; the server makes a Suspended run Cancelled.
    from prefect.states import State
    from prefect.client.schemas.objects import StateType
    set_state(run, State(type=StateType.CANCELLING, name="Cancelling"))
    assert read_state(run).is_cancelled()
    assert waiting_runs("RMD-2026-0702") == []

    report = check(rt)
    assert report.given_back == [("RMD-2026-0702", task_id(run))]
    [back] = waiting_runs("RMD-2026-0702")
    assert back.id != run.id and back.name == run.name
    assert back.idempotency_key == f"regie-inbox:RMD-2026-0702:{task_id(run)}:2"
    with get_client(sync_client=True) as client:  # the form and the instructions came back with it
        assert "klantprofiel" in client.read_flow_run_input(back.id, inbox.KEYSET["description"])
        assert "scenario" in client.read_flow_run_input(back.id, inbox.KEYSET["schema"])
    [line] = returned_lines(rt, "RMD-2026-0702")
    assert line.ref == task_id(run) and line.detail == "de inbox-run was geannuleerd; de taak staat opnieuw in de inbox"

    assert check(rt).given_back == []  # the new run carries the task
    assert len(returned_lines(rt, "RMD-2026-0702")) == 1

    # And the task can be done from the new run: completing it closes that run, not the old one.
    rt.service.complete_step(case_ref="RMD-2026-0702", task="klantprofiel", data={"scenario": "gecombineerd"},
                             actor="anna")
    deliver(rt)
    assert read_state(back).name == "Completed elsewhere"
    assert read_state(run).is_cancelled()


def test_deleting_an_inbox_run_gives_the_task_back(rt):
    run = start(rt, "RMD-2026-0703")
    with get_client(sync_client=True) as client:
        client.delete_flow_run(run.id)
    assert check(rt).given_back == [("RMD-2026-0703", task_id(run))]
    [back] = waiting_runs("RMD-2026-0703")
    assert back.idempotency_key == f"regie-inbox:RMD-2026-0703:{task_id(run)}"
    [line] = returned_lines(rt, "RMD-2026-0703")
    assert "verwijderd" in line.detail


def test_a_task_waiting_in_the_outbox_is_not_given_back_and_a_run_of_a_closed_task_is_closed(rt):
    rt.service.start_trajectory(case_ref="RMD-2026-0704", definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", actor="anna")
    assert check(rt).given_back == []  # not delivered yet: the drain opens it
    assert runs_of("RMD-2026-0704", "inbox") == []
    deliver(rt)
    run = inbox_run("RMD-2026-0704", "klantprofiel")
    # The step is completed, but its close never reached Prefect (say it was lost): the keeper closes the run.
    rt.service.complete_step(case_ref="RMD-2026-0704", task="klantprofiel", data={"scenario": "gecombineerd"},
                             actor="anna")
    for item in rt.service.pending_commands(100, types=["close_user_task"]):
        rt.service.mark_delivered(item.key)
    report = check(rt)
    assert report.closed == 1 and report.given_back == []
    assert read_state(run).is_completed()


def test_a_task_opened_by_a_settled_command_is_not_given_back(rt):
    # The demo's population is played in virtual time and its outbox settled: its open tasks never had a
    # run, so the keeper must not take them for lost ones (hundreds of "given back" runs and lines).
    rt.service.start_trajectory(case_ref="RMD-2026-0709", definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", actor="anna")
    assert outbox_store.settle(rt.service.engine, ["RMD-2026-0709"], rt.service.now()) > 0
    assert check(rt).given_back == []
    assert runs_of("RMD-2026-0709", "inbox") == [] and returned_lines(rt, "RMD-2026-0709") == []
    assert [t.case_ref for t in rt.service.open_tasks() if t.case_ref == "RMD-2026-0709"]  # still open


def test_a_submitted_form_completes_the_step_without_a_runner(rt):
    run = start(rt, "RMD-2026-0705")
    version = rt.service.show_case("RMD-2026-0705").version
    assert listen(rt) == []  # nothing resumed yet
    assert resume(run, {"scenario": "Snelle start"}).status.value == "ACCEPT"
    assert listen(rt) == [("RMD-2026-0705", task_id(run), "completed")]
    state = read_state(run)
    assert state.is_completed()
    case = rt.service.show_case("RMD-2026-0705", history=50)
    assert case.version == version + 1 and case.data["scenario"] == "snelle_start"
    assert any(h.actor == "prefect-inbox" and h.event == "task_completed" for h in case.history)
    assert listen(rt) == []  # taken once


def test_a_resumed_run_a_runner_took_first_is_left_to_it(rt):
    run = start(rt, "RMD-2026-0706")
    resume(run, {"scenario": "Snelle start"})
    from prefect.states import Pending
    assert set_state(run, Pending()).status.value == "ACCEPT"  # a runner proposed Pending first
    assert listen(rt) == []
    assert rt.service.open_tasks(case_ref="RMD-2026-0706")  # still open: the runner's flow completes it


def test_a_run_set_completed_by_hand_while_the_task_is_open_gives_it_back(rt):
    run = start(rt, "RMD-2026-0707")
    set_state(run, Completed(), force=True)
    ref = task_id(run)
    assert check(rt).given_back == [("RMD-2026-0707", ref)]
    set_state(waiting_runs("RMD-2026-0707")[0], Cancelled(), force=True)
    assert check(rt).given_back == [("RMD-2026-0707", ref)]
    assert sorted(r.idempotency_key for r in runs_of("RMD-2026-0707", "inbox")) == [
        f"regie-inbox:RMD-2026-0707:{ref}", f"regie-inbox:RMD-2026-0707:{ref}:2", f"regie-inbox:RMD-2026-0707:{ref}:3"]


def sweep_runs():
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["fire-due-timers"])))


def overview_runs():
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    with get_client(sync_client=True) as client:
        return client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["publish-overview"])))


def test_a_sweep_run_starts_only_when_something_is_due(rt, clock):
    from app.inbox_keeper import sweep_due

    def due():
        async def go():
            async with get_client() as client:
                return await sweep_due(rt.service, client)
        return asyncio.run(go())

    before = len(sweep_runs())
    rt.service.start_trajectory(case_ref="RMD-2026-0708", definition="rondleiding", municipality="rotterdam",
                                start_message="koppeling", actor="anna")
    deliver(rt)
    assert due() is False and len(sweep_runs()) == before  # nothing due: no run on the Runs page
    clock.advance(days=30)  # the klantprofiel deadline passed: a timer is due
    assert due() is True and len(sweep_runs()) == before + 1


def test_the_overview_is_published_at_start_and_after_changes_debounced(rt):
    from app.inbox_keeper import OVERVIEW_DEBOUNCE, OVERVIEW_GIVE_UP, OverviewPublisher

    publisher = OverviewPublisher()

    def tick(at):
        async def go():
            async with get_client() as client:
                return await publisher.tick(rt.service, client, at)
        return asyncio.run(go())

    before = len(overview_runs())
    assert tick(0.0) is True  # at start, whatever there is
    assert tick(1.0) is False  # nothing changed
    start(rt, "RMD-2026-0709")
    assert tick(2.0) is False  # a change: collected for a moment
    rt.service.record_note("RMD-2026-0709", kind="test", detail="nog een wijziging")
    assert tick(2.0 + OVERVIEW_DEBOUNCE - 0.1) is False
    assert tick(2.0 + OVERVIEW_DEBOUNCE) is False  # the first run has not ended (no worker here): never two at once
    assert len(overview_runs()) == before + 1
    finish(publisher.started)
    assert tick(2.0 + OVERVIEW_DEBOUNCE + 0.1) is True  # one run for both changes
    assert tick(2.0 + OVERVIEW_DEBOUNCE + 1) is False
    assert len(overview_runs()) == before + 2

    # A run deleted in the UI before it ended is not waited for.
    rt.service.record_note("RMD-2026-0709", kind="test", detail="nog een")
    assert tick(20.0) is False
    delete(publisher.started)
    assert tick(20.0 + OVERVIEW_DEBOUNCE) is True
    assert len(overview_runs()) == before + 2  # the deleted one is gone, the new one is there

    # One that never ends (its runner gone) is waited for a quarter of an hour, not for ever.
    rt.service.record_note("RMD-2026-0709", kind="test", detail="en nog een")
    since = 20.0 + OVERVIEW_DEBOUNCE
    assert tick(since + OVERVIEW_DEBOUNCE) is False  # collected for a moment
    assert tick(since + 3 * OVERVIEW_DEBOUNCE) is False  # the last run has not ended
    assert tick(since + OVERVIEW_GIVE_UP) is True


def delete(run_id) -> None:
    async def go():
        async with get_client() as client:
            await client.delete_flow_run(run_id)
    asyncio.run(go())


def finish(run_id) -> None:
    """Mark a flow run Completed, as the runner would when it ends."""
    from prefect.states import Completed

    async def go():
        async with get_client() as client:
            await client.set_flow_run_state(run_id, Completed(), force=True)
    asyncio.run(go())


def test_the_radar_links_each_task_to_its_inbox_run_and_each_case_to_its_timeline(rt):
    from datetime import date

    from prefect.artifacts import Artifact

    from tasks.artifacts import publish_deadline_radar, ui_url

    run = start(rt, "RMD-2026-0710")
    assert publish_deadline_radar("rotterdam", date(2026, 3, 2), 14) == "deadline-radar-rotterdam"
    text = Artifact.get("deadline-radar-rotterdam").data
    row = next(line for line in text.splitlines() if "RMD-2026-0710" in line)
    assert f"[RMD-2026-0710]({ui_url()}/artifacts/key/case-rmd-2026-0710)" in row
    assert f"[klantprofiel]({ui_url()}/runs/flow-run/{run.id})" in row
