"""Inserting many rows at once without SQLAlchemy's per-row bookkeeping (the timer sweep, the COA import,
a step completion's history, outbox and open-task rows), in multi-row INSERT statements.

For an executemany SQLAlchemy builds a parameter dict per row and runs every column's bind processor on
every value: for the tens of thousands of history and outbox rows of a large import that is about half
the time of the write. Here the INSERT is compiled once per table, columns and dialect; each column's
bind processor (the same conversion SQLAlchemy applies: aware datetimes to UTC, JSON documents, dates)
is run once per distinct date or time (the same `now` repeats in every row of a change) and once per
other value; the driver's executemany gets the rows as they are.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Dialect, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]], *,
                ignore_conflicts_on: str | None = None) -> None:
    """INSERT every row (all with the same keys); with `ignore_conflicts_on`, ON CONFLICT (column) DO NOTHING.

    One statement for all rows (PostgreSQL: `unnest` of an array per column; SQLite: a multi-row `VALUES`
    list per `MAX_PARAMETERS` values): the server parses, plans and runs one statement instead of one per
    row (a driver's executemany still runs each row apart)."""
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = conn.dialect  # the dialect's own form of each type, as SQLAlchemy converts with it
    convert = [_converter(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]
    converted = [[c(v) for c, v in zip(convert, row.values(), strict=True)] for row in rows]
    if dialect.name == "postgresql":
        # One array per column: the statement's text stays the same whatever the number of rows, so
        # psycopg parses it once and PostgreSQL keeps it prepared (a VALUES list of thousands of
        # placeholders is parsed again by psycopg on every call).
        sql = _unnest(dialect, table, columns, ignore_conflicts_on)
        _execute_binary(conn, sql, tuple(list(column) for column in zip(*converted, strict=True)))
        return
    index = [columns.index(name) for name in _statement(dialect, table, columns, ignore_conflicts_on)[1]]
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    for first in range(0, len(converted), per_statement):
        chunk = converted[first:first + per_statement]
        sql = _multi_row(dialect, table, columns, ignore_conflicts_on, len(chunk))
        conn.exec_driver_sql(sql, tuple(values[i] for values in chunk for i in index))


MAX_PARAMETERS = 30_000
"""Values per statement: below SQLite's limit of 32,766 and PostgreSQL's of 65,535."""


@lru_cache(maxsize=64)
def _unnest(dialect: Dialect, table: Table, columns: tuple[str, ...], conflict: str | None) -> str:
    """INSERT ... SELECT * FROM unnest(%s::type[], ...): the rows as one array per column (PostgreSQL)."""
    arrays = ", ".join(f"%b::{_array_type(dialect, table.c[name].type)}[]" for name in columns)
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) SELECT * FROM unnest({arrays})"
    if conflict is not None:
        sql += f" ON CONFLICT ({dialect.identifier_preparer.quote(conflict)}) DO NOTHING"
    return sql


def _execute_binary(conn: Connection, sql: str, params: tuple[Any, ...]) -> None:
    """Run `sql` (its parameters marked %b: binary format) through the driver: arrays of text need no escaping
    (the text format escapes every element with a regular expression, most of a large insert's time).
    Errors come as SQLAlchemy raises them (a `DataError` becomes `ValueRefused` in `write_transaction`)."""
    import psycopg
    from sqlalchemy.exc import DBAPIError

    driver = conn.connection.driver_connection
    try:
        with driver.cursor() as cursor:
            cursor.execute(sql, params)
    except psycopg.Error as exc:
        raise DBAPIError.instance(sql, None, exc, psycopg.Error, hide_parameters=True) from exc


def _array_type(dialect: Dialect, column_type: Any) -> str:
    # Text without its length: an explicit cast to VARCHAR(n) would cut a long value off silently, where
    # storing text in the column refuses it (`store.errors.ValueRefused`), as a plain INSERT does.
    compiled = column_type.dialect_impl(dialect).compile(dialect=dialect)
    return "TEXT" if re.match(r"(VAR)?CHAR", compiled) else compiled


@lru_cache(maxsize=256)
def _multi_row(dialect: Dialect, table: Table, columns: tuple[str, ...], conflict: str | None, rows: int) -> str:
    """The single-row INSERT with positional parameters and its VALUES group repeated for `rows` rows."""
    sql, _order, positional = _statement(dialect, table, columns, conflict)
    if not positional:  # PostgreSQL's %(name)s: positional %s in the same order (_statement's order)
        sql = re.sub(r"%\([^)]+\)s", "%s", sql)
    head, _, rest = sql.partition(" VALUES (")
    depth, end = 1, 0
    for end, char in enumerate(rest):  # the group's closing parenthesis (casts may hold parentheses)
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            break
    group, tail = "(" + rest[:end + 1], rest[end + 1:]
    return f"{head} VALUES {', '.join([group] * rows)}{tail}"


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
    """The single-row INSERT as compiled, the order of its parameters, and whether they are positional."""
    # Bind parameters are named after their columns, so a row's keys are the parameter names.
    insert = (postgresql if dialect.name == "postgresql" else sqlite).insert(table)
    statement = insert.values({name: bindparam(name) for name in columns}).inline()  # no RETURNING id
    if conflict is not None:
        statement = statement.on_conflict_do_nothing(index_elements=[conflict])
    compiled = statement.compile(dialect=dialect)
    if compiled.escaped_bind_names:
        raise ValueError(f"columns of {table.name} need escaped parameter names; use conn.execute")
    if compiled.positional:
        return compiled.string, tuple(compiled.positiontup or ()), True
    order = tuple(re.findall(r"%\(([^)]+)\)s", compiled.string))
    return compiled.string, order, False
