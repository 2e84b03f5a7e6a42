"""Scale-out on Prefect workers: throughput of cases driven through start, completion and sweep with 1 and 2 workers.

    .venv/bin/python benchmarks/scale_out.py [--cases 20] [--workers 1 --workers 2]
                                             [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]

For each worker count, on fresh PostgreSQL databases (one for the Prefect server, one for the case
store; both dropped afterwards), the way prefect.yaml says to run Regie:

    prefect work-pool create regie --type process
    prefect deploy --all
    prefect deployment schedule pause --all      # only the runs submitted below are measured
    prefect worker start --pool regie            # --workers times, each in its own process

then N cases of benchmarks/definitions/schaal.yaml go through the deployments: N `start-trajectory`
runs, N `complete-step` runs (the inbox run each start opened is closed by it), and one
`fire-due-timers` run per worker at once, which fire each case's timer (due at once). Checked: every
case completed, its timer fired exactly once, every run Completed. Reported: wall time from the first
run submitted to the last one finished, cases per second and flow runs per second. Each run a worker
starts is a new Python process (the process work pool), which is most of the cost per run.
tests/prefect/test_scale_out.py runs this at a tiny size.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inbox import prefect_server  # noqa: E402  (no Prefect import)

POOL = "regie"
BIN = Path(sys.executable).parent
MUNICIPALITY = "rotterdam"
LIMIT = 2
"""Runs at once per worker: low enough that runs submitted together are shared among the workers."""


@dataclass
class Result:
    workers: int
    cases: int
    runs: int
    seconds: float
    timers_fired: dict[str, int]
    runs_per_worker: dict[str, int]

    @property
    def cases_per_second(self) -> float:
        return self.cases / self.seconds


@contextmanager
def case_store(postgres_url: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for the case store; dropped afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    from store.db import make_engine, upgrade

    base = make_url(postgres_url)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    database = f"regie_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = base.set(database=database).render_as_string(hide_password=False)
    try:
        # Migrated once here: runs on several workers would otherwise race to migrate a fresh database.
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def definitions(folder: Path) -> Path:
    """The catalogue and the schaal definition, as the workers read them (REGIE_DEFINITIONS_DIR)."""
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "process_definitions" / "catalog.yaml", folder / "catalog.yaml")
    shutil.copy(ROOT / "benchmarks" / "definitions" / "schaal.yaml", folder / "schaal.yaml")
    return folder


def prefect(*args: str, env: dict[str, str]) -> None:
    """A Prefect CLI command from the repository root (where prefect.yaml is); raises if it fails."""
    done = subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"prefect {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


@contextmanager
def workers(n: int, env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen]]:
    """`prefect worker start --pool regie`, n times, each in its own process group; stopped afterwards."""
    started = []
    try:
        for i in range(n):
            log = open(logs / f"worker-{i}.log", "w")  # noqa: SIM115 - closed with the process below
            started.append((subprocess.Popen(
                [str(BIN / "prefect"), "worker", "start", "--pool", POOL, "--type", "process",
                 "--name", f"regie-worker-{i}", "--limit", str(LIMIT)],
                # At INFO the worker logs each run it takes (see `submitted`).
                # Unbuffered: a worker that is slow to stop under load gets killed, and what it had buffered
                # (the lines `submitted` counts) would be lost with it.
                cwd=ROOT, env={**env, "PREFECT_LOGGING_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"},
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True), log))
        yield [p for p, _ in started]
    finally:
        for process, log in started:
            process.terminate()
        for process, log in started:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()


def wait_for(client, run_ids: list, timeout: float) -> None:
    """Until every run is final; raises unless all Completed (with the first failure's message)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    deadline = time.monotonic() + timeout
    while True:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=run_ids)),
                                     limit=len(run_ids))
        final = [r for r in runs if r.state is not None and r.state.is_final()]
        bad = [r for r in final if not r.state.is_completed()]
        if bad:
            raise RuntimeError(f"flow run {bad[0].name} ended {bad[0].state.type.value}: {bad[0].state.message}")
        if len(final) == len(run_ids):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(run_ids) - len(final)} of {len(run_ids)} runs not finished after {timeout:.0f} s")
        time.sleep(0.5)


