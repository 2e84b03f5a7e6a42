"""Privacy (AVG): who looked at personal data, and the one guarded way to redact the history.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

- `personal_access`: one row per read or erasure of a person's data (`regie case show --personal`,
  `regie person export`, `regie person erase`, the retention flow): when, which operator, what, why.
  Append-only, like the history: UPDATE and DELETE fail in the database.
- `case_sources`: where a case's data came from: the COA import's file, the batch it was started in
  and when (one row per case and import).
- `history_redaction`: the marker of an erasure in progress. The erase path (store/privacy.py) inserts a
  row for the case and deletes it again in the SAME transaction, so no other transaction ever sees it.
- The append-only guard on `case_history` now lets exactly one UPDATE through: blanking `detail` (free
  words for people; every fact is in typed columns since 0003) of a case whose marker row exists, with
  every other column unchanged. Everything else, and every DELETE, still fails with "append-only".

Written by hand and frozen, like the others: it does not import the models. On SQLite the guard names
the history's columns: a later revision that adds a column to case_history must renew the trigger.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)
MESSAGE = "case_history is append-only"
ACCESS_MESSAGE = "personal_access is append-only"
KEPT_COLUMNS = ("id", "case_ref", "version", "at", "recorded_at", "actor", "event", "kind", "ref", "element",
                "clock", "due_on", "verdict")


def upgrade() -> None:
    op.create_table(
        "personal_access",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref"), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("operator", sa.String(100), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
    )
    op.create_index("ix_personal_access_case_ref", "personal_access", ["case_ref", "id"])
    op.create_table(
        "case_sources",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref", ondelete="CASCADE"), nullable=False),
        sa.Column("source", sa.String(40), nullable=False),
        sa.Column("file", sa.String(200), nullable=True),
        sa.Column("batch", sa.Integer(), nullable=True),
        sa.Column("recorded_at", TS, nullable=False),
    )
    op.create_index("ix_case_sources_case_ref", "case_sources", ["case_ref"])
    op.create_table(
        "history_redaction",
        sa.Column("case_ref", sa.String(64), primary_key=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgres_guards()
    else:
        _sqlite_guards()


def _postgres_guards() -> None:
    # Comparing the rows as JSON without `detail` also covers columns added later.
    op.execute(f"""
        CREATE OR REPLACE FUNCTION regie_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'UPDATE'
               AND EXISTS (SELECT 1 FROM history_redaction r WHERE r.case_ref = OLD.case_ref)
               AND NEW.detail = ''
               AND (to_jsonb(NEW) - 'detail') = (to_jsonb(OLD) - 'detail') THEN
                RETURN NEW;
            END IF;
            RAISE EXCEPTION '{MESSAGE}';
        END $$
    """)
    op.execute(f"""
        CREATE FUNCTION regie_access_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{ACCESS_MESSAGE}'; END $$
    """)
    op.execute("""
        CREATE TRIGGER personal_access_append_only BEFORE UPDATE OR DELETE ON personal_access
        FOR EACH ROW EXECUTE FUNCTION regie_access_append_only()
    """)


def _sqlite_guards() -> None:
    unchanged = " AND ".join(f"NEW.{c} IS OLD.{c}" for c in KEPT_COLUMNS)
    op.execute("DROP TRIGGER case_history_no_update")
    op.execute(f"""
        CREATE TRIGGER case_history_no_update BEFORE UPDATE ON case_history
        WHEN NOT (EXISTS (SELECT 1 FROM history_redaction r WHERE r.case_ref = OLD.case_ref)
                  AND NEW.detail = '' AND {unchanged})
        BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """)
    for action in ("UPDATE", "DELETE"):
        op.execute(f"""
            CREATE TRIGGER personal_access_no_{action.lower()} BEFORE {action} ON personal_access
            BEGIN SELECT RAISE(ABORT, '{ACCESS_MESSAGE}'); END
        """)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER personal_access_append_only ON personal_access")
        op.execute("DROP FUNCTION regie_access_append_only()")
        op.execute(f"""
            CREATE OR REPLACE FUNCTION regie_history_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$
        """)
    else:
        op.execute("DROP TRIGGER case_history_no_update")
        op.execute(f"""
            CREATE TRIGGER case_history_no_update BEFORE UPDATE ON case_history
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
        """)
    op.drop_table("history_redaction")
    op.drop_table("case_sources")
    op.drop_table("personal_access")
