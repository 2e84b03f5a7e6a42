"""Fixtures for the case-store tests: real SQLite files and real PostgreSQL schemas, a fake clock.

Every test that takes `database` (or `engine`, `service`) runs twice: on a fresh SQLite file under
tmp_path and on a fresh PostgreSQL schema (dropped afterwards) when REGIE_TEST_DATABASE_URL is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.cases import CaseService
from engine.loader import Library
from engine.validator import validate_paths
from store.db import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]
DEFINITIONS = [ROOT / "process_definitions" / "catalog.yaml", ROOT / "tests" / "fixtures" / "definitions"]
PG_ENV = "REGIE_TEST_DATABASE_URL"
PG_SKIP = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test); not set"

# Monday 2 March 2026, 09:00 in the Netherlands.
MONDAY = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand; the service reads it, nothing sleeps."""

    def __init__(self, now: datetime = MONDAY):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@dataclass
class Database:
    """A fresh, empty database: its URL and, on PostgreSQL, the schema that isolates this test."""

    kind: str
    url: str
    search_path: str | None = None

    def engine(self) -> sa.Engine:
        """A new engine (own connection pool) on this database."""
        return make_engine(self.url, search_path=self.search_path) if self.search_path else make_engine(self.url)


@pytest.fixture(scope="session")
def library() -> Library:
    library, problems = validate_paths(DEFINITIONS)
    assert problems == []
    return library


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _sqlite(tmp_path: Path) -> Iterator[Database]:
    yield Database("sqlite", f"sqlite:///{tmp_path / 'regie.db'}")


def _postgres() -> Iterator[Database]:
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)
    schema = f"regie_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield Database("postgres", url, schema)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """An empty database, once SQLite and once PostgreSQL."""
    yield from (_sqlite(tmp_path) if request.param == "sqlite" else _postgres())


@pytest.fixture
def pg_database() -> Iterator[Database]:
    """An empty PostgreSQL schema (for tests about PostgreSQL's row locking)."""
    yield from _postgres()


@pytest.fixture
def engine(database: Database) -> Iterator[sa.Engine]:
    """An engine on a database migrated to the newest schema."""
    engine = database.engine()
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def service(engine: sa.Engine, library: Library, clock: FakeClock) -> CaseService:
    return CaseService(engine, library, clock)


def count(engine: sa.Engine, table: str, **where: object) -> int:
    """Rows in a table, optionally matching column values (read straight from the database)."""
    clause = " AND ".join(f"{k} = :{k}" for k in where)
    sql = f"SELECT COUNT(*) FROM {table}" + (f" WHERE {clause}" if clause else "")
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), where).scalar_one()


def rows(engine: sa.Engine, sql: str, **params: object) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).all()


def start(service: CaseService, case_ref: str = "RMD-2026-0001", **extra: object):
    """Start the tour definition by `koppeling`, as the COA's message would."""
    return service.start_trajectory(case_ref=case_ref, definition="rondleiding", municipality="rotterdam",
                                    start_message="koppeling", actor="coa-import", **extra)
