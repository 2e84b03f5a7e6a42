"""Legal clocks: terms that start on a trigger, can be paused (opschorting), extended (verlenging) and stopped.

A clock's `started_on` is the first day it counts; `end_on` is its last day. "Ten weeks from the day
after X" therefore ends on X + 10 weeks, and the three-year term from the day after the first PIP's
dagtekening D ends on D + 3 years, on the same day number (wi2021.md#13, row 17; see `last_day`).
The clock runs out at the start of the day after `end_on`. A pause adds its length in days to the
end; milestones after the start shift with it too.
"""

from __future__ import annotations

from datetime import date

from engine.calendar import add_days, day_after, start_of_day
from engine.definitions import Clock, Definition, Extension, Trigger
from engine.durations import Duration
from engine.people_time import day as written
from engine.run import Run
from engine.state import ClockState, Timer


# A clock with `first_only: false` restarts from a recomputed start while it runs, is paused, or has
# run out (the later anchor can arrive after an earlier start already expired); a stopped clock was
# met and stays stopped, unless the clock says `restart_after_stop` (a new application to DUO).
RESTARTABLE = ("running", "paused", "expired")


def last_day(started_on: date, duration: Duration) -> date:
    """The last day of a term that starts counting on `started_on` (before the Atw, if it applies).

    Counted from the event day D = the day before the first day (wi2021.md#13, row 17): N weeks end on
    D + 7N days, N months or years on D's day number N months or years later, or on the last day of
    that month where the day does not exist (28 Feb 2028 + 3 years: 28 Feb 2031; 31 Aug + 6 months:
    the last day of February). N working days end on the N-th working day after D.
    """
    return duration.after(add_days(started_on, -1))


def first_day_after(started_on: date, duration: Duration) -> date:
    """The first day after a term of `duration` from `started_on`: when a milestone `after_start` falls."""
    return day_after(last_day(started_on, duration))


def _matches(triggers: list[Trigger], kind: str, name: str) -> bool:
    return any(getattr(t, kind) == name for t in triggers)


def _applies(definition: Definition, kind: str, element_definition: str | None) -> bool:
    # `completed` and `reached` name elements of the clock's own definition only.
    return kind == "message" or element_definition == definition.ref


def _may_restart(clock: Clock, status: str | None) -> bool:
    if status is None:
        return True
    if clock.first_only:
        return False
    return status in RESTARTABLE or (status == "stopped" and clock.restart_after_stop)


def listeners(run: Run, message: str) -> list[str]:
    """Clocks that would act on this message now (so the message is expected).

    A start trigger counts even while `start_if` does not hold yet: the message is an anchor the clock
    waits for (DUO's notice before the BRP registration)."""
    found = []
    for clock_id, (_definition, clock) in run.process.clocks.items():
        state = run.state.clocks.get(clock_id)
        status = state.status if state else None
        if _matches(clock.start_on, "message", message) and _may_restart(clock, status):
            found.append(clock_id)
        elif status == "running" and _matches(clock.pause_on, "message", message):
            found.append(clock_id)
        elif status == "paused" and _matches(clock.resume_on, "message", message):
            found.append(clock_id)
        elif status in ("running", "paused", "expired") and (
            _matches(clock.stop_on, "message", message) or any(e.on.message == message for e in clock.extensions)
        ):
            found.append(clock_id)
    return found


def on_trigger(run: Run, kind: str, name: str, on: date, definition: str | None = None) -> None:
    """Let every clock react to something that happened in the case, in definition order."""
    for clock_id, (owner, clock) in run.process.clocks.items():
        if _applies(owner, kind, definition):
            with run.dates_for(f"termijn '{clock_id}'"):
                _react(run, clock, kind, name, on)


def _react(run: Run, clock: Clock, kind: str, name: str, on: date) -> None:
    state = run.state.clocks.get(clock.id)
    status = state.status if state else None
    if _matches(clock.start_on, kind, name) and _may_restart(clock, status):
        if clock.start_if is None or run.eval.holds(clock.start_if):
            started = _start(run, clock, on, restart=status is not None)
            # A clock started and stopped by the same event measures a term that already ended (the
            # koppeling within two weeks of a permit dated earlier).
            if started and _matches(clock.stop_on, kind, name):
                _stop(run, clock)
            return
    if status == "running" and _matches(clock.pause_on, kind, name):
        _pause(run, clock, on)
    elif status == "paused" and _matches(clock.resume_on, kind, name):
        _resume_requested(run, clock, on)
    if status in ("running", "paused", "expired") and _matches(clock.stop_on, kind, name):
        _stop(run, clock)
        return
    for extension in clock.extensions:
        if getattr(extension.on, kind) == name and status in ("running", "paused", "expired"):
            _extend(run, clock, extension)


