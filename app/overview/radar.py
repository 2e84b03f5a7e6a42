"""The deadline radar: what is overdue and what falls due soon, open tasks and legal clocks together, and
on top what is stuck: cases the sweep set aside, and partner channels that are down (`app.faults`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from app.faults import Faults, current_faults
from engine.calendar import local_date
from engine.definitions import Clock, UserTask
from engine.state import ClockState
from store.overview_reads import CaseDoc, FactFilter, case_docs, history_facts, tasks_due

if TYPE_CHECKING:
    from app.cases import CaseService
    from engine.loader import Library


@dataclass(frozen=True)
class RadarRow:
    """Something due: an open task, or a legal clock (term or norm) that ends."""

    due_on: date
    overdue: bool
    kind: str  # "taak", "termijn"; or "zaak" (set aside) or "kanaal" (down)
    case_ref: str
    step: str  # step id or clock id; the channel id of a channel
    name: str
    role: str
    problem: str | None = None
    """"vastgelopen" or "storing": not a deadline but something that needs fixing (since `due_on`)"""


def deadline_radar(service: CaseService, municipality: str, today: date, days: int = 14) -> list[RadarRow]:
    """What is overdue and what falls due within `days`: open tasks and clocks, by date, then case and step.

    A running clock shows with the role warned before its end; a clock that ran out while what stops
    it has not happened yet (no home, no PIP) shows as overdue with the role told at its end.
    """
    horizon = today + timedelta(days=days)
    rows = [RadarRow(due_on=t.due_on, overdue=bool(t.missed or t.due_on < today), kind="taak", case_ref=t.case_ref,
                     step=t.step, name=_step_name(service.library, t.definition, t.step), role=t.role)
            for t in tasks_due(service.engine, municipality, horizon)]
    rows.extend(_clock_rows(service, municipality, today, horizon))
    rows.extend(fault_rows(current_faults(service, municipality=municipality, outbox=False)))
    return sorted(rows, key=lambda r: (r.problem is None, r.due_on, r.case_ref, r.kind, r.step))


def fault_rows(faults: Faults) -> list[RadarRow]:
    """Stuck cases and channels that are down, as radar rows (first on the radar, longest first)."""
    rows = [RadarRow(due_on=local_date(c.stuck_at), overdue=True, kind="zaak", case_ref=c.case_ref, step="-",
                     name=f"vastgelopen: {c.stuck_reason or '?'}; na herstel: regie case retry {c.case_ref}",
                     role="coordinator", problem="vastgelopen") for c in faults.stuck]
    rows += [RadarRow(due_on=local_date(h.down_since), overdue=True, kind="kanaal", case_ref="", step=h.channel,
                      name=f"berichten aan {h.recipient} via {h.service or '?'} komen niet aan "
                           f"({h.failures} pogingen achter elkaar mislukt); ze wachten tot het kanaal weer werkt",
                      role="coordinator", problem="storing") for h in faults.down if h.down_since is not None]
    return rows


def _step_name(library: Library, definition: str, step: str) -> str:
    element = next((e for e in library.definitions[definition].elements if e.id == step), None) \
        if definition in library.definitions else None
    return (element.name or step) if isinstance(element, UserTask) else step


def _clock_rows(service: CaseService, municipality: str, today: date, horizon: date) -> list[RadarRow]:
    candidates: list[tuple[CaseDoc, Clock, ClockState]] = []
    for doc in case_docs(service.engine, municipality, active_only=True):
        process = service.process_for(doc.definition, doc.profile)
        for clock_id, state in doc.clocks.items():
            clock = process.clocks[clock_id][1]
            if (state.status == "running" and state.end_on <= horizon) or (state.status == "expired" and clock.deadline):
                candidates.append((doc, clock, state))
    # Which expired clocks are settled after all: one query for the steps that would have stopped them.
    stop_steps = tuple(sorted({t.completed for _, clock, _ in candidates for t in clock.stop_on if t.completed}))
    completed = history_facts(service.engine, [FactFilter(("task_completed",), refs=stop_steps)],
                              municipality=municipality) if stop_steps else {}
    rows = []
    for doc, clock, state in candidates:
        if state.status == "expired":
            done = {f.element for f in completed.get(doc.case_ref, []) if f.on >= state.started_on}
            if any(t.message and t.message in doc.anchors for t in clock.stop_on) or \
                    any(t.completed in done for t in clock.stop_on if t.completed):
                continue
            role = clock.expiry.role if clock.expiry else "coordinator"
        else:
            role = next((m.notify.role for m in clock.milestones if m.before_end and m.notify), None) \
                or (clock.expiry.role if clock.expiry else "klantregisseur")
        rows.append(RadarRow(due_on=state.end_on, overdue=state.end_on < today or state.status == "expired",
                             kind="termijn", case_ref=doc.case_ref, step=clock.id, name=clock.name or clock.id,
                             role=role))
    return rows
