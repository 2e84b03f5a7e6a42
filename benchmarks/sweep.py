"""Timer-sweep benchmark: a full case store, a sweep with 0 %, 1 % and 10 % of the cases due.

    .venv/bin/python benchmarks/sweep.py [--cases 100000] [--database sqlite --database postgres]
                                         [--postgres-url URL] [--batch-size 100]

For each database: a fresh store (a SQLite file in a temporary folder, or a fresh PostgreSQL schema
that is dropped afterwards) migrated by alembic, filled with N live cases of a small definition in
which a case waits for its intake and the klantregisseur gets a weekly nudge (a non-interrupting
boundary timer). Firing one nudge writes what a real sweep writes: the case row (state JSON,
version, next due time), 2 history rows and 3 outbox rows.

The cases start on three days, so that at three moments exactly 0 %, 1 % and 10 % are due. Each
sweep runs through `CaseService.fire_due_timers` (the code path the Prefect flow calls) and reports
cases advanced per second and the peak resident memory during the sweep.

For comparison, in the same run on the same database: plain INSERT throughput (filling the store),
plain UPDATE throughput of case rows by key, and "the same writes without the engine": for as many
cases as the 10 % sweep, claim a batch, update each case row and insert the same number of history
and outbox rows, one transaction per batch, through the plain driver (psycopg, sqlite3) with the JSON
texts made beforehand, so that it does as little client work as a program can. The sweep's rate as a
share of that is how close the sweep gets to what the database can do. The engine alone (no database) is measured too.

Longer than the house's ~300 lines on purpose: the measured path, its same-run baseline and the report
that compares them stay in one file, so one command reproduces a row of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app.cases import CaseService  # noqa: E402
from benchmarks.scratch import scratch_schema  # noqa: E402
from benchmarks.spawning import run_together  # noqa: E402
from engine.calendar import NL  # noqa: E402
from engine.events import Started  # noqa: E402
from engine.interpreter import advance, fire_due_timers  # noqa: E402
from engine.state import CaseState, new_case  # noqa: E402
from engine.validator import validate_paths  # noqa: E402
from store.db import make_engine, upgrade, write_transaction  # noqa: E402
from store.writes import cases, history, outbox, tasks  # noqa: E402

DEFINITION = """\
kind: process
id: wachtkamer
version: 1
name: Wachten op de intake, met een wekelijks duwtje
elements:
  - id: start
    type: start_event
    message: koppeling
    next: intake_plannen
  - id: intake_plannen
    type: user_task
    role: klantregisseur
    instructions: Plan de brede intake.
    deadline: P26W
    no_escalation: "benchmark: the weekly nudge is what is measured"
    notify_on_open: false
    boundary:
      - id: wekelijks_duwtje
        type: timer
        interrupting: false
        timer: {cycle: {every: P1W, times: 150}}
        notify: {role: klantregisseur, template: bericht}
    next: einde
  - id: einde
    type: end_event
"""

FIRST_DAY = date(2026, 1, 5)  # a Monday
GROUPS = (("one_percent", 0.01, 0), ("ten_percent", 0.10, 2), ("ten_percent_again", 0.10, 3),
          ("the_rest", 0.79, 4))
"""name, share of the cases, start day after FIRST_DAY; each group's first nudge is due a week later"""
SWEEPS = (("0 % due", 6, 1), ("1 % due", 7, 1), ("10 % due", 9, 1), ("10 % due, 2 workers", 10, 2))
"""label, days after FIRST_DAY at noon (nothing due yet, then one group after the other), workers"""
INSERT_BATCH = 1000


@dataclass(frozen=True)
class Store:
    """A fresh store under test: how to reach it again from another process, and its name."""

    url: str
    search_path: str | None
    name: str

    def engine(self) -> sa.Engine:
        return make_engine(self.url, search_path=self.search_path) if self.search_path else make_engine(self.url)


