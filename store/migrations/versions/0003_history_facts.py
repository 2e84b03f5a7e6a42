"""Typed history facts: element, clock, due date and verdict in columns, filled for existing rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30

Until now the overview read these facts out of the wording of `detail` ("due 2026-03-02", "on time",
"met, last day ..."). From now on the engine records them as fields and nothing reads the wording.
Rows written before this revision get their fields from their wording, once, here: this migration is
the only code that parses a history text, and it knows the exact wordings the engine used up to now.

Written by hand and frozen, like 0001: it does not import the models. The append-only guard is lifted
for the backfill inside the same transaction and put back before it commits.
"""

from __future__ import annotations

import re
from datetime import date

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_DATE = r"(\d{4}-\d{2}-\d{2})"
_BATCH = 5000


def upgrade() -> None:
    op.add_column("case_history", sa.Column("element", sa.String(100), nullable=True))
    op.add_column("case_history", sa.Column("clock", sa.String(100), nullable=True))
    op.add_column("case_history", sa.Column("due_on", sa.Date(), nullable=True))
    op.add_column("case_history", sa.Column("verdict", sa.String(20), nullable=True))
    op.create_index("ix_case_history_kind_ref", "case_history", ["kind", "ref", "case_ref"])
    _with_guard_lifted(_backfill)


def downgrade() -> None:
    op.drop_index("ix_case_history_kind_ref", table_name="case_history")
    with op.batch_alter_table("case_history") as batch:
        for column in ("verdict", "due_on", "clock", "element"):
            batch.drop_column(column)


def facts_from_wording(kind: str, ref: str, detail: str) -> dict[str, object]:
    """The typed fields of a history line written before revision 0003, from its wording."""
    def day(pattern: str) -> date | None:
        found = re.search(pattern, detail)
        return date.fromisoformat(found[1]) if found else None

    task = {"element": ref}
    clock = {"clock": ref}
    match kind:
        case "task_opened" | "deadline_changed" | "reminder_sent":
            return {**task, "due_on": day(rf"due {_DATE}")}
        case "escalated":
            return {**task, "due_on": day(rf"was due {_DATE}")}
        case "task_completed":
            # "by <actor> on time" or "by <actor> late (due <date>)"; without a deadline only "by <actor>"
            verdict = "late" if re.search(rf" late \(due {_DATE}\)$", detail) else \
                "on_time" if detail.endswith(" on time") else None
            return {**task, "verdict": verdict, "due_on": day(rf"due {_DATE}")}
        case "task_cancelled" | "timer_fired" | "message_timeout":
            return task
        case "deadline_missed" if detail.startswith("last day was"):
            return {**clock, "due_on": day(rf"last day was {_DATE}"), "verdict": "missed"}
        case "deadline_missed":
            return {**task, "due_on": day(rf"due {_DATE}"), "verdict": "missed"}
        case "clock_started" | "clock_restarted":
            return {**clock, "due_on": day(rf"to {_DATE}")}
        case "clock_resumed" | "clock_extended":
            return {**clock, "due_on": day(rf"ends {_DATE}")}
        case "clock_paused" | "clock_resume_planned":
            return clock
        case "clock_stopped":
            verdict = "on_time" if detail.startswith("met") else "late" if detail.startswith("late") else None
            return {**clock, "due_on": day(rf"last day {_DATE}"), "verdict": verdict}
        case "clock_expired":
            return {**clock, "due_on": day(rf"last day was {_DATE}"), "verdict": "missed"}
        case "milestone_reached":
            owner, _, milestone = ref.partition(".")
            return {"clock": owner, "element": milestone or None, "due_on": day(rf"last day {_DATE}")}
    return {}


def _backfill() -> None:
    conn = op.get_bind()
    history = sa.table("case_history", sa.column("id"), sa.column("kind"), sa.column("ref"), sa.column("detail"),
                       sa.column("element"), sa.column("clock"), sa.column("due_on", sa.Date()),
                       sa.column("verdict"))
    update = sa.update(history).where(history.c.id == sa.bindparam("b_id")).values(
        element=sa.bindparam("b_element"), clock=sa.bindparam("b_clock"), due_on=sa.bindparam("b_due_on"),
        verdict=sa.bindparam("b_verdict"))
    last = 0
    while True:
        rows = conn.execute(sa.select(history.c.id, history.c.kind, history.c.ref, history.c.detail)
                            .where(history.c.id > last).order_by(history.c.id).limit(_BATCH)).all()
        if not rows:
            return
        changes = []
        for row in rows:
            facts = facts_from_wording(row.kind, row.ref or "", row.detail or "")
            if facts:
                changes.append({"b_id": row.id, "b_element": facts.get("element"), "b_clock": facts.get("clock"),
                                "b_due_on": facts.get("due_on"), "b_verdict": facts.get("verdict")})
        if changes:
            conn.execute(update, changes)
        last = rows[-1].id


def _with_guard_lifted(work) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE case_history DISABLE TRIGGER case_history_append_only")
        work()
        op.execute("ALTER TABLE case_history ENABLE TRIGGER case_history_append_only")
        return
    op.execute("DROP TRIGGER case_history_no_update")
    work()
    op.execute("""
        CREATE TRIGGER case_history_no_update BEFORE UPDATE ON case_history
        BEGIN SELECT RAISE(ABORT, 'case_history is append-only'); END
    """)
