"""Writing prepared changes: the case row, its history, its outbox commands and its open tasks.

Every function here runs inside the caller's transaction (`store.db.write_transaction`), so a change
is written completely or not at all. States and commands are serialised by pydantic straight to JSON
text. On PostgreSQL `save_changes` writes any number of changes (a step completion, a sweep's batch)
in ONE statement: data-modifying CTEs that update the case rows and insert and update the history,
outbox and open-task rows, each table's rows as one JSON document (`json_to_recordset`); on SQLite,
where a statement costs no round trip, a statement per table (`store.bulk`).

A case the sweep could not advance is set aside (`set_aside`): status `stuck`, no next due time, its
reason, one history note and one notice to the coordinator, and its state left as it was. It stays
stuck, also when an operator changes it meanwhile (`update_cases` keeps it so), until a retry that
works writes it with `release`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, Dialect, Table, Text, bindparam, case, cast, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from engine.commands import NotifyRole
from engine.interpreter import Transition
from engine.state import CaseState, OpenTask
from store.bulk import as_json, insert_many, recordset
from store.db import batched, execute_driver
from store.models import CaseRecord, HistoryRecord, OutboxRecord, PersonalRecord, Serialized, TaskRecord

cases: Table = CaseRecord.__table__  # type: ignore[assignment]
history: Table = HistoryRecord.__table__  # type: ignore[assignment]
outbox: Table = OutboxRecord.__table__  # type: ignore[assignment]
tasks: Table = TaskRecord.__table__  # type: ignore[assignment]
personal: Table = PersonalRecord.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class CaseChange:
    """One event applied to one case by the engine, not yet saved.

    `based_on` is the version the engine saw (0 for a new case); saving succeeds only while the case
    is still at that version, which is how a concurrent change by someone else is detected.
    """

    case_ref: str
    municipality: str
    definition: str
    profile: str | None
    based_on: int
    before: CaseState
    transition: Transition
    event: str
    actor: str
    now: datetime

    @property
    def version(self) -> int:
        """The version this change produces."""
        return self.based_on + 1

    @property
    def after(self) -> CaseState:
        return self.transition.state

    def state_json(self) -> str:
        """The new state as JSON text, made once (the sweep makes it while it can still set the case aside)."""
        made = self.__dict__.get("_state_json")
        if made is None:
            made = self.after.model_dump_json()
            object.__setattr__(self, "_state_json", made)  # a cache on a frozen dataclass
        return made

    def command_rows(self) -> list[tuple[str, str, str]]:
        """Each command as the outbox keeps it: key, type and JSON."""
        return [(c.key, c.type, c.model_dump_json()) for c in self.transition.commands]

    def stamp(self, text: str) -> str:
        """A text of the outcome (a history line's ref or detail) as this case has it; here: as it is.

        A change computed once for many alike new cases (`app.stamping`) puts each case's reference in."""
        return text


STUCK = "stuck"
"""The status of a case set aside by the sweep."""


@dataclass(frozen=True)
class SetAside:
    """A case the sweep could not advance, to be set aside as it is (its state is not touched)."""

    case_ref: str
    based_on: int
    """the version the sweep read; the case is set aside only while it is still at it"""
    reason: str
    """why (`cases.stuck_reason`): which step failed and the error's type, no case data"""
    note: str
    """the case-history line (process words only)"""
    notice: NotifyRole | None
    """to the coordinator through the outbox; None when it was told before (a retry that failed again)"""
    now: datetime


def insert_case(conn: Connection, change: CaseChange, personal_data: dict[str, Any] | None) -> bool:
    """Insert a new case with its effects; False (and nothing written) when the reference is taken."""
    return bool(insert_cases(conn, [change], {change.case_ref: personal_data} if personal_data else {}))


def insert_cases(conn: Connection, changes: list[CaseChange], personal_data: dict[str, dict[str, Any]]) -> set[str]:
    """Insert new cases with their personal data and effects, a statement per table; returns the references
    inserted. A reference that is taken already (also by a concurrent insert) is skipped, with its effects.

    Rows go in in order of reference, so two transactions inserting overlapping sets wait for each other
    instead of deadlocking.
    """
    changes = sorted(changes, key=lambda c: c.case_ref)
    rows = [{
        "case_ref": c.case_ref, "municipality": c.municipality, "definition": c.definition,
        "profile": c.profile, "status": c.after.status, "phase": c.after.phase,
        "state": Serialized(c.state_json()), "version": c.version,
        "next_due_at": c.after.next_due_at(), "created_at": c.now, "updated_at": c.now,
    } for c in changes]
    if not rows:
        return set()
    inserted = set(_inserted(conn, cases, rows, "case_ref"))
    mine = [c for c in changes if c.case_ref in inserted]
    people = [{"case_ref": c.case_ref, "data": personal_data[c.case_ref], "updated_at": c.now}
              for c in mine if personal_data.get(c.case_ref)]
    if people:
        conn.execute(insert(personal), people)
    write_effects(conn, mine)
    return inserted


_NOT_STUCK = cases.c.stuck_at.is_(None)
_UPDATE_CASE = (
    update(cases)
    .where(cases.c.case_ref == bindparam("b_case_ref"), cases.c.version == bindparam("b_based_on"))
    .values(state=bindparam("b_state"), version=bindparam("b_version"),
            # A stuck case stays stuck (and out of the sweep's way) until a retry releases it.
            status=case((_NOT_STUCK, bindparam("b_status", type_=cases.c.status.type)), else_=STUCK),
            phase=bindparam("b_phase"),
            next_due_at=case((_NOT_STUCK, bindparam("b_next_due_at", type_=cases.c.next_due_at.type)), else_=None),
            updated_at=bindparam("b_updated_at"))
)


def update_cases(conn: Connection, changes: list[CaseChange]) -> int:
    """Save new states where each case is still at the version its change was based on; rows updated."""
    if not changes:
        return 0
    if conn.dialect.name == "postgresql":
        return int(execute_driver(conn, _save_sql(conn.dialect, True, False),
                                  {"cases": _cases_json(conn.dialect, changes)}, scalar=True))
    return conn.execute(_UPDATE_CASE, [_case_values(c) for c in changes]).rowcount


def _case_values(c: CaseChange) -> dict[str, Any]:
    return {"b_case_ref": c.case_ref, "b_based_on": c.based_on, "b_version": c.version,
            "b_state": Serialized(c.state_json()), "b_status": c.after.status, "b_phase": c.after.phase,
            "b_next_due_at": c.after.next_due_at(), "b_updated_at": c.now}


def save_changes(conn: Connection, changes: list[CaseChange], *, commit: bool = False) -> int:
    """`update_cases` and `write_effects` together: the new states where each case is still at the version
    its change was based on and, only when every one of them was, the changes' effects; rows updated. A
    caller that finds fewer rows updated than changes must not commit (each raises: conflict, or a batch
    that changed under the sweep).

    On PostgreSQL this is ONE statement (data-modifying CTEs, each table's rows as one JSON document): a
    step completion writes its case row, history, outbox and open tasks in one statement instead of six;
    the Python per statement (SQLAlchemy's, psycopg's array dumping) was most of a completion's client
    time (issue 13).

    `commit` (PostgreSQL): the transaction's COMMIT goes in the same round trip, for a transaction that
    writes nothing after (`store.db.execute_driver`); when fewer rows were updated, what it commits is
    nothing of the change (its effects are written only with every row)."""
    if not changes:
        return 0
    if conn.dialect.name == "postgresql":
        params = _save_params(conn.dialect, changes)
        del params["queued"]
        return int(execute_driver(conn, _save_sql(conn.dialect, True, True), params, scalar=True, commit=commit))
    updated = update_cases(conn, changes)
    if updated == len(changes):
        write_effects(conn, changes)
    return updated


def set_aside(conn: Connection, items: list[SetAside]) -> int:
    """Set cases aside (see the module docstring); returns how many were still at their version."""
    if not items:
        return 0
    c = cases.c
    stmt = update(cases).where(c.case_ref == bindparam("b_case_ref"), c.version == bindparam("b_based_on")) \
        .values(status=STUCK, next_due_at=None, stuck_at=func.coalesce(c.stuck_at, bindparam("b_now")),
                stuck_reason=bindparam("b_reason"), updated_at=bindparam("b_now"))
    done = conn.execute(stmt, [{"b_case_ref": i.case_ref, "b_based_on": i.based_on, "b_reason": i.reason[:500],
                                "b_now": i.now} for i in items]).rowcount
    conn.execute(insert(history), [{
        "case_ref": i.case_ref, "version": i.based_on, "at": i.now, "recorded_at": i.now, "actor": "system",
        "event": "note", "kind": "case_stuck", "ref": "", "detail": i.note[:500]} for i in items])
    notices = [{"case_ref": i.case_ref, "key": i.notice.key, "type": i.notice.type,
                "payload": Serialized(i.notice.model_dump_json()), "created_at": i.now, "attempts": 0}
               for i in items if i.notice is not None]
    if notices:
        _insert_ignoring_duplicates(conn, outbox, notices, "key")
    return done


def release(conn: Connection, change: CaseChange) -> bool:
    """Write a retried stuck case that could be advanced: no longer stuck; False if it was not (or changed)."""
    c = cases.c
    stmt = update(cases).where(c.case_ref == change.case_ref, c.version == change.based_on, c.stuck_at.is_not(None)) \
        .values(state=Serialized(change.state_json()), version=change.version, status=change.after.status,
                phase=change.after.phase, next_due_at=change.after.next_due_at(), updated_at=change.now,
                stuck_at=None, stuck_reason=None)
    if conn.execute(stmt).rowcount != 1:
        return False
    write_effects(conn, [change])
    return True


# The state as its JSON text: pydantic reads text in one step (a dict is parsed by the driver first, in Python).
_LOCK_CASE = select(*[cast(c, Text).label(c.name) if c.name == "state" else c for c in cases.c]) \
    .where(cases.c.case_ref == bindparam("case_ref")).with_for_update()
_RECENT_HISTORY = (
    select(history.c.version, history.c.at, history.c.actor, history.c.event, history.c.kind, history.c.ref,
           history.c.detail)
    .where(history.c.case_ref == bindparam("case_ref")).order_by(history.c.id.desc()).limit(bindparam("lines"))
)


def lock_case(conn: Connection, case_ref: str, lines: int) -> tuple[Any, list[Any]]:
    """The case row (attributes named as the columns, the state as JSON text), held until the transaction
    ends, and its last `lines` history lines, oldest first; (None, []) when there is no such case.

    PostgreSQL locks the row (FOR UPDATE); the transaction's BEGIN and both reads go in one round trip.
    On SQLite the write transaction holds the whole database already."""
    with batched(conn) as driver:
        if driver is None:
            record = conn.execute(_LOCK_CASE, {"case_ref": case_ref}).first()
            return record, recent_history(conn, case_ref, lines) if record is not None else []
        lock, recent = driver.cursor(), driver.cursor()
        lock_sql, history_sql = _driver_sql(conn.dialect)
        lock.execute(lock_sql, {"case_ref": case_ref})
        recent.execute(history_sql, {"case_ref": case_ref, "lines": lines})
    record = _rows(conn.dialect, _LOCK_CASE, lock.fetchall())
    if not record:
        return None, []
    return record[0], list(reversed(_rows(conn.dialect, _RECENT_HISTORY, recent.fetchall())))


@lru_cache(maxsize=4)
def _driver_sql(dialect: Dialect) -> tuple[str, str]:
    return str(_LOCK_CASE.compile(dialect=dialect)), str(_RECENT_HISTORY.compile(dialect=dialect))


def _rows(dialect: Dialect, statement: Any, rows: list[tuple]) -> list[SimpleNamespace]:
    # What SQLAlchemy would make of the driver's rows: each column through its type's result processor.
    names = [c.name for c in statement.selected_columns]
    convert = _result_processors(dialect, statement)
    return [SimpleNamespace(**{n: (f(v) if f else v) for n, f, v in zip(names, convert, row, strict=True)})
            for row in rows]


@lru_cache(maxsize=8)
def _result_processors(dialect: Dialect, statement: Any) -> tuple[Any, ...]:
    return tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in statement.selected_columns)