@dataclass
class Result:
    database: str
    cases: int
    insert_rows_per_s: float = 0.0
    update_rows_per_s: float = 0.0
    same_writes_cases_per_s: float = 0.0
    engine_cases_per_s: float = 0.0
    sweeps: list[dict[str, Any]] = field(default_factory=list)
    writes_per_case: tuple[float, float] = (0.0, 0.0)


# --- memory ----------------------------------------------------------------------------------------


def _rss_kib(field_name: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    return 0


@contextmanager
def peak_memory() -> Iterator[dict[str, float]]:
    """Peak resident memory (MiB) of this process within the block, and how much it rose."""
    try:  # reset the high-water mark (Linux), so the peak is this block's
        with open("/proc/self/clear_refs", "w", encoding="ascii") as clear:
            clear.write("5")
    except OSError:
        pass
    out: dict[str, float] = {}
    before = _rss_kib("VmRSS")
    yield out
    out["peak_mib"] = _rss_kib("VmHWM") / 1024
    out["rise_mib"] = max(0, _rss_kib("VmHWM") - before) / 1024


# --- set-up ----------------------------------------------------------------------------------------


def noon(day: date) -> datetime:
    return datetime.combine(day, clock_time(12, 0), tzinfo=NL).astimezone(UTC)


def load_library(workdir: Path, write: bool = True):
    path = workdir / "wachtkamer.yaml"
    if write:
        path.write_text(DEFINITION, encoding="utf-8")
    library, problems = validate_paths([ROOT / "process_definitions" / "catalog.yaml", path])
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    return library


def fill(engine: sa.Engine, library: Any, n: int) -> float:
    """Insert N started cases (and their open tasks); returns the plain INSERT rate of the case rows."""
    process = library.process("wachtkamer")
    templates = []
    for name, share, offset in GROUPS:
        started = advance(process, new_case("TEMPLATE", process.ref), Started(message="koppeling"),
                          noon(FIRST_DAY + timedelta(days=offset)) - timedelta(hours=3))
        templates.append((name, round(n * share), started.state))
    templates[-1] = (templates[-1][0], n - sum(t[1] for t in templates[:-1]), templates[-1][2])
    seconds = 0.0
    number = 0
    for name, count, state in templates:
        document = state.model_dump(mode="json")
        task = state.tasks[0]
        for first in range(0, count, INSERT_BATCH):
            case_rows, task_rows = [], []
            for _ in range(first, min(count, first + INSERT_BATCH)):
                number += 1
                ref = f"BEN-{number:07d}"
                case_rows.append({
                    "case_ref": ref, "municipality": "benchstad", "definition": process.ref, "profile": None,
                    "status": state.status, "phase": state.phase, "state": {**document, "case_ref": ref},
                    "version": 1, "next_due_at": state.next_due_at(), "created_at": task.opened_at,
                    "updated_at": task.opened_at,
                })
                task_rows.append({
                    "case_ref": ref, "task_id": task.id, "definition": process.ref, "step": task.element,
                    "role": task.role, "municipality": "benchstad", "opened_at": task.opened_at,
                    "due_on": task.due_on, "missed": False,
                })
            began = time.perf_counter()
            with write_transaction(engine) as conn:
                conn.execute(sa.insert(cases), case_rows)
            seconds += time.perf_counter() - began
            with write_transaction(engine) as conn:
                conn.execute(sa.insert(tasks), task_rows)
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
    return n / seconds


# --- measurements ----------------------------------------------------------------------------------


def run_sweeps(store: Store, library: Any, workdir: Path, batch_size: int) -> list[dict[str, Any]]:
    results = []
    for label, days, workers in SWEEPS:
        at = noon(FIRST_DAY + timedelta(days=days))
        if workers == 1:
            advanced, commands, seconds, memory = sweep_once(store, library, at, batch_size)
        else:
            advanced, commands, seconds, memory = sweep_in_parallel(store, workdir, at, batch_size, workers)
        results.append({"label": label, "advanced": advanced, "seconds": seconds,
                        "rate": advanced / seconds if advanced else 0.0, "commands": commands, **memory})
    return results


def sweep_once(store: Store, library: Any, at: datetime, batch_size: int) -> tuple[int, int, float, dict]:
    engine = store.engine()
    service = CaseService(engine, library, clock=lambda: at, sweep_batch_size=batch_size)
    try:
        with peak_memory() as memory:
            began = time.perf_counter()
            report = service.fire_due_timers()
            seconds = time.perf_counter() - began
    finally:
        engine.dispose()
    report.raise_for_failures()
    return report.cases_advanced, report.commands_queued, seconds, memory


def _worker(store: Store, workdir: Path, at: datetime, batch_size: int, gate: Any, out: Any) -> None:
    """One sweep worker in its own process (own interpreter, own connections), started with the others."""
    library = load_library(workdir, write=False)
    engine = store.engine()
    service = CaseService(engine, library, clock=lambda: at, sweep_batch_size=batch_size)
    gate.wait()
    began = time.time()
    report = service.fire_due_timers()
    ended = time.time()
    engine.dispose()
    report.raise_for_failures()
    out.put((report.cases_advanced, report.commands_queued, began, ended, _rss_kib("VmHWM") / 1024))


def sweep_in_parallel(store: Store, workdir: Path, at: datetime, batch_size: int,
                      workers: int) -> tuple[int, int, float, dict]:
    results = run_together(_worker, [(store, workdir, at, batch_size)] * workers, what="a sweep worker")
    seconds = max(r[3] for r in results) - min(r[2] for r in results)
    memory = {"peak_mib": max(r[4] for r in results), "rise_mib": float("nan"),
              "per_worker": [r[0] for r in results]}
    return sum(r[0] for r in results), sum(r[1] for r in results), seconds, memory


def writes_per_case(engine: sa.Engine) -> tuple[float, float]:
    """History and outbox rows the sweeps wrote per advanced case."""
    with engine.connect() as conn:
        advanced = conn.execute(sa.select(sa.func.count()).select_from(cases).where(cases.c.version > 1)).scalar()
        lines = conn.execute(sa.select(sa.func.count()).select_from(history)).scalar()
        commands = conn.execute(sa.select(sa.func.count()).select_from(outbox)).scalar()
    return lines / advanced, commands / advanced


def plain_updates(engine: sa.Engine, refs: list[str], batch_size: int) -> float:
    """UPDATE of case rows by key with a version check and a state of the same size; rows per second."""
    with engine.connect() as conn:
        document = conn.execute(sa.select(cases.c.state).where(cases.c.case_ref == refs[0])).scalar_one()
    statement = sa.update(cases).where(cases.c.case_ref == sa.bindparam("b_ref"), cases.c.version == 1) \
        .values(state=sa.bindparam("b_state"), version=2, updated_at=sa.bindparam("b_at"))
    now = datetime.now(UTC)
    began = time.perf_counter()
    for first in range(0, len(refs), batch_size):
        rows = [{"b_ref": ref, "b_state": {**document, "case_ref": ref}, "b_at": now}
                for ref in refs[first:first + batch_size]]
        with write_transaction(engine) as conn:
            conn.execute(statement, rows)
    return len(refs) / (time.perf_counter() - began)


def same_writes(store: Store, refs: list[str], batch_size: int, per_case: tuple[float, float]) -> float:
    """The sweep's writes without the engine and without SQLAlchemy, through the plain driver (psycopg or
    sqlite3) with the JSON texts made beforehand: claim a batch (FOR UPDATE SKIP LOCKED on PostgreSQL),
    update each case row, insert its history and outbox rows, commit; cases/s. The database's limit for
    the sweep's work, with as little client work as a program can do."""
    lines, commands = round(per_case[0]), round(per_case[1])
    now = datetime.now(UTC)
    later = now + timedelta(days=7)
    conn, p = plain_connection(store)
    state = plain_state(conn, refs[0])
    payload = '{"case_ref": "BEN", "event": "timer-fired", "payload": {"ref": "x"}}'
    pg = p == "%s"
    stamp = now if pg else now.isoformat(sep=" ")
    next_at = later if pg else later.isoformat(sep=" ")
    claim = "SELECT case_ref, version FROM cases WHERE case_ref IN ({})" + (" FOR UPDATE SKIP LOCKED" if pg else "")
    update = (f"UPDATE cases SET state = {p}, version = {p}, next_due_at = {p}, updated_at = {p}"
              f" WHERE case_ref = {p} AND version = {p}")
    insert_history = ("INSERT INTO case_history (case_ref, version, at, recorded_at, actor, event, kind, ref, detail)"
                      f" VALUES ({', '.join([p] * 9)})")
    insert_outbox = f"INSERT INTO outbox (case_ref, key, type, payload, created_at, attempts) VALUES ({', '.join([p] * 6)})"
    began = time.perf_counter()
    try:
        cur = conn.cursor()
        for first in range(0, len(refs), batch_size):
            chunk = refs[first:first + batch_size]
            if not pg:
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(claim.format(", ".join([p] * len(chunk))), chunk)
            claimed = cur.fetchall()
            cur.executemany(update, [(state, v + 1, next_at, stamp, ref, v) for ref, v in claimed])
            cur.executemany(insert_history, [(ref, v + 1, stamp, stamp, "system", "timer_fired", "timer_fired",
                                              "wekelijks_duwtje", "") for ref, v in claimed for _ in range(lines)])
            cur.executemany(insert_outbox, [(ref, f"{ref}:plain:{v}:{n}", "emit_event", payload, stamp, 0)
                                            for ref, v in claimed for n in range(commands)])
            conn.commit()
        return len(refs) / (time.perf_counter() - began)
    finally:
        conn.close()


def plain_connection(store: Store) -> tuple[Any, str]:
    """A connection of the plain driver to the store, and its parameter mark."""
    url = sa.engine.make_url(store.url)
    if url.get_backend_name() == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url.database, isolation_level=None)  # BEGIN IMMEDIATE by hand, as the store does
        conn.execute(f"PRAGMA busy_timeout={30_000}")
        return conn, "?"
    import psycopg

    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return psycopg.connect(plain, options=f"-c search_path={store.search_path}"), "%s"


