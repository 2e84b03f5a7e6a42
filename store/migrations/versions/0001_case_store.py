"""The case store: cases, history, outbox, open tasks and personal data.

Revision ID: 0001
Revises:
Create Date: 2026-03-02

Written by hand and frozen: it does not import the models, so later model changes need a new revision
(tests/store/test_migrations.py checks that the migrated schema still matches the models).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_ref", sa.String(64), primary_key=True),
        sa.Column("municipality", sa.String(100), nullable=False),
        sa.Column("definition", sa.String(100), nullable=False),
        sa.Column("profile", sa.String(100), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("phase", sa.String(100), nullable=True),
        sa.Column("state", JSON, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("next_due_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_cases_next_due_at", "cases", ["next_due_at", "case_ref"])
    op.create_index("ix_cases_municipality", "cases", ["municipality"])
    op.create_index("ix_cases_status", "cases", ["status"])

    op.create_table(
        "case_history",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("recorded_at", TS, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("ref", sa.String(100), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_case_history_case_ref", "case_history", ["case_ref", "id"])

    op.create_table(
        "outbox",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref"), nullable=False),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(2000), nullable=True),
    )
    op.create_index("ix_outbox_case_ref", "outbox", ["case_ref"])
    op.create_index("ix_outbox_pending", "outbox", ["id"], sqlite_where=sa.text("delivered_at IS NULL"),
                    postgresql_where=sa.text("delivered_at IS NULL"))

    op.create_table(
        "open_tasks",
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("task_id", sa.String(100), primary_key=True),
        sa.Column("definition", sa.String(100), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("municipality", sa.String(100), nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("missed", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_open_tasks_role_due_on", "open_tasks", ["role", "due_on"])
    op.create_index("ix_open_tasks_municipality_due_on", "open_tasks", ["municipality", "due_on"])

    op.create_table(
        "case_personal",
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("data", JSON, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )

    _history_append_only()


def _history_append_only() -> None:
    """The audit trail cannot be rewritten: UPDATE and DELETE on case_history fail in the database itself."""
    message = "case_history is append-only"
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION regie_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{message}'; END $$
        """)
        op.execute("""
            CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON case_history
            FOR EACH ROW EXECUTE FUNCTION regie_history_append_only()
        """)
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(f"""
            CREATE TRIGGER case_history_no_{action.lower()} BEFORE {action} ON case_history
            BEGIN SELECT RAISE(ABORT, '{message}'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_history_append_only ON case_history")
        op.execute("DROP FUNCTION regie_history_append_only()")
    for table in ("case_personal", "open_tasks", "outbox", "case_history", "cases"):
        op.drop_table(table)
