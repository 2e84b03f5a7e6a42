"""Sweep benchmark on Prefect: Regie's one sweep run versus one Prefect flow run per due case.

    .venv/bin/python benchmarks/naive_sweep.py [--cases 200]

Starts its own Prefect server (SQLite, temporary folder, free port) and, twice, a fresh case store
(SQLite) with N cases of the rondleiding definition, started on one day, so that eleven days later
each has due timers (the weekly COA nudge and the reminder before the deadline). Then the same work
is done two ways, both in this process (so neither pays for starting Python processes):

- Regie: one `fire-due-timers` flow run: fire every due case in batches, deliver the outbox.
- naive: one flow run per due case, each firing that case's timers and delivering what that caused.

Reports wall time, time per case, the ratio, and the rows each way left in Prefect's database.
A deployed naive run would also start a Python process per case (see benchmarks/inbox.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from inbox import diff, prefect_server  # noqa: E402  (no Prefect import)

START = datetime(2026, 3, 2, 8, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime):
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def store(folder: Path, n: int, clock: Clock):
    """A fresh case store with n cases started at START, their first commands delivered to Prefect."""
    from app.bootstrap import bootstrap
    from app.delivery import deliver_pending
    from app.settings import get_settings

    definitions = folder / "definitions"
    definitions.mkdir(parents=True)
    shutil.copy(ROOT / "process_definitions" / "catalog.yaml", definitions / "catalog.yaml")
    # rondleiding (and korte_wacht, which it calls) are test definitions, not the project's.
    for path in (ROOT / "tests" / "fixtures" / "definitions").glob("*.yaml"):
        shutil.copy(path, definitions / path.name)
    # Prefect's side is measured here, not delivery to partners: notices are logged (as in tests/prefect),
    # and rotterdam runs without a profile of its own.
    rt = bootstrap(get_settings(data_dir=folder / "data", definitions_dir=definitions, database_url="",
                                municipalities=["rotterdam"], notifier="log"), clock=clock)
    clock.at = START
    code = folder.name.upper()[:5]
    for i in range(n):
        rt.service.start_trajectory(case_ref=f"{code}-2026-{i:05d}", definition="rondleiding",
                                    municipality="rotterdam", start_message="koppeling", actor="bench")

    asyncio.run(deliver_pending(rt.service, rt.notifier))
    clock.at = START + timedelta(days=11, hours=1)
    return rt


def naive_flow():
    """One case per run: fire the earliest due case's timers, deliver what that caused."""
    from prefect import flow

    from tasks.cases import deliver_outbox, sweep_timers

    @flow(name="naive-fire-one-case")
    async def fire_one_case() -> int:
        report = sweep_timers(batch_size=1, limit=1)
        await deliver_outbox()
        return report.cases_advanced

    return fire_one_case


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    with prefect_server() as (_server, counter, _env), tempfile.TemporaryDirectory(prefix="regie-sweep-") as tmp:
        from app.bootstrap import use
        from flows.sweep import fire_due_timers

        print(f"# Prefect sweep benchmark  ({platform.machine()}, {os.cpu_count()} cores, Python "
              f"{platform.python_version()}, case store and Prefect on SQLite)\n")

        # Warm up first: the first flow run in a process imports and builds much of Prefect (about a
        # second here), which would otherwise be charged to whichever way runs first.
        fire_one_case = naive_flow()
        clock = Clock(START)
        rt = store(Path(tmp) / "warm", 2, clock)
        with use(rt):
            assert asyncio.run(fire_one_case()) == 1 and asyncio.run(fire_due_timers())["cases_advanced"] == 1

        clock = Clock(START)
        rt = store(Path(tmp) / "regie", args.cases, clock)
        before = counter.settled()
        with use(rt):
            started = time.perf_counter()
            result = asyncio.run(fire_due_timers())
            regie = time.perf_counter() - started
        regie_rows = diff(before, counter.settled())
        assert result["cases_advanced"] == args.cases, result

        clock = Clock(START)
        rt = store(Path(tmp) / "naive", args.cases, clock)
        before = counter.settled()
        with use(rt):
            started = time.perf_counter()
            advanced = sum(asyncio.run(fire_one_case()) for _ in range(args.cases))
            naive = time.perf_counter() - started
        naive_rows = diff(before, counter.settled())
        assert advanced == args.cases and rt.service.fire_due_timers().cases_advanced == 0

        n = args.cases
        print(f"regie: 1 flow run, {n} cases in {regie:.1f} s = {1000 * regie / n:.1f} ms per case")
        print(f"naive: {n} flow runs, {n} cases in {naive:.1f} s = {1000 * naive / n:.1f} ms per case")
        print(f"ratio: the naive way takes {naive / regie:.1f}x as long")
        for label, rows in (("regie", regie_rows), ("naive", naive_rows)):
            print(f"  {label} rows in Prefect: {sum(rows.values())} ({sum(rows.values()) / n:.1f} per case): "
                  + ", ".join(f"{t} {c}" for t, c in rows.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
