"""Inbox benchmark: what an inbox entry costs in Prefect when thousands of user tasks open at once.

    .venv/bin/python benchmarks/inbox.py [--tasks 10000] [--naive 20] [--naive-limit 4]
                                         [--prefect-db sqlite|postgres] [--postgres-url URL]

Starts its own Prefect server (`prefect server start`, in a temporary folder, on a free port; its
database SQLite, or a fresh PostgreSQL database that is dropped afterwards) and measures two ways to
put a user task in the inbox:

- direct (what Regie does): the inbox run is created through the API already Suspended, with its form
  schema and markdown description as run inputs (integrations/inbox.py: one bulk request per 100 runs, two
  input writes per run, 8 at a time). No flow code runs until an operator resumes it.
- naive: create a Scheduled run of a flow that calls `suspend_flow_run(wait_for_input=Form)`; a
  runner (`serve`, --naive-limit runs at once) starts a Python process per run, which runs the flow
  until it suspends.

For each: wall time per entry, and the rows the Prefect database gained per entry, per table (after
the event persister has caught up). The naive way is measured on --naive entries and extrapolated.

Longer than the house's ~300 lines on purpose: the measured path, its same-run baseline and the report
that compares them stay in one file, so one command reproduces a row of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cli.up_cmd import start_server, stop_server, wait_healthy  # noqa: E402  (no Prefect import)

NAIVE_FLOW = "naive-user-task"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_env(home: Path, port: int, db_url: str | None) -> dict[str, str]:
    env = {
        "PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1", "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING",
        "PREFECT_SERVER_LOGGING_LEVEL": "CRITICAL", "PREFECT_RUNNER_POLL_FREQUENCY": "1",
    }
    if db_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = db_url
    return env


# --- counting rows in Prefect's database --------------------------------------------------------

class RowCounter:
    """Counts the rows of every table of the Prefect database (SQLite file or PostgreSQL)."""

    def __init__(self, home: Path, pg_url: str | None):
        self.home, self.pg_url = home, pg_url

    def counts(self) -> dict[str, int]:
        if self.pg_url:
            import psycopg

            with psycopg.connect(self.pg_url, autocommit=True) as conn:
                tables = [r[0] for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
                return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        import sqlite3

        with sqlite3.connect(self.home / "prefect.db", timeout=60) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

    def settled(self, timeout: float = 120.0) -> dict[str, int]:
        """Counts once they stop changing (events are written a moment after the API accepts them)."""
        last, stable_since, deadline = self.counts(), time.monotonic(), time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self.counts()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= 4.0:
                break
        return last


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def diff(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {t: after[t] - before.get(t, 0) for t in sorted(after) if after[t] != before.get(t, 0)}


# --- the two ways -------------------------------------------------------------------------------

def entries(n: int, prefix: str):
    from engine.commands import FormFieldSpec
    from integrations.inbox import InboxEntry, InboxTask

    form = (FormFieldSpec(name="scenario", type="enum", required=True, label="Scenario",
                          values=["snelle_start", "gecombineerd", "na_verhuizing"]),
            FormFieldSpec(name="gesprek_datum", type="date", required=False, label="Datum gesprek"))
    # Case references as the case service accepts them (CODE-YEAR-PART): DIREC-2026-00000, NAIVE-2026-00000.
    return [InboxEntry(task=InboxTask(case_ref=f"{prefix[:5]}-2026-{i:05d}", task_id="klantprofiel-3",
                                      step="klantprofiel",
                                      role="klantregisseur", municipality="rotterdam", phase="warme_overdracht",
                                      due_on=date(2026, 3, 16)),
                       name="Klantprofiel ontvangen", instructions="Bevestig dat het klantprofiel binnen is.",
                       form=form) for i in range(n)]


async def direct(n: int, batch: int = 500) -> tuple[float, list[float]]:
    """Open n inbox entries the way Regie does, in outbox-sized batches; seconds taken, and per batch."""
    from prefect.client.orchestration import get_client

    from integrations.inbox import open_entries
    from integrations.prefect_channels import PrefectChannels

    todo = entries(n, "DIRECT")
    async with get_client() as client:
        deployment = await PrefectChannels(client).inbox_deployment()
        started = time.perf_counter()
        laps = []
        for start in range(0, n, batch):
            lap = time.perf_counter()
            await open_entries(client, deployment, todo[start:start + batch])
            laps.append((time.perf_counter() - lap) / len(todo[start:start + batch]))
        return time.perf_counter() - started, laps


def naive_flow():
    """The flow the naive way runs per entry: start, then suspend with the form (and description)."""
    from prefect import flow
    from prefect.flow_runs import suspend_flow_run
    from prefect.input import RunInput

    class Formulier(RunInput):
        scenario: str
        gesprek_datum: date | None = None

    @flow(name=NAIVE_FLOW, persist_result=True)
    def naive_user_task(task: dict) -> str:
        form = suspend_flow_run(wait_for_input=Formulier.with_initial_data(
            description=f"### Klantprofiel ontvangen\n\nZaak {task['case_ref']}"))
        return form.scenario

    return naive_user_task


def serve_naive(limit: int) -> None:
    """Child process: serve the naive deployment (a runner that starts a process per run)."""
    naive_flow().serve(name=NAIVE_FLOW, limit=limit, print_starting_message=False)


def naive(n: int, limit: int, env: dict[str, str], counter: RowCounter) -> tuple[float, float, dict[str, int], float]:
    """Create n Scheduled runs of the naive deployment and wait until all are Suspended.

    Returns the seconds that took, the seconds until the first was Suspended, the rows the Prefect
    database gained, and the CPU seconds the runner and its flow-run processes used.
    """
    from prefect.client.orchestration import get_client

    runner = subprocess.Popen([sys.executable, __file__, "--serve-naive", str(limit)], env={**os.environ, **env},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with get_client(sync_client=True) as client:
            deployment = None
            for _ in range(240):  # wait (bounded) for the runner to register its deployment
                try:
                    deployment = client.read_deployment_by_name(f"{NAIVE_FLOW}/{NAIVE_FLOW}")
                    break
                except Exception:  # noqa: BLE001 - not there yet
                    time.sleep(0.5)
            if deployment is None:
                raise TimeoutError("the naive runner did not register its deployment")
            before = counter.settled()
            started = time.perf_counter()
            ids = [client.create_flow_run_from_deployment(deployment.id, parameters={"task": e.task.model_dump(
                mode="json")}, name=f"{e.task.case_ref} · klantprofiel").id for e in entries(n, "NAIVE")]
            first = None
            deadline = time.monotonic() + 60 + 30 * n
            while time.monotonic() < deadline:
                states = [client.read_flow_run(i).state for i in ids]
                paused = sum(1 for s in states if s and s.is_paused())
                if paused and first is None:
                    first = time.perf_counter() - started
                if paused == n:
                    seconds = time.perf_counter() - started
                    return seconds, first or 0.0, diff(before, counter.settled()), _stop(runner)
                if any(s and s.is_final() for s in states):
                    bad = next(s for s in states if s and s.is_final())
                    raise RuntimeError(f"a naive run ended instead of suspending: {bad.type} {bad.message}")
                time.sleep(0.5)
            raise TimeoutError(f"only {paused} of {n} naive runs suspended")
    finally:
        if runner.returncode is None:
            _stop(runner)


def _stop(runner: subprocess.Popen) -> float:
    """Stop the runner; the CPU seconds it and the flow-run processes it started used."""
    runner.send_signal(2)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(runner.pid, os.WNOHANG)
        if pid:
            runner.returncode = status
            return usage.ru_utime + usage.ru_stime
        time.sleep(0.2)
    runner.kill()
    _, status, usage = os.wait4(runner.pid, 0)
    runner.returncode = status
    return usage.ru_utime + usage.ru_stime


@contextmanager
def prefect_server(prefect_db: str = "sqlite", postgres_url: str | None = None
                   ) -> Iterator[tuple[subprocess.Popen, RowCounter, dict[str, str]]]:
    """A fresh Prefect server (temporary home, free port) with Regie's deployments registered.

    Its database is SQLite in the temporary home, or a new PostgreSQL database that is dropped after.
    Sets the Prefect variables in this process's environment, so import Prefect only inside.
    """
    with tempfile.TemporaryDirectory(prefix="regie-prefect-bench-") as tmp:
        home, port = Path(tmp) / "prefect", free_port()
        admin = database = db_url = None
        if prefect_db == "postgres":
            import psycopg
            from sqlalchemy.engine import make_url

            base = make_url(postgres_url).set(drivername="postgresql")
            admin, database = base.render_as_string(hide_password=False), f"regie_prefect_bench_{os.getpid()}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{database}"')
            db_url = base.set(drivername="postgresql+asyncpg", database=database).render_as_string(hide_password=False)
        env = prefect_env(home, port, db_url)
        os.environ.update(env)  # before Prefect is imported
        server = start_server(home, env)
        try:
            wait_healthy(env["PREFECT_API_URL"], server, timeout=120)
            from flows.serve import deployments

            for deployment in deployments(None):
                deployment.apply()
            counter = RowCounter(home, base.set(database=database).render_as_string(hide_password=False)
                                 if database else None)
            yield server, counter, env
        finally:
            stop_server(server)
            if database:
                import psycopg

                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


# --- main ---------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=20)
    parser.add_argument("--naive-limit", type=int, default=4)
    parser.add_argument("--prefect-db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=os.environ.get("REGIE_TEST_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--serve-naive", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_naive:
        serve_naive(args.serve_naive)
        return 0

    with prefect_server(args.prefect_db, args.postgres_url) as (server, counter, env):
        print(f"# Prefect inbox benchmark  ({platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, Prefect database: {args.prefect_db})\n")

        before = counter.settled()
        server_cpu, own_cpu = cpu_seconds(server.pid), time.process_time()
        seconds, laps = asyncio.run(direct(args.tasks))
        own_cpu = time.process_time() - own_cpu
        rows = diff(before, counter.settled())
        server_cpu = cpu_seconds(server.pid) - server_cpu
        direct_per = seconds / args.tasks
        print(f"direct: {args.tasks} inbox entries in {seconds:.1f} s = {1000 * seconds / args.tasks:.2f} ms "
              f"per entry ({args.tasks / seconds:.0f}/s); no flow code runs")
        print(f"  first batch {1000 * laps[0]:.1f} ms per entry, last batch {1000 * laps[-1]:.1f} ms per entry "
              f"(with {args.tasks} runs in Prefect)")
        print(f"  CPU per entry: Prefect server {1000 * server_cpu / args.tasks:.1f} ms (incl. storing events), "
              f"delivering process {1000 * own_cpu / args.tasks:.1f} ms")
        print("  rows per entry: " + ", ".join(f"{t} {n / args.tasks:.2f}" for t, n in rows.items()))
        print(f"  rows in all: {sum(rows.values())} ({sum(rows.values()) / args.tasks:.1f} per entry)\n")

        if args.naive:
            server_cpu = cpu_seconds(server.pid)
            seconds, first, rows, cpu = naive(args.naive, args.naive_limit, env, counter)
            server_cpu = cpu_seconds(server.pid) - server_cpu
            per = seconds / args.naive
            print(f"naive: {args.naive} runs suspended in {seconds:.1f} s = {per:.2f} s per entry with "
                  f"{args.naive_limit} at once (first after {first:.1f} s); one Python process per entry, "
                  f"{cpu / args.naive:.1f} CPU s per entry (runner and its processes)")
            print(f"  CPU per entry: Prefect server {1000 * server_cpu / args.naive:.0f} ms (incl. the runner's "
                  "polling)")
            print("  rows per entry: " + ", ".join(f"{t} {n / args.naive:.2f}" for t, n in rows.items()))
            print(f"  rows in all: {sum(rows.values())} ({sum(rows.values()) / args.naive:.1f} per entry)")
            print(f"  extrapolated to {args.tasks} entries: {per * args.tasks / 3600:.1f} h of runner time; "
                  f"direct is {per / direct_per:.0f}x faster per entry")
    return 0


if __name__ == "__main__":
    sys.exit(main())
