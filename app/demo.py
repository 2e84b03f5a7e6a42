"""Demo cases for `regie up --demo`: the six tour cases of the README, and a seeded population of about 300
cases over three years (`app.demo_plan`), so every KPI, trend and radar row has something to show.

The population is played in virtual time through the real case service: a fake clock moves a day at
a time, due timers fire with the service's sweep, new cases start with `start_many`, and each day's
planned acts are committed in one batch. Everything before today happens; today's and later acts are
left, so tasks wait, deadlines pass and the radar has overdue and upcoming rows. Its outbox from those
three years is settled, not delivered (see `play_population`).

Each tour case is driven through the same service calls an operator makes, with the service's clock set
back to the moment of each step, and timers fired at the moment they came due. After loading, the
outbox is delivered, so the inbox shows open inbox tasks, sent reminders and a missed deadline at once.
Timers that came due since midnight are left for the first scheduled sweep, so there is something to
watch it do: DEMO-2026-0006's deadline passed at midnight, and the sweep escalates it.

The names and BSNs are invented and stay in the case store's personal record; none reaches Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from app.bootstrap import DEMO_DEFINITION, Runtime
from app.cases import CaseService, NewCase
from app.delivery import deliver_pending
from app.demo_plan import SEED, SIZE, Act, DemoCase, plan_population
from engine.calendar import local_date, start_of_day
from engine.events import Event, MessageReceived, TaskCompleted
from engine.simulation import event_moment
from engine.state import CaseState
from store import outbox as outbox_store
from store import queries
from store.db import write_transaction
from store.due import due_refs
from store.errors import CaseNotFound
from store.writes import CaseChange, update_cases, write_effects

MUNICIPALITY = "tilburg"
TOUR_PREFIX = "DEMO-2026-000"
"""the tour's six cases (the population's references carry a municipality code: DEMO-2025-TLB0042)"""
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


RECHECK_MAX_DAYS = 14
"""a case not yet ready for its next act is looked at again after 1, 2, 4 ... days, at most this many
(a case waiting months for a timer costs a few reads, not one a day)"""


@dataclass
class _Progress:
    """Where a planned case is: its next act and the day it is due (or looked at again)."""

    case: DemoCase
    next_act: int = 0
    due: date | None = None
    wait: int = 1


@dataclass(frozen=True)
class _Where:
    """What the loader needs to know of a case's state: is it active, which steps are open, where it waits."""

    active: bool
    open_steps: frozenset[str]
    waiting_at: frozenset[str]

    @classmethod
    def of(cls, state: CaseState) -> "_Where":
        return cls(state.status == "active", frozenset(t.element for t in state.tasks),
                   frozenset(t.element for t in state.tokens))

    def ready(self, act: Act) -> bool:
        """Whether the case can take the act: its step is open, or it waits where the message is awaited."""
        if act.complete is not None:
            return act.complete in self.open_steps
        if act.waits_at is not None:
            return act.waits_at in self.waiting_at
        return self.active


def _event(act: Act, day: date) -> Event:
    data = dict(act.data) | {name: (day + timedelta(days=n)).isoformat() for name, n in act.dates.items()}
    if act.complete is not None:
        return TaskCompleted(task=act.complete, data=data, actor=ACTOR)
    return MessageReceived(message=act.message, data=data, actor=ACTOR)


def play_population(service: CaseService, clock: "_Clock", cases: list[DemoCase], today: date,
                    sweep_until: datetime) -> int:
    """Play the planned cases day by day up to yesterday, then sweep until `sweep_until`; returns the
    number of cases started. `service` must read `clock`."""
    if not cases:
        return 0
    pending: dict[date, list[DemoCase]] = {}
    for case in cases:
        pending.setdefault(case.start_on, []).append(case)
    progress: list[_Progress] = []
    # Where each case is, kept from the changes the loader makes; a case the sweep changes is read again.
    known: dict[str, _Where] = {}
    started = 0
    day = min(pending)
    while day < today:
        clock.at = event_moment(day)
        due = due_refs(service.engine, clock.at)
        if due:  # most days something is due; an empty sweep would still cost a transaction
            service.fire_due_timers()
            for ref in due:
                known.pop(ref, None)
        starts = pending.pop(day, [])
        if starts:
            # Only cases started now are played on: one that exists already (a load that was interrupted)
            # is left as it is.
            inserted = set(service.start_many(
                [NewCase(case_ref=c.case_ref, definition=c.definition, municipality=c.municipality,
                         start_message=c.start_message) for c in starts], actor=ACTOR))
            started += len(inserted)
            progress += [_Progress(c, due=day + timedelta(days=c.acts[0].after_days))
                         for c in starts if c.acts and c.case_ref in inserted]
        changes: list[CaseChange] = []
        for p in progress:
            if p.due is None or p.due > day:
                continue
            act = p.case.acts[p.next_act]
            ref = p.case.case_ref
            where = known.get(ref)
            if where is None:
                where = known[ref] = _Where.of(CaseState.model_validate(queries.load_case(service.engine, ref).state))
            if not where.ready(act):
                p.due, p.wait = day + timedelta(days=p.wait), min(2 * p.wait, RECHECK_MAX_DAYS)
                continue
            change = service.prepare_change(ref, _event(act, day))
            known[ref] = _Where.of(change.transition.state)
            changes.append(change)
            p.next_act, p.wait = p.next_act + 1, 1
            p.due = (day + timedelta(days=p.case.acts[p.next_act].after_days)
                     if p.next_act < len(p.case.acts) else None)
        if changes:
            with write_transaction(service.engine) as conn:
                update_cases(conn, changes)
                write_effects(conn, changes)
        day += timedelta(days=1)
    clock.at = sweep_until
    service.fire_due_timers()
    # Three years of notices, events and inbox runs (about 170 per case) happened in virtual time: they
    # are history, not work for today; delivering them would take many minutes. The population's open
    # tasks show in the caseload and on the radar; what happens to its cases from now on is delivered.
    outbox_store.settle(service.engine, [c.case_ref for c in cases], sweep_until)
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
        return f"demozaken zijn al geladen (bijvoorbeeld {first})"
    now = service.now()
    sweep_until = start_of_day(local_date(now)) - timedelta(minutes=1)
    population = load_population(service, now, sweep_until)
    tour = play(lambda clock: CaseService(service.engine, service.library, clock,
                                          default_profile=service.default_profile,
                                          municipalities=service.municipalities), now,
                sweep_until=sweep_until)
    report = await deliver_pending(service, rt.notifier)
    tasks = [t for t in service.open_tasks(municipality=MUNICIPALITY) if t.case_ref.startswith(TOUR_PREFIX)]
    missed = sum(t.missed for t in tasks)
    return (f"demo: {tour} zaken in {MUNICIPALITY} ({first} ...), {len(tasks)} open taken in de inbox, "
            f"{missed} over hun termijn; en een populatie van {population} zaken over drie jaar in "
            f"tilburg en nederweert (DEMO-<jaar>-TLB0001 ...) voor het overzicht; "
            f"{report.counts.get('notices', 0)} berichten verstuurd")


def load_population(service: CaseService, now: datetime, sweep_until: datetime, *, seed: int = SEED,
                    size: int = SIZE) -> int:
    """Plan the seeded population up to today and play it through a copy of `service` with a fake clock."""
    clock = _Clock(now)
    played = CaseService(service.engine, service.library, clock, default_profile=service.default_profile,
                         municipalities=service.municipalities, sweep_batch_size=service.sweep_batch_size)
    today = local_date(now)
    return play_population(played, clock, plan_population(today, seed=seed, size=size), today, sweep_until)
