"""Fixtures for the delivery tests: real local peers, the test profile's partner directory, a fake clock.

Every message a peer received is scanned for personal and health data when the test ends (a failing
scan fails the test that sent it). The SQL ledger runs on a migrated SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engine.definitions import Catalog, Profile
from engine.loader import load_library, read_yaml
from integrations.apprise_notifier import AppriseNotifier, StaticCases
from integrations.directory import PartnerDirectory, SecretUnavailable, load_directory
from integrations.ledger import MemoryLedger
from integrations.messages import MessageRenderer
from integrations.policy import DeliveryPolicy
from store.db import upgrade
from store.deliveries import SqlDeliveryLedger
from tests.notifications.peers import JsonPeer, SmtpPeer
from tests.notifications.privacy_scan import assert_clean
from tests.store.conftest import Database, FakeClock, _postgres, _sqlite

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
CATALOG = ROOT / "process_definitions" / "catalog.yaml"
HOOK_TOKEN = "tok-3f9a1c77e2"
"""The webhook token the test profile takes from ${TEST_HOOK_TOKEN}; it must never be stored or logged."""
VWN_WEBHOOK_PATH = "vwn"

@pytest.fixture(scope="session")
def catalog() -> Catalog:
    library, problems = load_library([CATALOG])
    assert problems == []
    assert library.catalog is not None
    return library.catalog


def read_profile(name: str) -> Profile:
    data, _ = read_yaml(FIXTURES / name, name)
    return Profile.model_validate(data)


@pytest.fixture
def smtp() -> Iterator[SmtpPeer]:
    peer = SmtpPeer().start()
    yield peer
    peer.stop()
    assert_clean(peer.texts())


@pytest.fixture
def hooks() -> Iterator[JsonPeer]:
    peer = JsonPeer().start()
    yield peer
    peer.stop()
    assert_clean(peer.texts())


@pytest.fixture
def env(smtp: SmtpPeer, hooks: JsonPeer) -> dict[str, str]:
    """The environment the test profile's URLs refer to."""
    return {"TEST_SMTP_PORT": str(smtp.port), "TEST_JSON_PORT": str(hooks.port), "TEST_HOOK_TOKEN": HOOK_TOKEN}


@pytest.fixture
def blocks(hooks: JsonPeer) -> dict[str, str]:
    """Prefect Secret blocks as the notifier would read them (name -> value)."""
    return {"test-vwn-webhook": hooks.url(VWN_WEBHOOK_PATH)}


@pytest.fixture
def directory(catalog: Catalog, env: dict[str, str]) -> PartnerDirectory:
    return load_directory(read_profile("testgemeente.yaml"), catalog, env)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cases() -> StaticCases:
    return StaticCases(profiles={}, data={})


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated case store: a SQLite file, and a fresh PostgreSQL schema when REGIE_TEST_DATABASE_URL is set."""
    databases = _sqlite(tmp_path) if request.param == "sqlite" else _postgres()
    database = next(databases)
    engine = database.engine()
    upgrade(engine)
    engine.dispose()
    yield database
    databases.close()  # drops the PostgreSQL schema


@pytest.fixture
def sql_engine(sql_database: Database) -> Iterator[sa.Engine]:
    engine = sql_database.engine()
    yield engine
    engine.dispose()


def block_loader(blocks: dict[str, str]):
    def load(name: str) -> str:
        if name not in blocks:
            raise SecretUnavailable(f"Prefect Secret-blok {name!r} is niet te lezen (not found)")
        return blocks[name]
    return load


@pytest.fixture
def make_notifier(catalog, directory, cases, clock, env, blocks):
    """A notifier on the test profile (every case runs with it) with the given ledger and settings."""

    def make(ledger=None, **settings) -> AppriseNotifier:
        return AppriseNotifier(
            directories={"testgemeente": directory}, renderer=MessageRenderer(catalog),
            ledger=ledger if ledger is not None else MemoryLedger(), cases=cases,
            policy=DeliveryPolicy(**settings), default_profile="testgemeente", clock=clock, env=env,
            load_block=block_loader(blocks),
        )

    return make


@pytest.fixture
def sql_ledger(sql_engine) -> SqlDeliveryLedger:
    return SqlDeliveryLedger(sql_engine)
