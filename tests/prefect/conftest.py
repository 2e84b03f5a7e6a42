"""Fixtures for the Prefect side: a real Prefect test server (once per session), a case store per test.

The server is `prefect_test_harness` (about 7 s to start); tests that need it are marked `prefect`.
Flows run in this process against a `Runtime` with a real case service on a fresh SQLite file and a
clock the test moves by hand. Nothing is mocked; nothing sleeps.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.store.conftest import FakeClock

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "process_definitions" / "catalog.yaml"
TEST_MUNICIPALITIES = ("rotterdam", "schiedam", "utrecht")
"""Municipalities without a profile the tests' cases run in (`REGIE_MUNICIPALITIES`)."""

# Quiet and offline, before Prefect is imported by anything below.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A temporary Prefect server with every Regie deployment registered (not served: tests run flows)."""
    from prefect.testing.utilities import prefect_test_harness

    from flows.serve import deployments

    # Run logs go to the server at INFO, so the privacy test has real log lines to search.
    for name in ("prefect.flow_runs", "prefect.task_runs"):
        logging.getLogger(name).setLevel(logging.INFO)
    with prefect_test_harness():
        for deployment in deployments(None):
            deployment.apply()
        yield


@pytest.fixture
def definitions_dir(tmp_path: Path) -> Path:
    """The project's catalogue with the small test definitions (rondleiding): quick cases to drive."""
    folder = tmp_path / "definitions"
    folder.mkdir()
    shutil.copy(CATALOG, folder / "catalog.yaml")
    for path in (CATALOG.parents[1] / "tests" / "fixtures" / "definitions").glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def clock() -> FakeClock:
    """The case service's clock, at Monday 2 March 2026; the test moves it."""
    return FakeClock()


@pytest.fixture
def rt(tmp_path: Path, definitions_dir: Path, clock: FakeClock):
    """A runtime on a fresh SQLite case store, used by every flow run in this process."""
    from app.bootstrap import bootstrap, use
    from app.settings import get_settings

    # The Prefect side is under test here, not delivery to partners: notices are logged and recorded.
    settings = get_settings(data_dir=tmp_path / "data", definitions_dir=definitions_dir, database_url="",
                            municipalities=list(TEST_MUNICIPALITIES), notifier="log")
    runtime = bootstrap(settings, clock=clock)
    with use(runtime):
        yield runtime
    runtime.service.engine.dispose()
