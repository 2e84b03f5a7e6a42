"""Step-completion benchmark: `CaseService.complete_step` on PostgreSQL, 1 and 2 processes, against
single-row UPDATE transactions through plain psycopg in the same run.

    .venv/bin/python benchmarks/completions.py [--cases 200] [--steps 8] [--postgres-url URL] [--profile]

A fresh PostgreSQL schema (dropped afterwards), migrated by alembic, gets 5 × N cases of a definition
with a chain of user tasks (each with a deadline, a form field and the usual notice to the role when
it opens). The cases are started with `start_many` (not measured). Then every case's steps are
completed one after the other through the service layer, as an operator's Submit does: one call per
step, with the version the operator saw. One process completes the steps of the first N cases; then
two processes (spawned, each with its own connections) complete those of the next 2 × N (N each). The
baseline writes the rows of the last 2 × N.

The baseline, measured in the same run on the same database: transactions of one UPDATE of one case
row by key (the state replaced by pre-serialised JSON of the same size) and a COMMIT, through plain
psycopg, as many as the service completed, 1 and 2 processes. The two alternate step by step (each
process: its cases' step k through the service, then as many plain UPDATEs), so that both meet the same
load of the machine; each rate is everything done over the sum of its rounds' wall times.

`--profile` writes cProfile statistics of the one-process run to stderr (the 25 most expensive calls).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.cases import CaseService, NewCase  # noqa: E402
from benchmarks.scratch import scratch_schema  # noqa: E402
from benchmarks.spawning import run_together  # noqa: E402
from engine.validator import validate_paths  # noqa: E402
from store.db import make_engine, upgrade  # noqa: E402

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
ACTOR = "benchmark"


def definition(steps: int) -> str:
    """A chain of `steps` user tasks, each with a form field, a deadline and a notice when it opens."""
    lines = [
        "kind: process", "id: stappenplan", "version: 1", "name: Een reeks stappen na elkaar",
        "data:", "  opmerking: {type: text, privacy: process}", "elements:",
        "  - {id: start, type: start_event, message: koppeling, next: stap_1}",
    ]
    for i in range(1, steps + 1):
        after = f"stap_{i + 1}" if i < steps else "einde"
        lines += [
            f"  - id: stap_{i}", "    type: user_task", "    role: klantregisseur",
            f"    instructions: Doe stap {i}.", "    form: [{field: opmerking}]", "    deadline: P2W",
            "    no_escalation: 'benchmark: completions are measured, not escalations'", f"    next: {after}",
        ]
    lines.append("  - {id: einde, type: end_event}")
    return "\n".join(lines) + "\n"


def load_library(workdir: Path, steps: int) -> Any:
    path = workdir / "stappenplan.yaml"
    path.write_text(definition(steps), encoding="utf-8")
    library, problems = validate_paths([ROOT / "process_definitions" / "catalog.yaml", path])
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    return library


@dataclass(frozen=True)
class Store:
    url: str
    schema: str

    def engine(self) -> Any:
        return make_engine(self.url, search_path=self.schema)

    def psycopg_url(self) -> str:
        return make_url(self.url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def postgres_store(url: str) -> Iterator[tuple[Store, str]]:
    with scratch_schema(url) as (schema, version):
        yield Store(url, schema), version


def refs(first: int, n: int) -> list[str]:
    return [f"STP-2026-{number:06d}" for number in range(first, first + n)]


def start_cases(service: CaseService, case_refs: list[str]) -> None:
    for first in range(0, len(case_refs), 500):
        service.start_many([NewCase(case_ref=ref, definition="stappenplan", municipality="benchstad",
                                    start_message="koppeling") for ref in case_refs[first:first + 500]],
                           actor=ACTOR)


def service_for(store: Store, workdir: Path, steps: int) -> CaseService:
    return CaseService(store.engine(), load_library(workdir, steps), clock=lambda: NOW)


def complete_step_of_all(service: CaseService, case_refs: list[str], step: int, versions: dict[str, int]) -> int:
    """Step `step` of each case, one call per case with the version the caller saw; completions made."""
    for ref in case_refs:
        view = service.complete_step(case_ref=ref, task=f"stap_{step}", data={"opmerking": "gedaan"},
                                     actor=ACTOR, expected_version=versions[ref])
        versions[ref] = view.version
    return len(case_refs)


def plain_updates(conn: psycopg.Connection, case_refs: list[str], state: str) -> int:
    """The baseline: one transaction per UPDATE of one case row by key, committed."""
    with conn.cursor() as cur:
        for ref in case_refs:
            cur.execute("UPDATE cases SET state = %s, updated_at = %s WHERE case_ref = %s", (state, NOW, ref))
            conn.commit()
    return len(case_refs)


def alternate(store: Store, workdir: Path, steps: int, case_refs: list[str], spare_refs: list[str], state: str,
              gate: Any = None, profile: bool = False) -> list[tuple[str, int, float, float]]:
    """Step by step, the service's completions and then as many baseline UPDATEs, so that both meet the
    same load of the machine; (what, done, began, ended) per round. With `gate`, every round starts
    together with the other processes'."""
    service = service_for(store, workdir, steps)
    versions = dict.fromkeys(case_refs, 1)
    rounds = []
    profiler = cProfile.Profile() if profile else None
    try:
        with psycopg.connect(store.psycopg_url(), options=f"-c search_path={store.schema}") as plain:
            for step in range(1, steps + 1):
                for what in ("service", "baseline"):
                    if gate is not None:
                        gate.wait()
                    began = time.time()
                    if what == "baseline":
                        done = plain_updates(plain, spare_refs, state)
                    else:
                        if profiler:
                            profiler.enable()
                        done = complete_step_of_all(service, case_refs, step, versions)
                        if profiler:
                            profiler.disable()
                    rounds.append((what, done, began, time.time()))
    finally:
        service.engine.dispose()
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(25)
        print(text.getvalue(), file=sys.stderr)
    return rounds