def _start(run: Run, clock: Clock, on: date, restart: bool = False) -> bool:
    """Start (or restart from a recomputed date) a clock; False when a restart would change nothing."""
    if clock.start_from is not None:
        started_on = run.eval.required_date(clock.start_from, f"start van termijn '{clock.id}'")
    else:
        started_on = on
    old = run.state.clocks.get(clock.id)
    if restart and old is not None and old.started_on == started_on:
        return False
    counted = last_day(started_on, run.eval.duration(clock.duration))
    state = ClockState(id=clock.id, status="running", started_on=started_on, base_end=counted, atw=clock.atw)
    run.state.clocks[clock.id] = state
    run.cancel_timers(clock=clock.id)
    run.record("clock_restarted" if restart else "clock_started", clock.id,
               f"{written(started_on)} t/m {written(state.end_on)}{_atw_note(state)}", clock=clock.id,
               due_on=state.end_on)
    _schedule(run, clock)
    return True


def _days(n: int) -> str:
    return f"{n} {'dag' if n == 1 else 'dagen'}"


def _atw_note(state: ClockState) -> str:
    counted = state.counted_end
    return "" if state.end_on == counted else f" (geteld tot {written(counted)}; de Atw schuift het einde op)"


def _schedule(run: Run, clock: Clock) -> None:
    """(Re)schedule the milestones not yet fired and the expiry of a running clock."""
    state = run.state.clocks[clock.id]
    run.cancel_timers(clock=clock.id)
    if state.status != "running":
        return
    for milestone in clock.milestones:
        if milestone.id in state.fired:
            continue
        if milestone.after_start is not None:
            day = add_days(first_day_after(state.started_on, run.eval.duration(milestone.after_start)),
                           state.paused_days)
        else:
            day = run.eval.duration(milestone.before_end).before(state.end_on)
        run.schedule("milestone", start_of_day(day), clock=clock.id, ref=milestone.id)
    run.schedule("clock_expiry", start_of_day(day_after(state.end_on)), clock=clock.id)


def _pause(run: Run, clock: Clock, on: date) -> None:
    state = run.state.clocks[clock.id].model_copy(update={"status": "paused", "paused_since": on})
    run.state.clocks[clock.id] = state
    run.cancel_timers(clock=clock.id)
    run.record("clock_paused", clock.id, f"sinds {written(on)}", clock=clock.id, due_on=state.last_day_on(run.today))


def _resume_requested(run: Run, clock: Clock, on: date) -> None:
    if clock.resume_delay is None:
        _resume(run, clock, on)
        return
    resume_on = run.eval.duration(clock.resume_delay).after(on)
    state = run.state.clocks[clock.id].model_copy(update={"resume_on": resume_on})
    run.state.clocks[clock.id] = state
    run.cancel_timers(clock=clock.id)
    run.schedule("clock_resume", start_of_day(resume_on), clock=clock.id)
    run.record("clock_resume_planned", clock.id, f"op {written(resume_on)}", clock=clock.id,
               due_on=state.last_day_on(run.today))


def _resume(run: Run, clock: Clock, on: date) -> None:
    before = run.state.clocks[clock.id]
    state = _end_pause(before, on).model_copy(update={"status": "running"})
    run.state.clocks[clock.id] = state
    run.record("clock_resumed", clock.id, f"{_days(state.paused_days - before.paused_days)} gepauzeerd, "
               f"eindigt {written(state.end_on)}", clock=clock.id, due_on=state.end_on)
    _schedule(run, clock)


def _end_pause(state: ClockState, on: date) -> ClockState:
    """The pause (if any) ends on `on`: its days are added to the term."""
    if state.status != "paused" or state.paused_since is None:
        return state
    paused = max((on - state.paused_since).days, 0)
    return state.model_copy(update={"paused_since": None, "resume_on": None,
                                    "paused_days": state.paused_days + paused})


