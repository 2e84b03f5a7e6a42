"""Draining the outbox: read pending commands, deliver them (tasks/delivery.py), record the outcome.

A command is marked delivered only after its side effect succeeded; a failure is recorded on its row
(`attempts`, `last_error`) and `DeliveryFailed` is raised once the rest of the batch is done, so the
Prefect run shows Failed and the next run tries again. A command that failed `MAX_ATTEMPTS` times is
no longer picked up (it stays visible in the outbox with its last error).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from prefect.client.orchestration import PrefectClient
from prefect.exceptions import ObjectNotFound
from sqlalchemy import Engine, select

from store.writes import cases, tasks
from tasks import inbox
from tasks.delivery import CaseFacts, deliver
from tasks.runtime import Runtime

MAX_ATTEMPTS = 50
INBOX_DEPLOYMENT = f"{inbox.FLOW_NAME}/{inbox.FLOW_NAME}"
"""`<flow name>/<deployment name>` of the inbox deployment, the same with `regie up` and prefect.yaml."""


class DeliveryFailed(RuntimeError):
    """Some commands could not be delivered; they stay pending. The message lists them."""


@dataclass
class DrainReport:
    """How many commands were delivered, by what was done with them."""

    delivered: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def case_facts(engine: Engine, case_refs: Iterable[str]) -> CaseFacts:
    """Municipality and open tasks of these cases, in two queries (read-only)."""
    refs = sorted(set(case_refs))
    municipality: dict[str, str] = {}
    open_tasks: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for start in range(0, len(refs), 500):  # keep IN lists well below SQLite's parameter limit
            chunk = refs[start:start + 500]
            rows = conn.execute(select(cases.c.case_ref, cases.c.municipality).where(cases.c.case_ref.in_(chunk)))
            municipality.update({r.case_ref: r.municipality for r in rows})
            rows = conn.execute(select(tasks.c.case_ref, tasks.c.task_id).where(tasks.c.case_ref.in_(chunk)))
            open_tasks.update((r.case_ref, r.task_id) for r in rows)
    return CaseFacts(municipality=municipality, open_tasks=open_tasks)


async def inbox_deployment_id(client: PrefectClient) -> UUID:
    """The id of the `user-task` deployment; a clear error when nothing serves it yet."""
    try:
        return (await client.read_deployment_by_name(INBOX_DEPLOYMENT)).id
    except ObjectNotFound:
        raise DeliveryFailed(f"deployment {INBOX_DEPLOYMENT} not found on {client.api_url}: start `regie up`, "
                             "or deploy prefect.yaml, before delivering inbox tasks") from None


async def drain(rt: Runtime, client: PrefectClient, *, batch: int = 500, max_batches: int = 100) -> DrainReport:
    """Deliver pending commands, a batch at a time, until none are left (or a batch had failures)."""
    report = DrainReport()
    deployment: UUID | None = None
    service = rt.service
    for _ in range(max_batches):
        items = service.pending_commands(batch, max_attempts=MAX_ATTEMPTS)
        if not items:
            break
        if deployment is None and any(i.type == "open_user_task" for i in items):
            deployment = await inbox_deployment_id(client)
        outcome = await deliver([(i.key, i.command()) for i in items], client=client,
                                inbox_deployment=deployment, notifier=rt.notifier,
                                facts=lambda refs: case_facts(service.engine, refs),
                                # Events carry Prefect's own time (when Prefect learns of them), not the
                                # case's clock, so they show in the event feed even for backdated cases.
                                now=datetime.now(UTC))
        for key, error in outcome.errors.items():
            first_time = True
            if error is None:
                first_time = service.mark_delivered(key)
                report.delivered += 1
            elif key not in outcome.waiting:
                # Only a real attempt counts against the outbox's attempt limit; recipients still in
                # backoff would otherwise use it up during a long outage.
                service.mark_failed(key, error)
            for note in outcome.notes.get(key, []):
                # An unroutable note comes back on every call; write it once, when the row is done.
                if note.kind != "notification_unroutable" or (error is None and first_time):
                    service.record_note(note.case_ref, kind=note.kind, ref=note.ref, detail=note.detail)
        for what, n in outcome.counts.items():
            report.counts[what] = report.counts.get(what, 0) + n
        if outcome.failed:
            lines = "; ".join(f"{k}: {e}" for k, e in list(outcome.failed.items())[:5])
            raise DeliveryFailed(f"{len(outcome.failed)} of {len(items)} commands not delivered "
                                 f"(they stay pending): {lines}")
        if len(items) < batch:
            break
    return report