def plain_state(conn: Any, ref: str) -> str:
    """A case's state as JSON text (the pre-serialised state the baseline writes)."""
    cur = conn.cursor()
    pg = not hasattr(conn, "total_changes")
    cur.execute("SELECT state::text FROM cases WHERE case_ref = %s" if pg else
                "SELECT state FROM cases WHERE case_ref = ?", (ref,))
    text = cur.fetchone()[0]
    if pg:
        conn.commit()
    return text


def engine_only(library: Any, n: int) -> float:
    """Parse, fire and dump the state of a due case, without a database; cases per second."""
    process = library.process("wachtkamer")
    start = noon(FIRST_DAY) - timedelta(hours=3)
    document = advance(process, new_case("BEN", process.ref), Started(message="koppeling"), start) \
        .state.model_dump(mode="json")
    at = noon(FIRST_DAY + timedelta(days=7))
    began = time.perf_counter()
    for _ in range(n):
        fire_due_timers(process, CaseState.model_validate(document), at).state.model_dump(mode="json")
    return n / (time.perf_counter() - began)


def refs_of(engine: sa.Engine, where: Any, limit: int) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(cases.c.case_ref).where(where).order_by(cases.c.case_ref)
                                 .limit(limit)).scalars())


# --- databases -------------------------------------------------------------------------------------


