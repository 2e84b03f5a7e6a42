"""Regie's engine against SpiffWorkflow on the same process, in the same Python process.

    .venv/bin/pip install -e '.[bench]'          # SpiffWorkflow, for this benchmark only
    .venv/bin/python benchmarks/engine_vs_spiff.py [--cases 1000]

Both engines drive the same cases through the same process: benchmarks/definitions/keten.yaml for
Regie, benchmarks/definitions/keten.bpmn for SpiffWorkflow (16 user tasks, an exclusive gateway on the
route chosen at intake, a parallel split and join). A step is starting a case or completing one task;
after every step the case's state goes to JSON and back, as the case store does between two events
(Regie: `CaseState.model_dump_json` / `model_validate_json`; SpiffWorkflow: its serializer's
`serialize_json` / `deserialize_json`). Both parse their definition once, outside the timing. Reports
steps per second for each, the ratio, and the JSON state size per case (median and largest).
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
from engine.interpreter import advance  # noqa: E402
from engine.state import CaseState, new_case  # noqa: E402
from engine.validator import validate_paths  # noqa: E402

DEFINITIONS = ROOT / "benchmarks" / "definitions"
STEPS_PER_CASE = 17  # the start and 16 task completions, on either route


def route_of(i: int) -> str:
    # Two cases in three take the parallel route, as in benchmarks/engine.py.
    return "duaal" if i % 3 else "alleen_taal"


def regie(cases: int) -> tuple[int, float, list[int]]:
    library, problems = validate_paths([ROOT / "process_definitions" / "catalog.yaml", DEFINITIONS])
    assert not problems, problems
    process = library.process("keten@1")
    steps, elapsed, sizes = 0, 0.0, []
    t0 = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    for i in range(cases):
        now = t0 + timedelta(minutes=i)
        start = time.perf_counter()
        state = new_case(f"BENCH-{i:06d}", process.ref)
        text = advance(process, state, Started(message="koppeling"), now).state.model_dump_json()
        state = CaseState.model_validate_json(text)
        largest = len(text)
        steps += 1
        while state.tasks:
            task = state.tasks[0]
            data = {"route": route_of(i)} if task.element == "intake" else {}
            text = advance(process, state, TaskCompleted(task=task.id, data=data), now).state.model_dump_json()
            state = CaseState.model_validate_json(text)
            largest = max(largest, len(text))
            steps += 1
        elapsed += time.perf_counter() - start
        assert state.status == "completed", state.status
        sizes.append(largest)
    return steps, elapsed, sizes


def spiff(cases: int) -> tuple[int, float, list[int]]:
    from SpiffWorkflow.bpmn.parser import BpmnParser
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
    from SpiffWorkflow.util.task import TaskState

    parser = BpmnParser()
    parser.add_bpmn_file(str(DEFINITIONS / "keten.bpmn"))
    spec = parser.get_spec("keten")
    serializer = BpmnWorkflowSerializer()
    steps, elapsed, sizes = 0, 0.0, []
    for i in range(cases):
        start = time.perf_counter()
        workflow = BpmnWorkflow(spec)
        workflow.do_engine_steps()
        text = serializer.serialize_json(workflow)
        workflow = serializer.deserialize_json(text)
        largest = len(text)
        steps += 1
        while (task := workflow.get_next_task(state=TaskState.READY, manual=True)) is not None:
            if task.task_spec.name == "intake":
                task.data["route"] = route_of(i)
            task.run()
            workflow.do_engine_steps()
            text = serializer.serialize_json(workflow)
            workflow = serializer.deserialize_json(text)
            largest = max(largest, len(text))
            steps += 1
        elapsed += time.perf_counter() - start
        assert workflow.is_completed()
        sizes.append(largest)
    return steps, elapsed, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000)
    args = parser.parse_args()
    try:
        import SpiffWorkflow
    except ImportError:
        sys.exit("SpiffWorkflow is not installed: .venv/bin/pip install -e '.[bench]'")
    print(f"# engine vs SpiffWorkflow {SpiffWorkflow.__version__ if hasattr(SpiffWorkflow, '__version__') else ''}, "
          f"{date.today()} on {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"{args.cases} cases × {STEPS_PER_CASE} steps, JSON round trip after every step")
    rates = {}
    for name, drive in (("regie", regie), ("spiffworkflow", spiff)):
        steps, elapsed, sizes = drive(args.cases)
        assert steps == args.cases * STEPS_PER_CASE, (name, steps)
        rates[name] = steps / elapsed
        print(f"{name}: {steps} steps in {elapsed:.2f} s = {rates[name]:,.0f} steps/s; "
              f"state JSON per case median {statistics.median(sizes):,.0f} B, max {max(sizes):,} B")
    print(f"ratio: regie is {rates['regie'] / rates['spiffworkflow']:.1f}× SpiffWorkflow")


if __name__ == "__main__":
    main()
