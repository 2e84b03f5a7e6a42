"""Engine benchmark: transitions per second and bytes of serialised state per case.

    .venv/bin/python benchmarks/engine.py [--cases 10000]

Drives N synthetic cases through benchmarks/definitions/bench.yaml (user task with a boundary timer,
an exclusive gateway, a parallel split and join): start, fire due timers, complete the intake, then
both parallel tasks. Reports advance() calls per second on one core (without and with the JSON
round-trip the case store does), and the size of the JSON state at its largest point. Then runs one
full asielstatushouder trajectory, if the Wi2021 definitions are present, and reports its state size.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.events import Started, TaskCompleted  # noqa: E402
from engine.interpreter import advance, fire_due_timers  # noqa: E402
from engine.simulation import load_scenario, simulate  # noqa: E402
from engine.state import CaseState, new_case  # noqa: E402
from engine.validator import validate_paths  # noqa: E402

FULL_TRAJECTORY = ROOT / "tests" / "scenarios" / "asielstatushouder_volledig.yaml"


def drive(process, n: int, roundtrip: bool) -> tuple[int, float, list[int]]:
    transitions = 0
    sizes = []
    elapsed = 0.0
    t0 = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    for i in range(n):
        now = t0 + timedelta(minutes=i)
        state = new_case(f"BENCH-{i:06d}", process.ref)
        route = "duaal" if i % 3 else "alleen_taal"
        events = [
            (Started(message="koppeling"), now),
            (None, now + timedelta(days=9)),
            (TaskCompleted(task="intake", data={"route": route, "gesprek_datum": "2026-01-14"}),
             now + timedelta(days=9)),
        ]
        events += ([(TaskCompleted(task="taal"), now + timedelta(days=20)),
                    (TaskCompleted(task="werk"), now + timedelta(days=30))] if route == "duaal"
                   else [(TaskCompleted(task="taal_alleen"), now + timedelta(days=20))])
        largest = 0
        for event, at in events:
            start = time.perf_counter()
            if event is None:
                step = fire_due_timers(process, state, at)
                transitions += sum(1 for h in step.happened if h.kind in ("timer_fired", "reminder_sent"))
            else:
                step = advance(process, state, event, at)
                transitions += 1
            state = step.state
            if roundtrip:
                state = CaseState.model_validate_json(state.model_dump_json())
            elapsed += time.perf_counter() - start
            largest = max(largest, len(state.model_dump_json()))
        assert state.status == "completed", state.status
        sizes.append(largest)
    return transitions, elapsed, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    args = parser.parse_args()
    library, problems = validate_paths([ROOT / "process_definitions" / "catalog.yaml",
                                        ROOT / "benchmarks" / "definitions"])
    assert not problems, problems
    process = library.process("benchmark@1")
    print(f"# engine benchmark, {date.today()} on {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {args.cases} cases")
    for roundtrip in (False, True):
        transitions, elapsed, sizes = drive(process, args.cases, roundtrip)
        label = "advance + JSON round-trip" if roundtrip else "advance only"
        print(f"{label}: {transitions} transitions in {elapsed:.2f} s = {transitions / elapsed:,.0f} per second; "
              f"state JSON median {statistics.median(sizes):,.0f} B, max {max(sizes):,} B")
    if FULL_TRAJECTORY.exists():
        full, problems = validate_paths([ROOT / "process_definitions"])
        assert not problems, problems
        result = simulate(full, load_scenario(FULL_TRAJECTORY))
        print(f"full trajectory ({FULL_TRAJECTORY.name}): {len(result.timeline)} happenings, "
              f"final state {len(result.state.model_dump_json()):,} B of JSON")


if __name__ == "__main__":
    main()
