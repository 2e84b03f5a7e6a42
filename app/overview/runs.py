"""What one overview run covers: the case service's clock read once, the municipalities that have cases,
and the cases whose history changed since the previous run."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from engine.calendar import local_date
from store import overview_reads

if TYPE_CHECKING:
    from app.cases import CaseService


def read_clock(service: CaseService) -> tuple[datetime, date]:
    """The service's clock, read once: the instant and its Dutch calendar date (the `today` of a run)."""
    now = service.now()
    return now, local_date(now)


def municipalities(service: CaseService) -> list[str]:
    """Every municipality that has cases, alphabetically."""
    return overview_reads.municipalities(service.engine)


def changed_cases(service: CaseService, since: datetime | None) -> list[str]:
    """Cases with history recorded at or after `since` (every case when None), by reference."""
    return overview_reads.changed_cases(service.engine, since)
