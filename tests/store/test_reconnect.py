"""A PostgreSQL connection the server ends (a restart, `pg_terminate_backend`) does not break the service.

The pool does not ping before each use any more (a round trip per transaction): a checkout notices a
connection the server closed on its socket, and a change whose connection dies before its COMMIT is
run again once on a fresh connection.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from store.db import make_engine, upgrade
from tests.store.conftest import Database, FakeClock, count, start

pytestmark = pytest.mark.postgres

REF = "RMD-2026-0001"


@pytest.fixture
def named(pg_database: Database) -> Iterator[tuple[sa.Engine, str]]:
    """An engine whose connections carry a name of their own, so a test can end exactly those."""
    name = f"regie-test-{uuid.uuid4().hex[:8]}"
    engine = make_engine(pg_database.url, search_path=pg_database.search_path,
                         connect_args={"application_name": name})
    upgrade(engine)
    yield engine, name
    engine.dispose()


def terminate(url: str, name: str) -> int:
    """End every server process of the connections called `name`, as a restart would; how many."""
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            # With a timeout the call returns once each process has ended (PostgreSQL 14+), so its
            # connections have been told by then; without one it only sends the signal.
            return len(conn.execute(sa.text("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                                            " WHERE application_name = :name"), {"name": name}).all())
    finally:
        admin.dispose()


def test_reads_and_changes_after_the_servers_end_of_every_pooled_connection_work(named, pg_database, library):
    engine, name = named
    service = CaseService(engine, library, FakeClock())
    start(service)
    with engine.connect(), engine.connect():  # two connections in the pool, both idle again after this
        pass
    assert terminate(pg_database.url, name) >= 1

    assert service.show_case(REF).version == 1  # a read is not run again: the checkout found it dead
    view = service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "snelle_start"},
                                 actor="anna", expected_version=1)

    assert view.version == 2
    assert service.show_case(REF).version == 2
    assert count(engine, "case_history", actor="anna", kind="task_completed") == 1


class DyingClock(FakeClock):
    """Ends the service's connections the first time the engine reads the clock: inside the change's
    transaction, after the case row was locked and before anything was written."""

    def __init__(self, url: str, name: str):
        super().__init__()
        self.url, self.name, self.ended = url, name, 0

    def __call__(self):
        if not self.ended:
            self.ended = terminate(self.url, self.name)
        return super().__call__()


def test_a_change_whose_connection_dies_before_the_commit_is_made_once_on_a_new_one(named, pg_database,
                                                                                  library):
    engine, name = named
    start(CaseService(engine, library, FakeClock()))
    clock = DyingClock(pg_database.url, name)
    service = CaseService(engine, library, clock)

    view = service.complete_step(case_ref=REF, task="klantprofiel", data={"scenario": "snelle_start"},
                                 actor="anna", expected_version=1)

    assert clock.ended >= 1
    assert view.version == 2
    assert [h.kind for h in view.history].count("task_completed") == 1
    assert count(engine, "case_history", actor="anna", kind="task_completed") == 1
