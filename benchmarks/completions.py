"""Step-completion benchmark: `CaseService.complete_step` on PostgreSQL, 1 and 2 processes, against
single-row UPDATE transactions through plain psycopg in the same run.

    .venv/bin/python benchmarks/completions.py [--cases 200] [--steps 8] [--postgres-url URL] [--profile]

A fresh PostgreSQL schema (dropped afterwards), migrated by alembic, gets 3 × N cases of a definition
with a chain of user tasks (each with a deadline, a form field and the usual notice to the role when
it opens). The cases are started with `start_many` (not measured). Then every case's steps are
completed one after the other through the service layer, as an operator's Submit does: one call per
step, with the version the operator saw. One process completes the steps of the first N cases; then
two processes (spawned, each with its own connections) complete those of the other 2 × N (N each).

The baseline, measured in the same run on the same database: transactions of one UPDATE of one case
row by key (the state replaced by pre-serialised JSON of the same size, version + 1) and a COMMIT,
through plain psycopg, as many as the service completed, 1 and 2 processes.

`--profile` writes cProfile statistics of the one-process run to stderr (the 25 most expensive calls).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import multiprocessing
import os
import pstats
import sys
import tempfile
import time
import uuid
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
    schema = f"regie_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        version = conn.exec_driver_sql("SHOW server_version").scalar().split()[0]
    try:
        yield Store(url, schema), f"PostgreSQL {version}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def refs(first: int, n: int) -> list[str]:
    return [f"STP-2026-{number:06d}" for number in range(first, first + n)]


def start_cases(service: CaseService, case_refs: list[str]) -> None:
    for first in range(0, len(case_refs), 500):
        service.start_many([NewCase(case_ref=ref, definition="stappenplan", municipality="benchstad",
                                    start_message="koppeling") for ref in case_refs[first:first + 500]],
                           actor=ACTOR)


def complete_all(service: CaseService, case_refs: list[str], steps: int) -> int:
    """Each case's steps in turn, one call per step with the version the caller saw; completions made."""
    versions = dict.fromkeys(case_refs, 1)
    done = 0
    for step in range(1, steps + 1):
        for ref in case_refs:
            view = service.complete_step(case_ref=ref, task=f"stap_{step}", data={"opmerking": "gedaan"},
                                         actor=ACTOR, expected_version=versions[ref])
            versions[ref] = view.version
            done += 1
    return done


def service_for(store: Store, workdir: Path, steps: int) -> CaseService:
    return CaseService(store.engine(), load_library(workdir, steps), clock=lambda: NOW)


def _service_worker(store: Store, workdir: str, steps: int, case_refs: list[str], gate: Any, out: Any) -> None:
    service = service_for(store, Path(workdir), steps)
    gate.wait()
    began = time.time()
    done = complete_all(service, case_refs, steps)
    out.put((done, began, time.time()))
    service.engine.dispose()


def _update_worker(url: str, schema: str, case_refs: list[str], rounds: int, state: str, gate: Any,
                   out: Any) -> None:
    with psycopg.connect(url, options=f"-c search_path={schema}") as conn:
        gate.wait()
        began = time.time()
        done = plain_updates(conn, case_refs, rounds, state)
        out.put((done, began, time.time()))


def plain_updates(conn: psycopg.Connection, case_refs: list[str], rounds: int, state: str) -> int:
    """The baseline: one transaction per UPDATE of one case row by key, committed."""
    done = 0
    with conn.cursor() as cur:
        for _ in range(rounds):
            for ref in case_refs:
                cur.execute("UPDATE cases SET state = %s, version = version + 1, updated_at = %s"
                            " WHERE case_ref = %s", (state, NOW, ref))
                conn.commit()
                done += 1
    return done


def in_parallel(target: Any, jobs: list[tuple]) -> tuple[int, float]:
    """Run `target(*job, gate, out)` in one spawned process per job, started together; (done, seconds)."""
    context = multiprocessing.get_context("spawn")
    gate, out = context.Barrier(len(jobs)), context.Queue()
    processes = [context.Process(target=target, args=(*job, gate, out)) for job in jobs]
    for process in processes:
        process.start()
    results = [out.get() for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise SystemExit(f"a benchmark process failed (exit code {process.exitcode})")
    return sum(r[0] for r in results), max(r[2] for r in results) - min(r[1] for r in results)


def measure(url: str, n: int, steps: int, profile: bool) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder, postgres_store(url) as (store, name):
        workdir = Path(folder)
        service = service_for(store, workdir, steps)
        try:
            upgrade(service.engine)
            one, two = refs(1, n), refs(n + 1, 2 * n)
            start_cases(service, one + two)
            with service.engine.begin() as conn:
                conn.exec_driver_sql("ANALYZE")
            profiler = cProfile.Profile() if profile else None
            began = time.perf_counter()
            if profiler:
                profiler.enable()
            done_one = complete_all(service, one, steps)
            if profiler:
                profiler.disable()
            seconds_one = time.perf_counter() - began
            if profiler:
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(25)
                print(text.getvalue(), file=sys.stderr)
            with service.engine.connect() as conn:
                state = conn.exec_driver_sql("SELECT state::text FROM cases LIMIT 1").scalar_one()
        finally:
            service.engine.dispose()
        halves = [two[:n], two[n:]]
        done_two, seconds_two = in_parallel(_service_worker, [(store, folder, steps, half) for half in halves])
        plain = store.psycopg_url()
        with psycopg.connect(plain, options=f"-c search_path={store.schema}") as conn:
            began = time.perf_counter()
            base_one = plain_updates(conn, one, steps, state)
            base_seconds_one = time.perf_counter() - began
        base_two, base_seconds_two = in_parallel(
            _update_worker, [(plain, store.schema, half, steps, state) for half in halves])
    return {"database": name, "cases": n, "steps": steps, "state_bytes": len(state.encode()),
            "service": (done_one / seconds_one, done_two / seconds_two),
            "baseline": (base_one / base_seconds_one, base_two / base_seconds_two)}


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