def recent_history(conn: Connection, case_ref: str, lines: int) -> list[Any]:
    """The case's last `lines` history lines, oldest first (version, at, actor, event, kind, ref, detail)."""
    return list(reversed(conn.execute(_RECENT_HISTORY, {"case_ref": case_ref, "lines": lines}).all()))


def current_version(conn: Connection, case_ref: str) -> int | None:
    """The case's version as the database has it now (None when there is no such case)."""
    return conn.execute(select(cases.c.version).where(cases.c.case_ref == case_ref)).scalar_one_or_none()


def write_effects(conn: Connection, changes: list[CaseChange]) -> int:
    """Append history, queue commands in the outbox and bring open tasks in step; returns commands queued."""
    if conn.dialect.name == "postgresql":
        if not changes:
            return 0
        params = _save_params(conn.dialect, changes)
        queued = params.pop("queued")
        execute_driver(conn, _save_sql(conn.dialect, False, True), params)
        return queued
    effects = _effects(changes)
    insert_many(conn, history, effects.lines)
    insert_many(conn, outbox, effects.commands, ignore_conflicts_on="key")  # no RETURNING: nobody needs which
    if effects.gone:
        conn.execute(delete(tasks).where(tasks.c.case_ref == bindparam("b_case_ref"),
                                         tasks.c.task_id == bindparam("b_task_id")),
                     [{"b_" + k: v for k, v in row.items()} for row in effects.gone])
    if effects.changed:
        conn.execute(update(tasks).where(tasks.c.case_ref == bindparam("b_case_ref"),
                                         tasks.c.task_id == bindparam("b_task_id"))
                     .values(role=bindparam("b_role"), due_on=bindparam("b_due_on"),
                             missed=bindparam("b_missed")), [{"b_" + k: v for k, v in row.items()}
                                                              for row in effects.changed])
    insert_many(conn, tasks, effects.opened)
    return len(effects.commands)