@contextmanager
def sqlite_store(workdir: Path) -> Iterator[Store]:
    yield Store(f"sqlite:///{workdir / 'bench.db'}", None, f"SQLite {sqlite_version()}")


@contextmanager
def postgres_store(url: str) -> Iterator[Store]:
    with scratch_schema(url) as (schema, version):
        yield Store(url, schema, version)


def sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


def measure(open_store: Callable[[], Any], library: Any, workdir: Path, n: int, batch_size: int) -> Result:
    with open_store() as store:
        engine = store.engine()
        try:
            print(f"{store.name}: migrating and filling {n} cases ...", file=sys.stderr)
            upgrade(engine)
            result = Result(database=store.name, cases=n)
            result.insert_rows_per_s = fill(engine, library, n)
            print(f"{store.name}: sweeping ...", file=sys.stderr)
            result.sweeps = run_sweeps(store, library, workdir, batch_size)
            result.writes_per_case = writes_per_case(engine)
            tenth = result.sweeps[2]["advanced"]
            rest = refs_of(engine, cases.c.version == 1, 2 * tenth)
            print(f"{store.name}: plain writes for comparison ...", file=sys.stderr)
            result.update_rows_per_s = plain_updates(engine, rest[:tenth], batch_size)
            result.same_writes_cases_per_s = same_writes(store, rest[tenth:], batch_size, result.writes_per_case)
            result.engine_cases_per_s = engine_only(library, min(tenth, 20_000) or 1000)
            return result
        finally:
            engine.dispose()


