"""Partner links: one row per link handed out to a partner (store/links.py).

Revision ID: 0006
Revises: 0003
Create Date: 2026-03-16

Written by hand and frozen, like the others: it does not import the models.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "partner_links",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("case_ref", sa.String(64), sa.ForeignKey("cases.case_ref", ondelete="CASCADE"), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("task_id", sa.String(100), nullable=True),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("recipient", sa.String(100), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("claimed_until", TS, nullable=True),
        sa.Column("used_at", TS, nullable=True),
        sa.Column("outcome", sa.String(200), nullable=True),
        sa.Column("case_version", sa.Integer(), nullable=True),
    )
    op.create_index("ix_partner_links_target", "partner_links", ["case_ref", "step", "recipient"])


def downgrade() -> None:
    op.drop_table("partner_links")
