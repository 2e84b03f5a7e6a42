"""Database engines and schema migrations for the case store.

SQLite (the embedded default) and PostgreSQL (production, several workers) behave the same for the
service: every write runs in one short transaction opened with `write_transaction`. On SQLite that
transaction takes the database's write lock at BEGIN (`BEGIN IMMEDIATE`), so two writers queue behind
the busy timeout instead of failing halfway with "database is locked" when a read turns into a write.

On PostgreSQL a pooled connection is not pinged before each use (that is a round trip per
transaction, a few per cent of a step completion). A connection the server closed (a restart,
`pg_terminate_backend`) has already been told so on its socket: the checkout looks at the socket without
a round trip and throws such a connection away (`_closed_by_server`). Connections are replaced after
`POOL_RECYCLE_S` as well, and `run_write` runs a transaction again once when its connection turns out to
be gone before the commit was sent (nothing of it was written then).

Reads end with COMMIT, not ROLLBACK (`read_transaction`): psycopg answers every ROLLBACK with
`DEALLOCATE ALL`, which throws away the prepared statements that make repeated writes cheap.

The schema is created and upgraded by the alembic migrations in `store/migrations/`, never by
`create_all` outside tests.
"""

from __future__ import annotations

import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError, DBAPIError, DisconnectionError, OperationalError

from store.errors import ValueRefused

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "regie_alembic_version"
"""Our own name, so Regie's migrations never meet Prefect's `alembic_version` in a shared database."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_RECYCLE_S = 1800
"""A pooled PostgreSQL connection older than this is replaced (firewalls drop idle connections silently)."""
_WRITE = "regie_write"
_LIGHT = "regie_light_commit"
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
            raise ValueError("search_path geldt alleen voor PostgreSQL")
        return _sqlite_engine(parsed, **engine_kwargs)
    if parsed.get_backend_name() == "postgresql":
        if search_path:
            options = f"-c search_path={search_path}"
            connect_args = {**engine_kwargs.pop("connect_args", {}), "options": options}
            engine_kwargs["connect_args"] = connect_args
        engine_kwargs.setdefault("pool_recycle", POOL_RECYCLE_S)
        engine = create_engine(parsed, **engine_kwargs)
        event.listen(engine, "checkout", _closed_by_server)
        return engine
    raise ValueError(f"database {parsed.get_backend_name()!r} wordt niet ondersteund: gebruik SQLite of PostgreSQL")


def _closed_by_server(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection the server has closed; the pool then connects anew."""
    gone = _gone(dbapi_connection)
    if gone:
        raise DisconnectionError(gone)


def _gone(dbapi_connection: Any) -> str | None:
    """Why the server has closed this connection, or None when it has not (so far as can be seen).

    An idle connection (no LISTEN here) receives nothing unless the server ends it: it sends its FATAL
    message and closes the socket. So a socket with something to read, or none at all, is a dead
    connection, found without a round trip to the server."""
    if dbapi_connection.closed or dbapi_connection.broken:
        return "the connection was closed"
    try:
        readable, _, _ = select.select([dbapi_connection.fileno()], [], [], 0)
    except Exception:  # OSError, or psycopg's own error for a connection without a socket
        return "the connection's socket is gone"
    return "the server closed the connection" if readable else None


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
        options = connection.get_execution_options()
        immediate = options.get(_WRITE, False)
        if immediate:  # per write transaction: a light one does not wait for the disk (see write_transaction)
            connection.exec_driver_sql("PRAGMA synchronous=" + ("NORMAL" if options.get(_LIGHT) else "FULL"))
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine, *, light: bool = False) -> Iterator[Connection]:
    """One transaction that writes: committed when the block ends, rolled back entirely if it raises.

    A value the database refuses (`DataError`: too long, a NUL byte, out of range) is `ValueRefused`.

    `light`: the COMMIT does not wait until the disk has it (PostgreSQL `synchronous_commit = off`,
    SQLite `synchronous = NORMAL` in WAL mode). It survives a crash of our process like any commit; only a
    crash of the database server or the machine may lose the last such commits, never half of one. For
    bookkeeping that is safe to lose that way and is written per message (the delivery ledger's claims and
    successes: a lost record means the message is sent again, with the same idempotency key); never for
    case data."""
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(**{_WRITE: True, _LIGHT: light})
            with connection.begin():
                if light and connection.dialect.name == "postgresql":
                    connection.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
                yield connection
    except DataError as exc:
        # Only the driver's own first line: SQLAlchemy's text would repeat the statement's values.
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise ValueRefused(f"de database weigert een waarde ({reason}); niets is opgeslagen") from None


