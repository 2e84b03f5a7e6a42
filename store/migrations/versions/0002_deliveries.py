"""The delivery ledger: one row per partner message and recipient (store/deliveries.py).

Revision ID: 0002
Revises: 0001
Create Date: 2026-03-02

Written by hand and frozen, like 0001: it does not import the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("message_key", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("profile", sa.String(100), nullable=True),
        sa.Column("case_ref", sa.String(64), nullable=True),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("template", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(40), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("first_attempt_at", TS, nullable=True),
        sa.Column("last_attempt_at", TS, nullable=True),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("delivered_at", TS, nullable=True),
        sa.Column("escalated_at", TS, nullable=True),
        sa.Column("digest_key", sa.String(200), nullable=True),
        sa.Column("subject", sa.String(500), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.UniqueConstraint("message_key", "recipient", name="uq_deliveries_message_recipient"),
    )
    op.create_index("ix_deliveries_case_ref", "deliveries", ["case_ref", "id"])
    op.create_index("ix_deliveries_outcome_recipient", "deliveries", ["outcome", "recipient"])


def downgrade() -> None:
    op.drop_table("deliveries")
