"""Demo load benchmark: how long `regie up --demo` takes to play its seeded population into the case store.

    .venv/bin/python benchmarks/demo_load.py [--cases 300] [--seed 2021]

A fresh SQLite store in a temporary folder (what `regie up` uses by default), migrated by alembic, and
the population of `app.demo_plan` played through `app.demo.load_population`: the real definitions, a
fake clock moved a day at a time over three years, the sweep, `start_many` and one batched commit a
day. Delivering to Prefect is not part of it (no server here). Prints one row for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cases import CaseService  # noqa: E402
from app.demo import load_population  # noqa: E402
from app.demo_plan import SEED  # noqa: E402
from engine.calendar import local_date, start_of_day  # noqa: E402
from engine.validator import validate_paths  # noqa: E402
from store.db import make_engine, upgrade  # noqa: E402


def run(cases: int, seed: int = SEED, now: datetime | None = None) -> dict:
    """Load `cases` demo cases into a fresh SQLite store; the figures."""
    now = now or datetime.now(UTC)
    library, problems = validate_paths([ROOT / "process_definitions"])
    if problems:
        raise SystemExit(f"definitions do not validate: {problems[0]}")
    with tempfile.TemporaryDirectory() as folder:
        engine = make_engine(f"sqlite:///{Path(folder) / 'regie.db'}")
        upgrade(engine)
        service = CaseService(engine, library, lambda: now, municipalities=["tilburg", "nederweert"])
        began = time.perf_counter()
        started = load_population(service, now, start_of_day(local_date(now)) - timedelta(minutes=1),
                                  seed=seed, size=cases)
        seconds = time.perf_counter() - began
        engine.dispose()
    return {"cases": cases, "started": started, "seconds": round(seconds, 1), "load": os.getloadavg()[0]}


def row(result: dict) -> str:
    return (f"| {platform.node() or '-'} ({os.cpu_count()} cores) | {result['cases']} | {result['seconds']} | "
            f"{result['load']:.1f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    result = run(args.cases, args.seed)
    print(f"{result['started']} cases started in {result['seconds']} s (load average {result['load']:.1f})")
    print(row(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
