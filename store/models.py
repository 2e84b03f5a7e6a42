"""The case store's tables (sqlmodel). The schema itself is made by the migrations in `store/migrations/`.

- `cases`: one row per trajectory: its engine state as JSON, a version for optimistic locking, and
  the indexed `next_due_at` the timer sweep looks for. A case the sweep cannot advance is set aside:
  status `stuck`, `stuck_at` and `stuck_reason` set, no `next_due_at` (so no sweep claims it).
- `case_history`: append-only audit trail (who, what, when, resulting version); process data only.
- `outbox`: commands to carry out, written in the same transaction as the state that caused them; a
  row that failed waits for its `next_attempt_at`, a drain holds the rows it took until `claimed_until`.
- `open_tasks`: the open user tasks of every case, derived from the state in the same transaction,
  so the inbox is one indexed query instead of reading every case.
- `case_personal`: names, BSN, contact data. Kept apart so nothing that is shown or sent touches it.

All datetimes are timezone-aware UTC (sqlmodel stores them through `UTCDateTime`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel
from sqlmodel.main import get_column_from_field


class Serialized(str):
    """A JSON document already serialised (by pydantic's `model_dump_json`), written as it is."""


class JSONDocument(sa.types.TypeDecorator):
    """JSON on SQLite, JSONB on PostgreSQL; takes Python values or `Serialized` text.

    The sweep writes thousands of states a second: letting pydantic serialise them (in Rust) instead of
    dumping to dicts and then through Python's json module is a measurable share of the sweep's time.
    """

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        return dialect.type_descriptor(postgresql.JSONB() if dialect.name == "postgresql" else sa.JSON())

    def bind_processor(self, dialect: sa.Dialect) -> Any:
        inner = self.load_dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "postgresql":
            from psycopg.types.json import Jsonb

            def as_is(text: str) -> str:
                return text

            def wrap(text: Serialized) -> Any:
                return Jsonb(text, dumps=as_is)
        else:
            wrap = str

        def process(value: Any) -> Any:
            if isinstance(value, Serialized):
                return wrap(value)
            return inner(value) if inner else value

        return process


# SQLite autoincrements only an INTEGER PRIMARY KEY (the rowid); PostgreSQL gets 64-bit ids.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

REF = 64
NAME = 100
KEY = 200


def columns_of(model: type[BaseModel], **types: sa.types.TypeEngine[Any]) -> list[sa.Column[Any]]:
    """Columns for a pydantic model's fields, typed the way sqlmodel types a table model's fields
    (length limits, nullability, aware datetimes); `types` overrides a column's type by field name.

    For rows whose type belongs to the pure engine (it cannot import sqlmodel): the table is derived
    from the model, so there is one description of the row.
    """
    columns = []
    for name, info in model.model_fields.items():
        column = get_column_from_field(info)
        column.name = column.key = name
        if name in types:
            column.type = types[name]
        columns.append(column)
    return columns


class CaseRecord(SQLModel, table=True):
    """One trajectory: the engine's `CaseState` plus the columns we search and lock on."""

    __tablename__ = "cases"
    __table_args__ = (sa.Index("ix_cases_next_due_at", "next_due_at", "case_ref"),)

    case_ref: str = Field(primary_key=True, max_length=REF, description="pseudonymous, e.g. RMD-2026-0042")
    municipality: str = Field(index=True, max_length=NAME)
    definition: str = Field(max_length=NAME, description="`id@version` the case pins")
    profile: str | None = Field(default=None, max_length=NAME, description="municipality profile it runs with")
    status: str = Field(index=True, max_length=20)
    phase: str | None = Field(default=None, max_length=NAME)
    state: dict[str, Any] = Field(sa_type=JSONDocument, description="engine.state.CaseState as JSON")
    version: int = Field(description="1 after the start; +1 on every change")
    next_due_at: datetime | None = Field(default=None, description="earliest timer; NULL when none (or stuck)")
    created_at: datetime
    updated_at: datetime
    stuck_at: datetime | None = Field(default=None, description="set aside by the sweep since; NULL when not stuck")
    stuck_reason: str | None = Field(default=None, max_length=500, description="why it could not be advanced")


class HistoryRecord(SQLModel, table=True):
    """One thing that happened in a case, in process terms. Never updated or deleted (a trigger refuses)."""

    __tablename__ = "case_history"
    __table_args__ = (
        sa.Index("ix_case_history_case_ref", "case_ref", "id"),
        sa.Index("ix_case_history_kind_ref", "kind", "ref", "case_ref"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    case_ref: str = Field(foreign_key="cases.case_ref", max_length=REF)
    version: int = Field(description="the case version this change produced")
    at: datetime = Field(description="when it happened in the process (a timer fires at its due time)")
    recorded_at: datetime = Field(description="when the store wrote it")
    actor: str = Field(max_length=NAME, description="operator id or 'system'")
    event: str = Field(max_length=40, description="the event that caused it: started, task_completed, ...")
    kind: str = Field(max_length=40, description="what happened: task_opened, notified, timer_fired, ...")
    ref: str = Field(default="", max_length=NAME, description="the identifier it is about (step, clock, role ...)")
    detail: str = Field(default="", max_length=500, description="words for people; never parsed")
    element: str | None = Field(default=None, max_length=NAME, description="the step or element concerned")
    clock: str | None = Field(default=None, max_length=NAME, description="the legal clock concerned")
    due_on: date | None = Field(default=None, description="the task's due date or the clock's last day then")
    verdict: str | None = Field(default=None, max_length=20, description="on_time, late or missed")

    @property
    def summary(self) -> str:
        """One line: `kind ref (detail)`."""
        return f"{self.kind} {self.ref}" + (f" ({self.detail})" if self.detail else "")


class OutboxRecord(SQLModel, table=True):
    """A command waiting to be carried out (or carried out: `delivered_at`). One row per command key."""

    __tablename__ = "outbox"
    __table_args__ = (
        sa.Index("ix_outbox_pending", "id", sqlite_where=sa.text("delivered_at IS NULL"),
                 postgresql_where=sa.text("delivered_at IS NULL")),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=BigId)
    case_ref: str = Field(foreign_key="cases.case_ref", index=True, max_length=REF)
    key: str = Field(unique=True, max_length=KEY, description="the engine command's idempotency key")
    type: str = Field(max_length=40, description="notify, open_user_task, close_user_task, emit_event")
    payload: dict[str, Any] = Field(sa_type=JSONDocument, description="the command as JSON (process data only)")
    created_at: datetime
    delivered_at: datetime | None = None
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    next_attempt_at: datetime | None = Field(default=None, description="not claimed before this (retry, backoff)")
    claimed_until: datetime | None = Field(default=None, description="held by a drain until this")


class TaskRecord(SQLModel, table=True):
    """An open user task, kept in step with the case state for the inbox."""

    __tablename__ = "open_tasks"
    __table_args__ = (
        sa.Index("ix_open_tasks_role_due_on", "role", "due_on"),
        sa.Index("ix_open_tasks_municipality_due_on", "municipality", "due_on"),
    )

    case_ref: str = Field(foreign_key="cases.case_ref", primary_key=True, max_length=REF, ondelete="CASCADE")
    task_id: str = Field(primary_key=True, max_length=NAME)
    definition: str = Field(max_length=NAME, description="definition of the (sub-)process the step is in")
    step: str = Field(max_length=NAME, description="the user task's element id")
    role: str = Field(max_length=NAME)
    municipality: str = Field(max_length=NAME)
    opened_at: datetime
    due_on: date | None = None
    missed: bool = False


class PersonalRecord(SQLModel, table=True):
    """Identifying data of the person in a case. Read only by code that needs it; never shown or sent."""

    __tablename__ = "case_personal"

    case_ref: str = Field(foreign_key="cases.case_ref", primary_key=True, max_length=REF, ondelete="CASCADE")
    data: dict[str, Any] = Field(sa_type=JSONDocument)
    updated_at: datetime