def drive(n_workers: int, cases: int, postgres_url: str, timeout: float = 900) -> Result:
    """One measurement: fresh Prefect server and case store, n workers, `cases` cases start to end."""
    with tempfile.TemporaryDirectory(prefix="regie-scale-out-") as tmp, \
            prefect_server("postgres", postgres_url) as (_server, _counter, prefect_env), \
            case_store(postgres_url) as store_url:
        from prefect import get_client
        from prefect.deployments import run_deployment

        env = {**os.environ, **prefect_env, "REGIE_DATABASE_URL": store_url,
               "REGIE_DEFINITIONS_DIR": str(definitions(Path(tmp) / "definitions")),
               "REGIE_DATA_DIR": str(Path(tmp) / "data"), "REGIE_NOTIFIER": "log",
               "REGIE_MUNICIPALITIES": MUNICIPALITY, "PREFECT_WORKER_QUERY_SECONDS": "1",
               "PREFECT_WORKER_PREFETCH_SECONDS": "1"}
        prefect("work-pool", "create", POOL, "--type", "process", env=env)
        prefect("deploy", "--all", env=env)
        # Measured are the runs submitted here: the schedules' own sweeps and overviews would take the
        # workers' slots at random moments (they run on a real installation, and change nothing here).
        prefect("deployment", "schedule", "pause", "--all", env=env)
        refs = [f"SCH-{date.today().year}-{i:05d}" for i in range(cases)]

        def submit(deployment: str, parameters_of) -> list:
            return [run_deployment(deployment, parameters=parameters_of(ref), timeout=0).id for ref in refs]

        with workers(n_workers, env, Path(tmp)), get_client(sync_client=True) as client:
            started = time.perf_counter()
            ids = submit("start-trajectory/start-trajectory", lambda ref: {"request": {
                "case_ref": ref, "definition": "schaal", "municipality": MUNICIPALITY,
                "start_message": "koppeling", "actor": "bench"}})
            wait_for(client, ids, timeout)
            more = submit("complete-step/complete-step",
                          lambda ref: {"request": {"case_ref": ref, "step": "intake", "actor": "bench"}})
            wait_for(client, more, timeout)
            # One sweep per worker at once: they share the due cases (FOR UPDATE SKIP LOCKED).
            sweeps = [run_deployment("fire-due-timers/fire-due-timers", parameters={}, timeout=0).id
                      for _ in range(n_workers)]
            wait_for(client, sweeps, timeout)
            seconds = time.perf_counter() - started
        with get_client(sync_client=True) as client:  # the workers have stopped and sent their last logs
            taken = submitted(client, ids + more + sweeps, Path(tmp), n_workers)
        return Result(workers=n_workers, cases=cases, runs=len(ids) + len(more) + len(sweeps), seconds=seconds,
                      timers_fired=timers_fired(store_url, refs), runs_per_worker=taken)


def submitted(client, run_ids: list, logs: Path, n: int) -> dict[str, int]:
    """How many of these flow runs each worker took: a worker writes "Worker '<name>' submitting flow run
    '<id>'" to the run's own log, which reaches Prefect's API, and to its console. Read from both, as the
    console file alone came back empty in the loaded CI run (the runs were done, the lines were not there)."""
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    pattern = re.compile(r"Worker '(regie-worker-\d+)' submitting flow run '([0-9a-f-]+)'")
    wanted = {str(run_id) for run_id in run_ids}
    pairs: set[tuple[str, str]] = set()
    for offset in range(0, 10_000, 200):
        page = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=list(run_ids))),
                                limit=200, offset=offset)
        pairs.update(m.groups() for log in page if (m := pattern.search(log.message)))
        if len(page) < 200:
            break
    for i in range(n):
        pairs.update(pattern.findall((logs / f"worker-{i}.log").read_text()))
    names = [name for name, run_id in pairs if run_id in wanted]
    return {f"regie-worker-{i}": names.count(f"regie-worker-{i}") for i in range(n)}


def timers_fired(store_url: str, refs: list[str]) -> dict[str, int]:
    """How often each case's timer fired; raises unless every case completed."""
    import sqlalchemy as sa

    from store.db import make_engine

    engine = make_engine(store_url)
    try:
        with engine.connect() as conn:
            status = dict(conn.execute(sa.text("SELECT case_ref, status FROM cases WHERE case_ref = ANY(:refs)"),
                                       {"refs": refs}).all())
            fired = dict(conn.execute(sa.text(
                "SELECT case_ref, COUNT(*) FROM case_history WHERE kind = 'timer_fired' AND case_ref = ANY(:refs) "
                "GROUP BY case_ref"), {"refs": refs}).all())
    finally:
        engine.dispose()
    unfinished = sorted(r for r in refs if status.get(r) != "completed")
    if unfinished:
        raise RuntimeError(f"{len(unfinished)} cases did not complete, e.g. {unfinished[0]}: {status.get(unfinished[0])}")
    return {ref: fired.get(ref, 0) for ref in refs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20)
    parser.add_argument("--workers", type=int, action="append", help="worker counts to measure (default 1 and 2)")
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--row-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    counts = args.workers or [1, 2]
    if args.row_only:
        return measure(counts[0], args.cases, args.postgres_url)
    print(f"# scale-out on Prefect workers ({platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, Prefect server and case store on PostgreSQL, {args.cases} cases)\n")
    print("| workers | cases | flow runs | runs per worker | wall time | cases/s | flow runs/s | timers fired once |")
    print("|---:|---:|---:|---|---:|---:|---:|---|", flush=True)
    for n in counts:
        # Each measurement in a process of its own: Prefect keeps the settings (the API address) it
        # was imported with, and every measurement starts a server of its own on a free port.
        done = subprocess.run([sys.executable, __file__, "--row-only", "--cases", str(args.cases), "--workers", str(n),
                               "--postgres-url", args.postgres_url], text=True, stdout=sys.stdout)
        if done.returncode != 0:
            return done.returncode
    return 0


def measure(n: int, cases: int, postgres_url: str) -> int:
    """One row of the table: n workers; 1 when a timer did not fire exactly once."""
    result = drive(n, cases, postgres_url)
    once = all(count == 1 for count in result.timers_fired.values())
    shares = " / ".join(str(c) for c in result.runs_per_worker.values())
    print(f"| {n} | {result.cases} | {result.runs} | {shares} | {result.seconds:.1f} s | {result.cases_per_second:.2f} | "
          f"{result.runs / result.seconds:.2f} | {'yes' if once else 'NO'} |", flush=True)
    return 0 if once else 1


if __name__ == "__main__":
    sys.exit(main())
