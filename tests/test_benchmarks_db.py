"""The database benchmarks run at a tiny size, so that none of them rots between the runs that measure.

They check their own results (every completion made, every message arrived, every due case advanced);
here they must only finish and report. No figure is asserted: speed is measured by the benchmarks at
full size, never by a timed test.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("REGIE_TEST_DATABASE_URL")


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="needs REGIE_TEST_DATABASE_URL (PostgreSQL)")
def test_the_completions_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import completions

    assert completions.main(["--cases", "2", "--steps", "2", "--postgres-url", PG_URL]) == 0
    out = capsys.readouterr().out
    assert "| 1 |" in out and "| 2 |" in out


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_sweep_benchmark_runs_with_its_plain_driver_baseline(database: str,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    if database == "postgres" and not PG_URL:
        pytest.skip("needs REGIE_TEST_DATABASE_URL (PostgreSQL)")
    from benchmarks import sweep

    args = ["--cases", "200", "--database", database] + (["--postgres-url", PG_URL] if PG_URL else [])
    assert sweep.main(args) == 0
    assert "same writes, plain driver" in capsys.readouterr().out



def test_the_notifications_benchmark_drains_through_app_delivery(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import notifications

    databases = ["--database", "sqlite"] + (["--database", "postgres", "--postgres-url", PG_URL] if PG_URL else [])
    assert notifications.main(["--messages", "4", "--smtp-messages", "2", "--threads", "2", "--repeat", "1",
                               "--drain", "20", *databases]) == 0
    assert "outbox drain of 20 (app.delivery.drain), SQLite" in capsys.readouterr().out
