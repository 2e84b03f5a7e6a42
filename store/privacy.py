"""The store's side of the AVG: the access log, everything held about one person, and the erasure.

- `personal_access`: who read or erased a person's data, when, and why (append-only: a trigger refuses
  UPDATE and DELETE). It names the operator, never the person.
- `person_file`: every row the store holds about one case, for the export (inzage, art. 15).
- `erase`: the one documented path that rewrites history: it blanks the free words (`detail`) of the
  case's history lines while a marker row for the case exists in `history_redaction`. The marker is
  inserted and deleted again inside the erasure's own transaction, so no other transaction ever sees it,
  and the trigger (revision 0007) refuses any other change of a history line, and every DELETE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import UTCDateTime

from store.deliveries import deliveries
from store.links import partner_links
from store.models import NAME, REF, BigId, CaseRecord, HistoryRecord, OutboxRecord, PersonalRecord

REASON = 200
ERASED = "erase"
"""The `action` of an erasure in the access log (also how the retention flow knows a case is done)."""
CLOSED = ("completed", "terminated")
"""Statuses of a case whose purpose is gone: the retention period runs from its last change."""
PENDING_DELIVERY = ("new", "sending", "failed", "queued")
"""Deliveries still to be sent keep their text until they are; the others' copies are erased."""

