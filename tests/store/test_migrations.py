"""The schema is made by the alembic migrations, on a fresh SQLite file and on PostgreSQL."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

import store
import store.models
from store.db import VERSION_TABLE, alembic_config, upgrade, write_transaction
from tests.store.conftest import Database

# Every module of the store that defines tables (the migrations must make exactly those).
for module in pkgutil.iter_modules(store.__path__):
    if module.name != "migrations":
        importlib.import_module(f"store.{module.name}")
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def _ours(obj, name, type_, reflected, compare_to) -> bool:
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table != VERSION_TABLE


def test_upgrade_creates_every_table_on_an_empty_database(database: Database):
    engine = database.engine()

    upgrade(engine)

    tables = set(sa.inspect(engine).get_table_names())
    assert set(SQLModel.metadata.tables) | {VERSION_TABLE} == tables
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar_one() == HEAD
    engine.dispose()


def test_the_migrated_schema_matches_the_models(database: Database):
    engine = database.engine()
    upgrade(engine)

    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _ours})
        differences = compare_metadata(context, SQLModel.metadata)

    assert differences == []
    engine.dispose()


def test_upgrading_twice_changes_nothing(database: Database):
    engine = database.engine()
    upgrade(engine)

    upgrade(engine)

    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT COUNT(*) FROM {VERSION_TABLE}")).scalar_one() == 1
    engine.dispose()


def test_downgrade_to_base_removes_the_tables(database: Database):
    engine = database.engine()
    upgrade(engine)
    config = alembic_config()

    with write_transaction(engine) as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "base")

    assert set(sa.inspect(engine).get_table_names()) == {VERSION_TABLE}
    engine.dispose()


def test_history_refuses_updates_and_deletes(engine: sa.Engine):
    now = datetime(2026, 3, 2, tzinfo=UTC)
    case = {"case_ref": "RMD-1", "municipality": "rotterdam", "definition": "x@1", "status": "active",
            "state": {}, "version": 1, "created_at": now, "updated_at": now}
    line = {"case_ref": "RMD-1", "version": 1, "at": now, "recorded_at": now, "actor": "op", "event": "started",
            "kind": "case_started", "ref": "x@1", "detail": ""}
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(store.models.CaseRecord.__table__), case)
        conn.execute(sa.insert(store.models.HistoryRecord.__table__), line)

    for sql in ("UPDATE case_history SET actor = 'someone else'", "DELETE FROM case_history"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with write_transaction(engine) as conn:
                conn.execute(sa.text(sql))

    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT actor FROM case_history")).scalars().all() == ["op"]


def test_sqlite_runs_in_wal_mode_with_foreign_keys_and_a_busy_timeout(tmp_path):
    engine = Database("sqlite", f"sqlite:///{tmp_path / 'sub' / 'regie.db'}").engine()

    with engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")}

    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30000}
    assert (tmp_path / "sub" / "regie.db").exists()
    engine.dispose()


def test_upgrade_takes_a_url_as_well(tmp_path):
    url = f"sqlite:///{tmp_path / 'regie.db'}"

    upgrade(url)

    engine = Database("sqlite", url).engine()
    assert set(SQLModel.metadata.tables) <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


@pytest.mark.postgres
def test_workers_starting_at_once_on_postgresql_migrate_the_schema_once(pg_database: Database):
    gate = threading.Barrier(3, timeout=10)

    def start_worker(_: int) -> None:
        engine = pg_database.engine()
        try:
            gate.wait()
            upgrade(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(3) as pool:
        list(pool.map(start_worker, range(3)))

    engine = pg_database.engine()
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all() == [HEAD]
    engine.dispose()


def test_history_written_before_typed_facts_gets_its_fields_from_its_wording(database: Database):
    # A case store at revision 0002 holds history lines in the engine's old wording only.
    engine = database.engine()
    upgrade(engine, "0002")
    now = datetime(2026, 3, 2, 8, tzinfo=UTC)
    old_lines = [
        ("task_opened", "klantprofiel", "klantregisseur, due 2026-03-16"),
        ("deadline_changed", "pip_vaststellen", "due 2026-06-08"),
        ("task_completed", "klantprofiel", "by op-1 late (due 2026-03-16)"),
        ("task_completed", "gesprek_azc", "by op-1 on time"),
        ("task_completed", "intakegesprek", "by op-1"),
        ("deadline_missed", "driegesprek", "klantregisseur, due 2026-03-20"),
        ("deadline_missed", "pip_termijn", "last day was 2026-05-11"),
        ("clock_started", "pip_termijn", "2026-03-03 to 2026-05-11"),
        ("clock_stopped", "pip_termijn", "met, last day 2026-05-11"),
        ("clock_stopped", "huisvestingsnorm", "late, last day 2026-04-27"),
        ("clock_stopped", "inburgeringstermijn", "case closed, last day 2029-05-20"),
        ("clock_expired", "pip_termijn", "last day was 2026-05-11"),
        ("milestone_reached", "inburgeringstermijn.verlengingsvenster", "last day 2029-05-20"),
        ("notified", "coordinator", "pip_termijn_verstreken"),
    ]
    with write_transaction(engine) as conn:
        conn.execute(sa.text("INSERT INTO cases (case_ref, municipality, definition, status, state, version, "
                             "created_at, updated_at) VALUES ('RMD-1', 'rotterdam', 'x@1', 'active', '{}', 1, :t, :t)"),
                     {"t": now})
        for kind, ref, detail in old_lines:
            conn.execute(sa.text("INSERT INTO case_history (case_ref, version, at, recorded_at, actor, event, kind, "
                                 "ref, detail) VALUES ('RMD-1', 1, :t, :t, 'op-1', 'x', :k, :r, :d)"),
                         {"t": now, "k": kind, "r": ref, "d": detail})

    upgrade(engine)

    with engine.connect() as conn:
        got = [(r.kind, r.element, r.clock, str(r.due_on)[:10] if r.due_on else None, r.verdict)
               for r in conn.execute(sa.text("SELECT kind, element, clock, due_on, verdict FROM case_history "
                                             "ORDER BY id"))]
    assert got == [
        ("task_opened", "klantprofiel", None, "2026-03-16", None),
        ("deadline_changed", "pip_vaststellen", None, "2026-06-08", None),
        ("task_completed", "klantprofiel", None, "2026-03-16", "late"),
        ("task_completed", "gesprek_azc", None, None, "on_time"),
        ("task_completed", "intakegesprek", None, None, None),
        ("deadline_missed", "driegesprek", None, "2026-03-20", "missed"),
        ("deadline_missed", None, "pip_termijn", "2026-05-11", "missed"),
        ("clock_started", None, "pip_termijn", "2026-05-11", None),
        ("clock_stopped", None, "pip_termijn", "2026-05-11", "on_time"),
        ("clock_stopped", None, "huisvestingsnorm", "2026-04-27", "late"),
        ("clock_stopped", None, "inburgeringstermijn", "2029-05-20", None),
        ("clock_expired", None, "pip_termijn", "2026-05-11", "missed"),
        ("milestone_reached", "verlengingsvenster", "inburgeringstermijn", "2029-05-20", None),
        ("notified", None, None, None, None),
    ]
    # The guard is back: the history is append-only again after the backfill.
    with pytest.raises(sa.exc.DatabaseError, match="append-only"):
        with write_transaction(engine) as conn:
            conn.execute(sa.text("UPDATE case_history SET verdict = 'late'"))
    engine.dispose()
