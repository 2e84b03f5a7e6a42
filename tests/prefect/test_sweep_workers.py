"""Several workers sweep at once on PostgreSQL: a sweep skips the cases another worker holds, the next
sweep takes them, and every timer fires once."""

from __future__ import annotations

import asyncio
import os

import pytest
import sqlalchemy as sa

from app.bootstrap import Runtime, load_definitions, use
from app.cases import CaseService
from app.settings import get_settings
from flows.sweep import fire_due_timers
from integrations.notifier import LogNotifier
from store.db import upgrade
from store.deliveries import SqlDeliveryLedger
from tests.prefect.helpers import deliver
from tests.store.conftest import PG_ENV, PG_SKIP, pg_database  # noqa: F401 - the fixture: a fresh PostgreSQL schema

CASES = 30
# Skipped before the session's Prefect server would start for nothing.
pytestmark = pytest.mark.skipif(not os.environ.get(PG_ENV), reason=PG_SKIP)


@pytest.mark.postgres
@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_a_sweep_skips_cases_another_worker_holds_and_no_timer_fires_twice(pg_database, definitions_dir,  # noqa: F811
                                                                            clock, tmp_path):
    engine = pg_database.engine()
    upgrade(engine)
    settings = get_settings(data_dir=tmp_path, definitions_dir=definitions_dir)
    service = CaseService(engine, load_definitions(settings), clock, sweep_batch_size=4)
    rt = Runtime(settings=settings, service=service, ledger=SqlDeliveryLedger(engine), notifier=LogNotifier(),
                 clock=clock)
    refs = [f"RMD-2026-{n:04d}" for n in range(300, 300 + CASES)]
    for ref in refs:
        service.start_trajectory(case_ref=ref, definition="rondleiding", municipality="rotterdam",
                                 start_message="koppeling", actor="coa-import")
    with use(rt):
        deliver(rt)
        clock.advance(days=11, hours=1)  # the weekly COA nudge and the deadline reminder are due
        # Another worker is in the middle of a batch: it holds ten due cases.
        with engine.connect() as other, other.begin():
            other.execute(sa.text("SELECT case_ref FROM cases WHERE case_ref = ANY(:refs) FOR UPDATE"),
                          {"refs": refs[:10]})
            first = asyncio.run(fire_due_timers())
        # The other worker let go (its transaction ended without firing); the next sweep takes them.
        second = asyncio.run(fire_due_timers())
    assert (first["cases_advanced"], second["cases_advanced"]) == (CASES - 10, 10)
    for ref in refs:
        kinds = [h.kind for h in service.show_case(ref, history=100).history]
        assert kinds.count("reminder_sent") == 1, (ref, kinds)
    assert service.fire_due_timers().cases_advanced == 0
    assert service.pending_commands() == []
    engine.dispose()
