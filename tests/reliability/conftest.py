"""Fixtures for the fault-injection tests: many due cases in a real store (SQLite, and PostgreSQL when
REGIE_TEST_DATABASE_URL is set), real local SMTP and HTTP receivers, the test municipality's partners,
and a Prefect side that only records (these tests are about the outbox, not about Prefect).

Cases are put in the store the way the sweep benchmark does it: one case is started by the engine and
its state is copied under other references, so a thousand due cases cost a second, not a minute.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
import sqlalchemy as sa

from app.bootstrap import build_notifier
from app.cases import CaseService
from app.settings import get_settings
from engine.commands import EmitEvent, NotifyRole
from engine.events import Started
from engine.interpreter import advance
from engine.loader import Library
from engine.state import new_case
from engine.validator import validate_paths
from integrations.apprise_notifier import AppriseNotifier
from store.db import write_transaction
from store.deliveries import SqlDeliveryLedger
from store.writes import cases, outbox, tasks
from tests.notifications.conftest import (  # noqa: F401 (fixtures)
    CATALOG,
    FIXTURES,
    ROOT,
    blocks,
    catalog,
    env,
    hooks,
    smtp,
)
from tests.store.conftest import MONDAY, FakeClock, clock, database, engine  # noqa: F401 (fixtures)

# The weekly nudge to the COA of a tour case started on Monday 2 March is due at the start of 9 March.
AFTER_NUDGE = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)
PROFILE = "testgemeente"


@pytest.fixture(scope="session")
def library() -> Library:
    """The catalogue, the small test definitions and the test municipality with its partners."""
    library, problems = validate_paths([CATALOG, ROOT / "tests" / "fixtures" / "definitions",
                                        FIXTURES / "testgemeente.yaml"])
    assert problems == []
    return library


@pytest.fixture
def service(engine: sa.Engine, library: Library, clock: FakeClock) -> CaseService:
    return CaseService(engine, library, clock, sweep_batch_size=100)


def notifier_for(engine: sa.Engine, library: Library, clock: Any, env: dict[str, str], tmp_path: Path,
                 **policy: Any) -> AppriseNotifier:
    """The notifier as a running Regie builds it (the one bootstrap's wiring), with this delivery policy."""
    settings = get_settings(_env_file=None, data_dir=tmp_path, notifier="apprise", notify=policy)
    notifier = build_notifier(settings, library, SqlDeliveryLedger(engine), engine, clock, env)
    assert isinstance(notifier, AppriseNotifier)
    return notifier


def seed_cases(engine: sa.Engine, library: Library, refs: Sequence[str], *, data: dict[str, Any] | None = None,
               profile: str | None = PROFILE) -> None:
    """Started tour cases (rondleiding, by `koppeling` on Monday 2 March) under these references."""
    process = library.process("rondleiding")
    started = advance(process, new_case("TEMPLATE", process.ref), Started(message="koppeling", data=data or {}),
                      MONDAY).state
    document = started.model_dump(mode="json")
    task = started.tasks[0]
    for first in range(0, len(refs), 500):
        chunk = refs[first:first + 500]
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(cases), [{
                "case_ref": ref, "municipality": "testdorp", "definition": process.ref, "profile": profile,
                "status": started.status, "phase": started.phase, "state": {**document, "case_ref": ref},
                "version": 1, "next_due_at": started.next_due_at(), "created_at": MONDAY, "updated_at": MONDAY,
            } for ref in chunk])
            conn.execute(sa.insert(tasks), [{
                "case_ref": ref, "task_id": task.id, "definition": process.ref, "step": task.element,
                "role": task.role, "municipality": "testdorp", "opened_at": task.opened_at, "due_on": task.due_on,
                "missed": False} for ref in chunk])


def queue(engine: sa.Engine, commands: Sequence[NotifyRole | EmitEvent]) -> None:
    """Put commands in the outbox, in this order (as a state change would)."""
    with write_transaction(engine) as conn:
        for first in range(0, len(commands), 500):
            conn.execute(sa.insert(outbox), [{
                "case_ref": c.case_ref, "key": c.key, "type": c.type, "payload": c.model_dump(mode="json"),
                "created_at": MONDAY, "attempts": 0} for c in commands[first:first + 500]])


def notice(case_ref: str, n: int, role: str) -> NotifyRole:
    """A plain message about a case to a role (template `bericht`)."""
    return NotifyRole(key=f"{case_ref}:{n}:notify", case_ref=case_ref, role=role, template="bericht",
                      context={"case_ref": case_ref})


@dataclass
class RecordingChannels:
    """The Prefect side of delivery, recording what it was asked to do (inbox runs, case events)."""

    opened: list[tuple[str, str]] = field(default_factory=list)
    closed: list[tuple[str, str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    async def open_tasks(self, entries: Sequence[Any]) -> None:
        self.opened += [(e.case_ref, e.task_id) for e in entries]

    async def close_task(self, case_ref: str, task_id: str, reason: Literal["completed", "cancelled"]) -> Any:
        self.closed.append((case_ref, task_id))
        return "closed"

    async def publish_events(self, events: Sequence[tuple[EmitEvent, str]], occurred: datetime) -> None:
        self.events += [command.key for command, _ in events]