def _stop(run: Run, clock: Clock) -> None:
    """Stop the clock: met or late, judged on the date that counts (e.g. the PIP's dagtekening, whenever the
    PIP was recorded) against the last day as it stands today (a pause still running counts to today)."""
    state = run.state.clocks[clock.id]
    if clock.stopped_on is not None:
        counts = run.eval.required_date(clock.stopped_on, f"stop van termijn '{clock.id}'")
    else:
        counts = run.today
    state = _end_pause(state, run.today).model_copy(update={"status": "stopped"})
    run.state.clocks[clock.id] = state
    run.cancel_timers(clock=clock.id)
    met = counts <= state.end_on
    when = "" if counts == run.today else f" op {written(counts)}"
    verdict = "op tijd" if met else "te laat"
    run.record("clock_stopped", clock.id, f"{verdict}{when}, laatste dag {written(state.end_on)}",
               clock=clock.id, due_on=state.end_on, verdict="on_time" if met else "late")


def _extend(run: Run, clock: Clock, extension: Extension) -> None:
    state = run.state.clocks[clock.id]
    if extension.new_end is not None:
        new_end = run.eval.required_date(extension.new_end, f"verlenging van termijn '{clock.id}'")
    else:
        # By the decided length, from the last day as counted (the Atw applies to the new end again).
        new_end = run.eval.duration(extension.by).after(state.counted_end)
    status = "running" if state.status == "expired" else state.status
    fired = tuple(m for m in state.fired if m not in {x.id for x in clock.milestones if x.before_end is not None})
    state = state.model_copy(update={
        "base_end": add_days(new_end, -state.paused_days), "extended": True, "status": status, "fired": fired,
    })
    run.state.clocks[clock.id] = state
    run.record("clock_extended", clock.id, f"eindigt {written(state.end_on)}", clock=clock.id, due_on=state.end_on)
    _schedule(run, clock)


def close_all(run: Run) -> None:
    """The case ended: clocks still running stop with it (no milestones or expiry for a closed case)."""
    for clock_id, state in list(run.state.clocks.items()):
        if state.status in ("running", "paused"):
            run.state.clocks[clock_id] = state.model_copy(update={"status": "stopped", "paused_since": None})
            # No verdict: the term neither was met nor ran out, the case ended around it.
            run.record("clock_stopped", clock_id, f"zaak gesloten, laatste dag {written(state.end_on)}",
                       clock=clock_id, due_on=state.end_on)


def fire(run: Run, timer: Timer) -> None:
    """A clock's timer came due: a milestone, the expiry, or the end of a pause."""
    _owner, clock = run.process.clocks[timer.clock]
    state = run.state.clocks[clock.id]
    if timer.kind == "clock_resume":
        _resume(run, clock, state.resume_on)
        return
    if timer.kind == "milestone":
        milestone = next(m for m in clock.milestones if m.id == timer.ref)
        run.state.clocks[clock.id] = state.model_copy(update={"fired": state.fired + (milestone.id,)})
        run.record("milestone_reached", f"{clock.id}.{milestone.id}", f"laatste dag {written(state.end_on)}",
                   clock=clock.id, element=milestone.id, due_on=state.end_on)
        if milestone.set:
            run.set_data(milestone.set, f"mijlpaal '{milestone.id}'")
        if milestone.notify is not None:
            run.notify(milestone.notify, reason=f"milestone {clock.id}.{milestone.id}")
        return
    if state.end_on >= run.today:
        # The last day moved after the expiry was scheduled (a royal decree added a holiday since):
        # the term still runs, so the expiry waits for the new day after it.
        run.schedule("clock_expiry", start_of_day(day_after(state.end_on)), clock=clock.id)
        return
    run.state.clocks[clock.id] = state.model_copy(update={"status": "expired"})
    run.record("clock_expired", clock.id, f"laatste dag was {written(state.end_on)}",
               clock=clock.id, due_on=state.end_on, verdict="missed")
    if clock.deadline:
        run.record("deadline_missed", clock.id, f"laatste dag was {written(state.end_on)}",
                   clock=clock.id, due_on=state.end_on, verdict="missed")
    if clock.expiry is not None:
        run.notify(clock.expiry, reason=f"clock {clock.id} expired")