@dataclass
class _Effects:
    """The rows a list of changes adds, changes and removes besides the case rows (column names as keys)."""

    lines: list[dict[str, Any]]
    commands: list[dict[str, Any]]
    gone: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    opened: list[dict[str, Any]]


def _effects(changes: list[CaseChange]) -> _Effects:
    effects = _Effects([], _command_rows(changes), [], [], [])
    for change in changes:
        effects.lines.extend(history_rows(change))
        _task_changes(change, effects.opened, effects.changed, effects.gone)
    return effects


_CASE_COLUMNS = ("case_ref", "state", "version", "status", "phase", "next_due_at", "updated_at")
_TASK_KEY = ("case_ref", "task_id")
_TASK_CHANGE = ("role", "due_on", "missed")


def _save_params(dialect: Dialect, changes: list[CaseChange]) -> dict[str, Any]:
    # The statement's parameters: each table's rows as one JSON document (store.bulk.as_json).
    effects = _effects(changes)
    return {
        "cases": _cases_json(dialect, changes),
        "expected": len(changes),
        "lines": as_json(dialect, history, effects.lines),
        "commands": as_json(dialect, outbox, effects.commands),
        "gone": as_json(dialect, tasks, effects.gone),
        "changed": as_json(dialect, tasks, effects.changed),
        "opened": as_json(dialect, tasks, effects.opened),
        "queued": len(effects.commands),
    }


