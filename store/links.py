"""Partner links in the case store: one row per link Regie handed out (app/links issues and checks them).

A link lets a partner complete one open step (`kind` "step": `task_id`, `step`) or send one signal
(`kind` "signal": `step` is the message) of one case, in one role, as one recipient (a partner id from
the municipality's partner list). The token in the link is signed (app/links/tokens.py); this table
holds what makes a link single-use and revocable, which a signature alone cannot:

- issuing a link for a step and recipient revokes the earlier, unused links for that step and
  recipient in the same transaction (`issue`);
- using a link is claimed first (`claim`: a short lease, so two submissions at once cannot both act,
  and a portal that crashed mid-submission gives the link back when the lease runs out), then either
  finished (`finish`: `used_at`, what was done, the case version) or given back (`release`) when the
  service refused the change.

Process data only: case reference, step, role, partner id, times. The table is made by the migration
`0006_partner_links`. All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy import Engine, or_, select, update
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from engine.calendar import require_aware
from store.db import write_transaction
from store.models import KEY, NAME, REF

LinkKind = Literal["step", "signal"]

partner_links = sa.Table(
    "partner_links", SQLModel.metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("case_ref", sa.String(REF), sa.ForeignKey("cases.case_ref", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),
    sa.Column("step", sa.String(NAME), nullable=False),
    sa.Column("task_id", sa.String(NAME), nullable=True),
    sa.Column("role", sa.String(NAME), nullable=False),
    sa.Column("recipient", sa.String(NAME), nullable=False),
    sa.Column("issued_at", UTCDateTime, nullable=False),
    sa.Column("expires_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime, nullable=True),
    sa.Column("claimed_until", UTCDateTime, nullable=True),
    sa.Column("used_at", UTCDateTime, nullable=True),
    sa.Column("outcome", sa.String(KEY), nullable=True),
    sa.Column("case_version", sa.Integer(), nullable=True),
    sa.Index("ix_partner_links_target", "case_ref", "step", "recipient"),
)


@dataclass(frozen=True)
class LinkRecord:
    """One issued link, as stored."""

    id: str
    case_ref: str
    kind: LinkKind
    step: str
    task_id: str | None
    role: str
    recipient: str
    issued_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None
    claimed_until: datetime | None = None
    used_at: datetime | None = None
    outcome: str | None = None
    case_version: int | None = None


def issue(engine: Engine, link: LinkRecord) -> int:
    """Store a new link and revoke the unused links for the same case, step and recipient; returns how
    many were revoked."""
    c = partner_links.c
    with write_transaction(engine) as conn:
        revoked = conn.execute(update(partner_links).where(
            c.case_ref == link.case_ref, c.step == link.step, c.recipient == link.recipient,
            c.used_at.is_(None), c.revoked_at.is_(None),
        ).values(revoked_at=require_aware(link.issued_at))).rowcount
        conn.execute(partner_links.insert().values(_values(link)))
    return revoked


def get(engine: Engine, link_id: str) -> LinkRecord | None:
    """The link with this id, if it was issued."""
    with engine.connect() as conn:
        row = conn.execute(select(partner_links).where(partner_links.c.id == link_id)).first()
    return None if row is None else _record(row)


def for_case(engine: Engine, case_ref: str) -> list[LinkRecord]:
    """Every link issued for a case, oldest first."""
    stmt = select(partner_links).where(partner_links.c.case_ref == case_ref).order_by(partner_links.c.issued_at)
    with engine.connect() as conn:
        return [_record(r) for r in conn.execute(stmt)]


def claim(engine: Engine, link_id: str, now: datetime, lease: timedelta) -> bool:
    """Hold an unused, unrevoked, unexpired link for one submission; False if it cannot be held now."""
    now = require_aware(now)
    c = partner_links.c
    with write_transaction(engine) as conn:
        return conn.execute(update(partner_links).where(
            c.id == link_id, c.used_at.is_(None), c.revoked_at.is_(None), c.expires_at > now,
            or_(c.claimed_until.is_(None), c.claimed_until <= now),
        ).values(claimed_until=now + lease)).rowcount == 1


def release(engine: Engine, link_id: str) -> None:
    """Give a claimed link back unused (the submission changed nothing)."""
    c = partner_links.c
    with write_transaction(engine) as conn:
        conn.execute(update(partner_links).where(c.id == link_id, c.used_at.is_(None)).values(claimed_until=None))


def finish(engine: Engine, link_id: str, *, at: datetime, outcome: str, case_version: int) -> None:
    """The link did what it was for: it is used and works no more."""
    c = partner_links.c
    with write_transaction(engine) as conn:
        conn.execute(update(partner_links).where(c.id == link_id, c.used_at.is_(None)).values(
            used_at=require_aware(at), outcome=outcome[:KEY], case_version=case_version, claimed_until=None))


def _values(link: LinkRecord) -> dict[str, Any]:
    return {name: getattr(link, name) for name in partner_links.c.keys()}


def _record(row: Any) -> LinkRecord:
    return LinkRecord(**row._mapping)
