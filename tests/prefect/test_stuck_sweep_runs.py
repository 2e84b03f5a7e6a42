"""On Prefect: the sweep run that sets a case aside ends Failed, once, after saving and delivering the
rest; the runs after it complete, because the stuck case is no longer claimed (quarantine, not a halt)."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from flows.sweep import fire_due_timers
from tests.reliability.conftest import AFTER_NUDGE, seed_cases

REFS = ["RMD-2026-0001", "RMD-2026-0002", "RMD-2026-0003"]


@pytest.mark.prefect
@pytest.mark.usefixtures("prefect_server")
def test_the_sweep_run_that_sets_a_case_aside_fails_once_and_the_next_runs_complete(rt, clock):
    seed_cases(rt.engine, rt.library, REFS, profile=None)
    with rt.engine.begin() as conn:
        conn.execute(sa.text("UPDATE cases SET definition = 'opgeheven@1' WHERE case_ref = 'RMD-2026-0002'"))
    clock.now = AFTER_NUDGE

    first = asyncio.run(fire_due_timers(return_state=True))
    clock.advance(minutes=1)
    second = asyncio.run(fire_due_timers(return_state=True))

    assert first.is_failed()
    assert "1 zaak/zaken konden niet verder en zijn opzijgezet" in first.message
    assert second.is_completed() and second.result()["cases_advanced"] == 0
    assert [c.case_ref for c in rt.service.stuck_cases()] == ["RMD-2026-0002"]
    assert {rt.service.show_case(ref).version for ref in ("RMD-2026-0001", "RMD-2026-0003")} == {2}
    # The rest was delivered in the failed run: the nudges, and the coordinator's notice about the stuck case.
    assert {c.template for c in rt.notifier.sent} == {"bericht", "zaak_vastgelopen"}
    assert rt.service.pending_commands() == []