def _cases_json(dialect: Dialect, changes: list[CaseChange]) -> str:
    return as_json(dialect, cases, [{
        "based_on": c.based_on, "case_ref": c.case_ref, "state": Serialized(c.state_json()), "version": c.version,
        "status": c.after.status, "phase": c.after.phase, "next_due_at": c.after.next_due_at(),
        "updated_at": c.now} for c in changes])


@lru_cache(maxsize=8)
def _save_sql(dialect: Dialect, update_rows: bool, effects: bool) -> str:
    """The case rows' UPDATE and/or the effects' writes as one statement (PostgreSQL), its parameters named
    as `_save_params` names them. Each table's rows come as one JSON document, so the text is the same for
    any number of rows: psycopg parses it once and the server keeps it prepared. The effects are written
    only when every case row was updated (`expected`): a conflict leaves nothing behind."""
    quote = dialect.identifier_preparer.quote

    def names(columns: tuple[str, ...]) -> str:
        return ", ".join(quote(c) for c in columns)

    parts: list[str] = []
    guard = "true"
    if update_rows:
        source, _ = recordset(dialect, cases, _CASE_COLUMNS, name="v", extra=(("based_on", "INTEGER"),))
        source = source.replace("%s", "%(cases)s")
        # A stuck case stays stuck (and out of the sweep's way) until a retry releases it.
        parts.append(
            f"changed AS (UPDATE cases AS c SET state = v.state::jsonb, version = v.version, "
            f"status = CASE WHEN c.stuck_at IS NULL THEN v.status ELSE '{STUCK}' END, phase = v.phase, "
            f"next_due_at = CASE WHEN c.stuck_at IS NULL THEN v.next_due_at END, updated_at = v.updated_at "
            f"FROM {source} WHERE c.case_ref = v.case_ref AND c.version = v.based_on RETURNING 1)")
        guard = "(SELECT count(*) FROM changed) = %(expected)s::int"
        if not effects:
            return f"WITH {parts[0]} SELECT count(*) FROM changed"

    def rows_of(table: Table, key: str, columns: tuple[str, ...]) -> tuple[str, str]:
        source, select = recordset(dialect, table, columns)
        return source.replace("%s", f"%({key})s"), select

    line_columns = tuple(c.name for c in history.c if c.name != "id")
    command_columns = ("case_ref", "key", "type", "payload", "created_at", "attempts")
    task_columns = tuple(c.name for c in tasks.c)
    source, select = rows_of(history, "lines", line_columns)
    parts.append(f"lines AS (INSERT INTO case_history ({names(line_columns)}) SELECT {select} FROM {source} "
                 f"WHERE {guard})")
    source, select = rows_of(outbox, "commands", command_columns)
    parts.append(f"commands AS (INSERT INTO outbox ({names(command_columns)}) SELECT {select} FROM {source} "
                 f"WHERE {guard} ON CONFLICT ({quote('key')}) DO NOTHING)")
    source, _ = rows_of(tasks, "gone", _TASK_KEY)
    parts.append(f"gone AS (DELETE FROM open_tasks AS t USING {source} "
                 f"WHERE t.case_ref = r.case_ref AND t.task_id = r.task_id AND {guard})")
    source, _ = rows_of(tasks, "changed", _TASK_KEY + _TASK_CHANGE)
    parts.append(f"moved AS (UPDATE open_tasks AS t SET role = r.role, due_on = r.due_on, missed = r.missed "
                 f"FROM {source} WHERE t.case_ref = r.case_ref AND t.task_id = r.task_id AND {guard})")
    source, select = rows_of(tasks, "opened", task_columns)
    parts.append(f"opened AS (INSERT INTO open_tasks ({names(task_columns)}) SELECT {select} FROM {source} "
                 f"WHERE {guard})")
    result = "SELECT count(*) FROM changed" if update_rows else "SELECT 0"
    return f"WITH {', '.join(parts)} {result}"


