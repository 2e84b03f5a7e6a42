"""Regie's engine against SpiffWorkflow on the same process, in the same Python process.

    .venv/bin/pip install -e '.[bench]'          # SpiffWorkflow, for this benchmark only
    .venv/bin/python benchmarks/engine_vs_spiff.py [--cases 1000]

Both engines drive the same cases through the same process: benchmarks/definitions/keten.yaml for
Regie, benchmarks/definitions/keten.bpmn for SpiffWorkflow (16 user tasks, an exclusive gateway on the
route chosen at intake, a parallel split and join). A step is starting a case or completing one task;
after every step the case's state goes to JSON and back, as the case store does between two events
(Regie: `CaseState.model_dump_json` / `model_validate_json`; SpiffWorkflow: its serializer's
`serialize_json` / `deserialize_json`). Both parse their definition once, outside the timing, and they
take the cases in turn so that other work on the machine slows both alike. Reports steps per second for
each, the ratio, and the JSON state size per case (median and largest).
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


class RegieCases:
    """Regie's side: the engine advancing a `CaseState`, which goes to JSON and back after every step."""

    def __init__(self) -> None:
        library, problems = validate_paths([ROOT / "process_definitions" / "catalog.yaml", DEFINITIONS])
        assert not problems, problems
        self.process = library.process("keten@1")
        self.t0 = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)

    def run(self, i: int) -> tuple[int, float, int]:
        """Drive case `i` from start to end: (steps, seconds, largest state JSON in bytes)."""
        process, now = self.process, self.t0 + timedelta(minutes=i)
        start = time.perf_counter()
        state = new_case(f"BENCH-{i:06d}", process.ref)
        text = advance(process, state, Started(message="koppeling"), now).state.model_dump_json()
        state = CaseState.model_validate_json(text)
        largest, steps = len(text), 1
        while state.tasks:
            task = state.tasks[0]
            data = {"route": route_of(i)} if task.element == "intake" else {}
            text = advance(process, state, TaskCompleted(task=task.id, data=data), now).state.model_dump_json()
            state = CaseState.model_validate_json(text)
            largest = max(largest, len(text))
            steps += 1
        elapsed = time.perf_counter() - start
        assert state.status == "completed", state.status
        return steps, elapsed, largest


class SpiffCases:
    """SpiffWorkflow's side: a `BpmnWorkflow`, through its serializer's JSON and back after every step."""

    def __init__(self) -> None:
        from SpiffWorkflow.bpmn.parser import BpmnParser
        from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        parser = BpmnParser()
        parser.add_bpmn_file(str(DEFINITIONS / "keten.bpmn"))
        self.spec = parser.get_spec("keten")
        self.serializer = BpmnWorkflowSerializer()
        self.workflow_class, self.ready = BpmnWorkflow, TaskState.READY

    def run(self, i: int) -> tuple[int, float, int]:
        serializer = self.serializer
        start = time.perf_counter()
        workflow = self.workflow_class(self.spec)
        workflow.do_engine_steps()
        text = serializer.serialize_json(workflow)
        workflow = serializer.deserialize_json(text)
        largest, steps = len(text), 1
        while (task := workflow.get_next_task(state=self.ready, manual=True)) is not None:
            if task.task_spec.name == "intake":
                task.data["route"] = route_of(i)
            task.run()
            workflow.do_engine_steps()
            text = serializer.serialize_json(workflow)
            workflow = serializer.deserialize_json(text)
            largest = max(largest, len(text))
            steps += 1
        elapsed = time.perf_counter() - start
        assert workflow.is_completed()
        return steps, elapsed, largest


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
    # The two run case by case in turn, so a machine busy with other work slows both alike.
    engines = {"regie": RegieCases(), "spiffworkflow": SpiffCases()}
    totals = {name: [0, 0.0, []] for name in engines}
    for i in range(args.cases):
        for name, engine in engines.items():
            steps, elapsed, largest = engine.run(i)
            totals[name][0] += steps
            totals[name][1] += elapsed
            totals[name][2].append(largest)
    rates = {}
    for name, (steps, elapsed, sizes) in totals.items():
        assert steps == args.cases * STEPS_PER_CASE, (name, steps)
        rates[name] = steps / elapsed
        print(f"{name}: {steps} steps in {elapsed:.2f} s = {rates[name]:,.0f} steps/s; "
              f"state JSON per case median {statistics.median(sizes):,.0f} B, max {max(sizes):,} B")
    print(f"ratio: regie is {rates['regie'] / rates['spiffworkflow']:.1f}× SpiffWorkflow")


if __name__ == "__main__":
    main()