T = TypeVar("T")


@contextmanager
def batched(connection: Connection) -> Iterator[Any]:
    """Send the block's statements to PostgreSQL together (psycopg's pipeline mode): one round trip for
    all of them instead of one each, which is most of a step completion's time. Their results and errors
    arrive when the block ends, so the block reads none (rowcounts are -1 inside it); a cursor of the
    driver connection it yields can be read after the block. On SQLite, where a statement costs no
    round trip, it yields None and the statements simply run as they come."""
    if connection.dialect.name != "postgresql":
        yield None
        return
    import psycopg

    driver = connection.connection.driver_connection
    try:
        with driver.pipeline():
            yield driver
    except psycopg.DataError as exc:
        reason = str(exc).splitlines()[0]
        raise ValueRefused(f"de database weigert een waarde ({reason}); niets is opgeslagen") from None
    except psycopg.Error as exc:
        # As SQLAlchemy would have raised it outside the pipeline, and a dead connection leaves the pool.
        gone = bool(driver.broken or driver.closed)
        if gone:
            connection.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, psycopg.Error, connection_invalidated=gone) from exc


def run_write(engine: Engine, work: Callable[[Connection], T], *, attempts: int = 2) -> T:
    """`work` in a `write_transaction`, committed; run again (once) on a fresh connection when the
    connection was found dead before the commit was sent: then the server rolled it all back.

    `work` must do nothing outside the transaction it is given, so that running it again is safe."""
    for attempt in range(1, attempts + 1):
        committing = False
        try:
            with write_transaction(engine) as connection:
                result = work(connection)
                committing = True
            return result
        except DBAPIError as exc:
            # After the COMMIT was sent nobody knows whether it was written: never run it again then.
            if committing or not exc.connection_invalidated or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def execute_driver(connection: Connection, sql: str, params: Any, *, scalar: bool = False,
                   commit: bool = False) -> Any:
    """Run `sql` (PostgreSQL, psycopg's parameter marks) on the driver's own cursor, without SQLAlchemy's
    bookkeeping per statement; the cursor's rowcount (-1 inside `batched`) or, with `scalar`, the first
    value of its first row. Errors come as SQLAlchemy raises them (a `DataError` becomes `ValueRefused` in
    `write_transaction`).

    `commit`: the transaction's COMMIT goes with the statement, in the same round trip (a pipeline);
    SQLAlchemy's own commit at the end of the transaction then finds nothing left to do. For a
    transaction's last statement only. A connection that the server has closed already is found before
    anything is sent (the transaction is run again by `run_write`); one lost on the way is not, since the
    COMMIT may have been written."""
    import psycopg

    driver = connection.connection.driver_connection
    if commit:
        gone = _gone(driver)
        if gone:  # nothing was sent: the server rolled the transaction back
            error = psycopg.OperationalError(gone)
            connection.invalidate(error)
            raise OperationalError(sql, None, error, connection_invalidated=True)
    try:
        with driver.cursor() as cursor:
            if commit:
                # Not driver.commit(): in a pipeline it waits for the server, and leaving the pipeline then
                # costs a second round trip.
                with driver.pipeline(), driver.cursor() as committing:
                    cursor.execute(sql, params)
                    committing.execute("COMMIT")
            else:
                cursor.execute(sql, params)
            return cursor.fetchone()[0] if scalar else cursor.rowcount
    except psycopg.Error as exc:
        if driver.broken or driver.closed:  # a dead connection leaves the pool
            connection.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True) from exc


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that only reads (several reads that agree), ended with COMMIT (see the module
    docstring: a ROLLBACK would throw away the connection's prepared statements)."""
    with engine.begin() as connection:
        yield connection


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
