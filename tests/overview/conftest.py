"""Fixtures for the overview tests: the real Wi2021 definitions, a real case store (SQLite, and PostgreSQL
with REGIE_TEST_DATABASE_URL), a clock the test moves, and a desk that plays dated case events.

Cases are built only through `CaseService`: started by `koppeling`, messages delivered, steps completed,
and every timer fired at its own moment on the way to the next date. Nothing sleeps.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from app.cases import CaseService
from engine.calendar import NL
from engine.loader import DEFAULT_DIR, Library
from engine.simulation import load_scenario
from engine.validator import validate_paths
from store.writes import cases
# The store tests' databases: each test runs on a fresh SQLite file and, with REGIE_TEST_DATABASE_URL,
# on a fresh PostgreSQL schema.
from tests.store.conftest import FakeClock, database, engine  # noqa: F401  (fixtures used by name)

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"

# Quiet and offline, before anything starts a Prefect server (the one end-to-end test does).
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


def nine(day: date) -> datetime:
    """09:00 Dutch time on a day: when operators act."""
    return datetime.combine(day, time(9, 0), tzinfo=NL)


@pytest.fixture(scope="session")
def wi2021() -> Library:
    library, problems = validate_paths([DEFAULT_DIR])
    assert problems == []
    return library


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(nine(date(2026, 2, 2)))


@pytest.fixture
def service(engine: sa.Engine, wi2021: Library, clock: FakeClock) -> CaseService:
    return CaseService(engine, wi2021, clock)


class Desk:
    """The municipality's desk in virtual time: every action at 09:00 on its day, timers fired between."""

    def __init__(self, service: CaseService, clock: FakeClock):
        self.service, self.clock = service, clock

    def on(self, day: date) -> None:
        """Move to 09:00 on `day`, firing every timer at its own moment on the way."""
        target = nine(day)
        while True:
            with self.service.engine.connect() as conn:
                due = conn.execute(select(func.min(cases.c.next_due_at))).scalar()
            if due is None or due > target:
                break
            self.clock.now = max(due, self.clock.now)
            self.service.fire_due_timers()
        self.clock.now = max(target, self.clock.now)

    def start(self, case_ref: str, day: date, *, municipality: str = "tilburg", klantregisseur: str | None = None,
              verblijfsvergunning_op: date | None = None, **extra):
        self.on(day)
        data = {"klantregisseur_id": klantregisseur} if klantregisseur else {}
        if verblijfsvergunning_op is not None:
            data["verblijfsvergunning_op"] = verblijfsvergunning_op
        return self.service.start_trajectory(case_ref=case_ref, definition="asielstatushouder",
                                             municipality=municipality, start_message="koppeling", data=data,
                                             actor="coa-import", **extra)

    def complete(self, case_ref: str, step: str, day: date, **data):
        self.on(day)
        return self.service.complete_step(case_ref=case_ref, task=step, data=data, actor="kr-test")

    def message(self, case_ref: str, message: str, day: date, **data):
        self.on(day)
        return self.service.deliver_message(case_ref=case_ref, message=message, data=data, actor="kr-test")

    def play(self, script: list[tuple]) -> None:
        """Run (day, case_ref, "complete" | "message", name, data) lines in date order."""
        for day, case_ref, action, name, data in sorted(script, key=lambda line: line[0]):
            (self.complete if action == "complete" else self.message)(case_ref, name, day, **data)


@pytest.fixture
def desk(service: CaseService, clock: FakeClock) -> Desk:
    return Desk(service, clock)


def scenario_script(name: str, case_ref: str) -> list[tuple]:
    """A scenario file's events as desk script lines for another case reference."""
    scenario = load_scenario(SCENARIOS / f"{name}.yaml")
    return [(e.on, case_ref, "complete" if e.complete else "message", e.complete or e.message, dict(e.data))
            for e in scenario.events]
