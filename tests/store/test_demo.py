"""`regie up --demo` loads its cases once, and only its own cases count as loaded."""

from __future__ import annotations

from app.cases import CaseService
from app.demo import demo_loaded, play
from engine.validator import validate_paths
from tests.store.conftest import ROOT, FakeClock


def test_real_tilburg_cases_do_not_count_as_the_demo_but_the_demo_does(engine):
    library, problems = validate_paths([ROOT / "process_definitions"])
    assert problems == []
    clock = FakeClock()
    service = CaseService(engine, library, clock)
    service.start_trajectory(case_ref="TIL-2026-0042", definition="asielstatushouder", municipality="tilburg",
                             start_message="koppeling", actor="anna")

    assert not demo_loaded(service)

    play(lambda c: CaseService(engine, library, c), clock.now, sweep_until=clock.now)
    assert demo_loaded(service)
