"""Scale-out on an existing engine: prefect.yaml deployed into a process work pool on a PostgreSQL-backed
Prefect server, two `prefect worker`s drive cases through start, completion and sweep, and each timer
fires once. benchmarks/scale_out.py does the work; it runs in its own process, as it sets Prefect's
environment for its own server (and so this is also its CI run at a tiny size)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.conftest import PG_ENV, PG_SKIP

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.prefect, pytest.mark.postgres,
              pytest.mark.skipif(not os.environ.get(PG_ENV), reason=PG_SKIP)]


def test_two_workers_share_the_deployed_runs_and_each_timer_fires_once():
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale_out.py"), "--cases", "3", "--workers", "2",
                           "--postgres-url", os.environ[PG_ENV]], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr

    row = next(line for line in done.stdout.splitlines() if line.startswith("| 2 |"))
    workers, cases, runs, shares, *_, once = [cell.strip() for cell in row.strip("|").split("|")]
    # Every case completed and its timer fired exactly once (the script checks both).
    assert (workers, cases, once) == ("2", "3", "yes")
    # 3 starts, 3 completions and a sweep per worker; both workers took runs (the schedule's own
    # sweeps may add some), as a worker runs at most two at once and the three starts go out together.
    assert runs == "8"
    taken = [int(n) for n in shares.split(" / ")]
    assert len(taken) == 2 and all(n >= 1 for n in taken) and sum(taken) >= 8, shares