personal_access = sa.Table(
    "personal_access", SQLModel.metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("case_ref", sa.String(REF), sa.ForeignKey("cases.case_ref"), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("operator", sa.String(NAME), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("reason", sa.String(REASON), nullable=False),
    sa.Index("ix_personal_access_case_ref", "case_ref", "id"),
)

case_sources = sa.Table(
    "case_sources", SQLModel.metadata,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("case_ref", sa.String(REF), sa.ForeignKey("cases.case_ref", ondelete="CASCADE"), nullable=False),
    sa.Column("source", sa.String(40), nullable=False),
    sa.Column("file", sa.String(200), nullable=True),
    sa.Column("batch", sa.Integer(), nullable=True),
    sa.Column("recorded_at", UTCDateTime, nullable=False),
    sa.Index("ix_case_sources_case_ref", "case_ref"),
)
"""Where a case's data came from (the COA import: file, batch, time)."""

history_redaction = sa.Table(
    "history_redaction", SQLModel.metadata,
    sa.Column("case_ref", sa.String(REF), primary_key=True),
)

cases = CaseRecord.__table__
history = HistoryRecord.__table__
outbox = OutboxRecord.__table__
personal = PersonalRecord.__table__


@dataclass(frozen=True)
class Access:
    """One line of the access log."""

    at: datetime
    operator: str
    action: str
    reason: str


@dataclass(frozen=True)
class PersonFile:
    """Every row the store holds about one case (as mappings, column name to value)."""

    case: dict[str, Any]
    personal: dict[str, Any]
    history: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
    links: list[dict[str, Any]]
    sources: list[dict[str, Any]]
    access: list[Access]


@dataclass(frozen=True)
class ClosedCase:
    """A closed case whose personal data has not been erased yet."""

    case_ref: str
    definition: str
    profile: str | None
    status: str
    closed_at: datetime


def record_access(conn: Connection, case_ref: str, *, at: datetime, operator: str, action: str,
                  reason: str) -> None:
    """Log one read or erasure of the person's data, in the caller's transaction."""
    conn.execute(insert(personal_access).values(case_ref=case_ref, at=at, operator=operator, action=action,
                                                reason=reason))


def access_log(engine: Engine, case_ref: str) -> list[Access]:
    """The access log of a case, oldest first."""
    with engine.connect() as conn:
        return _access(conn, case_ref)


def _access(conn: Connection, case_ref: str) -> list[Access]:
    a = personal_access.c
    rows = conn.execute(select(a.at, a.operator, a.action, a.reason).where(a.case_ref == case_ref)
                        .order_by(a.id)).all()
    return [Access(*row) for row in rows]


@dataclass(frozen=True)
class CaseSource:
    """Where the data of cases started together came from: an import's name, its file and the batch."""

    source: str
    file: str | None = None
    batch: int | None = None


def record_sources(conn: Connection, case_refs: list[str], source: CaseSource, *, at: datetime) -> None:
    """Note where these cases' data came from (one row each), in the caller's transaction."""
    if case_refs:
        conn.execute(insert(case_sources), [{"case_ref": ref, "source": source.source, "file": source.file,
                                             "batch": source.batch, "recorded_at": at} for ref in case_refs])


def case_exists(conn: Connection, case_ref: str) -> bool:
    return conn.execute(select(cases.c.case_ref).where(cases.c.case_ref == case_ref)).first() is not None


def person_file(conn: Connection, case_ref: str) -> PersonFile | None:
    """Everything about one case, read in the caller's transaction (so the export is one moment); None
    when there is no such case."""
    case = conn.execute(select(cases).where(cases.c.case_ref == case_ref)).mappings().first()
    if case is None:
        return None
    data = conn.execute(select(personal.c.data).where(personal.c.case_ref == case_ref)).scalar()

    def all_of(table: sa.Table, order: Any) -> list[dict[str, Any]]:
        rows = conn.execute(select(table).where(table.c.case_ref == case_ref).order_by(order)).mappings()
        return [dict(row) for row in rows]

    return PersonFile(case=dict(case), personal=dict(data or {}), history=all_of(history, history.c.id),
                      deliveries=all_of(deliveries, deliveries.c.id),
                      links=all_of(partner_links, partner_links.c.issued_at),
                      sources=all_of(case_sources, case_sources.c.id), access=_access(conn, case_ref))


def load_for_erasure(conn: Connection, case_ref: str) -> dict[str, Any] | None:
    """The case row the erasure starts from (definition, profile, status, state, version)."""
    c = cases.c
    row = conn.execute(select(c.case_ref, c.definition, c.profile, c.status, c.state, c.version)
                       .where(c.case_ref == case_ref)).mappings().first()
    return dict(row) if row else None


def erase(conn: Connection, case_ref: str, *, based_on: int, state: dict[str, Any], now: datetime,
          operator: str, reason: str) -> bool:
    """Erase the person's data of a case in the caller's transaction; False (and nothing written) when
    the case is no longer at version `based_on`.

    `state` is the case state with its personal data fields removed (the app decides which those are).
    Removed: the personal-data row, the history lines' free words, the stored texts of messages already
    sent, outbox errors. Kept: the state's process data, every history fact, every delivery's facts.
    Recorded: a history line `personal_data_erased` and an access-log line.
    """
    version = based_on + 1
    changed = conn.execute(update(cases).where(cases.c.case_ref == case_ref, cases.c.version == based_on)
                           .values(state=state, version=version, updated_at=now)).rowcount
    if changed != 1:
        return False
    conn.execute(delete(personal).where(personal.c.case_ref == case_ref))
    conn.execute(insert(history_redaction).values(case_ref=case_ref))
    conn.execute(update(history).where(history.c.case_ref == case_ref, history.c.detail != "").values(detail=""))
    conn.execute(delete(history_redaction).where(history_redaction.c.case_ref == case_ref))
    conn.execute(update(deliveries).where(deliveries.c.case_ref == case_ref,
                                          deliveries.c.outcome.not_in(PENDING_DELIVERY))
                 .values(subject=None, body=None, error=None))
    conn.execute(update(outbox).where(outbox.c.case_ref == case_ref).values(last_error=None))
    conn.execute(insert(history).values(case_ref=case_ref, version=version, at=now, recorded_at=now,
                                        actor=operator, event="erased", kind="personal_data_erased",
                                        ref="avg", detail=""))
    record_access(conn, case_ref, at=now, operator=operator, action=ERASED, reason=reason)
    return True


def closed_not_erased(engine: Engine, closed_before: datetime | None = None) -> list[ClosedCase]:
    """Closed cases whose data was not erased since their last change, longest closed first
    (`closed_before`: only those whose last change is before it). A case erased while it ran and changed
    after that (it may have been given personal data again) counts as not erased."""
    c, a = cases.c, personal_access.c
    erased = select(a.case_ref).where(a.case_ref == c.case_ref, a.action == ERASED, a.at >= c.updated_at).exists()
    stmt = (select(c.case_ref, c.definition, c.profile, c.status, c.updated_at)
            .where(c.status.in_(CLOSED), ~erased).order_by(c.updated_at, c.case_ref))
    if closed_before is not None:
        stmt = stmt.where(c.updated_at < closed_before)
    with engine.connect() as conn:
        return [ClosedCase(*row) for row in conn.execute(stmt).all()]
