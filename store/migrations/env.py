"""Alembic environment of the case store.

`store.db.upgrade` hands us an open connection inside its transaction (`config.attributes`). From the
command line (`alembic -c store/alembic.ini revision --autogenerate -m "..."`) we connect to the
database named by `-x url=...` or `REGIE_DATABASE_URL` (the store does not read Regie's settings).
"""

from __future__ import annotations

import importlib
import os
import pkgutil

from alembic import context
from sqlmodel import SQLModel

import store
from store.db import VERSION_TABLE, make_engine

# Every store module that defines tables registers them on SQLModel.metadata when imported.
for _module in pkgutil.iter_modules(store.__path__):
    if _module.name != "migrations":
        importlib.import_module(f"store.{_module.name}")


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    # Only our tables: the same database may hold Prefect's or anyone else's, which we never touch.
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    return table in SQLModel.metadata.tables


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        version_table=VERSION_TABLE,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite changes columns by copying tables
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("REGIE_DATABASE_URL") or \
        context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("name the database: alembic -x url=sqlite:///.regie/regie.db ... (or set REGIE_DATABASE_URL)")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("the case store migrations run online only (store.db.upgrade)")
_main()
