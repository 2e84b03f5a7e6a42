"""Reliability: cases set aside (stuck), outbox rows that wait for their next attempt, partner channels.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

- `cases.stuck_at`, `cases.stuck_reason`: a case the sweep could not advance is set aside (status
  `stuck`, no next due time, so no sweep claims it) until `regie case retry`.
- `outbox.next_attempt_at`, `outbox.claimed_until`: a row that failed waits for its next attempt without
  hiding the rows behind it, and a drain holds the rows it took for a lease, so drains share the work.
- `channels`: per partner channel (one URL of a partner), failures in a row and the outage they make.

Written by hand and frozen, like 0001: it does not import the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("cases", sa.Column("stuck_at", TS, nullable=True))
    op.add_column("cases", sa.Column("stuck_reason", sa.String(500), nullable=True))
    op.add_column("outbox", sa.Column("next_attempt_at", TS, nullable=True))
    op.add_column("outbox", sa.Column("claimed_until", TS, nullable=True))
    op.create_table(
        "channels",
        sa.Column("channel", sa.String(200), primary_key=True),
        sa.Column("profile", sa.String(100), nullable=True),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("service", sa.String(40), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", TS, nullable=True),
        sa.Column("last_failure_at", TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("down_since", TS, nullable=True),
        sa.Column("next_probe_at", TS, nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("recovered_at", TS, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("channels")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("next_attempt_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("stuck_reason")
        batch.drop_column("stuck_at")
