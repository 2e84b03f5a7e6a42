"""Inserting many rows at once without SQLAlchemy's per-row bookkeeping (the timer sweep, the COA import).

For an executemany SQLAlchemy builds a parameter dict per row and runs every column's bind processor on
every value: for the tens of thousands of history and outbox rows of a large import that is about half
the time of the write. Here the INSERT is compiled once per table, columns and dialect; each column's
bind processor (the same conversion SQLAlchemy applies: aware datetimes to UTC, JSON documents, dates)
is run once per distinct date or time (the same `now` repeats in every row of a change) and once per
other value; the driver's executemany gets the rows as they are.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]], *,
                ignore_conflicts_on: str | None = None) -> None:
    """INSERT every row (all with the same keys); with `ignore_conflicts_on`, ON CONFLICT (column) DO NOTHING."""
    if not rows:
        return
    columns = tuple(rows[0])
    sql, order, positional = _statement(conn.dialect, table, columns, ignore_conflicts_on)
    dialect = conn.dialect  # the dialect's own form of each type, as SQLAlchemy converts with it
    convert = [_converter(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]
    converted = [[c(v) for c, v in zip(convert, row.values(), strict=True)] for row in rows]
    if positional:
        index = [columns.index(name) for name in order]
        params: list[Any] = [tuple(values[i] for i in index) for values in converted]
    else:
        params = [dict(zip(columns, values)) for values in converted]
    conn.exec_driver_sql(sql, params)


def _converter(processor: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    if processor is None:
        return lambda value: value
    seen: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        if isinstance(value, (dt.date, dt.datetime)):  # repeated in every row of a change: convert once
            if value not in seen:
                seen[value] = processor(value)
            return seen[value]
        return processor(value)
    return convert


@lru_cache(maxsize=64)
def _statement(dialect: Dialect, table: Table, columns: tuple[str, ...], conflict: str | None
               ) -> tuple[str, tuple[str, ...], bool]:
    # Bind parameters are named after their columns, so a row's keys are the parameter names.
    insert = (postgresql if dialect.name == "postgresql" else sqlite).insert(table)
    statement = insert.values({name: bindparam(name) for name in columns})
    if conflict is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[conflict])
    compiled = statement.compile(dialect=dialect)
    if compiled.escaped_bind_names:
        raise ValueError(f"columns of {table.name} need escaped parameter names; use conn.execute")
    return compiled.string, tuple(compiled.positiontup or ()), bool(compiled.positional)
