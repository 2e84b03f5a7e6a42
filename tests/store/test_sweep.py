"""The timer sweep fires each due timer once, in batches, and keeps going past a case it cannot advance."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from app.sweep import SweepFailed
from store.db import upgrade
from store.writes import outbox
from tests.store.conftest import Database, FakeClock, count, rows, start

# The weekly nudge to the COA (boundary timer `coa_herinneren`) of a case started on Monday 2 March
# is due at the start of Monday 9 March, Dutch time.
NUDGE_DUE = datetime(2026, 3, 8, 23, 0, tzinfo=UTC)
AFTER_NUDGE = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def _start_many(service: CaseService, n: int) -> list[str]:
    refs = [f"RMD-2026-{i:04d}" for i in range(1, n + 1)]
    for ref in refs:
        start(service, ref)
    return refs


def _nudges(engine: sa.Engine) -> list[tuple[str, int, int]]:
    """Per case: how often the COA nudge fired (history), and how often it was queued for sending (outbox)."""
    fired = Counter(r.case_ref for r in rows(
        engine, "SELECT case_ref FROM case_history WHERE kind = 'timer_fired' AND ref = 'coa_herinneren'"))
    with engine.connect() as conn:
        notices = conn.execute(sa.select(outbox.c.case_ref, outbox.c.payload).where(outbox.c.type == "notify"))
        queued = Counter(r.case_ref for r in notices if r.payload["role"] == "coa")
    refs = [r.case_ref for r in rows(engine, "SELECT case_ref FROM cases ORDER BY case_ref")]
    return [(ref, fired[ref], queued[ref]) for ref in refs]


def test_nothing_fires_before_it_is_due_and_nothing_fires_twice(service: CaseService, clock: FakeClock,
                                                                engine: sa.Engine):
    start(service)
    clock.now = NUDGE_DUE.replace(hour=22)

    assert service.fire_due_timers().cases_advanced == 0

    clock.now = AFTER_NUDGE
    report = service.fire_due_timers()
    again = service.fire_due_timers()

    assert (report.cases_advanced, report.batches, report.now) == (1, 1, AFTER_NUDGE)
    assert report.commands_queued > 0
    assert again.cases_advanced == 0
    assert _nudges(engine) == [("RMD-2026-0001", 1, 1)]
    case = service.show_case("RMD-2026-0001")
    assert case.version == 2
    assert case.next_due_at > AFTER_NUDGE
    assert [h.kind for h in case.history if h.version == 2] == ["timer_fired", "notified"]
    assert {h.actor for h in case.history if h.version == 2} == {"system"}


def test_the_sweep_takes_due_cases_in_batches_and_stops_at_a_limit(service: CaseService, clock: FakeClock,
                                                                   engine: sa.Engine):
    _start_many(service, 25)
    clock.now = AFTER_NUDGE

    limited = service.fire_due_timers(batch_size=10, limit=12)
    rest = service.fire_due_timers(batch_size=10)

    assert (limited.cases_advanced, limited.batches) == (12, 2)
    assert (rest.cases_advanced, rest.batches) == (13, 2)
    assert {(n, q) for _, n, q in _nudges(engine)} == {(1, 1)}


def test_a_case_the_engine_cannot_advance_is_set_aside_and_the_others_go_on(service: CaseService,
                                                                              clock: FakeClock, engine: sa.Engine):
    _start_many(service, 5)
    with engine.begin() as conn:  # a definition that has since disappeared from the library
        conn.execute(sa.text("UPDATE cases SET definition = 'opgeheven@1' WHERE case_ref = 'RMD-2026-0003'"))
    clock.now = AFTER_NUDGE

    report = service.fire_due_timers(batch_size=2)
    again = service.fire_due_timers(batch_size=2)

    assert report.cases_advanced == 4
    assert [(f.case_ref, f.error) for f in report.failed] == [
        ("RMD-2026-0003", "de procesdefinitie of het gemeenteprofiel van de zaak ontbreekt of werkt niet "
                          "(UnknownDefinition)")]
    with pytest.raises(SweepFailed, match=r"1 zaak/zaken konden niet verder en zijn opzijgezet .*: RMD-2026-0003"):
        report.raise_for_failures()
    assert (again.cases_advanced, again.failed) == (0, [])  # the stuck case is no longer claimed
    assert rows(engine, "SELECT case_ref, version, status, next_due_at IS NULL FROM cases ORDER BY case_ref") == [
        ("RMD-2026-0001", 2, "active", False), ("RMD-2026-0002", 2, "active", False),
        ("RMD-2026-0003", 1, "stuck", True), ("RMD-2026-0004", 2, "active", False),
        ("RMD-2026-0005", 2, "active", False)]
    assert count(engine, "case_history", case_ref="RMD-2026-0003", kind="timer_fired") == 0
    assert count(engine, "case_history", case_ref="RMD-2026-0003", kind="case_stuck") == 1
    with engine.connect() as conn:
        [notice] = conn.execute(sa.select(outbox.c.key, outbox.c.payload).where(
            outbox.c.case_ref == "RMD-2026-0003", outbox.c.key.like("%vastgelopen"))).all()
    assert notice.key == "RMD-2026-0003:1:vastgelopen"
    assert (notice.payload["role"], notice.payload["template"]) == ("coordinator", "zaak_vastgelopen")


def test_two_sweeps_at_once_fire_each_timer_exactly_once(database: Database, library):
    setup = database.engine()
    upgrade(setup)
    _start_many(CaseService(setup, library, FakeClock()), 120)
    clock = FakeClock(AFTER_NUDGE)
    gate = threading.Barrier(2, timeout=10)

    def sweep_in_own_worker(_: int):
        engine = database.engine()  # each worker has its own connections
        try:
            gate.wait()
            return CaseService(engine, library, clock).fire_due_timers(batch_size=5)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(2) as pool:
        reports = list(pool.map(sweep_in_own_worker, range(2)))

    assert sum(r.cases_advanced for r in reports) == 120
    assert all(r.failed == [] for r in reports)
    assert {(n, q) for _, n, q in _nudges(setup)} == {(1, 1)}
    assert rows(setup, "SELECT DISTINCT version FROM cases") == [(2,)]
    setup.dispose()
