"""Inserting many rows at once without SQLAlchemy's per-row bookkeeping (the timer sweep, the COA import,
a step completion's history, outbox and open-task rows), in one statement per table.

For an executemany SQLAlchemy builds a parameter dict per row and runs every column's bind processor on
every value: for the tens of thousands of history and outbox rows of a large import that is about half
the time of the write. Here the INSERT is compiled once per table, columns and dialect; each column's
bind processor (the same conversion SQLAlchemy applies: aware datetimes to UTC, JSON documents, dates)
is run once per distinct date or time (the same `now` repeats in every row of a change) and once per
other value.

On PostgreSQL the rows go to the server as ONE JSON document (`json_to_recordset`), serialised by
pydantic-core in Rust: psycopg's dumper of arrays (the earlier form, an array per column) is Python code
that cost more per step completion than all of its SQL (issue 13's profile).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import Connection, Dialect, Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from store.db import execute_driver


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]], *,
                ignore_conflicts_on: str | None = None) -> None:
    """INSERT every row (all with the same keys); with `ignore_conflicts_on`, ON CONFLICT (column) DO NOTHING.

    One statement for all rows (PostgreSQL: `json_to_recordset` of one JSON document; SQLite: a multi-row
    `VALUES` list per `MAX_PARAMETERS` values): the server parses, plans and runs one statement instead of
    one per row (a driver's executemany still runs each row apart)."""
    if not rows:
        return
    columns = tuple(rows[0])
    dialect = conn.dialect  # the dialect's own form of each type, as SQLAlchemy converts with it
    if dialect.name == "postgresql":
        # The statement's text stays the same whatever the number of rows, so psycopg parses it once and
        # PostgreSQL keeps it prepared.
        execute_driver(conn, _recordset(dialect, table, columns, ignore_conflicts_on), (as_json(dialect, table, rows),))
        return
    convert = [_converter(table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) for name in columns]
    converted = [[c(v) for c, v in zip(convert, row.values(), strict=True)] for row in rows]
    index = [columns.index(name) for name in _statement(dialect, table, columns, ignore_conflicts_on)[1]]
    per_statement = max(1, MAX_PARAMETERS // len(columns))
    for first in range(0, len(converted), per_statement):
        chunk = converted[first:first + per_statement]
        sql = _multi_row(dialect, table, columns, ignore_conflicts_on, len(chunk))
        conn.exec_driver_sql(sql, tuple(values[i] for values in chunk for i in index))


MAX_PARAMETERS = 30_000
"""Values per statement (SQLite): below SQLite's limit of 32,766."""


def as_json(dialect: Dialect, table: Table, rows: list[dict[str, Any]]) -> str:
    """The rows (all with the same keys, columns of `table` or others) as the JSON text `recordset` reads
    (PostgreSQL): each value of a column through the column's bind processor first, so values are checked
    as SQLAlchemy checks them (a naive datetime is refused); a JSON document column's value goes as its
    JSON text. `[]` for no rows."""
    if not rows:
        return "[]"
    columns = tuple(rows[0])
    convert = _json_converters(dialect, table, columns)
    if not convert:
        return to_json(rows).decode()
    convert = [(name, _converter(c) if c is not _document_text else c) for name, c in convert]  # this call's
    converted = []
    for row in rows:
        row = dict(row)
        for name, c in convert:
            row[name] = c(row[name])
        converted.append(row)
    return to_json(converted).decode()


def recordset(dialect: Dialect, table: Table, columns: tuple[str, ...], *, name: str = "r",
              extra: tuple[tuple[str, str], ...] = ()) -> tuple[str, str]:
    """`json_to_recordset(%s::json) AS name(column type, ...)` for these columns of `table` (and `extra`
    fields: name and SQL type), and the select list of the columns, each with its type (a JSON document
    column is read as text and cast back)."""
    quote = dialect.identifier_preparer.quote
    types = [f"{quote(field)} {sql_type}" for field, sql_type in extra]
    select = []
    for column in columns:
        if _is_json(dialect, table.c[column].type):
            types.append(f"{quote(column)} TEXT")
            select.append(f"{name}.{quote(column)}::jsonb")
        else:
            types.append(f"{quote(column)} {_column_type(dialect, table.c[column].type)}")
            select.append(f"{name}.{quote(column)}")
    return f"json_to_recordset(%s::json) AS {name}({', '.join(types)})", ", ".join(select)


@lru_cache(maxsize=64)
def _recordset(dialect: Dialect, table: Table, columns: tuple[str, ...], conflict: str | None) -> str:
    """INSERT ... SELECT ... FROM json_to_recordset(%s::json): the rows as one JSON document (PostgreSQL)."""
    source, select = recordset(dialect, table, columns)
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in columns)
    sql = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) SELECT {select} FROM {source}"
    if conflict is not None:
        sql += f" ON CONFLICT ({dialect.identifier_preparer.quote(conflict)}) DO NOTHING"
    return sql


@lru_cache(maxsize=64)
def _json_converters(dialect: Dialect, table: Table, columns: tuple[str, ...]
                     ) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    # Only the columns whose values need converting: most need none on PostgreSQL (text, numbers, dates).
    found = []
    for name in columns:
        if name not in table.c:
            continue
        column_type = table.c[name].type
        if _is_json(dialect, column_type):
            found.append((name, _document_text))
            continue
        processor = column_type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:  # as_json wraps it in a cache of one call's values (the same `now`)
            found.append((name, processor))
    return tuple(found)


def _document_text(value: Any) -> Any:
    # A `store.models.Serialized` text is the document already; anything else is serialised as SQLAlchemy's
    # JSON type does (json.dumps).
    if value is None or isinstance(value, str):
        return value
    import json

    return json.dumps(value)


def _is_json(dialect: Dialect, column_type: Any) -> bool:
    return _column_type(dialect, column_type) in ("JSON", "JSONB")


def _column_type(dialect: Dialect, column_type: Any) -> str:
    # Text without its length: an explicit VARCHAR(n) would cut a long value off silently, where storing
    # text in the column refuses it (`store.errors.ValueRefused`), as a plain INSERT does.
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
