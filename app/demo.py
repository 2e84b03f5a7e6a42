"""Demo cases for `regie up --demo`: made-up people, histories backdated so the UI has something to show.

Each case is driven through the same service calls an operator makes, with the service's clock set
back to the moment of each step, and timers fired at the moment they came due. After loading, the
outbox is delivered, so the UI shows open inbox tasks, sent reminders and a missed deadline at once.
Timers that came due since midnight are left for the first scheduled sweep, so there is something to
watch it do: DEMO-2026-0006's deadline passed at midnight, and the sweep escalates it.

The names and BSNs are invented and stay in the case store's personal record; none reaches Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.bootstrap import DEMO_DEFINITION, Runtime
from app.cases import CaseService
from app.delivery import deliver_pending
from engine.calendar import local_date, start_of_day
from store.errors import CaseNotFound

MUNICIPALITY = "tilburg"
ACTOR = "demo"


@dataclass(frozen=True)
class Step:
    """One thing that happens to a demo case, `days_ago` days before now."""

    days_ago: float
    action: str  # "start", "complete", "plan-driegesprek" or "message"
    case_ref: str
    args: dict[str, Any]


def _start(ref: str, days_ago: float, name: str, bsn: str) -> Step:
    return Step(days_ago, "start", ref, {"personal": {"naam": name, "bsn": bsn}})


# Invented people; BSNs from the 99999xxxx range, which is never issued. Asielstatushouders in the
# Tilburg example profile, at different points of the warm handover from COA.
CHECKLIST = {"checklist_voorinburgering": True, "checklist_werk_azc": True, "checklist_opleiding_werkervaring": True}


def _done(ref: str, days_ago: float, task: str, **data: Any) -> Step:
    return Step(days_ago, "complete", ref, {"task": task, "data": data})


DEMO_STEPS: list[Step] = [
    # The klantprofiel never came: its deadline was missed and escalated; the driegesprek is to plan.
    _start("DEMO-2026-0001", 20, "Yara Demo", "999990019"),
    _done("DEMO-2026-0001", 10, "gesprek_azc", gesprek_vorm="online", nog_een_gesprek=False),
    # Linked twelve days ago: profile and first conversation due in two days, COA reminded.
    _start("DEMO-2026-0002", 12, "Samir Voorbeeld", "999990020"),
    # The driegesprek is planned: the klantregisseur holds it and chooses the handover scenario.
    _start("DEMO-2026-0003", 20, "Lina Proef", "999990031"),
    _done("DEMO-2026-0003", 18, "klantprofiel_ontvangen", **CHECKLIST),
    _done("DEMO-2026-0003", 15, "gesprek_azc", gesprek_vorm="azc", nog_een_gesprek=False),
    Step(10, "plan-driegesprek", "DEMO-2026-0003", {"in_days": 13}),
    # Just linked to the municipality.
    _start("DEMO-2026-0004", 1, "Omar Fictief", "999990043"),
    # Handover done, start after the move: waiting for housing; DUO's notice has arrived.
    _start("DEMO-2026-0005", 40, "Noor Verzonnen", "999990055"),
    _done("DEMO-2026-0005", 38, "klantprofiel_ontvangen", **CHECKLIST),
    _done("DEMO-2026-0005", 35, "gesprek_azc", gesprek_vorm="azc", nog_een_gesprek=False),
    Step(33, "plan-driegesprek", "DEMO-2026-0005", {"in_days": 3}),
    _done("DEMO-2026-0005", 30, "driegesprek", overdrachtsscenario="start_na_verhuizing"),
    Step(20, "message", "DEMO-2026-0005", {"message": "duo_kennisgeving"}),
    # Profile and first conversation were due yesterday: the deadlines passed at midnight, for the sweep.
    _start("DEMO-2026-0006", 15, "Daan Bedacht", "999990067"),
]


class _Clock:
    """A clock the loader sets to each step's moment (the service reads it through `__call__`)."""

    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def play(service_for: Callable[[Callable[[], datetime]], CaseService], now: datetime, sweep_until: datetime,
         steps: list[Step] = DEMO_STEPS, definition: str = DEMO_DEFINITION) -> int:
    """Apply the steps in time order, firing due timers before each and up to `sweep_until` (before now);
    returns the number of cases started."""
    clock = _Clock(now)
    service = service_for(clock)
    started = 0
    for step in sorted(steps, key=lambda s: -s.days_ago):
        clock.at = now - timedelta(days=step.days_ago)
        service.fire_due_timers()
        if step.action == "start":
            service.start_trajectory(case_ref=step.case_ref, definition=definition, municipality=MUNICIPALITY,
                                     start_message="koppeling", personal=step.args["personal"], actor=ACTOR)
            started += 1
        elif step.action == "complete":
            service.complete_step(case_ref=step.case_ref, actor=ACTOR, **step.args)
        elif step.action == "plan-driegesprek":
            # The date is relative to the step's own moment, so the demo stays current on any day.
            when = local_date(clock.at) + timedelta(days=step.args["in_days"])
            service.complete_step(case_ref=step.case_ref, actor=ACTOR, task="driegesprek_plannen",
                                  data={"driegesprek_datum": when.isoformat()})
        else:
            service.deliver_message(case_ref=step.case_ref, actor=ACTOR, **step.args)
    clock.at = sweep_until
    service.fire_due_timers()
    return started


def demo_loaded(service: CaseService) -> bool:
    """Whether the demo's cases are in the store (its first case is; they are loaded all at once)."""
    try:
        service.show_case(DEMO_STEPS[0].case_ref, history=0)
    except CaseNotFound:
        return False
    return True


async def load_demo(rt: Runtime) -> str:
    """Load the demo cases once (again: nothing happens) and deliver them to Prefect; says what it did."""
    service = rt.service
    first = DEMO_STEPS[0].case_ref
    # Only the demo's own cases count: real Tilburg cases in the same data dir are no reason to refuse.
    if demo_loaded(service):
        return f"demo cases already loaded (e.g. {first})"
    now = service.now()
    started = play(lambda clock: CaseService(service.engine, service.library, clock,
                                             default_profile=service.default_profile,
                                             municipalities=service.municipalities), now,
                   sweep_until=start_of_day(local_date(now)) - timedelta(minutes=1))
    report = await deliver_pending(service, rt.notifier)
    tasks = service.open_tasks(municipality=MUNICIPALITY)
    missed = sum(t.missed for t in tasks)
    return (f"demo: {started} cases in {MUNICIPALITY} ({first} ...), {len(tasks)} open tasks in the inbox, "
            f"{missed} past their deadline, {report.counts.get('notices', 0)} notices sent")
