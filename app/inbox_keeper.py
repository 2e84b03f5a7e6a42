"""Keeping the operators' inbox true while Regie runs (`regie up` runs `keep_inbox` beside its runner).

Three jobs, each cheap enough to do often, none of them a Prefect flow run (so nothing floods the Runs page):

- **Submit, then the next task at once** (`complete_resumed`, every half second): an inbox run an operator
  resumed with the form is Scheduled ("Resuming"). Rather than wait for a runner to start a Python process
  for it (seconds), the keeper takes it the way a runner would (proposing Pending, which the server grants
  to one taker only, so a runner that polls at the same moment skips it), completes the step through the
  case service, marks the run Completed and delivers the outbox, which opens the next task's run.
- **Deadline tags** (`check_inbox`, every minute): `te-laat` and `deze-week` on each waiting run, as they
  are today (Europe/Amsterdam).
- **A task is never lost** (`check_inbox`): a task still open in the case store whose inbox run was
  cancelled (the red Cancel button), deleted, or ended otherwise (failed, set Completed by hand) gets a new
  inbox run, and its history says so (`inbox_returned`). A waiting run whose task is no longer open (its
  close got lost) is closed. A task whose open command still waits in the outbox is left to the drain.
- **The sweep only when something is due** (`sweep_due`, every minute): one `fire-due-timers` run when a
  timer is due or outbox rows are ready, none otherwise.
- **The overview at once** (`OverviewPublisher`): one `publish-overview` run when the keeper starts, and one
  after cases changed (a new history line), at most every `OVERVIEW_DEBOUNCE` seconds, so a burst of changes
  gives one run, a few seconds after it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.filters import (
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateName,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.responses import SetStateStatus
from prefect.exceptions import ObjectNotFound
from prefect.states import Completed, Failed, Pending, Running

from app.cases import CaseService
from app.delivery import deliver_pending
from app.faults import MAX_ATTEMPTS
from engine.commands import OpenUserTask
from integrations import inbox
from integrations.notifier import Notifier
from integrations.prefect_channels import API_ERRORS, PrefectChannels
from store.due import last_change, next_due_at

INBOX_ACTOR = "prefect-inbox"
"""Who completed a step from the inbox (in the case history)."""
RETURNED = "inbox_returned"
"""History kind: the task's inbox run ended while the task was open; a new run was made."""
LISTEN_EVERY = 0.25
CHECK_EVERY = 60.0
SWEEP_DEPLOYMENT = "fire-due-timers/fire-due-timers"
OVERVIEW_DEPLOYMENT = "publish-overview/publish-overview"
OVERVIEW_DEBOUNCE = 10.0
"""Seconds: changes are collected this long (from the first one seen) before the overview is published."""
OVERVIEW_GIVE_UP = 900.0
"""Seconds: an overview run not ended after this long (hung, or its runner gone) is no longer waited for."""


_ENDED = {StateType.CANCELLED: "geannuleerd", StateType.CANCELLING: "geannuleerd", StateType.COMPLETED: "afgerond",
          StateType.FAILED: "mislukt", StateType.CRASHED: "vastgelopen"}
"""How the history names the way an inbox run ended (Dutch: the history is shown to users)."""
_DONE = {"completed": "stap afgerond", "already closed elsewhere": "stap was elders al afgerond"}
"""The message of a run whose step the keeper took, by its outcome (shown in the Prefect UI)."""


@dataclass
class InboxCheck:
    """What one check of the inbox changed."""

    retagged: int = 0
    given_back: list[tuple[str, str]] = field(default_factory=list)
    """(case, task) pairs that got a new inbox run"""
    closed: int = 0
    """waiting runs closed because their task was no longer open"""


def entry_for(task: Any) -> inbox.InboxEntry:
    """The inbox entry of an open task as the case service shows it (`TaskView`)."""
    return inbox.InboxEntry(task=inbox.InboxTask(case_ref=task.case_ref, task_id=task.task_id, step=task.step,
                                                 role=task.role, municipality=task.municipality,
                                                 phase=task.phase, due_on=task.due_on),
                            name=task.name, instructions=task.instructions, form=tuple(task.form))


def _open_keys(service: CaseService) -> set[tuple[str, str]]:
    return {(t.case_ref, t.task_id) for t in service.open_tasks()}


