"""Fixtures of the hostile-input tests: the case-store ones (a fresh SQLite file and PostgreSQL schema per
test, the test definitions), and the real Wi2021 definitions, loaded once."""

import pytest

from engine.loader import DEFAULT_DIR, Library
from engine.validator import validate_paths
from tests.store.conftest import database, engine, library, pg_database  # noqa: F401  (fixtures used by name)


@pytest.fixture(scope="session")
def wi2021() -> Library:
    """process_definitions/: the asielstatushouder trajectory, the Tilburg and Nederweert profiles."""
    found, problems = validate_paths([DEFAULT_DIR])
    assert problems == []
    return found