# --- report ----------------------------------------------------------------------------------------


def machine() -> str:
    memory = "?"
    with open("/proc/meminfo", encoding="ascii") as info:
        for line in info:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = platform.processor() or platform.machine()
    try:
        model = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                               capture_output=True, text=True, check=False).stdout.strip()
        cpu = model or cpu
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs (nproc), {memory} memory, {cpu}; Python {platform.python_version()}"


def report(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"Run on {datetime.now(UTC):%Y-%m-%d} with `.venv/bin/python benchmarks/sweep.py --cases {args.cases}"
        f" --batch-size {args.batch_size}`: {machine()}.",
        "",
        "| database | sweep | cases advanced | seconds | cases advanced/s | peak RSS (MiB) | RSS rise (MiB) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for s in r.sweeps:
            rate = f"{s['rate']:,.0f}" if s["advanced"] else "–"
            rise = "–" if s["rise_mib"] != s["rise_mib"] else f"{s['rise_mib']:.0f}"
            split = f" ({' + '.join(f'{n:,}' for n in s['per_worker'])})" if "per_worker" in s else ""
            lines.append(f"| {r.database} | {s['label']} | {s['advanced']:,}{split} | {s['seconds']:.2f} "
                         f"| {rate} | {s['peak_mib']:.0f} | {rise} |")
    lines += [
        "",
        "| database | plain INSERT rows/s | plain UPDATE rows/s | same writes, plain driver: cases/s "
        "| 10 % sweep: cases/s | sweep / same writes | 2 workers: cases/s | engine alone: cases/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        one, two = r.sweeps[2]["rate"], r.sweeps[3]["rate"]
        lines.append(f"| {r.database} | {r.insert_rows_per_s:,.0f} | {r.update_rows_per_s:,.0f} "
                     f"| {r.same_writes_cases_per_s:,.0f} | {one:,.0f} | {one / r.same_writes_cases_per_s:.0%} "
                     f"| {two:,.0f} | {r.engine_cases_per_s:,.0f} |")
    per_case = results[0].writes_per_case if results else (0, 0)
    lines += ["", f"Each advanced case: 1 case row updated, {per_case[0]:.0f} history rows and {per_case[1]:.0f} "
              "outbox rows inserted."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000, help="live cases in the store (default 100000)")
    parser.add_argument("--database", action="append", choices=["sqlite", "postgres"],
                        help="which databases (default: both; PostgreSQL only when a URL is known)")
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--batch-size", type=int, default=100, help="cases per sweep transaction (default 100)")
    args = parser.parse_args(argv)
    if args.cases < 100:
        parser.error("--cases must be at least 100 (1 % of them must be a case or more)")
    databases = args.database or ["sqlite", "postgres"]
    results = []
    with tempfile.TemporaryDirectory(prefix="regie-bench-") as folder:
        workdir = Path(folder)
        library = load_library(workdir)
        for kind in databases:
            store = (lambda: sqlite_store(workdir)) if kind == "sqlite" else (lambda: postgres_store(args.postgres_url))
            results.append(measure(store, library, workdir, args.cases, args.batch_size))
    print(report(results, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
