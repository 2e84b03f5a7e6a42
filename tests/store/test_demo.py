"""`regie up --demo` loads its cases once, and only its own cases count as loaded."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from app.demo import demo_loaded, load_population, play
from app.demo_plan import SIZE, plan_population
from app.overview.kpis import kpis
from app.overview.radar import deadline_radar
from benchmarks import demo_load
from engine.calendar import local_date, start_of_day
from engine.validator import validate_paths
from store.db import make_engine, upgrade
from tests.store.conftest import ROOT, FakeClock

PHASES = {"warme_overdracht", "brede_intake", "pip", "leerroute", "nazorg", "medisch_advies"}
"""the phases of the asielstatushouder route a case can wait in"""


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


# --- the seeded population --------------------------------------------------------------------------

def _loaded(engine, now, size):
    """A service on the real definitions with the population loaded up to `now`."""
    library, problems = validate_paths([ROOT / "process_definitions"])
    assert problems == []
    service = CaseService(engine, library, lambda: now, municipalities=["tilburg", "nederweert"])
    started = load_population(service, now, start_of_day(local_date(now)) - timedelta(minutes=1), size=size)
    return service, started


NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def test_the_plan_is_data_and_the_same_seed_plans_the_same_population():
    today = local_date(NOW)
    first, again = plan_population(today, size=80), plan_population(today, size=80)
    assert first == again
    assert plan_population(today, size=80, seed=7) != first
    assert len({c.case_ref for c in first}) == 80
    assert {c.municipality for c in first} == {"tilburg", "nederweert"}
    assert {c.definition for c in first} == {"asielstatushouder", "gezinsmigrant"}
    starts = [c.start_on for c in first]
    assert min(starts) < today - timedelta(days=2 * 365) and max(starts) > today - timedelta(days=60)
    # No real-looking personal data: no names, no BSN-like numbers, only pseudonymous references.
    assert all(c.case_ref.startswith("DEMO-") for c in first)
    assert not any(re.search(r"\d{9}", repr(c)) for c in first)


def _picture(service):
    with service.engine.connect() as conn:
        return sorted(conn.execute(sa.text("SELECT case_ref, status, phase, version FROM cases")).all())


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """The full population on SQLite, loaded once for the tests below (about 25 s on a busy machine)."""
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'regie.db'}")
    upgrade(engine)
    service, started = _loaded(engine, NOW, SIZE)
    yield service, started
    engine.dispose()


def test_the_population_gives_every_kpi_a_value_and_a_trend_where_it_has_one(population):
    service, started = population
    assert started == SIZE
    today = local_date(NOW)
    for municipality in ("tilburg", "nederweert"):
        indicators = kpis(service, municipality, today)
        assert all(k.value is not None and k.cases > 0 for k in indicators), \
            [(k.key, k.value, k.cases) for k in indicators]
        trends = [k for k in indicators if k.trend_norm is not None]
        assert trends and all(len(k.trend) >= 6 for k in trends), [(k.key, len(k.trend)) for k in trends]


def test_the_radar_has_overdue_and_upcoming_rows_in_both_municipalities(population):
    service, _ = population
    for municipality in ("tilburg", "nederweert"):
        rows = deadline_radar(service, municipality, local_date(NOW))
        assert any(r.overdue for r in rows) and any(not r.overdue for r in rows), municipality


def test_every_phase_of_the_route_has_cases_waiting_and_some_cases_are_closed(population):
    service, _ = population
    with service.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, phase FROM cases")).all()
    active_phases = {phase for status, phase in rows if status == "active"}
    assert PHASES <= active_phases, PHASES - active_phases
    assert any(status != "active" for status, _ in rows)


def test_loading_is_deterministic(engine, tmp_path):
    """The same seed and day give the same cases in the same phases at the same versions."""
    service, _ = _loaded(engine, NOW, 25)
    other = make_engine(f"sqlite:///{tmp_path / 'again.db'}")
    upgrade(other)
    again, _ = _loaded(other, NOW, 25)
    assert _picture(service) == _picture(again)
    other.dispose()


def test_the_demo_load_benchmark_runs_at_a_tiny_size():
    result = demo_load.run(cases=6, now=NOW)
    assert result["started"] == 6 and result["seconds"] >= 0
    assert "| 6 |" in demo_load.row(result)


def test_the_populations_virtual_past_is_settled_not_left_to_deliver(population):
    """Its three years of notices, events and inbox runs would take many minutes to deliver."""
    service, _ = population
    with service.engine.connect() as conn:
        total, pending = conn.execute(sa.text(
            "SELECT count(*), count(*) - count(delivered_at) FROM outbox WHERE case_ref LIKE 'DEMO-%'")).one()
    assert total > 1000 and pending == 0


def test_an_interrupted_load_is_not_played_twice(engine, tmp_path):
    """Cases that exist already are left as they are; only the missing ones are started and played."""
    service, first = _loaded(engine, NOW, 12)
    before = _picture(service)
    _, again = _loaded(engine, NOW, 12)
    assert first == 12 and again == 0 and _picture(service) == before