def _waiting_in_outbox(service: CaseService) -> set[tuple[str, str]]:
    """Tasks whose open command was not delivered yet (the drain opens them; not lost)."""
    waiting = set()
    for item in service.pending_commands(100_000, max_attempts=MAX_ATTEMPTS, types=["open_user_task"]):
        command = item.command()
        if isinstance(command, OpenUserTask):
            waiting.add((command.case_ref, command.task_id))
    return waiting


async def check_inbox(service: CaseService, channels: PrefectChannels, today: date) -> InboxCheck:
    """Retag the waiting runs, give back lost tasks, close runs of closed tasks (see the module's text).

    The store is read before and after Prefect: a task counts as lost only when it was open on both
    reads and no live run carried it in between, so one opened or closed meanwhile is not mistaken.
    """
    client = channels.client
    open_before = _open_keys(service)
    waiting = _waiting_in_outbox(service)
    runs = await inbox.live_runs(client)
    tasks_now = {(t.case_ref, t.task_id): t for t in service.open_tasks()}
    report = InboxCheck(retagged=await inbox.retag(client, runs, today))
    carried: set[tuple[str, str]] = set()
    for run in runs:
        task = inbox.task_of(run)
        if task is None:
            continue
        key = (task.case_ref, task.task_id)
        carried.add(key)
        if key not in tasks_now and run.state is not None and run.state.is_paused():
            await inbox.close_entry(client, task.case_ref, task.task_id, "completed")
            report.closed += 1
    missing = (open_before & tasks_now.keys()) - carried - waiting
    # A task opened by a settled command (the demo's population, played in virtual time) never had a run.
    lost = sorted(missing - service.settled_tasks(missing))
    for case_ref, task_id in lost:
        earlier = await inbox.runs_of_task(client, case_ref, task_id)
        how = _ENDED.get(earlier[0].state.type, "beëindigd") if earlier and earlier[0].state else "verwijderd"
        await inbox.give_back(client, await channels.inbox_deployment(), entry_for(tasks_now[(case_ref, task_id)]),
                              today, earlier=earlier)
        service.record_note(case_ref, kind=RETURNED, ref=task_id,
                            detail=f"de inbox-run was {how}; de taak staat opnieuw in de inbox")
        report.given_back.append((case_ref, task_id))
    return report


async def complete_resumed(service: CaseService, client: PrefectClient) -> list[tuple[str, str, str]]:
    """Complete the steps of inbox runs resumed with the form; (case, task, outcome) for each one taken."""
    resumed = await client.read_flow_runs(
        flow_filter=FlowFilter(name=FlowFilterName(any_=[inbox.FLOW_NAME])),
        flow_run_filter=FlowRunFilter(state=FlowRunFilterState(
            type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]),
            name=FlowRunFilterStateName(any_=["Resuming"]))),
        limit=50)
    done = []
    for run in resumed:
        task = inbox.task_of(run)
        if task is None:
            continue
        # The server grants Pending to one taker: if a runner got there first, it runs the flow instead.
        if (await client.set_flow_run_state(run.id, Pending())).status != SetStateStatus.ACCEPT:
            continue
        await client.set_flow_run_state(run.id, Running())
        outcome = await _complete(service, client, run.id, task)
        done.append((task.case_ref, task.task_id, outcome))
    return done


async def _complete(service: CaseService, client: PrefectClient, run_id: Any, task: inbox.InboxTask) -> str:
    form = await inbox.submitted_form(client, run_id)
    try:
        if form is None:
            raise LookupError("de run is hervat zonder het inbox-formulier")
        if not any(t.task_id == task.task_id for t in service.open_tasks(case_ref=task.case_ref)):
            outcome = "already closed elsewhere"
        else:
            # Empty optional fields come back as null; leave them out rather than erase earlier case data.
            data = {name: value for name, value in form.items() if value is not None}
            service.complete_step(case_ref=task.case_ref, task=task.task_id, data=data, actor=INBOX_ACTOR)
            outcome = "completed"
    except Exception as exc:  # the run shows why (the type only: the text may quote case data); the task stays
        await client.set_flow_run_state(run_id, Failed(message=f"stap niet afgerond ({type(exc).__name__})"),
                                        force=True)
        return f"failed ({type(exc).__name__})"
    await client.set_flow_run_state(run_id, Completed(message=_DONE[outcome]), force=True)
    return outcome


