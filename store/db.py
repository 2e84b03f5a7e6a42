"""Database engines and schema migrations for the case store.

SQLite (the embedded default) and PostgreSQL (production, several workers) behave the same for the
service: every write runs in one short transaction opened with `write_transaction`. On SQLite that
transaction takes the database's write lock at BEGIN (`BEGIN IMMEDIATE`), so two writers queue behind
the busy timeout instead of failing halfway with "database is locked" when a read turns into a write.

The schema is created and upgraded by the alembic migrations in `store/migrations/`, never by
`create_all` outside tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError

from store.errors import ValueRefused

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "regie_alembic_version"
"""Our own name, so Regie's migrations never meet Prefect's `alembic_version` in a shared database."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
_WRITE = "regie_write"
# Any fixed number: serialises concurrent `upgrade` calls from several workers on one PostgreSQL database.
_MIGRATION_LOCK = 74_002_021


def make_engine(url: str, *, search_path: str | None = None, **engine_kwargs: Any) -> Engine:
    """An engine for a SQLite file (WAL, busy timeout, foreign keys) or PostgreSQL (psycopg 3).

    `postgresql://` URLs are given the psycopg driver. `search_path` (PostgreSQL only) puts the tables
    in that schema, so several instances or test runs can share one database. Nothing connects yet.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if search_path:
            raise ValueError("search_path applies to PostgreSQL only")
        return _sqlite_engine(parsed, **engine_kwargs)
    if parsed.get_backend_name() == "postgresql":
        if search_path:
            options = f"-c search_path={search_path}"
            connect_args = {**engine_kwargs.pop("connect_args", {}), "options": options}
            engine_kwargs["connect_args"] = connect_args
        return create_engine(parsed, pool_pre_ping=True, **engine_kwargs)
    raise ValueError(f"unsupported database {parsed.get_backend_name()!r}: use SQLite or PostgreSQL")


def _sqlite_engine(url: Any, **engine_kwargs: Any) -> Engine:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **engine_kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN into our own hands (pysqlite's implicit BEGIN cannot be IMMEDIATE).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes: committed when the block ends, rolled back entirely if it raises.

    A value the database refuses (`DataError`: too long, a NUL byte, out of range) is `ValueRefused`."""
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True})
            with connection.begin():
                yield connection
    except DataError as exc:
        # Only the driver's own first line: SQLAlchemy's text would repeat the statement's values.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise ValueRefused(f"de database weigert een waarde ({reason}); niets is opgeslagen") from None


def alembic_config() -> Config:
    """The alembic configuration of the case store (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(target: Engine | str, revision: str = "head") -> None:
    """Bring the schema up to `revision` (default: the newest). Safe to call from several workers at once."""
    engine = make_engine(target) if isinstance(target, str) else target
    try:
        config = alembic_config()
        with write_transaction(engine) as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            # Alembic runs inside our transaction: on both databases the DDL commits with it or not at all.
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if isinstance(target, str):
            engine.dispose()
