"""Commands wait in the outbox until delivered; a crash between commit and delivery loses nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from engine.commands import EmitEvent, NotifyRole, OpenUserTask
from engine.events import TaskCompleted
from store.db import upgrade, write_transaction
from store.errors import CommandNotFound
from store.outbox import Finished, OutboxItem
from store.writes import outbox, queue_commands
from tests.store.conftest import Database, FakeClock, count, rows, start

REF = "RMD-2026-0001"


class RecordingPartner:
    """A fake receiving end: remembers every delivery by key, as a real receiver would dedupe on it."""

    def __init__(self) -> None:
        self.received: list[str] = []

    def receive(self, item: OutboxItem) -> None:
        self.received.append(item.key)


def _deliver(service: CaseService, partner: RecordingPartner, items: list[OutboxItem]) -> list[bool]:
    outcomes = []
    for item in items:
        partner.receive(item)
        outcomes.append(service.mark_delivered(item.key))
    return outcomes


def test_commands_committed_before_a_crash_are_delivered_after_restart(database: Database, library):
    engine = database.engine()
    upgrade(engine)
    before_crash = CaseService(engine, library, FakeClock())
    case = start(before_crash)
    queued = [item.key for item in before_crash.pending_commands()]
    engine.dispose()  # the worker dies after the commit, before anything was delivered
    del before_crash

    restarted_engine = database.engine()
    clock = FakeClock(datetime(2026, 3, 2, 8, 5, tzinfo=UTC))
    restarted = CaseService(restarted_engine, library, clock)
    pending = restarted.pending_commands()
    partner = RecordingPartner()

    assert [item.key for item in pending] == queued
    assert {type(item.command()) for item in pending} == {EmitEvent, OpenUserTask, NotifyRole}
    assert _deliver(restarted, partner, pending) == [True] * len(pending)
    # A second worker that had read the same pending list delivers them again: the store keeps one
    # delivery per key, the first delivery time stays, and nothing is pending any more.
    assert _deliver(restarted, partner, pending) == [False] * len(pending)
    assert restarted.pending_commands() == []
    assert count(restarted_engine, "outbox") == len(queued)
    with restarted_engine.connect() as conn:
        assert set(conn.execute(sa.select(outbox.c.delivered_at)).scalars()) == {clock.now}
    assert restarted.show_case(REF).version == case.version
    restarted_engine.dispose()


def test_a_command_queued_twice_is_kept_once(service: CaseService, engine: sa.Engine):
    start(service)
    first = service.prepare_change(REF, TaskCompleted(task="klantprofiel", data={"scenario": "snelle_start"},
                                                      actor="anna"))
    service.commit_change(first)
    before = rows(engine, "SELECT id, key, created_at FROM outbox ORDER BY id")

    with write_transaction(engine) as conn:
        assert queue_commands(conn, [first]) == len(first.transition.commands) > 0

    assert rows(engine, "SELECT id, key, created_at FROM outbox ORDER BY id") == before


def test_a_failed_delivery_counts_an_attempt_and_keeps_the_command_pending(service: CaseService):
    start(service)
    key = service.pending_commands()[0].key

    service.mark_failed(key, "smtp: 451 try again later")
    service.mark_failed(key, "smtp: 451 try again later")

    item = next(i for i in service.pending_commands() if i.key == key)
    assert (item.attempts, item.last_error) == (2, "smtp: 451 try again later")
    assert key not in [i.key for i in service.pending_commands(max_attempts=2)]
    assert service.mark_delivered(key) is True
    assert key not in [i.key for i in service.pending_commands()]
    service.mark_failed(key, "late failure report")  # a delivered command stays delivered
    assert key not in [i.key for i in service.pending_commands()]


def test_unknown_keys_are_an_error(service: CaseService):
    with pytest.raises(CommandNotFound, match="geen opdracht in de outbox met sleutel 'RMD-0:1:notify'"):
        service.mark_delivered("RMD-0:1:notify")
    with pytest.raises(CommandNotFound):
        service.mark_failed("RMD-0:1:notify", "boom")


def test_pending_commands_can_be_filtered_by_type(service: CaseService):
    start(service)

    notices = service.pending_commands(types=["notify"])

    assert [(i.type, i.payload["role"], i.payload["template"]) for i in notices] == [
        ("notify", "klantregisseur", "taak_geopend")]



# --- claims: ready rows only, held for a lease, shared by drains ------------------------------------

LEASE = timedelta(minutes=5)


def test_a_claim_takes_only_ready_rows_and_holds_them_for_its_lease(service: CaseService, clock: FakeClock):
    start(service)
    keys = [i.key for i in service.pending_commands()]
    waiting = service.claim_commands(1, lease=LEASE, max_attempts=50)
    service.finish_commands([Finished(waiting[0].key, "smtp: 451", retry_at=clock.now + timedelta(minutes=10))])

    held = service.claim_commands(100, lease=LEASE, max_attempts=50)  # the row that waits hides nothing
    none_left = service.claim_commands(100, lease=LEASE, max_attempts=50)
    clock.advance(minutes=5)
    lease_over = service.claim_commands(100, lease=LEASE, max_attempts=50)
    service.finish_commands([Finished(i.key) for i in lease_over])
    clock.advance(minutes=5)
    retry_due = service.claim_commands(100, lease=LEASE, max_attempts=50)

    assert [i.key for i in held] == keys[1:] and none_left == []
    assert [i.key for i in lease_over] == keys[1:]
    assert [i.key for i in retry_due] == [keys[0]] and retry_due[0].attempts == 1


def test_finishing_a_batch_records_deliveries_failures_and_waits_at_once(service: CaseService, clock: FakeClock,
                                                                        engine: sa.Engine):
    start(service)
    first, second, third = service.claim_commands(3, lease=LEASE, max_attempts=50)
    later = clock.now + timedelta(minutes=2)

    delivered = service.finish_commands([Finished(first.key), Finished(second.key, "down", retry_at=later),
                                         Finished(third.key, "channel down", attempted=False, retry_at=later)])
    again = service.finish_commands([Finished(first.key)])  # another drain had it too

    assert (delivered, again) == ({first.key}, set())
    got = {r.key: (r.attempts, r.last_error, r.delivered_at is not None) for r in rows(
        engine, "SELECT key, attempts, last_error, delivered_at FROM outbox") if r.key in (first.key, second.key,
                                                                                           third.key)}
    assert got == {first.key: (1, None, True), second.key: (1, "down", False), third.key: (0, "channel down", False)}
    box = service.outbox_summary(50)
    others = len(service.pending_commands(100)) - 2
    assert (box.ready, box.waiting, box.given_up, box.next_attempt_at) == (others, 2, 0, later)


def test_two_drains_on_postgresql_claim_different_rows_and_neither_waits(pg_database: Database, library):
    engine = pg_database.engine()
    upgrade(engine)
    clock = FakeClock()
    service = CaseService(engine, library, clock)
    for n in range(1, 5):
        start(service, f"RMD-2026-{n:04d}")
    total = len(service.pending_commands(100))
    with engine.connect() as other, other.begin():  # a drain in the middle of its claim holds four rows
        held = other.execute(sa.text("SELECT id FROM outbox ORDER BY id LIMIT 4 FOR UPDATE")).scalars().all()
        mine = service.claim_commands(100, lease=LEASE, max_attempts=50)

    assert len(held) == 4 and len(mine) == total - 4
    assert not {i.id for i in mine} & set(held)
    engine.dispose()
