"""The case-store fixtures (a fresh SQLite file and PostgreSQL schema per test, the test definitions) for
the hostile-input tests too."""

from tests.store.conftest import database, engine, library, pg_database  # noqa: F401  (fixtures used by name)
