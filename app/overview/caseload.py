"""The caseload of a municipality (P14): open cases by phase, open and overdue tasks, in total and per
klantregisseur (by work code)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from store.overview_reads import caseload_counts

if TYPE_CHECKING:
    from app.cases import CaseService

UNASSIGNED = "niet toegewezen"
"""Caseload group of cases without a `klantregisseur_id` (P14)."""


@dataclass(frozen=True)
class CaseloadRow:
    """Open cases of one group (the municipality, or one klantregisseur) by phase, with their tasks."""

    group: str
    cases: int = 0
    by_phase: dict[str, int] = field(default_factory=dict)
    open_tasks: int = 0
    overdue_tasks: int = 0


@dataclass(frozen=True)
class Caseload:
    """The caseload of a municipality: in total and per klantregisseur (by work code)."""

    municipality: str
    today: date
    phases: list[str]
    total: CaseloadRow
    by_klantregisseur: list[CaseloadRow]


def caseload(service: CaseService, municipality: str, today: date, *,
             phase_order: Iterable[str] | None = None) -> Caseload:
    """Open (active) cases per phase, open tasks and overdue tasks: for the municipality and per klantregisseur.

    A task is overdue when its due date lies before `today` (or the engine marked it missed). Cases
    without a `klantregisseur_id` are counted under "niet toegewezen". Phases are shown in `phase_order`
    (default: the catalogue's order), phases it does not name after them alphabetically.
    """
    counts = caseload_counts(service.engine, municipality, today)
    groups: dict[str, dict[str, Any]] = defaultdict(lambda: {"cases": 0, "by_phase": {}, "open": 0, "overdue": 0})
    seen_phases: set[str] = set()
    for count in counts.by_phase:
        g, phase = groups[count.klantregisseur or UNASSIGNED], count.phase or "-"
        g["cases"] += count.cases
        g["by_phase"][phase] = g["by_phase"].get(phase, 0) + count.cases
        seen_phases.add(phase)
    for count in counts.tasks:
        g = groups[count.klantregisseur or UNASSIGNED]
        g["open"] += count.open_tasks
        g["overdue"] += count.overdue_tasks
    rows = [CaseloadRow(group=who, cases=g["cases"], by_phase=dict(g["by_phase"]), open_tasks=g["open"],
                        overdue_tasks=g["overdue"])
            for who, g in sorted(groups.items(), key=lambda item: (item[0] == UNASSIGNED, item[0]))]
    total_phase: dict[str, int] = defaultdict(int)
    for row in rows:
        for phase, n in row.by_phase.items():
            total_phase[phase] += n
    catalog = service.library.catalog
    named = list(phase_order if phase_order is not None else catalog.phases if catalog else ())
    order = [p for p in named if p in seen_phases] + sorted(seen_phases - set(named))
    total = CaseloadRow(group=municipality, cases=sum(r.cases for r in rows),
                        by_phase={p: total_phase[p] for p in order}, open_tasks=sum(r.open_tasks for r in rows),
                        overdue_tasks=sum(r.overdue_tasks for r in rows))
    return Caseload(municipality=municipality, today=today, phases=order, total=total, by_klantregisseur=rows)
