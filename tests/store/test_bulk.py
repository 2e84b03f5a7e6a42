"""How the store writes: bulk rows are stored as SQLAlchemy's own insert stores them, and a value the database
refuses is a typed refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa

from store.bulk import insert_many
from store.db import write_transaction
from store.models import Serialized
from store.writes import cases, history, outbox, tasks
from tests.store.conftest import rows

NOW = datetime(2026, 3, 2, 8, 15, 30, 123456, tzinfo=UTC)


def test_bulk_rows_are_stored_as_sqlalchemys_own_insert_stores_them(engine: sa.Engine):
    case = {"case_ref": "RMD-2026-0001", "municipality": "rotterdam", "definition": "d@1", "profile": None,
            "status": "active", "phase": None, "state": Serialized("{}"), "version": 1, "next_due_at": NOW,
            "created_at": NOW, "updated_at": NOW}
    line = {"case_ref": "RMD-2026-0001", "version": 1, "at": NOW, "recorded_at": NOW, "actor": "anna",
            "event": "started", "kind": "task_opened", "ref": "intake", "detail": "é ✓", "element": "intake",
            "clock": None, "due_on": date(2026, 3, 16), "verdict": None}
    command = {"case_ref": "RMD-2026-0001", "type": "notify", "payload": Serialized('{"x": "ü"}'), "created_at": NOW,
               "attempts": 0}
    task = {"case_ref": "RMD-2026-0001", "definition": "d@1", "step": "intake", "role": "klantregisseur",
            "municipality": "rotterdam", "opened_at": NOW, "due_on": date(2026, 3, 16), "missed": False}
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(cases), case)
        conn.execute(sa.insert(history), line)
        insert_many(conn, history, [line])
        conn.execute(sa.insert(outbox), {**command, "key": "a"})
        insert_many(conn, outbox, [{**command, "key": "b"}, {**command, "key": "a"}], ignore_conflicts_on="key")
        conn.execute(sa.insert(tasks), {**task, "task_id": "intake-1"})
        insert_many(conn, tasks, [{**task, "task_id": "intake-2"}])

    by_orm, by_bulk = rows(engine, "SELECT at, recorded_at, due_on, detail FROM case_history ORDER BY id")
    assert tuple(by_orm) == tuple(by_bulk)
    assert [r[1:] for r in rows(engine, "SELECT key, payload, created_at FROM outbox ORDER BY key")] == \
        [r[1:] for r in rows(engine, "SELECT key, payload, created_at FROM outbox WHERE key = 'a'")] * 2
    first, second = rows(engine, "SELECT opened_at, due_on FROM open_tasks ORDER BY task_id")
    assert tuple(first) == tuple(second)
    with engine.connect() as conn:  # the text SQLite keeps, too (what range queries compare)
        raw = conn.execute(sa.select(sa.cast(history.c.at, sa.String))).scalars().all()
    assert raw[0] == raw[1]


def test_a_value_the_database_refuses_is_a_typed_refusal_that_names_no_value(pg_database):
    import pytest

    from store.db import upgrade
    from store.errors import ValueRefused

    engine = pg_database.engine()
    upgrade(engine)
    case = {"case_ref": "RMD-2026-0001", "municipality": "x" * 101, "definition": "d@1", "profile": None,
            "status": "active", "phase": None, "state": Serialized("{}"), "version": 1, "next_due_at": None,
            "created_at": NOW, "updated_at": NOW}
    with pytest.raises(ValueRefused, match=r"^de database weigert een waarde \(value too long") as refused:
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(cases), case)
    assert "xxxx" not in str(refused.value)
    with pytest.raises(ValueRefused, match="NUL"):
        with write_transaction(engine) as conn:
            conn.execute(sa.insert(cases), {**case, "municipality": "rotter\x00dam"})
    assert rows(engine, "SELECT case_ref FROM cases") == []
    engine.dispose()


def test_a_bulk_value_too_long_for_its_column_is_refused_not_cut_off(engine: sa.Engine):
    import pytest

    from store.errors import ValueRefused

    line = {"case_ref": "RMD-2026-0001", "version": 1, "at": NOW, "recorded_at": NOW, "actor": "a" * 101,
            "event": "started", "kind": "task_opened", "ref": "intake", "detail": "", "element": None,
            "clock": None, "due_on": None, "verdict": None}
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite does not enforce VARCHAR lengths (the service cuts texts to size before)")
    with write_transaction(engine) as conn:
        conn.execute(sa.insert(cases), {
            "case_ref": "RMD-2026-0001", "municipality": "rotterdam", "definition": "d@1", "profile": None,
            "status": "active", "phase": None, "state": Serialized("{}"), "version": 1, "next_due_at": NOW,
            "created_at": NOW, "updated_at": NOW})
    with pytest.raises(ValueRefused):
        with write_transaction(engine) as conn:
            insert_many(conn, history, [line])
    assert rows(engine, "SELECT count(*) FROM case_history") == [(0,)]
