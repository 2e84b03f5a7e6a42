"""The COA import's group commit: alike starts share one engine run, and the rows written for each case
are exactly those its own `advance` would give; the benchmark runs at a tiny size so it never rots."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from app.stamping import Outcome, StampedChange, template_ref
from benchmarks import coa_import as benchmark
from engine.events import Started
from engine.interpreter import advance
from engine.state import new_case
from store.writes import CaseChange, history_rows

NOW = datetime(2028, 3, 1, 7, 30, tzinfo=UTC)  # after every koppeling below: events are never in the future


def rows_of(change: CaseChange) -> tuple:
    """Everything the store writes for a new case, as it would write it."""
    return change.state_json(), change.command_rows(), history_rows(change)


@pytest.mark.parametrize("profile", ["tilburg", "nederweert"])
@pytest.mark.parametrize("koppeling", [date(2026, 1, 5), date(2026, 4, 3), date(2026, 4, 27), date(2026, 12, 24),
                                       date(2028, 2, 29)])
def test_a_stamped_start_writes_exactly_what_the_cases_own_start_would(wi2021, profile, koppeling):
    process = wi2021.process("asielstatushouder", profile)
    event = Started(message="koppeling", occurred_on=koppeling, actor="coa-import")
    template = template_ref()
    outcome = Outcome.of(template, advance(process, new_case(template, process.ref), event, NOW))
    for case_ref in ("TIL-2026-87601E39452DAE4B", "NED-2028-0F00BA4D12345678"):
        before = new_case(case_ref, process.ref)
        common = dict(case_ref=case_ref, municipality=profile, definition=process.ref, profile=profile, based_on=0,
                      before=before, event=event.type, actor="coa-import", now=NOW)
        own = CaseChange(transition=advance(process, before, event, NOW), **common)
        stamped = StampedChange(transition=outcome.transition, outcome=outcome, **common)
        assert rows_of(stamped) == rows_of(own)
        assert template not in str(rows_of(stamped)) and case_ref in stamped.state_json()


def test_the_coa_import_benchmark_runs_at_a_tiny_size():
    results = benchmark.run("sqlite", rows=40, baseline_rows=5, postgres_url=None)
    by_step = {r["step"]: r for r in results}
    assert by_step["dry run"]["started"] == 40 and by_step["import"]["started"] == 40
    assert by_step["again"]["already"] == 40 and by_step["again"]["started"] == 0
    assert by_step["baseline, one transaction per case"]["started"] == 5
    assert "| sqlite | import | 40 |" in benchmark.table(results)