async def sweep_due(service: CaseService, client: PrefectClient) -> bool:
    """Start one `fire-due-timers` run when a timer is due or outbox rows are ready; whether one was started."""
    due = next_due_at(service.engine)
    if not ((due is not None and due <= service.now()) or service.outbox_summary(MAX_ATTEMPTS).ready):
        return False
    deployment = await client.read_deployment_by_name(SWEEP_DEPLOYMENT)
    await client.create_flow_run_from_deployment(deployment.id)
    return True


@dataclass
class OverviewPublisher:
    """Starts `publish-overview` at once, then after changes, debounced (times in seconds, `loop.time()`)."""

    seen: int = -1
    """the last history line the published overview includes (-1: nothing published yet)"""
    pending_since: float | None = None
    """when a change not yet published was first noticed"""
    started: Any = None
    """the id of the last run started here, until it has ended"""
    started_at: float = 0.0

    async def tick(self, service: CaseService, client: PrefectClient, now: float) -> bool:
        """Publish when due; whether a run was started. Never while the last one is still under way: a run
        publishes everything that changed before it started, and two at once publish the same twice (the
        demo's first overview, every timeline, then ran twice side by side)."""
        latest = last_change(service.engine)
        if self.seen >= 0 and latest == self.seen:
            return False
        if self.seen >= 0:
            if self.pending_since is None:
                self.pending_since = now
            if now - self.pending_since < OVERVIEW_DEBOUNCE:
                return False
        if self.started is not None:
            try:
                run = await client.read_flow_run(self.started)
            except ObjectNotFound:  # deleted in the UI: it will not end, so do not wait for it
                run = None
            if run is not None and run.state is not None and not run.state.is_final() \
                    and now - self.started_at < OVERVIEW_GIVE_UP:
                return False
            self.started = None
        deployment = await client.read_deployment_by_name(OVERVIEW_DEPLOYMENT)
        run = await client.create_flow_run_from_deployment(deployment.id)
        self.seen, self.pending_since, self.started, self.started_at = latest, None, run.id, now
        return True


async def keep_inbox(service: CaseService, notifier: Notifier, stop: threading.Event, *, sweep: bool = True,
                     overview: bool = True, say: Callable[[str], Any] = print) -> None:
    """Until `stop` is set: listen for resumed runs every `LISTEN_EVERY` s; beside that, publish the
    overview when cases changed, and check the inbox (and start a sweep when something is due) every
    `CHECK_EVERY` s. Two loops, so a long check never delays a Submit. A failure is said and tried again
    on the next round."""
    async with get_client() as client:
        channels = PrefectChannels(client, lambda: inbox.today_in_nl(service.now()))
        await asyncio.gather(_listening(service, notifier, client, stop, say),
                             _maintaining(service, channels, stop, sweep=sweep, overview=overview, say=say))


async def _listening(service: CaseService, notifier: Notifier, client: PrefectClient, stop: threading.Event,
                     say: Callable[[str], Any]) -> None:
    while not stop.is_set():
        await _guarded(say, "afronden vanuit de inbox", _listen(service, notifier, client))
        await asyncio.sleep(LISTEN_EVERY)


async def _maintaining(service: CaseService, channels: PrefectChannels, stop: threading.Event, *, sweep: bool,
                       overview: bool, say: Callable[[str], Any]) -> None:
    client = channels.client
    publisher = OverviewPublisher()
    last_check = float("-inf")
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        if overview:
            await _guarded(say, "overzicht publiceren", publisher.tick(service, client, loop.time()))
        if loop.time() - last_check >= CHECK_EVERY:
            last_check = loop.time()
            await _guarded(say, "inbox bijwerken", check_inbox(service, channels, channels.today()))
            if sweep:
                await _guarded(say, "termijnen controleren", sweep_due(service, client))
        await asyncio.sleep(1.0)


async def _listen(service: CaseService, notifier: Notifier, client: PrefectClient) -> None:
    if await complete_resumed(service, client):
        # Delivered at once: the next task's inbox run is what the operator waits for.
        await deliver_pending(service, notifier, raise_failures=False)


async def _guarded(say: Callable[[str], Any], what: str, work: Awaitable[Any]) -> None:
    try:
        await work
    except API_ERRORS as exc:
        say(f"regie up: {what} lukte nu niet ({type(exc).__name__}); volgende ronde opnieuw")