def queue_commands(conn: Connection, changes: list[CaseChange]) -> int:
    """Put the changes' commands in the outbox; returns how many were offered.

    A key that is already queued is the same command again: the first row stays, nothing is added.
    """
    rows = _command_rows(changes)
    insert_many(conn, outbox, rows, ignore_conflicts_on="key")  # no RETURNING: nobody needs to know which were new
    return len(rows)


def _command_rows(changes: list[CaseChange]) -> list[dict[str, Any]]:
    return [{
        "case_ref": change.case_ref, "key": key, "type": kind, "payload": Serialized(payload),
        "created_at": change.now, "attempts": 0,
    } for change in changes for key, kind, payload in change.command_rows()]


def history_rows(change: CaseChange) -> list[dict[str, Any]]:
    """The history lines a change adds to its case (as `write_effects` writes them)."""
    base = {"case_ref": change.case_ref, "version": change.version, "recorded_at": change.now,
            "actor": change.actor[:100], "event": change.event}
    happened = change.transition.happened
    if not happened:
        # Every change leaves a trace, even one the engine had nothing to say about.
        return [{**base, "at": change.now, "kind": change.event, "ref": "", "detail": "no change", "element": None,
                 "clock": None, "due_on": None, "verdict": None}]
    return [{**base, "at": h.at, "kind": h.kind, "ref": change.stamp(h.ref)[:100],
             "detail": change.stamp(h.detail)[:500], "element": h.element, "clock": h.clock, "due_on": h.due_on,
             "verdict": h.verdict} for h in happened]


