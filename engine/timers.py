"""When the timers of elements come due: timer events, message timeouts, boundary timers and cycles.

Every timer is an absolute moment: a duration from today, a date from case data, or the next
occurrence of a cycle, at the start of that Dutch calendar day (a zero duration: at once).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from engine.calendar import local_date, start_of_day
from engine.definitions import BoundaryTimer, Cycle, TimerSpec
from engine.durations import Duration
from engine.run import Run
from engine.state import Token


def timer_due(run: Run, spec: TimerSpec, what: str) -> datetime:
    """When a timer that starts waiting now fires; `what` names it in an error about a missing date."""
    if spec.duration is not None:
        duration = run.eval.duration(spec.duration)
        return run.now if duration.is_zero else start_of_day(duration.after(run.today))
    if spec.date is not None:
        return start_of_day(run.eval.required_date(spec.date, what))
    # An intermediate event with a cycle waits for the next occurrence of the cycle after today.
    cycle = spec.cycle
    base = run.eval.required_date(cycle.start, what) if cycle.start else run.today
    every = run.eval.duration(cycle.every)
    n = 1
    while (day := nth(every, base, n)) <= run.today:
        n += 1
    return start_of_day(day)


def schedule_boundaries(run: Run, token: Token, element: Any) -> None:
    """The boundary timers of a task or call activity the token just entered."""
    for boundary in element.boundary:
        if isinstance(boundary, BoundaryTimer):
            if boundary.timer.cycle is not None:
                schedule_cycle(run, boundary.timer.cycle, token, boundary.id, 1)
            else:
                due = timer_due(run, boundary.timer, f"signaaltijd '{boundary.id}'")
                run.schedule("boundary", due, token=token.id, ref=boundary.id)


def schedule_cycle(run: Run, cycle: Cycle, token: Token, ref: str, occurrence: int) -> None:
    """The `occurrence`-th firing of a cyclic boundary timer (none after `times`)."""
    if cycle.times is not None and occurrence > cycle.times:
        return
    base = run.eval.required_date(cycle.start, f"herhaling van '{ref}'") if cycle.start else token.arrived_at
    base_day = base if isinstance(base, date) and not isinstance(base, datetime) else local_date(base)
    due = start_of_day(nth(run.eval.duration(cycle.every), base_day, occurrence))
    run.schedule("boundary", due, token=token.id, ref=ref, occurrence=occurrence)


def nth(every: Duration, base: date, n: int) -> date:
    """The n-th occurrence of a cycle after its base date."""
    scaled = Duration(years=every.years * n, months=every.months * n, days=every.days * n,
                      werkdagen=every.werkdagen * n)
    return scaled.after(base)