def _worker(store: Store, workdir: str, steps: int, case_refs: list[str], spare_refs: list[str], state: str,
            gate: Any, out: Any) -> None:
    out.put(alternate(store, Path(workdir), steps, case_refs, spare_refs, state, gate))


def rates(per_process: list[list[tuple[str, int, float, float]]]) -> dict[str, float]:
    """Per kind: everything done / the sum over rounds of the round's wall time (first start to last end)."""
    done: dict[str, int] = {}
    seconds: dict[str, float] = {}
    for parts in zip(*per_process, strict=True):
        what = parts[0][0]
        done[what] = done.get(what, 0) + sum(p[1] for p in parts)
        seconds[what] = seconds.get(what, 0.0) + max(p[3] for p in parts) - min(p[2] for p in parts)
    return {what: done[what] / seconds[what] for what in done}


def in_parallel(jobs: list[tuple]) -> list[Any]:
    """`_worker(*job, gate, out)` in one spawned process per job, the rounds started together."""
    return run_together(_worker, jobs)


def measure(url: str, n: int, steps: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder, postgres_store(url) as (store, name):
        workdir = Path(folder)
        one, two, spare = refs(1, n), refs(n + 1, 2 * n), refs(3 * n + 1, 2 * n)
        service = service_for(store, workdir, steps)
        try:
            upgrade(service.engine)
            start_cases(service, one + two + spare)
            with service.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
                state = conn.exec_driver_sql("SELECT state::text FROM cases LIMIT 1").scalar_one()
        finally:
            service.engine.dispose()
        single = rates([alternate(store, workdir, steps, one, spare[:n], state, profile=profile)])
        double = rates(in_parallel([(store, folder, steps, two[:n], spare[:n], state),
                                    (store, folder, steps, two[n:], spare[n:], state)]))
    return {"database": name, "cases": n, "steps": steps, "state_bytes": len(state.encode()),
            "service": (single["service"], double["service"]),
            "baseline": (single["baseline"], double["baseline"])}


def report(result: dict[str, Any], argv: list[str]) -> str:
    service, baseline = result["service"], result["baseline"]
    lines = [
        f"Run on {datetime.now(UTC):%Y-%m-%d} with `.venv/bin/python benchmarks/completions.py {' '.join(argv)}`"
        f" ({os.cpu_count()} CPUs, {result['database']} on the same host): {result['cases']} cases × "
        f"{result['steps']} steps per process, state {result['state_bytes']:,} bytes of JSON.",
        "",
        "| processes | complete_step through the service: completions/s | plain psycopg single-row UPDATE"
        " transactions/s | service / baseline |",
        "|---:|---:|---:|---:|",
    ]
    for processes, mine, theirs in zip((1, 2), service, baseline, strict=True):
        lines.append(f"| {processes} | {mine:,.0f} | {theirs:,.0f} | {mine / theirs:.0%} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per process (default 200)")
    parser.add_argument("--steps", type=int, default=8, help="user tasks per case, each completed once (default 8)")
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--profile", action="store_true", help="cProfile the one-process run (to stderr)")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.steps < 1:
        parser.error("--cases and --steps must be at least 1")
    print(report(measure(args.postgres_url, args.cases, args.steps, args.profile), argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