def append_note(conn: Connection, case_ref: str, *, kind: str, ref: str, detail: str, actor: str, at: datetime,
                now: datetime) -> bool:
    """Add a history line that changes nothing else in the case; False when there is no such case."""
    version = current_version(conn, case_ref)
    if version is None:
        return False
    conn.execute(insert(history).values(case_ref=case_ref, version=version, at=at, recorded_at=now,
                                        actor=actor[:100], event="note", kind=kind[:40], ref=ref[:100],
                                        detail=detail[:500]))
    return True


def _task_changes(change: CaseChange, new: list[dict], changed: list[dict], gone: list[dict]) -> None:
    before = {t.id: t for t in change.before.tasks}
    after = {t.id: t for t in change.after.tasks}
    scopes = {s.id: s.definition for s in change.after.scopes}
    for task_id in before.keys() - after.keys():
        gone.append({"case_ref": change.case_ref, "task_id": task_id})
    for task_id, task in after.items():
        old = before.get(task_id)
        if old is None:
            new.append(_task_row(change, task, scopes.get(task.scope, change.definition)))
        elif (old.role, old.due_on, old.missed) != (task.role, task.due_on, task.missed):
            changed.append({"case_ref": change.case_ref, "task_id": task_id, "role": task.role,
                            "due_on": task.due_on, "missed": task.missed})


def _task_row(change: CaseChange, task: OpenTask, definition: str) -> dict[str, Any]:
    return {"case_ref": change.case_ref, "task_id": task.id, "definition": definition, "step": task.element,
            "role": task.role, "municipality": change.municipality, "opened_at": task.opened_at,
            "due_on": task.due_on, "missed": task.missed}


def _insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]], column: str) -> int:
    """INSERT ... ON CONFLICT (column) DO NOTHING; returns the number of rows inserted."""
    return len(_inserted(conn, table, rows, column))


def _inserted(conn: Connection, table: Table, rows: list[dict[str, Any]], column: str) -> list[Any]:
    """INSERT ... ON CONFLICT (column) DO NOTHING; the `column` values of the rows inserted.

    Counted with RETURNING, not `rowcount`: psycopg reports -1 for an executemany with ON CONFLICT.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).on_conflict_do_nothing(index_elements=[column]) \
        .returning(table.c[column])
    return list(conn.execute(statement, rows).scalars())
